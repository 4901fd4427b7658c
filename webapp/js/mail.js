// The mail view: folder tree, message list and reading pane side by side (one
// at a time at phone width), with the toolbar, search, sorting, keyboard
// shortcuts and the live refresh that notify events drive. The parts live in
// mail-folders.js, mail-list.js, mail-reader.js and compose.js; this module
// wires them together and owns the actions on the selection.

import { h, icon, button, replace, formatCount, isTyping } from "./dom.js";
import { toast, errorText, confirmDialog, contextMenu } from "./ui.js";
import { createFolderTree, pickFolder } from "./mail-folders.js";
import { createMessageList, isRead, isFlagged } from "./mail-list.js";
import { createReader } from "./mail-reader.js";
import { openCompose } from "./compose.js";
import { onEvents } from "./notify.js";
import { registerShortcuts } from "./shortcuts.js";

const SORTS = {
  date: { label: "Date", tag: "PR_MESSAGE_DELIVERY_TIME", desc: true },
  from: { label: "From", tag: "PR_SENDER_NAME", desc: false },
  subject: { label: "Subject", tag: "PR_SUBJECT", desc: false },
  size: { label: "Size", tag: "PR_MESSAGE_SIZE", desc: true },
};
const SEARCH_TAGS = ["PR_SUBJECT", "PR_SENDER_NAME", "PR_SENDER_EMAIL_ADDRESS", "PR_DISPLAY_TO", "PR_BODY"];

/**
 * Mounts the mail view. Route: [folderEntryId?].
 * @param {HTMLElement} container
 * @param {object} ctx see app.js
 */
export async function mount(container, ctx) {
  const { api, store, user } = ctx;
  const prefs = JSON.parse(localStorage.getItem("okapi.mail.sort") || "{}");
  const state = {
    folderId: ctx.route[0] || store.inbox,
    sortKey: SORTS[prefs.key] ? prefs.key : "date",
    desc: typeof prefs.desc === "boolean" ? prefs.desc : true,
    search: "",
  };
  let disposed = false;

  // ---- parts ------------------------------------------------------------------

  const tree = createFolderTree({
    api,
    store,
    onSelect: (f) => {
      ctx.navigate(`#/mail/${f.entryId}`);
    },
    onDropMessages: (dest) => moveSelected(dest),
    onChanged: () => refreshList(),
  });

  const list = createMessageList({
    api,
    onOpen: (row) => {
      if (row) reader.show(row);
      else reader.empty(list.hasSelection ? 2 : 0);
      updateToolbar();
    },
    onSelection: ({ count }) => {
      if (count > 1) reader.empty(count);
      updateToolbar(count);
    },
    onContextMenu: (e) => rowMenu(e.clientX, e.clientY),
    onActivate: (row) => activate(row),
    onError: (e) => toast(errorText(e), "error"),
    onLoaded: ({ ms }) => {
      container.dataset.firstRowsMs = String(ms);
    },
    onTotal: (total) => {
      listCount.textContent = total === 1 ? "1 message" : `${formatCount(total)} messages`;
    },
  });

  const reader = createReader({
    api,
    onMarkedRead: (id) => {
      list.patch([id], (p) => ((p.PR_MESSAGE_FLAGS = (p.PR_MESSAGE_FLAGS || 0) | 1), p));
      scheduleTreeReload();
      updateToolbar();
    },
    onError: (e) => toast(errorText(e), "error"),
  });

  // ---- layout ------------------------------------------------------------------

  const tb = {
    back: button({ icon: "back", label: "Back", iconOnly: true, cls: "mail-back", onClick: () => back() }),
    reply: button({ icon: "reply", label: "Reply", cls: "msg-action", shortcut: "R", keys: "r", onClick: () => respond("reply") }),
    replyAll: button({ icon: "replyAll", label: "Reply all", cls: "msg-action", shortcut: "A", keys: "a", onClick: () => respond("replyAll") }),
    forward: button({ icon: "forward", label: "Forward", cls: "msg-action", shortcut: "F", keys: "f", onClick: () => respond("forward") }),
    del: button({ icon: "trash", label: "Delete", cls: "msg-action", shortcut: "Delete", keys: "Delete", onClick: () => deleteSelected() }),
    move: button({ icon: "move", label: "Move", cls: "msg-action", shortcut: "M", keys: "m", onClick: () => moveSelected() }),
    read: button({ icon: "read", label: "Mark read", cls: "msg-action", shortcut: "U", keys: "u", onClick: () => toggleRead() }),
    flag: button({ icon: "flag", label: "Flag", cls: "msg-action", shortcut: "S", keys: "s", onClick: () => toggleFlag() }),
  };
  const toolbar = h(
    "div",
    { class: "toolbar mail-toolbar", role: "toolbar", "aria-label": "Message actions" },
    tb.back,
    tb.reply,
    tb.replyAll,
    tb.forward,
    h("span", { class: "toolbar-sep msg-action", "aria-hidden": "true" }),
    tb.del,
    tb.move,
    tb.read,
    tb.flag,
    h("span", { class: "toolbar-spacer" }),
    button({ icon: "compose", label: "New message", iconOnly: true, cls: "btn-primary mail-compose-phone", onClick: () => compose("new") }),
  );

  const listTitle = h("h2", { class: "pane-title", id: "mail-list-title" }, "");
  const listCount = h("span", { class: "list-count", "aria-live": "polite" });
  const searchInput = h("input", {
    type: "search",
    class: "input",
    id: "mail-search",
    placeholder: "Search mail",
    "aria-label": "Search messages",
    "aria-keyshortcuts": "/",
    autocomplete: "off",
  });
  const sortSelect = h(
    "select",
    { class: "select sort-select", "aria-label": "Sort by", id: "mail-sort" },
    Object.entries(SORTS).map(([k, s]) => h("option", { value: k, selected: k === state.sortKey }, s.label)),
  );
  const sortDir = h("button", { type: "button", class: "btn btn-icon", id: "mail-sort-dir" }, icon("sort"));

  const folderPane = h(
    "nav",
    { class: "pane folder-pane", "aria-label": "Folders" },
    h(
      "div",
      { class: "pane-header" },
      button({ icon: "compose", label: "New message", cls: "btn-primary compose-btn", shortcut: "C", keys: "c", onClick: () => compose("new") }),
      button({ icon: "plus", label: "New folder", iconOnly: true, onClick: () => tree.createIn(null) }),
    ),
    h("div", { class: "pane-body" }, tree.el),
  );
  const listPane = h(
    "section",
    { class: "pane list-pane", "aria-labelledby": "mail-list-title" },
    h(
      "div",
      { class: "pane-header" },
      h("div", { class: "list-head" }, listTitle, listCount),
      h("div", { class: "list-tools", role: "search" }, h("div", { class: "search-box" }, icon("search"), searchInput), sortSelect, sortDir),
    ),
    list.el,
  );
  const readerPane = h("section", { class: "pane reader-pane", "aria-label": "Reading pane" }, reader.el);
  const root = h("div", { class: "mail", dataset: { pane: "list" } }, folderPane, toolbar, listPane, readerPane);
  replace(container, root);

  // ---- state changes -------------------------------------------------------------

  function restriction() {
    const q = state.search.trim();
    if (!q) return null;
    return { or: SEARCH_TAGS.map((tag) => ({ content: { tag, value: q } })) };
  }

  function isSentView() {
    return state.folderId === store.sentItems || state.folderId === store.drafts || state.folderId === store.outbox;
  }

  function sortSpec() {
    const s = SORTS[state.sortKey];
    const tag = state.sortKey === "from" && isSentView() ? "PR_DISPLAY_TO" : s.tag;
    const spec = [{ tag, descending: state.desc }];
    if (state.sortKey !== "date") spec.push({ tag: "PR_MESSAGE_DELIVERY_TIME", descending: true });
    return spec;
  }

  function updateSortDir() {
    const names = { date: ["Oldest first", "Newest first"], from: ["A to Z", "Z to A"], subject: ["A to Z", "Z to A"], size: ["Smallest first", "Largest first"] }[state.sortKey];
    const label = names[state.desc ? 1 : 0];
    sortDir.setAttribute("aria-label", `Sort order: ${label}`);
    sortDir.title = `${label} (click to reverse)`;
    sortDir.classList.toggle("sort-asc", !state.desc);
  }

  function loadList() {
    updateSortDir();
    listCount.textContent = "";
    list.setQuery({ folder: state.folderId, sort: sortSpec(), sortKey: state.sortKey, restriction: restriction(), sentView: isSentView() });
    reader.empty(0);
  }

  function refreshList() {
    list.refresh();
  }

  function showFolder(id) {
    state.folderId = id;
    tree.select(id);
    const f = tree.folder(id);
    listTitle.textContent = f ? f.displayName : "Mail";
    updateTitle();
    loadList();
  }

  function updateTitle() {
    const f = tree.folder(state.folderId);
    if (!f) return;
    listTitle.textContent = f.displayName;
    document.title = `${f.displayName}${f.unreadCount ? ` (${f.unreadCount})` : ""} · okapi`;
  }

  function updateToolbar(count) {
    const n = count !== undefined ? count : list.hasSelection ? Math.max(1, list.selectedRows().length) : 0;
    const one = list.singleSelected();
    for (const b of [tb.reply, tb.replyAll, tb.forward]) b.disabled = !one;
    for (const b of [tb.del, tb.move, tb.read, tb.flag]) b.disabled = n === 0 && !one;
    const rows = list.selectedRows();
    const anyUnread = rows.some((r) => !isRead(r));
    const allFlagged = rows.length > 0 && rows.every(isFlagged);
    tb.read.querySelector(".btn-label").textContent = anyUnread || !rows.length ? "Mark read" : "Mark unread";
    tb.read.replaceChild(icon(anyUnread || !rows.length ? "read" : "unread"), tb.read.querySelector("svg"));
    tb.flag.querySelector(".btn-label").textContent = allFlagged ? "Unflag" : "Flag";
    tb.flag.setAttribute("aria-pressed", allFlagged ? "true" : "false");
  }

  let treeTimer = 0;
  function scheduleTreeReload() {
    clearTimeout(treeTimer);
    treeTimer = setTimeout(async () => {
      await tree.reload();
      if (!disposed) updateTitle();
    }, 200);
  }

  // ---- actions ---------------------------------------------------------------------

  async function withIds(fn) {
    let ids;
    try {
      ids = await list.selectedIds();
    } catch (e) {
      toast(errorText(e), "error");
      return;
    }
    if (!ids.length) return;
    try {
      await fn(ids);
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  function inDeletedItems() {
    for (let f = tree.folder(state.folderId); f; f = tree.folder(f.parentEntryId)) if (f.entryId === store.deletedItems) return true;
    return false;
  }

  const plural = (n, w) => `${formatCount(n)} ${w}${n === 1 ? "" : "s"}`;

  async function deleteSelected() {
    await withIds(async (ids) => {
      const hard = inDeletedItems();
      if (hard && !(await confirmDialog(`Delete ${plural(ids.length, "message")} for good? This cannot be undone.`, { title: "Delete permanently", confirmLabel: "Delete" }))) return;
      await api.call("deleteObjects", { entryIds: ids, hard });
      toast(hard ? `Deleted ${plural(ids.length, "message")}` : `Moved ${plural(ids.length, "message")} to Deleted Items`, "success");
      afterRemoval();
    });
  }

  async function moveSelected(dest) {
    await withIds(async (ids) => {
      if (!dest) dest = await pickFolder(api, store, { title: `Move ${plural(ids.length, "message")} to`, exclude: null, confirmLabel: "Move" });
      if (!dest || dest === state.folderId) return;
      await api.call("moveObjects", { entryIds: ids, destFolder: dest });
      const f = tree.folder(dest);
      toast(`Moved ${plural(ids.length, "message")} to ${f ? f.displayName : "the folder"}`, "success");
      afterRemoval();
    });
  }

  function afterRemoval() {
    list.afterRemoval();
    reader.empty(0);
    scheduleTreeReload();
  }

  async function toggleRead() {
    const rows = list.selectedRows();
    const read = rows.length ? rows.some((r) => !isRead(r)) : true;
    await withIds(async (ids) => {
      await api.call("setReadFlags", { entryIds: ids, read });
      list.patch(ids, (p) => ((p.PR_MESSAGE_FLAGS = read ? (p.PR_MESSAGE_FLAGS || 0) | 1 : (p.PR_MESSAGE_FLAGS || 0) & ~1), p));
      scheduleTreeReload();
      updateToolbar();
    });
  }

  async function toggleFlag() {
    const rows = list.selectedRows();
    const flag = !(rows.length && rows.every(isFlagged));
    await withIds(async (ids) => {
      for (const entryId of ids) {
        if (flag) await api.call("saveObject", { entryId, props: { PR_FLAG_STATUS: 2 } });
        else await api.call("saveObject", { entryId, props: {}, deleteProps: ["PR_FLAG_STATUS"] });
      }
      list.patch(ids, (p) => {
        if (flag) p.PR_FLAG_STATUS = 2;
        else delete p.PR_FLAG_STATUS;
        return p;
      });
      updateToolbar();
    });
  }

  async function respond(mode) {
    const row = list.singleSelected();
    if (!row) return;
    let src = reader.current && reader.current.entryId === row.entryId ? reader.current : null;
    try {
      if (!src) src = await api.call("loadObject", { entryId: row.entryId });
    } catch (e) {
      toast(errorText(e), "error");
      return;
    }
    compose(mode, src);
  }

  async function compose(mode, source) {
    const r = await openCompose({ api, store, user, mode, source });
    if (r && state.folderId === store.drafts) refreshList();
  }

  async function activate(row) {
    if (!row) return;
    if (state.folderId === store.drafts) {
      try {
        compose("draft", await api.call("loadObject", { entryId: row.entryId }));
      } catch (e) {
        toast(errorText(e), "error");
      }
      return;
    }
    root.dataset.pane = "reader";
  }

  function back() {
    root.dataset.pane = root.dataset.pane === "reader" ? "list" : "folders";
    if (root.dataset.pane === "list") list.focus();
  }

  function rowMenu(x, y) {
    const one = list.singleSelected();
    const rows = list.selectedRows();
    contextMenu(
      x,
      y,
      [
        { label: "Reply", icon: "reply", disabled: !one, onSelect: () => respond("reply") },
        { label: "Reply all", icon: "replyAll", disabled: !one, onSelect: () => respond("replyAll") },
        { label: "Forward", icon: "forward", disabled: !one, onSelect: () => respond("forward") },
        { label: rows.some((r) => !isRead(r)) ? "Mark read" : "Mark unread", icon: "read", onSelect: () => toggleRead() },
        { label: rows.length && rows.every(isFlagged) ? "Unflag" : "Flag", icon: "flag", onSelect: () => toggleFlag() },
        { label: "Move…", icon: "move", onSelect: () => moveSelected() },
        { label: "Delete", icon: "trash", danger: true, onSelect: () => deleteSelected() },
      ],
      list.el,
    );
  }

  // ---- events ----------------------------------------------------------------------

  let searchTimer = 0;
  searchInput.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      if (state.search !== searchInput.value) {
        state.search = searchInput.value;
        loadList();
      }
    }, 300);
  });
  searchInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      clearTimeout(searchTimer);
      state.search = searchInput.value;
      loadList();
      list.focus();
    } else if (e.key === "Escape" && searchInput.value) {
      e.preventDefault();
      searchInput.value = "";
      state.search = "";
      loadList();
    } else if (e.key === "ArrowDown") {
      e.preventDefault();
      list.focus();
      list.selectIndex(0);
    }
  });
  sortSelect.addEventListener("change", () => {
    state.sortKey = sortSelect.value;
    state.desc = SORTS[state.sortKey].desc;
    localStorage.setItem("okapi.mail.sort", JSON.stringify({ key: state.sortKey, desc: state.desc }));
    loadList();
  });
  sortDir.addEventListener("click", () => {
    state.desc = !state.desc;
    localStorage.setItem("okapi.mail.sort", JSON.stringify({ key: state.sortKey, desc: state.desc }));
    loadList();
  });
  list.el.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      activate(list.singleSelected());
    }
  });
  // On a phone, choosing a message shows it.
  list.el.addEventListener("click", (e) => {
    if (e.target.closest(".vlist-row[data-index]") && !e.ctrlKey && !e.metaKey && !e.shiftKey && matchMedia("(max-width: 699px)").matches && state.folderId !== store.drafts) root.dataset.pane = "reader";
  });
  list.el.addEventListener("dblclick", () => {});

  function onKey(e) {
    if (e.defaultPrevented || e.altKey || isTyping(e) || document.querySelector("dialog[open], .menu")) return;
    const k = e.key;
    if ((e.ctrlKey || e.metaKey) && (k === "a" || k === "A")) {
      if (e.target === list.el) return; // the list handles it
      e.preventDefault();
      list.selectAll();
      list.focus();
      return;
    }
    if (e.ctrlKey || e.metaKey) return;
    const inList = e.target === list.el;
    const act = {
      j: () => list.selectIndex(list.focusIndex + 1, { delayOpen: true }),
      k: () => list.selectIndex(Math.max(0, list.focusIndex - 1), { delayOpen: true }),
      ArrowDown: inList ? null : () => (list.focus(), list.selectIndex(list.focusIndex + 1, { delayOpen: true })),
      ArrowUp: inList ? null : () => (list.focus(), list.selectIndex(Math.max(0, list.focusIndex - 1), { delayOpen: true })),
      Enter: inList ? null : e.target === document.body || e.target.id === "view" ? () => activate(list.singleSelected()) : null,
      r: () => respond("reply"),
      a: () => respond("replyAll"),
      f: () => respond("forward"),
      c: () => compose("new"),
      n: () => compose("new"),
      Delete: () => deleteSelected(),
      "#": () => deleteSelected(),
      u: () => toggleRead(),
      s: () => toggleFlag(),
      m: () => moveSelected(),
      "/": () => (searchInput.focus(), searchInput.select()),
      Escape: root.dataset.pane !== "list" && matchMedia("(max-width: 699px)").matches ? () => back() : null,
    }[k];
    if (!act) return;
    e.preventDefault();
    act();
  }
  document.addEventListener("keydown", onKey);
  const unregister = registerShortcuts("Mail", [
    ["j / ↓", "Next message"],
    ["k / ↑", "Previous message"],
    ["Enter", "Open the message (edit a draft)"],
    ["Shift+↓ / Shift+↑", "Extend the selection"],
    ["Ctrl+A", "Select all messages"],
    ["c / n", "New message"],
    ["r", "Reply"],
    ["a", "Reply all"],
    ["f", "Forward"],
    ["Delete / #", "Delete"],
    ["m", "Move to a folder"],
    ["u", "Mark read or unread"],
    ["s", "Flag or unflag"],
    ["/", "Search"],
    ["Ctrl+Enter", "Send (while writing)"],
  ]);

  let notifyTimer = 0;
  let pending = [];
  const unsubscribe = onEvents((events) => {
    pending.push(...events);
    clearTimeout(notifyTimer);
    notifyTimer = setTimeout(() => {
      const evs = pending;
      pending = [];
      if (disposed) return;
      scheduleTreeReload();
      const here = evs.some((e) => e.folder === state.folderId || e.oldFolder === state.folderId || e.entryId === state.folderId);
      if (here) refreshList();
      const shown = reader.current;
      if (shown && evs.some((e) => e.entryId === shown.entryId && (e.kind === "objectDeleted" || (e.kind === "objectMoved" && e.oldFolder === state.folderId)))) reader.empty(0);
      const mail = evs.filter((e) => e.kind === "newMail");
      if (mail.length && !(here && document.hasFocus())) toast(mail.length === 1 ? "You have new mail" : `You have ${mail.length} new messages`);
    }, 150);
  });

  // ---- start -------------------------------------------------------------------------

  await tree.reload();
  if (!tree.folder(state.folderId)) state.folderId = store.inbox;
  showFolder(state.folderId);
  updateToolbar(0);
  if (!ctx.route[0]) history.replaceState(null, "", `#/mail/${state.folderId}`);

  const unmount = () => {
    disposed = true;
    document.removeEventListener("keydown", onKey);
    unsubscribe();
    unregister();
    clearTimeout(treeTimer);
    clearTimeout(notifyTimer);
  };
  unmount.routeChanged = (route) => {
    const id = route[0] || store.inbox;
    if (id !== state.folderId) {
      searchInput.value = "";
      state.search = "";
      showFolder(id);
    }
    root.dataset.pane = "list";
    return true;
  };
  return unmount;
}
