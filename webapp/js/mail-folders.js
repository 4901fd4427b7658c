// The mail folder tree: the store's mail folders (calendar, contacts, tasks
// and notes have their own views) with unread counts, standard folders first,
// expand and collapse remembered per browser, a context menu and toolbar for
// create, rename, move and delete, and drop targets for messages and folders.
// Also the folder picker used by the Move dialogs.

import { h, icon, replace, formatCount } from "./dom.js";
import { contextMenu, modal, promptDialog, confirmDialog, toast, errorText } from "./ui.js";

const MAIL_CLASSES = /^(IPF\.Note|IPF\.Imap|IPF\.Note\..*|)$/;

/** The standard folders in the order they are shown, with icons. */
function standardFolders(store) {
  return [
    [store.inbox, "inbox"],
    [store.drafts, "drafts"],
    [store.sentItems, "sent"],
    [store.deletedItems, "trash"],
    [store.junk, "junk"],
    [store.outbox, "outbox"],
  ];
}

/**
 * Loads the mail folders of the store as a tree: [{folder, children, depth}], standard folders first.
 * @param {object} api
 * @param {object} store the getStore answer
 */
export async function loadFolderTree(api, store) {
  const r = await api.call("getHierarchy", { folder: store.root, depth: 0 });
  const byParent = new Map();
  for (const f of r.folders) {
    if (!MAIL_CLASSES.test(f.containerClass || "")) continue;
    if (!byParent.has(f.parentEntryId)) byParent.set(f.parentEntryId, []);
    byParent.get(f.parentEntryId).push(f);
  }
  const std = new Map(standardFolders(store).map(([id, ic], i) => [id, { order: i, icon: ic }]));
  const build = (parent, depth) =>
    (byParent.get(parent) || [])
      .sort((a, b) => {
        const sa = std.get(a.entryId);
        const sb = std.get(b.entryId);
        if (sa && sb) return sa.order - sb.order;
        if (sa || sb) return sa ? -1 : 1;
        return a.displayName.localeCompare(b.displayName);
      })
      .map((f) => ({ folder: f, depth, standard: !!std.get(f.entryId), icon: (std.get(f.entryId) || {}).icon || "folder", children: build(f.entryId, depth + 1) }));
  return build(store.root, 1);
}

const EXPANDED_KEY = "okapi.mail.expanded";
const expanded = new Set(JSON.parse(localStorage.getItem(EXPANDED_KEY) || "[]"));
const saveExpanded = () => localStorage.setItem(EXPANDED_KEY, JSON.stringify([...expanded]));

/**
 * Creates the folder tree. `onSelect(folder)` when the user picks a folder;
 * `onDropMessages(destFolderId)` when messages are dropped on one; `onChanged()` after
 * a folder operation (the tree reloads itself).
 * @param {{api: object, store: object, onSelect: Function, onDropMessages: Function, onChanged?: Function}} o
 */
export function createFolderTree(o) {
  const root = h("ul", { class: "folder-tree list", role: "tree", "aria-label": "Mail folders" });
  let tree = [];
  let selectedId = null;
  const byId = new Map();
  let draggingFolder = null;

  async function reload() {
    try {
      tree = await loadFolderTree(o.api, o.store);
    } catch (e) {
      toast(errorText(e), "error");
      return;
    }
    byId.clear();
    const walk = (nodes) => nodes.forEach((n) => (byId.set(n.folder.entryId, n), walk(n.children)));
    walk(tree);
    render();
  }

  function render() {
    const focusedId = document.activeElement && root.contains(document.activeElement) ? document.activeElement.dataset.id : null;
    replace(root, tree.map(item));
    if (focusedId) {
      const el = root.querySelector(`[data-id="${CSS.escape(focusedId)}"]`);
      el && el.focus();
    }
  }

  function item(n) {
    const f = n.folder;
    const hasKids = n.children.length > 0;
    const open = expanded.has(f.entryId);
    const sel = f.entryId === selectedId;
    const row = h(
      "div",
      {
        class: ["folder", f.unreadCount > 0 && "has-unread"],
        role: "treeitem",
        tabindex: sel || (!selectedId && n === tree[0]) ? "0" : "-1",
        "aria-selected": sel ? "true" : "false",
        "aria-level": String(n.depth),
        "aria-expanded": hasKids ? String(open) : null,
        "aria-label": f.unreadCount > 0 ? `${f.displayName}, ${f.unreadCount} unread` : f.displayName,
        draggable: n.standard ? null : "true",
        dataset: { id: f.entryId },
      },
      h(
        "span",
        {
          class: "folder-twisty",
          onclick: (e) => {
            e.stopPropagation();
            toggle(f.entryId);
          },
        },
        hasKids && icon("chevron"),
      ),
      icon(n.icon),
      h("span", { class: "folder-name" }, f.displayName),
      f.unreadCount > 0 && h("span", { class: "folder-count", "aria-hidden": "true" }, formatCount(f.unreadCount)),
    );
    row.style.paddingLeft = 4 + (n.depth - 1) * 16 + "px";
    const li = h("li", { role: "none" }, row);
    if (hasKids && open) li.append(h("ul", { role: "group" }, n.children.map(item)));
    return li;
  }

  function toggle(id) {
    if (expanded.has(id)) expanded.delete(id);
    else expanded.add(id);
    saveExpanded();
    render();
  }

  function visibleRows() {
    return [...root.querySelectorAll(".folder")];
  }

  root.addEventListener("click", (e) => {
    const el = e.target.closest(".folder");
    if (el) o.onSelect(byId.get(el.dataset.id).folder);
  });
  root.addEventListener("contextmenu", (e) => {
    const el = e.target.closest(".folder");
    if (!el) return;
    e.preventDefault();
    menuFor(byId.get(el.dataset.id), e.clientX, e.clientY, el);
  });
  root.addEventListener("keydown", (e) => {
    const el = e.target.closest(".folder");
    if (!el) return;
    const rows = visibleRows();
    const i = rows.indexOf(el);
    const n = byId.get(el.dataset.id);
    const go = (j) => {
      e.preventDefault();
      const t = rows[Math.max(0, Math.min(rows.length - 1, j))];
      rows.forEach((r) => (r.tabIndex = -1));
      t.tabIndex = 0;
      t.focus();
    };
    if (e.key === "ArrowDown") go(i + 1);
    else if (e.key === "ArrowUp") go(i - 1);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(rows.length - 1);
    else if (e.key === "ArrowRight" && n.children.length && !expanded.has(n.folder.entryId)) (e.preventDefault(), toggle(n.folder.entryId));
    else if (e.key === "ArrowLeft" && expanded.has(n.folder.entryId)) (e.preventDefault(), toggle(n.folder.entryId));
    else if (e.key === "Enter" || e.key === " ") (e.preventDefault(), o.onSelect(n.folder));
    else if (e.key === "ContextMenu" || (e.key === "F10" && e.shiftKey)) {
      e.preventDefault();
      const r = el.getBoundingClientRect();
      menuFor(n, r.left + 24, r.bottom, el);
    }
  });

  // Drag and drop: messages onto folders; folders onto folders.
  root.addEventListener("dragstart", (e) => {
    const el = e.target.closest(".folder");
    if (!el) return;
    draggingFolder = el.dataset.id;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("application/x-okapi-folder", draggingFolder);
  });
  root.addEventListener("dragend", () => (draggingFolder = null));
  const accepts = (e, el) => {
    const types = e.dataTransfer.types;
    if (types.includes("application/x-okapi-messages")) return el.dataset.id !== selectedId;
    if (types.includes("application/x-okapi-folder")) return draggingFolder && draggingFolder !== el.dataset.id && !isInside(el.dataset.id, draggingFolder);
    return false;
  };
  root.addEventListener("dragover", (e) => {
    const el = e.target.closest(".folder");
    if (!el || !accepts(e, el)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    root.querySelectorAll(".drop-target").forEach((x) => x !== el && x.classList.remove("drop-target"));
    el.classList.add("drop-target");
  });
  root.addEventListener("dragleave", (e) => {
    const el = e.target.closest(".folder");
    if (el && !el.contains(e.relatedTarget)) el.classList.remove("drop-target");
  });
  root.addEventListener("drop", async (e) => {
    const el = e.target.closest(".folder");
    root.querySelectorAll(".drop-target").forEach((x) => x.classList.remove("drop-target"));
    if (!el || !accepts(e, el)) return;
    e.preventDefault();
    if (e.dataTransfer.types.includes("application/x-okapi-messages")) o.onDropMessages(el.dataset.id);
    else if (draggingFolder) {
      const src = byId.get(draggingFolder);
      await op(() => o.api.call("moveFolder", { folder: src.folder.entryId, newParent: el.dataset.id }), `Moved “${src.folder.displayName}”`);
      expanded.add(el.dataset.id);
      saveExpanded();
    }
  });

  // Is `id` the folder `ancestor` or below it?
  function isInside(id, ancestor) {
    for (let n = byId.get(id); n; n = byId.get(n.folder.parentEntryId)) if (n.folder.entryId === ancestor) return true;
    return false;
  }

  async function op(fn, done) {
    try {
      await fn();
      if (done) toast(done, "success");
    } catch (e) {
      toast(errorText(e), "error");
    }
    await reload();
    o.onChanged && o.onChanged();
  }

  function menuFor(n, x, y, returnFocus) {
    const f = n.folder;
    contextMenu(
      x,
      y,
      [
        { label: "New folder inside…", icon: "plus", onSelect: () => createIn(f) },
        { label: "Rename…", icon: "compose", disabled: n.standard, onSelect: () => rename(n) },
        { label: "Move…", icon: "move", disabled: n.standard, onSelect: () => move(n) },
        { label: "Mark all as read", icon: "read", disabled: !f.unreadCount, onSelect: () => markAllRead(f) },
        { label: "Delete…", icon: "trash", danger: true, disabled: n.standard, onSelect: () => remove(n) },
      ],
      returnFocus,
    );
  }

  async function createIn(parent) {
    const name = await promptDialog({ title: "New folder", label: `Name (inside ${parent ? parent.displayName : "the top level"})`, confirmLabel: "Create" });
    if (!name) return;
    const parentId = parent ? parent.entryId : o.store.root;
    await op(() => o.api.call("createFolder", { parent: parentId, name, containerClass: "IPF.Note" }), `Created “${name}”`);
    if (parent) {
      expanded.add(parent.entryId);
      saveExpanded();
      render();
    }
  }

  async function rename(n) {
    const name = await promptDialog({ title: "Rename folder", label: "New name", value: n.folder.displayName, confirmLabel: "Rename" });
    if (!name || name === n.folder.displayName) return;
    await op(() => o.api.call("renameFolder", { folder: n.folder.entryId, name }), `Renamed to “${name}”`);
  }

  async function move(n) {
    const dest = await pickFolder(o.api, o.store, { title: `Move “${n.folder.displayName}” to`, exclude: n.folder.entryId, allowTop: true, confirmLabel: "Move" });
    if (!dest) return;
    await op(() => o.api.call("moveFolder", { folder: n.folder.entryId, newParent: dest }), `Moved “${n.folder.displayName}”`);
  }

  async function remove(n) {
    const inDeleted = isInside(n.folder.entryId, o.store.deletedItems);
    const ok = await confirmDialog(
      inDeleted
        ? `Delete “${n.folder.displayName}” and everything in it for good? This cannot be undone.`
        : `Move “${n.folder.displayName}” and everything in it to Deleted Items?`,
      { title: "Delete folder", confirmLabel: "Delete" },
    );
    if (!ok) return;
    const wasSelected = isInside(selectedId, n.folder.entryId);
    await op(() => o.api.call("deleteFolder", { folder: n.folder.entryId, hard: inDeleted }), `Deleted “${n.folder.displayName}”`);
    if (wasSelected) o.onSelect(byId.get(o.store.inbox).folder);
  }

  async function markAllRead(f) {
    try {
      // Each round marks up to 5000 unread messages; marked ones leave the restriction.
      for (;;) {
        const r = await o.api.call("queryRows", { folder: f.entryId, columns: ["PR_MESSAGE_FLAGS"], restriction: { bitmask: { tag: "PR_MESSAGE_FLAGS", mask: 1, zero: true } }, limit: 5000 });
        if (r.rows.length) await o.api.call("setReadFlags", { entryIds: r.rows.map((x) => x.entryId), read: true });
        if (r.rows.length < 5000) break;
      }
    } catch (e) {
      toast(errorText(e), "error");
    }
    await reload();
    o.onChanged && o.onChanged();
  }

  return {
    el: root,
    reload,
    /** Marks a folder as the selected one. */
    select(id) {
      selectedId = id;
      for (let n = byId.get(id); n; n = byId.get(n.folder.parentEntryId)) if (n.folder.entryId !== id && !expanded.has(n.folder.entryId)) expanded.add(n.folder.entryId);
      render();
    },
    /** The folder row for an id, if known. */
    folder: (id) => (byId.get(id) || {}).folder || null,
    createIn,
    focus() {
      const el = root.querySelector('.folder[tabindex="0"]');
      el && el.focus();
    },
  };
}

/**
 * Asks for a mail folder; resolves with its entry id, or null.
 * @param {object} api
 * @param {object} store
 * @param {{title: string, exclude?: string, allowTop?: boolean, confirmLabel?: string}} o
 */
export async function pickFolder(api, store, o) {
  let tree;
  try {
    tree = await loadFolderTree(api, store);
  } catch (e) {
    toast(errorText(e), "error");
    return null;
  }
  return modal({
    title: o.title,
    build: (close) => {
      let chosen = null;
      const ok = h("button", { type: "button", class: "btn btn-primary", disabled: true, onclick: () => close(chosen) }, o.confirmLabel || "OK");
      const list = h("ul", { class: "folder-tree list picker", role: "listbox", "aria-label": "Folders" });
      const opts = [];
      const add = (id, name, depth, ic) => {
        const el = h("li", { class: "folder", role: "option", tabindex: opts.length ? "-1" : "0", "aria-selected": "false", dataset: { id } }, icon(ic), h("span", { class: "folder-name" }, name));
        el.style.paddingLeft = 8 + (depth - 1) * 16 + "px";
        opts.push(el);
        list.append(el);
      };
      if (o.allowTop) add(store.root, "Top level", 1, "folder");
      const walk = (nodes) =>
        nodes.forEach((n) => {
          if (n.folder.entryId === o.exclude) return;
          add(n.folder.entryId, n.folder.displayName, n.depth + (o.allowTop ? 1 : 0), n.icon);
          walk(n.children);
        });
      walk(tree);
      const choose = (el) => {
        opts.forEach((x) => (x.setAttribute("aria-selected", "false"), (x.tabIndex = -1)));
        el.setAttribute("aria-selected", "true");
        el.tabIndex = 0;
        el.focus();
        chosen = el.dataset.id;
        ok.disabled = false;
      };
      list.addEventListener("click", (e) => {
        const el = e.target.closest(".folder");
        if (el) choose(el);
      });
      list.addEventListener("dblclick", (e) => {
        const el = e.target.closest(".folder");
        if (el) close(el.dataset.id);
      });
      list.addEventListener("keydown", (e) => {
        const i = opts.indexOf(document.activeElement);
        if (e.key === "ArrowDown") (e.preventDefault(), choose(opts[Math.min(opts.length - 1, i + 1)]));
        else if (e.key === "ArrowUp") (e.preventDefault(), choose(opts[Math.max(0, i - 1)]));
        else if (e.key === "Enter" && chosen) (e.preventDefault(), close(chosen));
      });
      const cancel = h("button", { type: "button", class: "btn", onclick: () => close(null) }, "Cancel");
      return { body: list, actions: [cancel, ok], initialFocus: opts[0] };
    },
  }).then((v) => v || null);
}
