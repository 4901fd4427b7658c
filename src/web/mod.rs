//! What the browser needs beyond the operation table: logging on with a
//! cookie, CSRF protection, message bodies made safe to display, and the web
//! app's own files.
//!
//! A browser must not hold the session id where page script can read it, so
//! `POST /api/web/login` puts it in an HttpOnly, SameSite=Strict cookie and
//! hands the page a CSRF token instead. Requests to `/api/v1/<operation>`
//! that carry no `session` of their own take it from the cookie, but only
//! with the token in the `X-Okapi-CSRF` header. Programs that pass `session`
//! in the request, as before, are not affected.
//!
//! Routes (all JSON unless said):
//! - `POST /api/web/login` `{username, password}`: sets the cookie; answers
//!   `{user: {login, displayName, address}, csrfToken}`
//! - `GET /api/web/session`: the same answer while the cookie's session lives
//! - `POST /api/web/logout`: ends the session and clears the cookie
//! - `GET /api/web/body?entryId=…[&images=1]`: the body as a safe HTML
//!   document (`&info=1`: `{html, remoteImages}` instead)
//! - `GET /webapp/…`: the web app's files (see [`assets`])

pub mod assets;
pub mod sanitize;

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hyper::header::{CACHE_CONTROL, COOKIE, HeaderValue, SET_COOKIE};
use hyper::{HeaderMap, StatusCode};
use serde_json::{Value as Json, json};

use crate::error::{ApiError, MapiCode};
use crate::http::{ConnInfo, ResponseBody};
use crate::ops::{self, Ctx, Peer};
use crate::props::{PR_BODY, PR_HTML, PropValue};

pub(crate) use crate::http::respond as reply;

/// An HTTP answer.
pub type Reply = hyper::Response<ResponseBody>;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "okapi_session";
/// Header that must carry the session's CSRF token.
pub const CSRF_HEADER: &str = "x-okapi-csrf";

/// Inline images embedded in one body at most, in bytes; past this they are left out.
const MAX_INLINE_IMAGE_BYTES: i64 = 10 * 1024 * 1024;

/// Header in which a program sends its session id on the GET routes
/// (`/api/v1/attachment`, `/api/web/body`), which take no request body.
pub const SESSION_HEADER: &str = "x-okapi-session";

/// The session of a GET route: from [`SESSION_HEADER`], else the cookie.
/// A `session=` in the query is refused, never used: a URL ends up in
/// proxies' and Apache's access logs, and the id with it.
pub fn get_route_session(headers: &HeaderMap, query: &str) -> Result<String, ApiError> {
    if crate::http::query_param(query, "session").is_some() {
        return Err(ApiError::invalid(
            "a session id in the URL would be written to access logs, so session= is refused; \
             send it in the X-Okapi-Session header (or log on through the web app, which sets a cookie)",
        ));
    }
    headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .or_else(|| cookie_session(headers))
        .ok_or_else(|| {
            ApiError::new(
                MapiCode::EndOfSession,
                "not logged on; send the session id in the X-Okapi-Session header",
            )
        })
}

/// The session id in the request's cookie, if any.
pub fn cookie_session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// For a JSON operation without its own `session`: takes the session from the
/// cookie after checking the CSRF header, and puts it into the request.
pub fn attach_cookie_session(ctx: &Ctx, headers: &HeaderMap, request: &mut Json) -> Result<(), ApiError> {
    let Some(obj) = request.as_object_mut() else {
        return Ok(());
    };
    if obj.contains_key("session") {
        return Ok(());
    }
    let Some(id) = cookie_session(headers) else {
        return Ok(());
    };
    let session = ctx.session(&id)?;
    if !csrf_token_sent(headers, &session) {
        return Err(ApiError::no_access(
            "the request came with the session cookie but without the right X-Okapi-CSRF header; \
             reload the web app",
        ));
    }
    obj.insert("session".into(), Json::from(id));
    Ok(())
}

/// True when the request carries the session's CSRF token in [`CSRF_HEADER`].
fn csrf_token_sent(headers: &HeaderMap, session: &ops::session::Session) -> bool {
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a request was sent by a page of another site, or `None` when it was
/// not. Log-on has no session and so no CSRF token yet; without this check
/// another site could post its own account's password and leave the reader
/// working, unawares, in a mailbox that site reads (login CSRF).
///
/// Browsers say where a request comes from: `Sec-Fetch-Site` (every current
/// browser), else `Origin`, which must name the host the browser asked for
/// (`Host`, or `X-Forwarded-Host` behind Apache; a page of another site
/// cannot set either header without a CORS preflight, which okapi never
/// grants). A request with neither header comes from a program, not a page,
/// and is let through.
fn cross_site(headers: &HeaderMap) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(site) = header("sec-fetch-site") {
        return (!site.eq_ignore_ascii_case("same-origin") && !site.eq_ignore_ascii_case("none"))
            .then(|| format!("Sec-Fetch-Site: {site}"));
    }
    let origin = header("origin")?;
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
        .unwrap_or("");
    let asked_for = [
        header("host"),
        header("x-forwarded-host")
            .and_then(|h| h.split(',').next())
            .map(str::trim),
    ];
    let same = !origin_host.is_empty()
        && asked_for
            .into_iter()
            .flatten()
            .any(|host| host.eq_ignore_ascii_case(origin_host));
    (!same).then(|| format!("Origin: {origin}"))
}

/// True when the browser reached us over TLS, directly or through a local
/// reverse proxy that says so (Apache sets `X-Forwarded-Proto`).
fn browser_uses_tls(conn: &ConnInfo, headers: &HeaderMap) -> bool {
    if conn.tls {
        return true;
    }
    let local_proxy = match &conn.peer {
        Peer::Local { .. } | Peer::Proxied { .. } => true,
        Peer::Network(a) => a.ip().is_loopback(),
    };
    local_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

fn session_cookie(value: &str, secure: bool, clear: bool) -> Option<HeaderValue> {
    let mut c = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict");
    if secure {
        c.push_str("; Secure");
    }
    if clear {
        c.push_str("; Max-Age=0");
    }
    HeaderValue::from_str(&c).ok()
}

fn json_reply(status: StatusCode, v: &Json) -> Reply {
    let mut r = reply(status, "application/json", v.to_string());
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `POST /api/web/login`.
pub async fn login(ctx: &Ctx, conn: &ConnInfo, headers: &HeaderMap, body: &[u8]) -> Result<Reply, ApiError> {
    if let Some(why) = cross_site(headers) {
        return Err(ApiError::no_access(format!(
            "log on from the web app's own page: this log-on came from another site ({why}), \
             which could log the browser on to an account of the other site's choosing"
        )));
    }
    let req = crate::codec::json::decode_request(body)?;
    let field = |k: &str| {
        req.get(k)
            .and_then(Json::as_str)
            .map(str::to_string)
            .ok_or_else(|| ApiError::invalid(format!("login needs {k}")))
    };
    let logon = ops::find("logon").ok_or_else(|| ApiError::new(MapiCode::CallFailed, "logon is missing"))?;
    let answer = ops::dispatch(
        ctx,
        logon,
        json!({"user": field("username")?, "password": field("password")?}),
    )
    .await?;
    let id = answer
        .get("session")
        .and_then(Json::as_str)
        .ok_or_else(|| ApiError::new(MapiCode::CallFailed, "logon returned no session"))?
        .to_string();
    let mut r = json_reply(StatusCode::OK, &session_info(ctx, &id).await?);
    if let Some(c) = session_cookie(&id, browser_uses_tls(conn, headers), false) {
        r.headers_mut().insert(SET_COOKIE, c);
    }
    Ok(r)
}

/// `GET /api/web/session`.
pub async fn current(ctx: &Ctx, headers: &HeaderMap) -> Result<Reply, ApiError> {
    let id =
        cookie_session(headers).ok_or_else(|| ApiError::new(MapiCode::EndOfSession, "not logged on; log on first"))?;
    Ok(json_reply(StatusCode::OK, &session_info(ctx, &id).await?))
}

/// `POST /api/web/logout`: idempotent, so a stale page can always log out.
pub async fn logout(ctx: &Ctx, conn: &ConnInfo, headers: &HeaderMap) -> Result<Reply, ApiError> {
    if let Some(id) = cookie_session(headers)
        && let Ok(s) = ctx.session(&id)
    {
        if !csrf_token_sent(headers, &s) {
            return Err(ApiError::no_access("logout needs the X-Okapi-CSRF header"));
        }
        ctx.state.sessions.close(&id);
        tracing::info!(okapi_user = %s.login, okapi_session = %s.log_id(), okapi_remote = %ctx.peer, "logoff");
    }
    let mut r = json_reply(StatusCode::OK, &json!({}));
    if let Some(c) = session_cookie("", browser_uses_tls(conn, headers), true) {
        r.headers_mut().insert(SET_COOKIE, c);
    }
    Ok(r)
}

async fn session_info(ctx: &Ctx, id: &str) -> Result<Json, ApiError> {
    let s = ctx.session(id)?;
    let user = ctx.store().user_by_id(s.user_id).await?;
    Ok(json!({
        "user": {"login": user.login, "displayName": user.display_name, "address": user.address},
        "csrfToken": s.csrf_token,
    }))
}

/// `GET /api/web/body`: the message body as a document for a sandboxed frame.
pub async fn body(ctx: &Ctx, headers: &HeaderMap, query: &str) -> Result<Reply, ApiError> {
    let param = |k: &str| crate::http::query_param(query, k);
    let session = get_route_session(headers, query)?;
    let entry_id = param("entryId").ok_or_else(|| ApiError::invalid("the query needs entryId="))?;
    let allow_remote = param("images").as_deref() == Some("1");
    let info_only = param("info").as_deref() == Some("1");
    let msg = ops::message_for_display(ctx, &session, &entry_id).await?;

    let html_source = match msg.props.get(&PR_HTML) {
        Some(PropValue::Binary(b)) if !b.is_empty() => Some(String::from_utf8_lossy(b).into_owned()),
        Some(PropValue::Str(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let (markup, blocked) = match &html_source {
        Some(html) => {
            // The summary only counts remote images: no need to read the inline ones.
            let images = if info_only {
                HashMap::new()
            } else {
                inline_images(ctx, &msg.attachments).await
            };
            let clean = sanitize::clean_html(html, &images, allow_remote);
            (clean.html, clean.remote_images_blocked)
        }
        None => {
            let text = match msg.props.get(&PR_BODY) {
                Some(PropValue::Str(s)) => s.as_str(),
                _ => "",
            };
            (sanitize::text_to_html(text), 0)
        }
    };
    if info_only {
        return Ok(json_reply(
            StatusCode::OK,
            &json!({"html": html_source.is_some(), "remoteImages": blocked}),
        ));
    }
    let document = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\
         <style>{BODY_STYLE}</style></head><body>{markup}</body></html>"
    );
    let mut r = reply(StatusCode::OK, "text/html; charset=utf-8", document);
    let h = r.headers_mut();
    let img_src = if allow_remote { "data: https: http:" } else { "data:" };
    if let Ok(csp) = HeaderValue::from_str(&format!(
        "default-src 'none'; img-src {img_src}; style-src 'unsafe-inline'; font-src data:; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'self'; \
         sandbox allow-popups allow-popups-to-escape-sandbox"
    )) {
        h.insert("content-security-policy", csp);
    }
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(r)
}

/// How a body looks before the mail's own styles: readable, and never wider than the pane.
const BODY_STYLE: &str = "body{margin:16px;font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
     color:#1f2328;background:#fff;overflow-wrap:anywhere}img{max-width:100%;height:auto}\
     .okapi-plain{white-space:pre-wrap}a{color:#0b5cad}table{max-width:100%}";

/// `cid:` targets of one message: its image attachments with a content id, as data URIs.
async fn inline_images(ctx: &Ctx, attachments: &[crate::store::AttachmentRow]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut budget = MAX_INLINE_IMAGE_BYTES;
    for a in attachments {
        if a.content_id.trim().is_empty() || !sanitize::is_safe_image_type(&a.mime_type) || a.size > budget {
            continue;
        }
        let Some(hash) = &a.blob_hash else { continue };
        match ctx.store().blob_get(hash).await {
            Ok(bytes) => {
                budget -= bytes.len() as i64;
                let uri = format!(
                    "data:{};base64,{}",
                    a.mime_type.trim().to_ascii_lowercase(),
                    B64.encode(&bytes)
                );
                out.insert(sanitize::content_id_key(&a.content_id), uri);
            }
            Err(e) => tracing::warn!(error = %e, "an inline image of a message could not be read"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn log_ons_from_other_sites_are_told_apart() {
        // Programs send neither header.
        assert_eq!(cross_site(&headers(&[("host", "mail.example.org")])), None);
        // Current browsers say it outright.
        for own in ["same-origin", "none"] {
            assert_eq!(cross_site(&headers(&[("sec-fetch-site", own)])), None);
        }
        for other in ["cross-site", "same-site"] {
            assert!(
                cross_site(&headers(&[
                    ("sec-fetch-site", other),
                    ("origin", "https://mail.example.org"),
                    ("host", "mail.example.org")
                ]))
                .is_some()
            );
        }
        // Older ones send only Origin, checked against what the browser asked for.
        let direct = [("origin", "https://mail.example.org"), ("host", "mail.example.org")];
        assert_eq!(cross_site(&headers(&direct)), None);
        let proxied = [
            ("origin", "https://mail.example.org"),
            ("host", "localhost"),
            ("x-forwarded-host", "mail.example.org"),
        ];
        assert_eq!(cross_site(&headers(&proxied)), None);
        let port = [("origin", "http://127.0.0.1:8236"), ("host", "127.0.0.1:8236")];
        assert_eq!(cross_site(&headers(&port)), None);
        for evil in ["https://evil.example", "null", "https://mail.example.org.evil.example"] {
            assert!(
                cross_site(&headers(&[("origin", evil), ("host", "mail.example.org")])).is_some(),
                "{evil}"
            );
        }
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; okapi_session=abc ; b=2"));
        assert_eq!(cookie_session(&h).as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("okapi_session="));
        assert_eq!(cookie_session(&h), None);
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let c = session_cookie("x", true, false).unwrap();
        assert_eq!(c, "okapi_session=x; Path=/; HttpOnly; SameSite=Strict; Secure");
        let c = session_cookie("", false, true).unwrap();
        assert_eq!(c, "okapi_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
