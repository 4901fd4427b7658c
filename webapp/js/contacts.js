// The contacts view: the user's Contacts folder as an address book, a
// searchable list grouped by initial beside a form for the selected contact.
// Contacts are IPM.Contact messages with MAPI's own properties (PR_GIVEN_NAME,
// PR_SURNAME, ... and the PSETID_Address named properties for the e-mail
// address and "file under"), so Outlook-style clients see the same cards.
//
// Route: #/contacts[/<entryId>]. Selecting a contact rewrites the hash in
// place; the shell's routeChanged hook handles back and forward.

import { h, replace, field, ensureStylesheet, reportError, confirmed, loading, emptyState, arrowKeys, setHash, debounce } from "./pim-ui.js";
import { CONTACT, tagLoader, prop } from "./pim-props.js";

const FIELDS = [
  // [key, label, tag or named key, input type]
  ["given", "First name", "PR_GIVEN_NAME", "text"],
  ["surname", "Last name", "PR_SURNAME", "text"],
  ["email", "Email", "@email", "email"],
  ["company", "Company", "PR_COMPANY_NAME", "text"],
  ["business", "Business phone", "PR_BUSINESS_TELEPHONE_NUMBER", "tel"],
  ["mobile", "Mobile phone", "PR_MOBILE_TELEPHONE_NUMBER", "tel"],
  ["home", "Home phone", "PR_HOME_TELEPHONE_NUMBER", "tel"],
  ["postal", "Address", "PR_POSTAL_ADDRESS", "textarea"],
  ["notes", "Notes", "PR_BODY", "textarea"],
];

/**
 * Mounts the contacts view into `container`.
 * @param {HTMLElement} container
 * @param {{api: any, store: any, names: any, route: string[], toast: Function, confirm: Function}} ctx
 * @returns {Promise<Function>} unmount (with a routeChanged hook)
 */
export async function mount(container, ctx) {
  ensureStylesheet();
  const state = { tags: null, rows: [], selected: ctx.route[0] || null, query: "", seq: 0, dirty: false, alive: true };

  const search = h("input", { type: "search", class: "input pim-search-input", placeholder: "Search name, email, company", autocomplete: "off" });
  const list = h("div", { class: "pim-list", role: "list" });
  const count = h("div", { class: "pim-count", "aria-live": "polite" });
  const listPane = h("div", { class: "pane pim-listpane" },
    h("div", { class: "pim-search" }, h("label", { class: "pim-sr", for: search.id = "pim-contact-search", text: "Search contacts" }), search),
    list, count);
  const detail = h("div", { class: "pane pim-detailpane pim-detail" });
  const split = h("div", { class: "pim-split" }, listPane, detail);
  const root = h("section", { class: "pim pim-contacts" },
    h("div", { class: "toolbar pim-toolbar", role: "toolbar" },
      h("h2", { class: "pim-view-title", text: "Contacts" }),
      h("div", { class: "pim-spacer" }),
      h("button", { type: "button", class: "btn btn-primary", text: "New contact", onclick: () => select(null, true) })),
    split);
  replace(container, root);
  arrowKeys(list, ".pim-contact-item");

  const runSearch = debounce(() => load(), 200);
  search.addEventListener("input", () => {
    state.query = search.value.trim();
    runSearch();
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") {
      const first = list.querySelector(".pim-contact-item");
      if (first) {
        e.preventDefault();
        first.focus();
      }
    } else if (e.key === "Escape" && search.value) {
      search.value = "";
      state.query = "";
      load();
    }
  });

  /** The view's tags, resolved once; a failure is retried on the next call. */
  const ensureTags = tagLoader(ctx, CONTACT, (t) => (state.tags = t));

  async function load() {
    const seq = ++state.seq;
    if (!state.rows.length) replace(list, loading("Loading contacts…"));
    try {
      const T = await ensureTags();
      const req = {
        folder: ctx.store.contacts,
        columns: ["PR_DISPLAY_NAME", "PR_SUBJECT", "PR_COMPANY_NAME", "PR_MESSAGE_CLASS", T.email, T.fileUnder],
        sort: [{ tag: "PR_DISPLAY_NAME" }],
        limit: 5000,
      };
      if (state.query) {
        req.restriction = { or: ["PR_DISPLAY_NAME", T.email, "PR_COMPANY_NAME"].map((tag) => ({ content: { tag, value: state.query } })) };
      }
      const r = await ctx.api.call("queryRows", req);
      if (seq !== state.seq || !state.alive) return;
      state.rows = r.rows
        .filter((row) => !prop(row.props, "PR_MESSAGE_CLASS") || /^IPM\.Contact/i.test(prop(row.props, "PR_MESSAGE_CLASS")))
        .map((row) => ({ entryId: row.entryId, name: nameOf(row.props, T), email: prop(row.props, T.email) || "", company: prop(row.props, "PR_COMPANY_NAME") || "" }))
        .sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }));
      renderList();
    } catch (e) {
      if (seq !== state.seq) return;
      reportError(ctx, "Could not load the contacts", e);
      replace(list, emptyState("Contacts could not be loaded", e.message));
    }
  }

  function renderList() {
    const focusedId = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.entryId : null;
    list.replaceChildren();
    if (!state.rows.length) {
      list.append(state.query
        ? emptyState("No matches", `Nothing matches “${state.query}”.`)
        : emptyState("No contacts yet", "Add people you write to with “New contact”."));
    }
    let letter = null;
    for (const c of state.rows) {
      const l = initialOf(c.name);
      if (l !== letter) {
        letter = l;
        list.append(h("div", { class: "pim-group-head", role: "presentation", "aria-hidden": "true", text: l }));
      }
      const isSel = c.entryId === state.selected;
      list.append(h("div", { role: "listitem" },
        h("button", {
          type: "button", class: "pim-contact-item list-item" + (isSel ? " selected" : ""),
          "aria-current": isSel ? "true" : null, dataset: { entryId: c.entryId },
          onclick: () => select(c.entryId),
        },
        avatar(c.name),
        h("span", { class: "pim-contact-text" },
          h("span", { class: "pim-contact-name", text: c.name }),
          c.email || c.company ? h("span", { class: "pim-contact-sub", text: [c.email, c.company].filter(Boolean).join(" · ") }) : null))));
    }
    const n = state.rows.length;
    count.textContent = state.query ? `${n} match${n === 1 ? "" : "es"}` : `${n} contact${n === 1 ? "" : "s"}`;
    if (focusedId) {
      const again = list.querySelector(`[data-entry-id="${CSS.escape(focusedId)}"]`);
      if (again) again.focus();
    }
  }

  async function select(entryId, isNew = false) {
    if (state.dirty && !(await confirmed(ctx, "Discard the changes to this contact?"))) return;
    state.dirty = false;
    state.selected = entryId;
    setHash(entryId ? `#/contacts/${encodeURIComponent(entryId)}` : "#/contacts");
    for (const b of list.querySelectorAll(".pim-contact-item")) {
      const on = b.dataset.entryId === entryId;
      b.classList.toggle("selected", on);
      if (on) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    }
    split.classList.toggle("pim-show-detail", !!entryId || isNew);
    if (!entryId && !isNew) {
      replace(detail, emptyState("No contact selected", "Pick someone from the list, or add a new contact."));
      return;
    }
    if (isNew) {
      try {
        await ensureTags();
      } catch (e) {
        return reportError(ctx, "Contacts are not available", e);
      }
      return showForm(null);
    }
    replace(detail, loading("Opening contact…"));
    try {
      await ensureTags();
      const full = await ctx.api.call("loadObject", { entryId });
      if (state.selected !== entryId || !state.alive) return;
      showForm(full);
    } catch (e) {
      reportError(ctx, "Could not open the contact", e);
      replace(detail, emptyState("This contact could not be opened", e.message));
    }
  }

  function showForm(full) {
    const T = state.tags;
    const p = full ? full.props : {};
    const tagOf = (t) => (t.startsWith("@") ? T[t.slice(1)] : t);
    const inputs = {};
    const fields = FIELDS.map(([key, label, tag, type]) => {
      const value = prop(p, tagOf(tag)) || "";
      const input = type === "textarea"
        ? h("textarea", { name: key, rows: key === "notes" ? "4" : "3", value })
        : h("input", { type, name: key, value, autocomplete: "off" });
      input.addEventListener("input", () => { state.dirty = true; });
      inputs[key] = input;
      return field(label, input);
    });
    const name = full ? nameOf(p, T) : "";
    const heading = h("h2", { text: full ? name : "Add a contact" });
    const headSub = h("div", { class: "pim-contact-sub" });
    const email = prop(p, T.email);
    if (email) headSub.append(h("a", { href: `mailto:${email}`, text: email }));
    const error = h("p", { class: "pim-form-error", role: "alert", hidden: true });
    const saveBtn = h("button", { type: "submit", class: "btn btn-primary", text: "Save" });
    const form = h("form", { class: "form pim-form pim-detail-inner", novalidate: true },
      h("button", { type: "button", class: "btn pim-back", text: "‹ Contacts", onclick: () => select(null) }),
      h("div", { class: "pim-detail-head" }, avatar(name || "?", true), h("div", null, heading, headSub)),
      h("div", { class: "pim-row" }, fields[0], fields[1]),
      h("div", { class: "pim-row" }, fields[2], fields[3]),
      h("div", { class: "pim-row" }, fields[4], fields[5], fields[6]),
      fields[7], fields[8],
      error,
      h("div", { class: "pim-form-actions" },
        full ? h("button", { type: "button", class: "btn btn-danger pim-left", text: "Delete", onclick: () => remove() }) : null,
        full ? null : h("button", { type: "button", class: "btn", text: "Cancel", onclick: () => { state.dirty = false; select(null); } }),
        saveBtn));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      save();
    });
    replace(detail, form);
    if (!full) inputs.given.focus();

    async function save() {
      error.hidden = true;
      const v = Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()]));
      v.notes = inputs.notes.value;
      if (!v.given && !v.surname && !v.company && !v.email) {
        error.textContent = "Give at least a name, a company or an email address.";
        error.hidden = false;
        return inputs.given.focus();
      }
      if (v.email && !/^[^@\s]+@[^@\s]+$/.test(v.email)) {
        error.textContent = `“${v.email}” is not an email address.`;
        error.hidden = false;
        return inputs.email.focus();
      }
      const display = [v.given, v.surname].filter(Boolean).join(" ") || v.company || v.email;
      const props = {
        PR_MESSAGE_CLASS: "IPM.Contact",
        PR_DISPLAY_NAME: display,
        PR_SUBJECT: display,
        [T.fileUnder]: v.surname && v.given ? `${v.surname}, ${v.given}` : display,
      };
      const deleteProps = [];
      for (const [key, , tag] of FIELDS) {
        const t = tagOf(tag);
        if (v[key]) props[t] = v[key];
        else if (full && prop(p, t) !== undefined) deleteProps.push(t);
      }
      if (v.email) props[T.emailName] = `${display} (${v.email})`;
      else if (full && prop(p, T.emailName) !== undefined) deleteProps.push(T.emailName);
      const req = full ? { entryId: full.entryId, props } : { folder: ctx.store.contacts, props };
      if (deleteProps.length) req.deleteProps = deleteProps;
      saveBtn.disabled = true;
      let r;
      try {
        r = await ctx.api.call("saveObject", req);
      } catch (e) {
        saveBtn.disabled = false;
        error.textContent = e.message;
        error.hidden = false;
        return reportError(ctx, "Could not save the contact", e);
      }
      state.dirty = false;
      ctx.toast(full ? `Saved ${display}` : `Added ${display}`, "success");
      const id = (r && r.entryId) || (full && full.entryId);
      await load();
      await select(id);
    }

    async function remove() {
      if (!(await confirmed(ctx, `Delete the contact “${name}”?`))) return;
      try {
        await ctx.api.call("deleteObjects", { entryIds: [full.entryId] });
      } catch (e) {
        return reportError(ctx, "Could not delete the contact", e);
      }
      ctx.toast(`Deleted ${name}`, "success");
      state.dirty = false;
      const i = state.rows.findIndex((c) => c.entryId === full.entryId);
      await load();
      const next = state.rows[Math.min(i, state.rows.length - 1)];
      await select(next ? next.entryId : null);
      if (!next) split.classList.remove("pim-show-detail");
    }
  }

  // Show the empty pane at once; a click on "New contact" during the first
  // load must not be undone when the load finishes.
  const wanted = state.selected;
  state.selected = null;
  replace(detail, emptyState("No contact selected", "Pick someone from the list, or add a new contact."));
  await load();
  if (wanted && state.selected === null && !split.classList.contains("pim-show-detail")) await select(wanted);

  const unmount = () => {
    state.alive = false;
    runSearch.cancel();
  };
  /** The shell's hook for a new hash within this view: answer true to stay mounted. */
  unmount.routeChanged = (parts) => {
    const id = parts[0] || null;
    if (id !== state.selected) select(id);
    return true;
  };
  return unmount;
}

/** The name a contact is listed under. */
function nameOf(p, T) {
  return prop(p, "PR_DISPLAY_NAME") || [prop(p, "PR_GIVEN_NAME"), prop(p, "PR_SURNAME")].filter(Boolean).join(" ")
    || prop(p, T.fileUnder) || prop(p, "PR_SUBJECT") || prop(p, T.email) || "(no name)";
}

/** The group letter of a name: its first letter without accents, or "#". */
function initialOf(name) {
  const c = (name || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").charAt(0).toUpperCase();
  return /\p{L}/u.test(c) ? c : "#";
}

function avatar(name, large = false) {
  const words = (name || "?").split(/\s+/).filter(Boolean);
  const letters = (words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || "?").slice(0, 2)).toUpperCase();
  let hash = 0;
  for (const ch of name || "") hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return h("span", { class: `pim-avatar pim-avatar-c${hash % 6}` + (large ? " pim-avatar-lg" : ""), "aria-hidden": "true", text: letters });
}
