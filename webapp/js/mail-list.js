// The message list: a virtual list that stays smooth on a 100,000-message
// folder. Only the rows in view (plus a few) exist in the DOM; rows come from
// queryRows in pages of PAGE fetched on demand and cached (at most MAX_PAGES),
// so opening a folder costs one small query whatever its size. Selection is
// kept by entry id (click, ctrl/cmd-click, shift-click, ctrl-A, keyboard), and
// a refresh keeps the old rows on screen until the new ones arrive.

import { h, icon, shortDate, formatSize } from "./dom.js";

const ROW = 60; // px; the same as --row in app.css (set from here, so they cannot drift)
const PAGE = 100;
const OVERSCAN = 6;
const MAX_PAGES = 60;
const MSGFLAG_READ = 1;
const FLAGGED = 2;

/** Columns every row needs. */
export const LIST_COLUMNS = [
  "PR_SUBJECT",
  "PR_SENDER_NAME",
  "PR_SENDER_EMAIL_ADDRESS",
  "PR_DISPLAY_TO",
  "PR_MESSAGE_DELIVERY_TIME",
  "PR_CLIENT_SUBMIT_TIME",
  "PR_LAST_MODIFICATION_TIME",
  "PR_MESSAGE_SIZE",
  "PR_MESSAGE_FLAGS",
  "PR_FLAG_STATUS",
  "PR_HASATTACH",
  "PR_MESSAGE_CLASS",
];

/** Whether a row's message is read. */
export const isRead = (row) => ((row.props.PR_MESSAGE_FLAGS || 0) & MSGFLAG_READ) !== 0;
/** Whether a row's message is flagged for follow-up. */
export const isFlagged = (row) => row.props.PR_FLAG_STATUS === FLAGGED;

/**
 * Creates the list. Callbacks: onOpen(row) when one message becomes the one shown,
 * onSelection({count, all}) when the selection changes, onContextMenu(event, row),
 * onError(error), onLoaded({total, ms}) after the first page of a query arrives,
 * onTotal(total) whenever the number of rows changes.
 * @param {{api: object, onOpen: Function, onSelection: Function, onContextMenu?: Function, onError: Function, onLoaded?: Function, onTotal?: Function, onActivate?: Function}} o
 */
export function createMessageList(o) {
  const root = h("div", {
    class: "vlist",
    role: "listbox",
    tabindex: "0",
    "aria-label": "Messages",
    "aria-multiselectable": "true",
  });
  root.style.setProperty("--row", ROW + "px");
  const spacer = h("div", { class: "vlist-spacer", "aria-hidden": "true" });
  const overlay = h("div", { class: "vlist-overlay", hidden: true });
  root.append(spacer, overlay);

  let query = null; // {folder, sort, restriction, sentView}
  let gen = 0; // bumps on a new query: older answers are dropped
  let total = -1; // unknown until the first answer
  let pages = new Map(); // page number -> {rows, gen, stale}
  const inflight = new Map(); // page number -> gen
  const rendered = new Map(); // index -> {el, row}
  let selected = new Set();
  let all = false;
  let anchor = -1;
  let focus = -1;
  let openTimer = 0;
  let fetchTimer = 0;
  let rafPending = false;
  let startedAt = 0;
  let pendingSelect = -1; // after a removal: the row to select once the list has reloaded

  const rowAt = (i) => {
    const p = pages.get(Math.floor(i / PAGE));
    return p ? p.rows[i % PAGE] || null : null;
  };
  const isSelected = (row) => all || (row && selected.has(row.entryId));

  // ---- fetching ----------------------------------------------------------------

  async function fetchPage(n, g) {
    if (inflight.get(n) === g) return;
    inflight.set(n, g);
    try {
      const r = await o.api.call("queryRows", {
        folder: query.folder,
        columns: LIST_COLUMNS,
        sort: query.sort,
        restriction: query.restriction || undefined,
        offset: n * PAGE,
        limit: PAGE,
      });
      if (g !== gen) return;
      const first = total < 0;
      const changedTotal = total !== r.total;
      total = r.total;
      if (changedTotal && o.onTotal) o.onTotal(total);
      pages.set(n, { rows: r.rows, gen: g, stale: false, used: performance.now() });
      evict();
      layout();
      if (pendingSelect >= 0 && n === Math.floor(pendingSelect / PAGE)) {
        const i = Math.min(pendingSelect, total - 1);
        pendingSelect = -1;
        if (i >= 0 && !all && selected.size === 0) selectIndex(i, { delayOpen: true });
      }
      if (first && o.onLoaded) requestAnimationFrame(() => o.onLoaded({ total, ms: Math.round(performance.now() - startedAt) }));
    } catch (e) {
      if (g !== gen) return;
      if (total < 0) showOverlay("error", e);
      o.onError(e);
    } finally {
      if (inflight.get(n) === g) inflight.delete(n);
    }
  }

  function visibleRange() {
    const top = root.scrollTop;
    const height = root.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    let last = Math.ceil((top + height) / ROW) + OVERSCAN;
    if (total >= 0) last = Math.min(last, total - 1);
    return [first, last];
  }

  function wantPages() {
    if (!query) return;
    const [first, lastRow] = visibleRange();
    // An empty folder still asks for its first page, to learn when it fills.
    const last = Math.max(first, lastRow);
    for (let n = Math.floor(first / PAGE); n <= Math.floor(last / PAGE); n++) {
      const p = pages.get(n);
      if (p) p.used = performance.now();
      if ((!p || p.stale) && inflight.get(n) !== gen) fetchPage(n, gen);
    }
  }

  function evict() {
    if (pages.size <= MAX_PAGES) return;
    const byAge = [...pages.entries()].sort((a, b) => a[1].used - b[1].used);
    for (const [n] of byAge.slice(0, pages.size - MAX_PAGES)) pages.delete(n);
  }

  // ---- rendering ---------------------------------------------------------------

  function layout() {
    spacer.style.height = Math.max(0, total) * ROW + "px";
    if (total === 0) showOverlay("empty");
    else if (total > 0) overlay.hidden = true;
    render();
  }

  function schedule() {
    if (rafPending) return;
    rafPending = true;
    requestAnimationFrame(() => {
      rafPending = false;
      render();
      // While the scrollbar is dragged fast, fetch only where the view settles.
      clearTimeout(fetchTimer);
      fetchTimer = setTimeout(wantPages, 60);
    });
  }

  function render() {
    if (!query) return;
    let [first, last] = visibleRange();
    if (total < 0) last = Math.min(last, first + Math.ceil((root.clientHeight || 600) / ROW));
    for (const [i, r] of rendered) {
      if (i < first || i > last) {
        r.el.remove();
        rendered.delete(i);
      }
    }
    for (let i = first; i <= last; i++) {
      const row = rowAt(i);
      const have = rendered.get(i);
      if (have && have.row === row && have.sel === isSelected(row) && have.focus === (i === focus)) continue;
      const el = row ? rowElement(i, row) : skeleton(i);
      if (have) have.el.replaceWith(el);
      else root.append(el);
      rendered.set(i, { el, row, sel: isSelected(row), focus: i === focus });
    }
    if (focus >= 0 && rendered.has(focus)) root.setAttribute("aria-activedescendant", rowId(focus));
    else root.removeAttribute("aria-activedescendant");
  }

  const rowId = (i) => `msg-row-${i}`;

  function skeleton(i) {
    const el = h("div", { class: "vlist-row list-item msg msg-skeleton", "aria-hidden": "true" }, h("span", { class: "skeleton" }), h("span", { class: "skeleton" }));
    el.style.transform = `translateY(${i * ROW}px)`;
    return el;
  }

  function rowElement(i, row) {
    const p = row.props;
    const unread = !isRead(row);
    const sel = isSelected(row);
    const who = query.sentView ? (p.PR_DISPLAY_TO ? "To: " + p.PR_DISPLAY_TO : "(no recipients)") : p.PR_SENDER_NAME || p.PR_SENDER_EMAIL_ADDRESS || "(unknown sender)";
    const when = p.PR_MESSAGE_DELIVERY_TIME || p.PR_CLIENT_SUBMIT_TIME || p.PR_LAST_MODIFICATION_TIME;
    const subject = p.PR_SUBJECT || "(no subject)";
    const el = h(
      "div",
      {
        id: rowId(i),
        class: ["vlist-row", "list-item", "msg", unread && "unread", sel && "selected", i === focus && "focused"],
        role: "option",
        "aria-selected": sel ? "true" : "false",
        "aria-setsize": String(total),
        "aria-posinset": String(i + 1),
        "aria-label": `${unread ? "Unread, " : ""}${isFlagged(row) ? "Flagged, " : ""}${who}, ${subject}, ${shortDate(when)}`,
        draggable: "true",
        dataset: { index: String(i), entryId: row.entryId },
      },
      h("div", { class: "list-item-row" }, h("span", { class: "list-item-title msg-from" }, who), h("span", { class: "msg-date" }, shortDate(when))),
      h(
        "div",
        { class: "list-item-row" },
        h("span", { class: "list-item-sub msg-subject" }, subject),
        h(
          "span",
          { class: "msg-icons" },
          p.PR_HASATTACH && h("span", { title: "Has attachments" }, icon("attach")),
          isFlagged(row) && h("span", { class: "msg-flag", title: "Flagged" }, icon("flag")),
          query.sortKey === "size" && h("span", { class: "list-item-meta" }, formatSize(p.PR_MESSAGE_SIZE)),
        ),
      ),
    );
    el.style.transform = `translateY(${i * ROW}px)`;
    return el;
  }

  function showOverlay(kind, err) {
    overlay.hidden = false;
    overlay.replaceChildren();
    if (kind === "empty") {
      overlay.append(
        h(
          "div",
          { class: "empty-state" },
          icon(query.restriction ? "search" : "inbox"),
          h("p", { class: "empty-title" }, query.restriction ? "No messages match your search" : "No messages in this folder"),
          h("p", null, query.restriction ? "Try other words, or clear the search." : "New mail will appear here as it arrives."),
        ),
      );
    } else {
      const retry = h("button", { type: "button", class: "btn", onclick: () => setQuery(query) }, "Try again");
      overlay.append(h("div", { class: "empty-state" }, icon("close"), h("p", { class: "empty-title" }, "The messages could not be loaded"), h("p", null, err && err.message), retry));
    }
  }

  // ---- selection -----------------------------------------------------------------

  function changed() {
    render();
    o.onSelection({ count: all ? total : selected.size, all });
  }

  /** The single selected row when exactly one is selected, else null. */
  function singleSelected() {
    if (all || selected.size !== 1) return null;
    const id = [...selected][0];
    for (const p of pages.values()) for (const r of p.rows) if (r.entryId === id) return r;
    return null;
  }

  function scrollIntoView(i) {
    const top = i * ROW;
    if (top < root.scrollTop) root.scrollTop = top;
    else if (top + ROW > root.scrollTop + root.clientHeight) root.scrollTop = top + ROW - root.clientHeight;
  }

  async function rowsBetween(a, b) {
    const [lo, hi] = a < b ? [a, b] : [b, a];
    const need = [];
    for (let n = Math.floor(lo / PAGE); n <= Math.floor(hi / PAGE); n++) if (!pages.get(n)) need.push(fetchPage(n, gen));
    await Promise.all(need);
    const out = [];
    for (let i = lo; i <= hi; i++) {
      const r = rowAt(i);
      if (r) out.push(r);
    }
    return out;
  }

  /** Selects index i the way a click with these modifiers would. */
  async function selectIndex(i, { toggle = false, range = false, open = true, delayOpen = false } = {}) {
    pendingSelect = -1;
    if (i < 0 || (total >= 0 && i >= total)) return;
    const row = rowAt(i);
    if (range && anchor >= 0) {
      const rows = await rowsBetween(anchor, i);
      if (!toggle) selected = new Set();
      all = false;
      for (const r of rows) selected.add(r.entryId);
    } else if (toggle) {
      if (all) {
        all = false;
        selected = new Set();
      }
      if (row && selected.has(row.entryId)) selected.delete(row.entryId);
      else if (row) selected.add(row.entryId);
      anchor = i;
    } else {
      all = false;
      selected = new Set(row ? [row.entryId] : []);
      anchor = i;
    }
    focus = i;
    scrollIntoView(i);
    changed();
    clearTimeout(openTimer);
    const one = singleSelected();
    if (open && one) {
      if (delayOpen) openTimer = setTimeout(() => o.onOpen(one), 180);
      else o.onOpen(one);
    } else if (!one) o.onOpen(null);
  }

  root.addEventListener("scroll", schedule, { passive: true });
  new ResizeObserver(schedule).observe(root);

  root.addEventListener("click", (e) => {
    const el = e.target.closest(".vlist-row[data-index]");
    if (!el) return;
    const i = Number(el.dataset.index);
    root.focus({ preventScroll: true });
    selectIndex(i, { toggle: e.ctrlKey || e.metaKey, range: e.shiftKey });
  });
  root.addEventListener("dblclick", (e) => {
    const el = e.target.closest(".vlist-row[data-index]");
    if (el && o.onActivate) o.onActivate(rowAt(Number(el.dataset.index)));
  });
  root.addEventListener("contextmenu", (e) => {
    const el = e.target.closest(".vlist-row[data-index]");
    if (!el || !o.onContextMenu) return;
    e.preventDefault();
    const i = Number(el.dataset.index);
    const row = rowAt(i);
    if (row && !isSelected(row)) selectIndex(i);
    o.onContextMenu(e, row);
  });
  root.addEventListener("dragstart", (e) => {
    const el = e.target.closest(".vlist-row[data-index]");
    if (!el) return;
    const i = Number(el.dataset.index);
    const row = rowAt(i);
    if (row && !isSelected(row)) selectIndex(i, { open: false });
    const count = all ? total : selected.size;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("application/x-okapi-messages", String(count));
    e.dataTransfer.setData("text/plain", `${count} message${count === 1 ? "" : "s"}`);
    const ghost = h("div", { class: "drag-ghost" }, icon("mail"), `${count} message${count === 1 ? "" : "s"}`);
    document.body.append(ghost);
    e.dataTransfer.setDragImage(ghost, 12, 12);
    setTimeout(() => ghost.remove());
  });
  root.addEventListener("keydown", (e) => {
    if (e.altKey) return;
    const page = Math.max(1, Math.floor(root.clientHeight / ROW) - 1);
    const move = (i) => {
      e.preventDefault();
      if (total <= 0) return;
      selectIndex(Math.max(0, Math.min(total - 1, i)), { range: e.shiftKey, delayOpen: true });
    };
    const at = focus < 0 ? -1 : focus;
    switch (e.key) {
      case "ArrowDown":
        return move(at + 1);
      case "ArrowUp":
        return move(at < 0 ? 0 : at - 1);
      case "PageDown":
        return move(at + page);
      case "PageUp":
        return move(at - page);
      case "Home":
        return move(0);
      case "End":
        return move(total - 1);
      case " ":
        if (focus >= 0) {
          e.preventDefault();
          selectIndex(focus, { toggle: true, open: false });
        }
        return;
      case "a":
      case "A":
        if (e.ctrlKey || e.metaKey) {
          e.preventDefault();
          selectAll();
        }
        return;
    }
  });

  function selectAll() {
    if (total <= 0) return;
    all = true;
    selected = new Set();
    clearTimeout(openTimer);
    o.onOpen(null);
    changed();
  }

  // ---- the public face -------------------------------------------------------------

  /**
   * Shows a folder (or search result): {folder, sort, sortKey, restriction, sentView}.
   * Clears the selection and scrolls to the top.
   */
  function setQuery(q) {
    query = q;
    gen++;
    total = -1;
    pages = new Map();
    inflight.clear();
    for (const r of rendered.values()) r.el.remove();
    rendered.clear();
    selected = new Set();
    all = false;
    anchor = focus = -1;
    overlay.hidden = true;
    root.scrollTop = 0;
    spacer.style.height = "0px";
    startedAt = performance.now();
    o.onSelection({ count: 0, all: false });
    render();
    wantPages();
  }

  /** Reloads the rows in view, keeping the old ones on screen until the new ones arrive. */
  function refresh() {
    if (!query) return;
    gen++;
    for (const p of pages.values()) p.stale = true;
    inflight.clear();
    wantPages();
    // Rows out of view are dropped rather than refreshed.
    const [first, last] = visibleRange();
    for (const n of [...pages.keys()]) if (n < Math.floor(first / PAGE) || n > Math.floor(last / PAGE)) pages.delete(n);
  }

  /** Changes cached rows in place (optimistic update), e.g. after mark-read. */
  function patch(ids, fn) {
    const set = new Set(ids);
    for (const p of pages.values()) {
      p.rows = p.rows.map((r) => (all || set.has(r.entryId) ? { entryId: r.entryId, props: fn({ ...r.props }) } : r));
    }
    render();
  }

  /** Selected entry ids (fetching them all when everything is selected). */
  async function selectedIds() {
    if (!all) return [...selected];
    const ids = [];
    for (let off = 0; off < total; off += 5000) {
      const r = await o.api.call("queryRows", { folder: query.folder, columns: ["PR_MESSAGE_FLAGS"], sort: query.sort, restriction: query.restriction || undefined, offset: off, limit: 5000 });
      for (const row of r.rows) ids.push(row.entryId);
    }
    return ids;
  }

  /** The selected rows that are loaded (for read/flag state of the toolbar). */
  function selectedRows() {
    const out = [];
    for (const p of pages.values()) for (const r of p.rows) if (isSelected(r)) out.push(r);
    return out;
  }

  /**
   * After the selected messages were deleted or moved: reloads, and selects the
   * row that then sits where the first removed one was, unless the user has
   * selected something else in the meantime.
   */
  function afterRemoval() {
    const next = focus;
    selected = new Set();
    all = false;
    o.onSelection({ count: 0, all: false });
    refresh();
    pendingSelect = next;
  }

  return {
    el: root,
    setQuery,
    refresh,
    patch,
    selectedIds,
    selectedRows,
    singleSelected,
    selectAll,
    selectIndex,
    afterRemoval,
    get total() {
      return total;
    },
    get focusIndex() {
      return focus;
    },
    get hasSelection() {
      return all || selected.size > 0;
    },
    focus: () => root.focus(),
  };
}
