// Building DOM without innerHTML. Every string that reaches the page goes in
// as a text node or an attribute value, so mail content can never become
// markup; and the page's CSP forbids inline styles in markup, so styles are
// classes (or CSSOM from script where a value is computed).

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Creates an element. `attrs` keys: `class`, `dataset` (object), `on<Event>` (listener),
 * `aria-*` / other attributes (strings; `true` for boolean attributes; null/false skipped),
 * and DOM properties for `value`, `checked`, `disabled`, `hidden`, `htmlFor`.
 * Children: strings (text), nodes, arrays, null/undefined/false (skipped).
 * @param {string} tag
 * @param {object} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) setAttrs(el, attrs);
  append(el, children);
  return el;
}

const PROPS = new Set(["value", "checked", "disabled", "hidden", "htmlFor", "selected", "multiple", "tabIndex"]);

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = Array.isArray(v) ? v.filter(Boolean).join(" ") : v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

/** Appends children (see {@link h}) to a node. */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Removes every child of a node and appends new ones. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Icons: 24x24 stroked paths drawn for okapi (round caps and joins, 1.75 stroke).
const ICONS = {
  mail: ["M3 6.5A1.5 1.5 0 0 1 4.5 5h15A1.5 1.5 0 0 1 21 6.5v11a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z", "M3.5 6l8.5 6.5L20.5 6"],
  calendar: ["M4 6.5A1.5 1.5 0 0 1 5.5 5h13A1.5 1.5 0 0 1 20 6.5v12a1.5 1.5 0 0 1-1.5 1.5h-13A1.5 1.5 0 0 1 4 18.5z", "M4 10h16", "M8 3v4", "M16 3v4"],
  contacts: ["M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z", "M4.5 20a7.5 7.5 0 0 1 15 0"],
  tasks: ["M9 6h11", "M9 12h11", "M9 18h11", "M3.5 6l1.5 1.5L7.5 5", "M3.5 12l1.5 1.5 2.5-2.5", "M3.5 18l1.5 1.5 2.5-2.5"],
  notes: ["M5 4h14v11l-5 5H5z", "M14 20v-5h5", "M8 9h8", "M8 13h4"],
  settings: ["M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z", "M12 2.5v3M12 18.5v3M2.5 12h3M18.5 12h3M5.3 5.3l2.1 2.1M16.6 16.6l2.1 2.1M5.3 18.7l2.1-2.1M16.6 7.4l2.1-2.1"],
  logout: ["M15 4h3.5A1.5 1.5 0 0 1 20 5.5v13a1.5 1.5 0 0 1-1.5 1.5H15", "M10 8l-4 4 4 4", "M6 12h10"],
  compose: ["M4 20h4L19 9l-4-4L4 16z", "M13.5 6.5l4 4"],
  reply: ["M10 8L5 12.5 10 17", "M5 12.5h9a5 5 0 0 1 5 5V19"],
  replyAll: ["M11 8l-5 4.5 5 4.5", "M7 8L2 12.5 7 17", "M6 12.5h8a5 5 0 0 1 5 5V19"],
  forward: ["M14 8l5 4.5-5 4.5", "M19 12.5h-9a5 5 0 0 0-5 5V19"],
  trash: ["M4 7h16", "M9.5 7V4.5h5V7", "M6 7l1 13h10l1-13", "M10 11v5.5M14 11v5.5"],
  flag: ["M5 21V4", "M5 4h11l-2 4 2 4H5"],
  move: ["M3 7.5A1.5 1.5 0 0 1 4.5 6H9l2 2h8.5A1.5 1.5 0 0 1 21 9.5v8a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z", "M11 13.5h6", "M14.5 11l2.5 2.5-2.5 2.5"],
  read: ["M3 10l9-6 9 6v9.5a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 19.5z", "M3.5 10.5L12 16l8.5-5.5"],
  unread: ["M3 6.5A1.5 1.5 0 0 1 4.5 5H14M21 11v6.5a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5v-11", "M3.5 6l8.5 6.5 4-3", "M19 8a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z"],
  plus: ["M12 5v14", "M5 12h14"],
  search: ["M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13z", "M15.5 15.5L20 20"],
  back: ["M15 5l-7 7 7 7"],
  close: ["M6 6l12 12", "M18 6L6 18"],
  attach: ["M20 11.5l-7.8 7.8a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4L15 6.9"],
  folder: ["M3 7.5A1.5 1.5 0 0 1 4.5 6H9l2 2h8.5A1.5 1.5 0 0 1 21 9.5v8a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z"],
  inbox: ["M3 13l2.5-7.5h13L21 13v5.5a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 18.5z", "M3 13h5l1.5 2.5h5L16 13h5"],
  sent: ["M21 3L10.5 13.5", "M21 3l-6.5 18-4-7.5L3 9.5z"],
  drafts: ["M14 3H6.5A1.5 1.5 0 0 0 5 4.5v15A1.5 1.5 0 0 0 6.5 21h11a1.5 1.5 0 0 0 1.5-1.5V8z", "M14 3v5h5", "M9 13h6M9 17h4"],
  junk: ["M12 3l8 3.5v5c0 4.5-3.4 8.2-8 9.5-4.6-1.3-8-5-8-9.5v-5z", "M9 9l6 6M15 9l-6 6"],
  outbox: ["M3 13l2.5-7.5h13L21 13v5.5a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 18.5z", "M12 15V8", "M9 10.5L12 7.5l3 3"],
  chevron: ["M9 6l6 6-6 6"],
  more: ["M5 12h.01M12 12h.01M19 12h.01"],
  sort: ["M7 4v16", "M3.5 16.5L7 20l3.5-3.5", "M17 20V4", "M13.5 7.5L17 4l3.5 3.5"],
  image: ["M4.5 4h15A1.5 1.5 0 0 1 21 5.5v13a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 18.5v-13A1.5 1.5 0 0 1 4.5 4z", "M3 16l5-5 4 4 3-3 6 6", "M15.5 9.5a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3z"],
  download: ["M12 4v11", "M7.5 10.5L12 15l4.5-4.5", "M4 19h16"],
  keyboard: ["M3.5 6h17A1.5 1.5 0 0 1 22 7.5v9a1.5 1.5 0 0 1-1.5 1.5h-17A1.5 1.5 0 0 1 2 16.5v-9A1.5 1.5 0 0 1 3.5 6z", "M6 10h.01M10 10h.01M14 10h.01M18 10h.01M7 14h10"],
  refresh: ["M20 11a8 8 0 0 0-14.6-4.5L4 8", "M4 3.5V8h4.5", "M4 13a8 8 0 0 0 14.6 4.5L20 16", "M20 20.5V16h-4.5"],
  menu: ["M4 6h16", "M4 12h16", "M4 18h16"],
  check: ["M5 12.5l4.5 4.5L19 7.5"],
};

/**
 * An inline SVG icon (decorative: aria-hidden). Unknown names give an empty icon.
 * @param {string} name
 * @param {string} [cls]
 */
export function icon(name, cls) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", cls ? "icon " + cls : "icon");
  for (const d of ICONS[name] || []) {
    const p = document.createElementNS(SVG_NS, "path");
    p.setAttribute("d", d);
    svg.append(p);
  }
  return svg;
}

/**
 * A button with an icon and a label. With `iconOnly`, the label becomes the
 * accessible name and tooltip only.
 * @param {{icon?: string, label: string, onClick?: Function, cls?: string, iconOnly?: boolean, title?: string, type?: string, shortcut?: string}} o
 */
export function button(o) {
  const title = o.title || (o.shortcut ? `${o.label} (${o.shortcut})` : o.iconOnly ? o.label : null);
  const b = h(
    "button",
    {
      type: o.type || "button",
      class: ["btn", o.iconOnly && "btn-icon", o.cls],
      title,
      "aria-label": o.iconOnly ? o.label : null,
      "aria-keyshortcuts": o.keys || null,
      onclick: o.onClick,
    },
    o.icon && icon(o.icon),
    !o.iconOnly && h("span", { class: "btn-label" }, o.label),
  );
  return b;
}

// ---- formatting ---------------------------------------------------------------

const sameDay = (a, b) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const weekdayFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const yearFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

/** A short date for lists: time today, weekday this week, day and month this year, else with year. */
export function shortDate(value) {
  if (!value) return "";
  const d = new Date(value);
  if (isNaN(d)) return "";
  const now = new Date();
  if (sameDay(d, now)) return timeFmt.format(d);
  const age = (now - d) / 86400000;
  if (age >= 0 && age < 6) return weekdayFmt.format(d);
  if (d.getFullYear() === now.getFullYear()) return dayFmt.format(d);
  return yearFmt.format(d);
}

/** A full, human date and time ("Tuesday, 3 March 2026 at 10:15"). */
export function fullDate(value) {
  const d = new Date(value);
  return isNaN(d) ? "" : fullFmt.format(d);
}

/** Bytes in a person's units ("12 KB"). */
export function formatSize(n) {
  if (!(n >= 0)) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

/** A number with thousands separators. */
export function formatCount(n) {
  return new Intl.NumberFormat().format(n);
}

/** Whether a keyboard event happened while typing into a field (shortcuts must not fire then). */
export function isTyping(e) {
  const t = e.target;
  return !!(t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)));
}
