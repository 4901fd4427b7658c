// The web app's one door to okapi-server: the JSON API at /api/v1/<operation>
// on the same origin, authenticated by the HttpOnly session cookie that
// /api/web/login sets, with the CSRF token sent back in a header on every
// state-changing request. No other module calls fetch() for the API.

const CSRF_HEADER = "X-Okapi-CSRF";
let csrfToken = null;

/** An error answered by the server: `code` is the MAPI code ("0x8004010F"), `name` its name. */
export class ApiError extends Error {
  constructor(status, code, name, message) {
    super(message);
    this.status = status;
    this.code = code;
    this.name = name;
  }
}

async function decode(resp) {
  let body = null;
  try {
    body = await resp.json();
  } catch {
    throw new ApiError(resp.status, "", "HTTP_" + resp.status, `the server answered HTTP ${resp.status} without JSON`);
  }
  if (!resp.ok || (body && body.error)) {
    const e = (body && body.error) || {};
    throw new ApiError(resp.status, e.code || "", e.name || "HTTP_" + resp.status, e.message || `HTTP ${resp.status}`);
  }
  return body;
}

async function post(path, params) {
  const headers = { "Content-Type": "application/json" };
  if (csrfToken) headers[CSRF_HEADER] = csrfToken;
  const resp = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers,
    body: JSON.stringify(params || {}),
  });
  return decode(resp);
}

/** Logs on; resolves to {user: {login, displayName, address}, csrfToken}. */
export async function login(username, password) {
  const r = await post("/api/web/login", { username, password });
  csrfToken = r.csrfToken;
  return r;
}

/** The current session if the cookie is still good, else null. */
export async function currentSession() {
  const resp = await fetch("/api/web/session", { credentials: "same-origin" });
  if (resp.status === 401) return null;
  const r = await decode(resp);
  csrfToken = r.csrfToken;
  return r;
}

export async function logout() {
  try {
    await post("/api/web/logout", {});
  } finally {
    csrfToken = null;
  }
}

/** Calls one operation of the table (see GET /okapi?wsdl); `session` is filled in by the server. */
export function call(operation, params) {
  return post("/api/v1/" + encodeURIComponent(operation), params);
}

/** URL of an attachment's bytes; `inline` asks for display instead of download (images only). */
export function attachmentUrl(entryId, attachNum, inline = false) {
  const q = new URLSearchParams({ entryId, attachNum: String(attachNum) });
  if (inline) q.set("inline", "1");
  return "/api/v1/attachment?" + q;
}

/** URL of a message body rendered safe by the server, for a sandboxed iframe. */
export function bodyUrl(entryId, remoteImages = false) {
  const q = new URLSearchParams({ entryId });
  if (remoteImages) q.set("images", "1");
  return "/api/web/body?" + q;
}

/** {html: bool, remoteImages: number} for a message body. */
export async function bodyInfo(entryId) {
  const resp = await fetch("/api/web/body?" + new URLSearchParams({ entryId, info: "1" }), {
    credentials: "same-origin",
  });
  return decode(resp);
}
