// The shell of the web app: sign-in and sign-out, the navigation bar, the
// hash router and the registry of views. A view is a module exporting
// `async function mount(container, ctx)` that may return a function that
// unmounts it, where
//   ctx = { api, store, user, names, route, navigate(hash), toast(message, kind), confirm(message) }
// `route` holds the hash parts after the view name ("#/calendar/week/2026-03-02"
// gives ["week", "2026-03-02"]). When the hash changes within the same view the
// view is mounted afresh, unless the unmount function it returned carries
// `routeChanged(route)` and that returns true (the view took the new route itself).

import * as api from "./api.js";
import { h, icon, replace } from "./dom.js";
import { toast, confirmDialog, errorText } from "./ui.js";
import { showShortcuts } from "./shortcuts.js";
import * as notify from "./notify.js";

/** The views, in navigation order; `load` imports the module on first use. */
const VIEWS = [
  { name: "mail", label: "Mail", icon: "mail", load: () => import("./mail.js") },
  { name: "calendar", label: "Calendar", icon: "calendar", load: () => import("./calendar.js") },
  { name: "contacts", label: "Contacts", icon: "contacts", load: () => import("./contacts.js") },
  { name: "tasks", label: "Tasks", icon: "tasks", load: () => import("./tasks.js") },
  { name: "notes", label: "Notes", icon: "notes", load: () => import("./notes.js") },
  { name: "settings", label: "Settings", icon: "settings", load: () => import("./settings.js") },
];

const $ = (id) => document.getElementById(id);

let session = null; // {user, store, names}
let current = null; // {name, unmount, token}
let mountToken = 0;

// ---- named properties --------------------------------------------------------

/**
 * Resolves MAPI named properties to tags once per page and caches them.
 * `names.tags([{guid, id | name, propType}])` (`type` is accepted for propType) resolves to ["0x8001001F", ...] in the same order.
 */
function makeNames() {
  const cache = new Map();
  const type = (n) => n.propType ?? n.type;
  const key = (n) => `${String(n.guid).toLowerCase()}|${n.id !== undefined ? "#" + n.id : "$" + n.name}|${type(n)}`;
  return {
    async tags(list) {
      const missing = list.filter((n) => !cache.has(key(n)));
      if (missing.length) {
        const names = missing.map((n) =>
          n.id !== undefined
            ? { guid: n.guid, id: n.id, propType: type(n) }
            : { guid: n.guid, name: n.name, propType: type(n) },
        );
        const p = api.call("getIdsFromNames", { names }).then((r) => r.tags);
        missing.forEach((n, i) =>
          cache.set(
            key(n),
            p.then((tags) => tags[i]),
          ),
        );
        // A failed lookup must not stay cached.
        p.catch(() => missing.forEach((n) => cache.delete(key(n))));
      }
      return Promise.all(list.map((n) => cache.get(key(n))));
    },
  };
}

// ---- routing --------------------------------------------------------------------

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const name = parts[0] && VIEWS.some((v) => v.name === parts[0]) ? parts[0] : "mail";
  return { name, route: parts[0] === name ? parts.slice(1) : [] };
}

/**
 * Goes to a hash route ("#/mail/<id>"). With `replace`, the history entry is replaced.
 * @param {string} hash
 * @param {{replace?: boolean}} [o]
 */
export function navigate(hash, o = {}) {
  if (!hash.startsWith("#")) hash = "#" + hash;
  if (o.replace) {
    history.replaceState(null, "", hash);
    route();
  } else if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  if (!session) return;
  const { name, route: parts } = parseHash();
  for (const a of $("nav").querySelectorAll("a")) {
    if (a.dataset.view === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (current && current.name === name && current.unmount && typeof current.unmount.routeChanged === "function") {
    if (current.unmount.routeChanged(parts)) return;
  }
  await mountView(name, parts);
}

async function mountView(name, parts) {
  const token = ++mountToken;
  if (current && typeof current.unmount === "function") {
    try {
      current.unmount();
    } catch (e) {
      console.error(e);
    }
  }
  current = { name, unmount: null };
  const container = $("view");
  const view = VIEWS.find((v) => v.name === name);
  replace(container, h("div", { class: "view-loading", role: "status", "aria-label": "Loading" }, h("div", { class: "spinner" })));
  container.dataset.view = name;
  document.title = `${view.label} · okapi`;
  let mod;
  try {
    mod = await view.load();
  } catch (e) {
    if (token !== mountToken) return;
    console.warn(`view ${name} could not be loaded`, e);
    replace(
      container,
      h(
        "div",
        { class: "empty-state view-placeholder" },
        icon(view.icon),
        h("p", { class: "empty-title" }, `${view.label} is not available yet`),
        h("p", null, "This part of okapi has not been installed on this server. Mail and settings work as usual."),
      ),
    );
    return;
  }
  if (token !== mountToken) return;
  const host = h("div", { class: `view-host view-${name}` });
  host.style.height = "100%";
  replace(container, host);
  const ctx = {
    api,
    store: session.store,
    user: session.user,
    names: session.names,
    route: parts,
    navigate,
    toast,
    confirm: (message) => confirmDialog(message),
  };
  try {
    const unmount = await mod.mount(host, ctx);
    if (token !== mountToken) {
      if (typeof unmount === "function") unmount();
      return;
    }
    current.unmount = unmount;
  } catch (e) {
    if (token !== mountToken) return;
    console.error(e);
    replace(
      host,
      h("div", { class: "empty-state" }, icon("close"), h("p", { class: "empty-title" }, `${view.label} could not be opened`), h("p", null, errorText(e))),
    );
  }
}

// ---- sign in, sign out ------------------------------------------------------------

function showLogin(message) {
  notify.stop();
  if (current && typeof current.unmount === "function") {
    try {
      current.unmount();
    } catch {
      /* the page is going away anyway */
    }
  }
  current = null;
  session = null;
  replace($("view"));
  $("app").hidden = true;
  $("login").hidden = false;
  document.title = "Sign in · okapi";
  const err = $("login-error");
  err.hidden = !message;
  err.textContent = message || "";
  $("login-password").value = "";
  ($("login-username").value ? $("login-password") : $("login-username")).focus();
}

async function startApp(user) {
  const store = await api.call("getStore", {});
  session = { user, store, names: makeNames() };
  $("login").hidden = true;
  $("app").hidden = false;
  $("user-name").textContent = user.displayName || user.login;
  $("user-name").title = user.address || "";
  notify.start(() => showLogin("Your session has ended. Please sign in again."));
  await route();
}

function buildShell() {
  const nav = $("nav");
  for (const v of VIEWS) {
    nav.append(h("a", { class: "nav-link", href: `#/${v.name}`, "data-view": v.name, title: v.label }, icon(v.icon), h("span", { class: "nav-label" }, v.label)));
  }
  $("logout-button").append(icon("logout"));
  $("shortcuts-button").append(icon("keyboard"));
  $("shortcuts-button").addEventListener("click", showShortcuts);
  $("logout-button").addEventListener("click", async () => {
    try {
      await api.logout();
    } catch (e) {
      console.warn("logout", e);
    }
    showLogin();
  });
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const username = $("login-username").value.trim();
    const password = $("login-password").value;
    const err = $("login-error");
    if (!username || !password) {
      err.textContent = "Enter your username and password.";
      err.hidden = false;
      return;
    }
    const btn = form.querySelector("button[type=submit]");
    btn.disabled = true;
    btn.textContent = "Signing in…";
    try {
      const r = await api.login(username, password);
      err.hidden = true;
      await startApp(r.user);
    } catch (x) {
      err.textContent = x.status === 401 ? "The username or password is not right." : errorText(x);
      err.hidden = false;
      $("login-password").select();
    } finally {
      btn.disabled = false;
      btn.textContent = "Sign in";
    }
  });
  window.addEventListener("hashchange", () => route());
  document.addEventListener("keydown", (e) => {
    if (e.key === "?" && !e.ctrlKey && !e.metaKey && !e.altKey && session && !/^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) && !e.target.isContentEditable && !document.querySelector("dialog[open]")) {
      e.preventDefault();
      showShortcuts();
    }
  });
}

async function boot() {
  buildShell();
  let s = null;
  try {
    s = await api.currentSession();
  } catch (e) {
    showLogin(errorText(e));
    return;
  }
  if (!s) {
    showLogin();
    return;
  }
  try {
    await startApp(s.user);
  } catch (e) {
    showLogin(errorText(e));
  }
}

boot();
