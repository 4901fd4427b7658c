// Small DOM helpers shared by the calendar, contacts, tasks and notes views.
// They exist because the web app runs under a strict CSP (no inline styles,
// no innerHTML with user data): every view builds its DOM through h(), opens
// its forms in native <dialog>s the same way, and reports server errors the
// same way, so the four views look and behave alike.

/**
 * Creates an element. `attrs` keys: `class`, `text` (textContent), `for`,
 * `dataset` (object), `on<event>` (listener), `aria-*`/`role`/other strings as
 * attributes, and boolean or value properties (`checked`, `disabled`,
 * `value`, `hidden`, `type`...). Never sets a style attribute.
 * @param {string} tag
 * @param {Object<string, any>} [attrs]
 * @param {...(Node|string|null|undefined|false|Array)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  // Children first, so that a <select>'s `value` can pick one of its options.
  append(el, children);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "for") el.htmlFor = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "style") throw new Error("h(): inline styles are not allowed by the CSP");
    else if (k in el && !k.includes("-") && k !== "role" && k !== "list") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Removes every child of `el`, then appends `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let idSeq = 0;
/** A document-unique id for label/aria wiring. */
export function uid(prefix = "pim") {
  idSeq += 1;
  return `${prefix}-${idSeq}`;
}

/**
 * A labelled form field: `<div class="pim-field"><label for>..</label>control</div>`.
 * @param {string} label visible label text (tests find fields by it)
 * @param {HTMLElement} control an input, select or textarea (gets an id if it has none)
 * @param {string} [extraClass]
 */
export function field(label, control, extraClass) {
  if (!control.id) control.id = uid("f");
  return h("div", { class: "pim-field" + (extraClass ? " " + extraClass : "") },
    h("label", { for: control.id, text: label }), control);
}

/** Adds css/pim.css to the document once (CSP allows same-origin stylesheets). */
export function ensureStylesheet() {
  if (document.querySelector('link[data-pim-css]')) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "css/pim.css";
  link.dataset.pimCss = "";
  document.head.append(link);
}

/**
 * Shows a server or network error as an error toast, with the server's own message.
 * @param {{toast: Function}} ctx
 * @param {string} doing what failed, e.g. "Could not save the appointment"
 * @param {any} err
 */
export function reportError(ctx, doing, err) {
  const msg = err && err.message ? err.message : String(err);
  console.error(doing, err);
  ctx.toast(`${doing}: ${msg}`, "error");
}

/** Asks ctx.confirm, which may answer synchronously or with a promise. */
export async function confirmed(ctx, message) {
  if (typeof ctx.confirm !== "function") return window.confirm(message);
  return !!(await ctx.confirm(message));
}

/**
 * Opens a native modal <dialog class="dialog pim-dialog"> holding a form.
 * Escape closes it (the browser's cancel event); it removes itself on close.
 * @param {{title: string, body: Array<Node>, actions: Array<Node>, onSubmit?: Function, onClose?: Function, className?: string}} opts
 * @returns {{dialog: HTMLDialogElement, form: HTMLFormElement, close: Function, setBusy: Function, showError: Function}}
 */
export function openDialog(opts) {
  const titleId = uid("dlg-title");
  const error = h("p", { class: "pim-form-error", role: "alert", hidden: true });
  // The shell's dialog anatomy (.dialog-header, .dialog-body, .dialog-actions), one form around it.
  const form = h("form", { class: "pim-dialog-form", method: "dialog", novalidate: true },
    h("div", { class: "dialog-header" }, h("h2", { class: "dialog-title", id: titleId, text: opts.title })),
    h("div", { class: "dialog-body form pim-form" }, opts.body, error),
    h("div", { class: "dialog-actions" }, opts.actions));
  const dialog = h("dialog", { class: "dialog pim-dialog" + (opts.className ? " " + opts.className : ""), "aria-labelledby": titleId }, form);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (dialog.open) dialog.close();
    dialog.remove();
    if (opts.onClose) opts.onClose();
  };
  dialog.addEventListener("close", close);
  dialog.addEventListener("cancel", (e) => {
    // Escape: let a view veto closing (e.g. to flush an autosave) by returning false.
    if (opts.onCancel && opts.onCancel() === false) e.preventDefault();
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (opts.onSubmit) await opts.onSubmit(e);
  });
  document.body.append(dialog);
  dialog.showModal();
  const first = form.querySelector("input:not([type=hidden]), select, textarea");
  if (first) first.focus();
  return {
    dialog,
    form,
    close,
    setBusy(busy) {
      for (const b of form.querySelectorAll("button")) b.disabled = busy;
      form.setAttribute("aria-busy", busy ? "true" : "false");
    },
    showError(message) {
      error.textContent = message || "";
      error.hidden = !message;
    },
  };
}

/** A loading placeholder for a list or pane. */
export function loading(text = "Loading…") {
  return h("div", { class: "empty-state pim-loading", role: "status" }, h("span", { class: "pim-spinner", "aria-hidden": "true" }), text);
}

/** An empty-state block with a title and an optional hint. */
export function emptyState(title, hint) {
  return h("div", { class: "empty-state pim-empty" }, h("p", { class: "pim-empty-title", text: title }), hint ? h("p", { class: "pim-empty-hint", text: hint }) : null);
}

/**
 * Arrow-key navigation in a list: Up/Down/Home/End move focus among the
 * elements matching `selector` inside `list`; Enter and Space are left to
 * the items (buttons activate themselves).
 */
export function arrowKeys(list, selector) {
  list.addEventListener("keydown", (e) => {
    if (!["ArrowDown", "ArrowUp", "Home", "End"].includes(e.key)) return;
    if (e.target.closest("input, textarea, select")) return;
    const items = [...list.querySelectorAll(selector)].filter((x) => !x.hidden && x.offsetParent !== null);
    if (!items.length) return;
    const i = items.indexOf(document.activeElement.closest(selector));
    let next;
    if (e.key === "Home") next = 0;
    else if (e.key === "End") next = items.length - 1;
    else if (e.key === "ArrowDown") next = i < 0 ? 0 : Math.min(items.length - 1, i + 1);
    else next = i < 0 ? 0 : Math.max(0, i - 1);
    e.preventDefault();
    items[next].focus();
  });
}

/** Updates the address bar without asking the router to mount the view again. */
export function setHash(hash) {
  if (location.hash !== hash) history.replaceState(history.state, "", hash);
}

/** Runs `fn` after `ms` of quiet; returns the debounced function with .flush() and .cancel(). */
export function debounce(fn, ms) {
  let timer = null;
  let pending = null;
  const run = () => {
    timer = null;
    const args = pending;
    pending = null;
    return fn(...args);
  };
  const d = (...args) => {
    pending = args;
    clearTimeout(timer);
    timer = setTimeout(run, ms);
  };
  d.flush = () => {
    if (timer === null) return undefined;
    clearTimeout(timer);
    return run();
  };
  d.cancel = () => {
    clearTimeout(timer);
    timer = null;
    pending = null;
  };
  return d;
}
