// Shared interface pieces every view uses: toasts, confirmation and prompt
// dialogs (native <dialog>, so focus is trapped and Escape closes them),
// generic modal dialogs and a small context menu.

import { h, icon } from "./dom.js";

let toastRegion = null;

/**
 * Shows a transient message. `kind`: "info" (default), "success" or "error".
 * Errors stay longer and are announced assertively.
 * @param {string} message
 * @param {string} [kind]
 */
export function toast(message, kind = "info") {
  if (!toastRegion) {
    toastRegion = h("div", { class: "toast-region", role: "region", "aria-label": "Notifications" });
    document.body.append(toastRegion);
  }
  const t = h(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("span", { class: "toast-text" }, message),
    h("button", { type: "button", class: "btn btn-icon toast-close", "aria-label": "Dismiss", onclick: () => t.remove() }, icon("close")),
  );
  toastRegion.append(t);
  setTimeout(() => t.classList.add("toast-leaving"), kind === "error" ? 7000 : 3500);
  setTimeout(() => t.remove(), kind === "error" ? 7400 : 3900);
}

/** The message of an error for a person: the server's sentence when it sent one. */
export function errorText(e) {
  if (!e) return "Something went wrong.";
  if (e.message) return e.message;
  return String(e);
}

/**
 * Opens a modal <dialog> built from parts; resolves with the value passed to close().
 * `build(close)` returns {body, actions} (nodes). The dialog is removed when it closes.
 * @param {{title: string, wide?: boolean, cls?: string, build: (close: Function, dlg: HTMLDialogElement) => {body: Node|Node[], actions?: Node[]}}} o
 * @returns {Promise<any>}
 */
export function modal(o) {
  return new Promise((resolve) => {
    const titleId = "dlg-" + Math.random().toString(36).slice(2);
    const dlg = h("dialog", { class: ["dialog", o.wide && "dialog-wide", o.cls], "aria-labelledby": titleId });
    let result;
    const close = (v) => {
      result = v;
      dlg.close();
    };
    const { body, actions, initialFocus } = o.build(close, dlg);
    append(
      dlg,
      h(
        "header",
        { class: "dialog-header" },
        h("h2", { id: titleId, class: "dialog-title" }, o.title),
        h("button", { type: "button", class: "btn btn-icon", "aria-label": "Close", onclick: () => close(undefined) }, icon("close")),
      ),
      h("div", { class: "dialog-body" }, body),
      actions && h("footer", { class: "dialog-actions" }, actions),
    );
    dlg.addEventListener("close", () => {
      dlg.remove();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    if (initialFocus) initialFocus.focus();
  });
}

function append(el, ...c) {
  for (const x of c.flat()) if (x) el.append(x);
}

/**
 * Asks a yes/no question; resolves true when confirmed.
 * @param {string} message
 * @param {{title?: string, confirmLabel?: string, danger?: boolean}} [o]
 */
export function confirmDialog(message, o = {}) {
  return modal({
    title: o.title || "Please confirm",
    build: (close) => {
      const ok = h("button", { type: "button", class: ["btn", o.danger === false ? "btn-primary" : "btn-danger"], onclick: () => close(true) }, o.confirmLabel || "OK");
      const cancel = h("button", { type: "button", class: "btn", onclick: () => close(false) }, "Cancel");
      return { body: h("p", { class: "dialog-text" }, message), actions: [cancel, ok], initialFocus: cancel };
    },
  }).then((v) => v === true);
}

/**
 * Asks for one line of text; resolves with it (trimmed) or null when cancelled.
 * @param {{title: string, label: string, value?: string, confirmLabel?: string}} o
 */
export function promptDialog(o) {
  return modal({
    title: o.title,
    build: (close) => {
      const id = "p-" + Math.random().toString(36).slice(2);
      const input = h("input", { id, type: "text", class: "input", value: o.value || "", required: true, autocomplete: "off" });
      const form = h(
        "form",
        {
          class: "form",
          onsubmit: (e) => {
            e.preventDefault();
            const v = input.value.trim();
            if (v) close(v);
          },
        },
        h("label", { for: id }, o.label),
        input,
      );
      const ok = h("button", { type: "button", class: "btn btn-primary", onclick: () => form.requestSubmit() }, o.confirmLabel || "OK");
      const cancel = h("button", { type: "button", class: "btn", onclick: () => close(null) }, "Cancel");
      setTimeout(() => input.select());
      return { body: form, actions: [cancel, ok], initialFocus: input };
    },
  }).then((v) => (typeof v === "string" ? v : null));
}

let openMenu = null;

/**
 * Shows a context menu at a point; items: {label, icon?, danger?, disabled?, onSelect}.
 * Arrow keys move, Enter selects, Escape closes and focus returns to `returnFocus`.
 * @param {number} x
 * @param {number} y
 * @param {Array<{label: string, icon?: string, danger?: boolean, disabled?: boolean, onSelect: Function}>} items
 * @param {HTMLElement} [returnFocus]
 */
export function contextMenu(x, y, items, returnFocus) {
  closeMenu();
  const menu = h("div", { class: "menu", role: "menu" });
  const buttons = items.map((it) =>
    h(
      "button",
      {
        type: "button",
        role: "menuitem",
        class: ["menu-item", it.danger && "menu-item-danger"],
        disabled: !!it.disabled,
        onclick: () => {
          closeMenu();
          it.onSelect();
        },
      },
      icon(it.icon || ""),
      h("span", null, it.label),
    ),
  );
  menu.append(...buttons);
  menu.addEventListener("keydown", (e) => {
    const enabled = buttons.filter((b) => !b.disabled);
    const i = enabled.indexOf(document.activeElement);
    if (e.key === "ArrowDown") enabled[(i + 1) % enabled.length].focus();
    else if (e.key === "ArrowUp") enabled[(i - 1 + enabled.length) % enabled.length].focus();
    else if (e.key === "Escape" || e.key === "Tab") {
      closeMenu();
      returnFocus && returnFocus.focus();
    } else return;
    e.preventDefault();
    e.stopPropagation();
  });
  document.body.append(menu);
  const r = menu.getBoundingClientRect();
  menu.style.left = Math.max(4, Math.min(x, innerWidth - r.width - 4)) + "px";
  menu.style.top = Math.max(4, Math.min(y, innerHeight - r.height - 4)) + "px";
  openMenu = menu;
  const first = buttons.find((b) => !b.disabled);
  first && first.focus();
  setTimeout(() => document.addEventListener("pointerdown", outside, true));
}

function outside(e) {
  if (openMenu && !openMenu.contains(e.target)) closeMenu();
}

/** Closes the open context menu, if any. */
export function closeMenu() {
  if (openMenu) openMenu.remove();
  openMenu = null;
  document.removeEventListener("pointerdown", outside, true);
}
