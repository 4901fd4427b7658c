// The keyboard shortcut list shown by "?": views register what their keys do
// while they are mounted, so the help always matches what works right now.

import { h } from "./dom.js";
import { modal } from "./ui.js";

const sections = new Map();

/**
 * Registers a section of the help; `keys` is a list of [keys, description]
 * where keys are separated by " / ". Returns a function that removes it.
 * @param {string} title
 * @param {Array<[string, string]>} keys
 */
export function registerShortcuts(title, keys) {
  sections.set(title, keys);
  return () => sections.delete(title);
}

/** Opens the shortcut help dialog. */
export function showShortcuts() {
  if (document.querySelector("dialog.dialog-shortcuts")) return;
  modal({
    title: "Keyboard shortcuts",
    cls: "dialog-shortcuts",
    build: (close) => {
      const body = [];
      for (const [title, keys] of [["Everywhere", [["?", "Show this list"], ["Escape", "Close a dialog or menu"]]], ...sections]) {
        body.push(h("h3", { class: "shortcut-section" }, title));
        body.push(
          h(
            "dl",
            { class: "shortcuts" },
            keys.map(([k, d]) => [
              h("dt", null, k.split(" / ").map((x, i) => [i ? " or " : "", h("kbd", null, x)])),
              h("dd", null, d),
            ]),
          ),
        );
      }
      const ok = h("button", { type: "button", class: "btn btn-primary", onclick: () => close() }, "Close");
      return { body, actions: [ok], initialFocus: ok };
    },
  });
}
