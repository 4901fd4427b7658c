// The notes view: the user's Notes folder as a board of coloured cards.
// Notes are IPM.StickyNote messages (MS-OXONOTE): the text in PR_BODY, its
// first line as PR_SUBJECT (what other clients list) and the card colour in
// PidLidNoteColor. Editing saves as you type, like the sticky notes of
// Outlook and Kopano's WebApp, so there is no Save button to forget.
//
// Route: #/notes.

import { h, replace, ensureStylesheet, reportError, confirmed, openDialog, loading, emptyState, debounce } from "./pim-ui.js";
import { NOTE, tagLoader, prop } from "./pim-props.js";
import { fromIso, formatDateTime } from "./pim-dates.js";

/** PidLidNoteColor values and their names. */
const COLORS = [[0, "Blue"], [1, "Green"], [2, "Pink"], [3, "Yellow"], [4, "White"]];
const DEFAULT_COLOR = 3;
/** Quiet time after the last keystroke before a note is saved. */
const AUTOSAVE_MS = 700;

/**
 * Mounts the notes view into `container`.
 * @param {HTMLElement} container
 * @param {{api: any, store: any, names: any, toast: Function, confirm: Function}} ctx
 * @returns {Promise<Function>} unmount
 */
export async function mount(container, ctx) {
  ensureStylesheet();
  const state = { tags: null, notes: [], loaded: false, alive: true, editor: null, seq: 0 };

  const grid = h("ul", { class: "pim-notes-grid", "aria-label": "Notes" });
  const body = h("div", { class: "pim-notes-body" }, grid);
  const root = h("section", { class: "pim pim-notes" },
    h("div", { class: "toolbar pim-toolbar", role: "toolbar" },
      h("h2", { class: "pim-view-title", text: "Notes" }),
      h("div", { class: "pim-spacer" }),
      h("button", { type: "button", class: "btn btn-primary", text: "New note", onclick: () => openEditor(null) })),
    body);
  replace(container, root);
  grid.addEventListener("keydown", gridKeys);

  /** The view's tags, resolved once; a failure is retried on the next call. */
  const ensureTags = tagLoader(ctx, NOTE, (t) => (state.tags = t));

  async function load() {
    const seq = ++state.seq;
    if (!state.loaded) replace(grid, h("li", null, loading("Loading notes…")));
    try {
      const T = await ensureTags();
      const r = await ctx.api.call("queryRows", {
        folder: ctx.store.notes,
        columns: ["PR_SUBJECT", "PR_BODY", "PR_LAST_MODIFICATION_TIME", "PR_CREATION_TIME", T.color],
        limit: 5000,
      });
      if (seq !== state.seq || !state.alive) return;
      state.notes = r.rows.map((row) => noteFrom(row.entryId, row.props, T))
        .sort((a, b) => (b.modified ? b.modified.getTime() : 0) - (a.modified ? a.modified.getTime() : 0));
      state.loaded = true;
      render();
    } catch (e) {
      if (seq !== state.seq) return;
      reportError(ctx, "Could not load the notes", e);
      replace(grid, h("li", null, emptyState("Notes could not be loaded", e.message)));
    }
  }

  function render() {
    const focusId = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.entryId : null;
    grid.replaceChildren();
    if (!state.notes.length) {
      grid.append(h("li", { class: "pim-notes-empty" }, emptyState("No notes yet", "Jot something down with “New note”.")));
      return;
    }
    for (const n of state.notes) {
      const rest = n.body.split("\n").slice(1).join("\n").trim();
      grid.append(h("li", null, h("button", {
        type: "button", class: `pim-note pim-color-${n.color}`, dataset: { entryId: n.entryId },
        onclick: () => openEditor(n),
      },
      h("span", { class: "pim-note-title", text: n.subject || "(empty note)" }),
      h("span", { class: "pim-note-text", text: rest }),
      n.modified ? h("span", { class: "pim-note-date", text: formatDateTime(n.modified) }) : null)));
    }
    if (focusId) {
      const again = grid.querySelector(`[data-entry-id="${CSS.escape(focusId)}"]`);
      if (again) again.focus();
    }
  }

  /** Arrow keys move between cards in reading order. */
  function gridKeys(e) {
    if (!["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"].includes(e.key)) return;
    const cards = [...grid.querySelectorAll(".pim-note")];
    const i = cards.indexOf(document.activeElement);
    if (i < 0) return;
    const perRow = Math.max(1, Math.round(grid.clientWidth / cards[0].getBoundingClientRect().width));
    const next = { ArrowLeft: i - 1, ArrowRight: i + 1, ArrowUp: i - perRow, ArrowDown: i + perRow, Home: 0, End: cards.length - 1 }[e.key];
    if (next >= 0 && next < cards.length) {
      e.preventDefault();
      cards[next].focus();
    }
  }

  async function openEditor(note) {
    let T;
    try {
      T = await ensureTags();
    } catch (e) {
      return reportError(ctx, "Notes are not available", e);
    }
    let entryId = note ? note.entryId : null;
    let color = note ? note.color : DEFAULT_COLOR;
    let savedText = note ? note.body : "";
    let savedColor = color;
    let chain = Promise.resolve();
    let failed = false;

    const text = h("textarea", { value: note ? note.body : "", placeholder: "Write a note…", "aria-label": "Note text" });
    const status = h("span", { class: "pim-save-state", role: "status", text: note ? "Saved" : "" });
    const swatches = COLORS.map(([value, name]) => h("button", {
      type: "button", class: `pim-swatch pim-color-${value}`, role: "radio", "aria-label": name, title: name,
      "aria-checked": String(value === color), tabIndex: value === color ? 0 : -1,
      onclick: () => setColor(value),
    }));
    const swatchGroup = h("div", { class: "pim-swatches", role: "radiogroup", "aria-label": "Colour" }, swatches);
    swatchGroup.addEventListener("keydown", (e) => {
      const d = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
      if (!d) return;
      e.preventDefault();
      const i = COLORS.findIndex(([v]) => v === color);
      const next = COLORS[(i + d + COLORS.length) % COLORS.length][0];
      setColor(next);
      swatches[COLORS.findIndex(([v]) => v === next)].focus();
    });

    const save = debounce(() => enqueueSave(), AUTOSAVE_MS);
    text.addEventListener("input", () => {
      status.textContent = "Editing…";
      save();
    });

    const dlg = openDialog({
      title: note ? "Edit note" : "New note",
      className: "pim-note-dialog",
      body: [text, swatchGroup],
      actions: [
        status,
        note ? h("button", { type: "button", class: "btn btn-danger", text: "Delete", onclick: () => remove() }) : null,
        h("button", { type: "submit", class: "btn btn-primary", text: "Done" }),
      ],
      onSubmit: () => dlg.close(),
      onClose: async () => {
        state.editor = null;
        save.cancel();
        await enqueueSave();
        await chain;
        if (state.alive) load();
      },
    });
    state.editor = dlg;
    paint();
    text.focus();
    text.setSelectionRange(text.value.length, text.value.length);

    function paint() {
      const f = dlg.form;
      for (const [v] of COLORS) f.classList.toggle(`pim-color-${v}`, v === color);
      swatches.forEach((s, i) => {
        const on = COLORS[i][0] === color;
        s.setAttribute("aria-checked", String(on));
        s.tabIndex = on ? 0 : -1;
      });
    }

    function setColor(v) {
      color = v;
      paint();
      save.cancel();
      enqueueSave();
    }

    function enqueueSave() {
      chain = chain.then(saveNow);
      return chain;
    }

    async function saveNow() {
      const body = text.value;
      if (body === savedText && color === savedColor && (entryId || !body.trim())) return;
      if (!entryId && !body.trim()) return;
      const subject = (body.split("\n").find((l) => l.trim()) || "").trim().slice(0, 255);
      const props = { PR_MESSAGE_CLASS: "IPM.StickyNote", PR_SUBJECT: subject, PR_BODY: body, [T.color]: color };
      status.textContent = "Saving…";
      try {
        const r = await ctx.api.call("saveObject", entryId ? { entryId, props } : { folder: ctx.store.notes, props });
        if (!entryId) entryId = r.entryId;
        savedText = body;
        savedColor = color;
        failed = false;
        status.textContent = "Saved";
      } catch (e) {
        status.textContent = "Not saved";
        if (!failed) reportError(ctx, "Could not save the note", e);
        failed = true;
      }
    }

    async function remove() {
      if (!(await confirmed(ctx, "Delete this note?"))) return;
      save.cancel();
      await chain;
      try {
        await ctx.api.call("deleteObjects", { entryIds: [entryId] });
      } catch (e) {
        return reportError(ctx, "Could not delete the note", e);
      }
      // Nothing left to save: the note is gone.
      savedText = text.value;
      savedColor = color;
      entryId = entryId || "deleted";
      ctx.toast("Note deleted", "success");
      dlg.close();
    }
  }

  await load();
  return () => {
    state.alive = false;
    if (state.editor) state.editor.close();
  };
}

function noteFrom(entryId, p, T) {
  const body = prop(p, "PR_BODY") || "";
  const color = Number(prop(p, T.color));
  return {
    entryId,
    subject: prop(p, "PR_SUBJECT") || (body.split("\n").find((l) => l.trim()) || "").trim(),
    body,
    color: COLORS.some(([v]) => v === color) ? color : DEFAULT_COLOR,
    modified: fromIso(prop(p, "PR_LAST_MODIFICATION_TIME")) || fromIso(prop(p, "PR_CREATION_TIME")),
  };
}
