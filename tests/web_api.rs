//! The browser's side of the server, on SQLite and MariaDB: cookie log-on with CSRF tokens, message
//! bodies rendered safe (hostile HTML delivered over real LMTP), attachments shown inline only when
//! harmless, the web app's files with their security headers, `changePassword` and
//! `getIdsFromNames`. The browser itself is driven in tests/webapp_browser.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::lmtp::{self, Client};
use common::{Db, TestServer};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

const HOSTILE: &str = "From: Mallory <mallory@evil.test>\r\nTo: alice@example.test\r\nSubject: hostile\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n\
<html><head><script>window.parent.pwned=1</script><style>body{display:none}</style></head>\
<body onload=\"alert(1)\"><p>Hello <b>Alice</b></p>\
<img src=\"x\" onerror=\"alert(2)\"><a href=\"javascript:alert(3)\">click</a>\
<a href=\"https://example.org/\">safe link</a>\
<img src=\"https://tracker.evil.test/pixel.gif\"><img src=\"cid:logo@evil.test\">\
<div style=\"position:fixed;top:0;left:0;width:100%;height:100%;z-index:99999;color:red\">overlay</div>\
<form action=\"https://evil.test/\"><input name=\"password\"></form><iframe src=\"https://evil.test/\"></iframe>\
</body></html>\r\n--b\r\nContent-Type: image/png\r\nContent-ID: <logo@evil.test>\r\n\
Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b\r\nContent-Type: text/html; name=\"page.html\"\r\n\
Content-Disposition: attachment; filename=\"page.html\"\r\n\r\n<script>alert(4)</script>\r\n--b--\r\n";

struct Browser {
    base: String,
    client: reqwest::Client,
    cookie: String,
    csrf: String,
}

impl Browser {
    async fn login(srv: &TestServer, user: &str, password: &str) -> Browser {
        let client = reqwest::Client::new();
        let r = client
            .post(format!("{}/api/web/login", srv.base))
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let set = r.headers().get(SET_COOKIE).unwrap().to_str().unwrap().to_string();
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(attr), "cookie lacks {attr}: {set}");
        }
        assert!(
            !set.contains("Secure"),
            "plain HTTP must not get a Secure cookie: {set}"
        );
        let cookie = set.split(';').next().unwrap().to_string();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["user"]["login"], user);
        assert_eq!(v["user"]["address"], format!("{user}@example.test"));
        Browser {
            base: srv.base.clone(),
            client,
            cookie,
            csrf: v["csrfToken"].as_str().unwrap().to_string(),
        }
    }

    async fn call(&self, op: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}/api/v1/{op}", self.base))
            .header(COOKIE, &self.cookie)
            .header("X-Okapi-CSRF", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.call(op, body).await;
        assert_eq!(status, 200, "{op}: {v}");
        v
    }

    /// The entry id of the newest message in the user's Inbox.
    async fn newest_inbox_message(&self) -> String {
        let store = self.ok("getStore", json!({})).await;
        let rows = self
            .ok("queryRows", json!({"folder": store["inbox"], "columns": []}))
            .await;
        rows["rows"][0]["entryId"].as_str().unwrap().to_string()
    }

    /// The body summary the web app asks for first.
    async fn body_info(&self, id: &str) -> Value {
        self.get(&format!("/api/web/body?entryId={id}&info=1"))
            .await
            .json()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }
}

async fn deliver(srv: &TestServer, rcpt: &str, raw: &str) {
    let mut c = Client::unix(&srv.lmtp_socket).await.unwrap();
    let out = c
        .send("mallory@evil.test", &[rcpt], &lmtp::wire(raw.as_bytes()))
        .await
        .unwrap();
    assert!(
        out.finals.iter().all(|r| r.starts("250")) && !out.finals.is_empty(),
        "{:?}",
        out.finals
    );
    c.quit().await;
}

async fn webapp_server(db: Db) -> TestServer {
    let webapp = concat!(env!("CARGO_MANIFEST_DIR"), "/webapp");
    let srv = TestServer::start(db, &format!("webapp_dir = {webapp}")).await.unwrap();
    srv.add_user("alice", "alice-pw").await;
    srv.add_user("bob", "bob-pw").await;
    srv
}

async fn cookie_sessions_need_the_csrf_token(db: Db) {
    let srv = webapp_server(db).await;
    let (status, v) = srv
        .raw(
            "/api/web/login",
            "application/json",
            r#"{"username":"alice","password":"wrong"}"#,
        )
        .await;
    assert_eq!(status, 401, "{v}");
    assert!(v.contains("MAPI_E_LOGON_FAILED"), "{v}");

    let b = Browser::login(&srv, "alice", "alice-pw").await;
    let store = b.ok("getStore", json!({})).await;
    assert!(store["inbox"].as_str().is_some_and(|s| !s.is_empty()));

    // The cookie alone is not enough: another site could make the browser send it.
    for token in [None, Some("0123456789abcdef0123456789abcdef")] {
        let mut r = b
            .client
            .post(format!("{}/api/v1/getStore", b.base))
            .header(COOKIE, &b.cookie)
            .json(&json!({}));
        if let Some(t) = token {
            r = r.header("X-Okapi-CSRF", t);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), 403);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["name"], "MAPI_E_NO_ACCESS");
    }

    // Programs that pass their session themselves are not affected.
    let s = srv.logon("bob", "bob-pw").await;
    srv.ok("getStore", json!({"session": s})).await;

    let r = b.get("/api/web/session").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["csrfToken"], b.csrf.as_str());
    assert_eq!(v["user"]["displayName"], "alice display");

    let r = b
        .client
        .post(format!("{}/api/web/logout", b.base))
        .header(COOKIE, &b.cookie)
        .header("X-Okapi-CSRF", &b.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cleared = r.headers().get(SET_COOKIE).unwrap().to_str().unwrap().to_string();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(b.get("/api/web/session").await.status(), 401);
    let (status, _) = b.call("getStore", json!({})).await;
    assert_eq!(status, 401);

    // Behind a local reverse proxy that says the browser used TLS, the cookie is Secure.
    let r = b
        .client
        .post(format!("{}/api/web/login", b.base))
        .header("X-Forwarded-Proto", "https")
        .json(&json!({"username": "alice", "password": "alice-pw"}))
        .send()
        .await
        .unwrap();
    let set = r.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(set.contains("; Secure"), "{set}");
    srv.stop().await;
}

async fn hostile_mail_is_rendered_inert(db: Db) {
    let srv = webapp_server(db).await;
    deliver(&srv, "alice@example.test", HOSTILE).await;
    let b = Browser::login(&srv, "alice", "alice-pw").await;
    let id = b.newest_inbox_message().await;
    let info = b.body_info(&id).await;
    assert_eq!(info, json!({"html": true, "remoteImages": 1}));

    let r = b.get(&format!("/api/web/body?entryId={id}")).await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("sandbox"), "{csp}");
    assert!(!csp.contains("script-src"), "no script source may be allowed: {csp}");
    assert!(
        csp.contains("img-src data:;"),
        "remote images must be blocked by the policy too: {csp}"
    );
    let html = r.text().await.unwrap();
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script",
        "onload",
        "onerror",
        "javascript:",
        "alert(",
        "<form",
        "<input",
        "<iframe",
        "position:",
        "z-index",
        "tracker.evil.test",
        "display:none",
    ] {
        assert!(!lower.contains(bad), "{bad} survived in {html}");
    }
    assert!(html.contains("<b>Alice</b>"), "{html}");
    assert!(
        html.contains("src=\"data:image/png;base64,iVBORw0KGgo=\""),
        "inline image: {html}"
    );
    assert!(
        html.contains("href=\"https://example.org/\"") && html.contains("rel=\"noopener noreferrer\""),
        "{html}"
    );

    // The reader allowed remote images: now they load, and the policy lets them.
    let r = b.get(&format!("/api/web/body?entryId={id}&images=1")).await;
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("img-src data: https: http:"), "{csp}");
    assert!(r.text().await.unwrap().contains("https://tracker.evil.test/pixel.gif"));

    // Another user may not read Alice's mail this way either.
    let bob = Browser::login(&srv, "bob", "bob-pw").await;
    let r = bob.get(&format!("/api/web/body?entryId={id}")).await;
    assert_eq!(r.status(), 403);

    // The HTML attachment only ever downloads, and could run nothing if opened.
    let m = b.ok("loadObject", json!({"entryId": id})).await;
    let att = m["attachments"].as_array().unwrap();
    let page = att.iter().find(|a| a["filename"] == "page.html").unwrap();
    let logo = att.iter().find(|a| a["mimeType"] == "image/png").unwrap();
    let r = b
        .get(&format!(
            "/api/v1/attachment?entryId={id}&attachNum={}&inline=1",
            page["attachNum"]
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(r.headers()["content-security-policy"], "default-src 'none'; sandbox");
    let r = b
        .get(&format!(
            "/api/v1/attachment?entryId={id}&attachNum={}&inline=1",
            logo["attachNum"]
        ))
        .await;
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    srv.stop().await;
}

async fn plain_text_bodies_are_escaped(db: Db) {
    let srv = webapp_server(db).await;
    deliver(
        &srv,
        "alice@example.test",
        "From: a@b.test\r\nTo: alice@example.test\r\nSubject: text\r\n\r\n<script>alert(1)</script>\r\nsee https://example.org/a?b=1&c=2.\r\n",
    )
    .await;
    let b = Browser::login(&srv, "alice", "alice-pw").await;
    let id = b.newest_inbox_message().await;
    let info = b.body_info(&id).await;
    assert_eq!(info, json!({"html": false, "remoteImages": 0}));
    let html = b
        .get(&format!("/api/web/body?entryId={id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(html.contains("<a href=\"https://example.org/a?b=1&amp;c=2\""), "{html}");
    srv.stop().await;
}

/// Issue 10: this mail, delivered to any mailbox, took the whole server down when opened in the
/// web app (`find_link` sliced the text inside the "ü"). Now it opens: 200, the text intact, the
/// link clickable, in the body and in its summary.
async fn issue_10_german_plain_text_mail_opens(db: Db) {
    let srv = webapp_server(db).await;
    deliver(
        &srv,
        "alice@example.test",
        "From: Anna <anna@example.de>\r\nTo: alice@example.test\r\nSubject: Hallo\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Hallo Jürgen, siehe https://example.org/a\r\n",
    )
    .await;
    let b = Browser::login(&srv, "alice", "alice-pw").await;
    let id = b.newest_inbox_message().await;
    let r = b.get(&format!("/api/web/body?entryId={id}&info=1")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"html": false, "remoteImages": 0})
    );
    let r = b.get(&format!("/api/web/body?entryId={id}")).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            "Hallo Jürgen, siehe <a href=\"https://example.org/a\" target=\"_blank\" rel=\"noopener noreferrer\">\
             https://example.org/a</a>"
        ),
        "{html}"
    );
    // The server is still there for everyone.
    let s = srv.logon("bob", "bob-pw").await;
    srv.ok("getStore", json!({"session": s})).await;
    srv.stop().await;
}

/// The languages of tests/browser/world-mail.json (shared with the browser test).
fn world_languages() -> Vec<Value> {
    let v: Value = serde_json::from_str(include_str!("browser/world-mail.json")).unwrap();
    v["languages"].as_array().unwrap().clone()
}

/// One mail of the world set: `form` is `plain`, `html` or `both` (multipart/alternative, the
/// HTML part in base64). A word of the language sits right before the link and right after it.
/// Returns the message, its subject, the language's sample text and the link.
fn world_mail(l: &Value, form: &str) -> (String, String, String, String) {
    use base64::Engine as _;
    let s = |k: &str| l[k].as_str().unwrap().to_string();
    let (lang, sample, word) = (s("lang"), s("sample"), s("word"));
    let link = format!("https://example.org/{lang}/{word}");
    let dir = if l["rtl"] == true { "rtl" } else { "auto" };
    let plain = format!("{sample}\r\n{word}{link} {word}.\r\n");
    let html = format!(
        "<html><body><p dir=\"{dir}\">{sample}</p><p dir=\"{dir}\">{word}<a href=\"{link}\">{word} {link}</a> {word}.</p></body></html>\r\n"
    );
    let subject = format!("{} ({form})", s("subject"));
    let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t.as_bytes());
    let head = format!(
        "From: World <world@example.net>\r\nTo: alice@example.test\r\nSubject: =?utf-8?B?{}?=\r\nMIME-Version: 1.0\r\n",
        b64(&subject)
    );
    let utf8 = |ct: &str| format!("Content-Type: {ct}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    let raw = match form {
        "plain" => format!("{head}{}{plain}", utf8("text/plain")),
        "html" => format!("{head}{}{html}", utf8("text/html")),
        _ => {
            let encoded = b64(&html);
            let lines: Vec<&str> = encoded
                .as_bytes()
                .chunks(76)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            format!(
                "{head}Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\n{}{plain}--alt\r\n\
                 Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--alt--\r\n",
                utf8("text/plain"),
                lines.join("\r\n")
            )
        }
    };
    (raw, subject, sample, link)
}

/// Mail in German, French, Czech, Greek, Russian, Chinese, Arabic and with emoji, each as plain
/// text, HTML and both, opens through `/api/web/body` and its summary: 200, the text intact
/// character for character, the link clickable with the neighbouring words kept whole.
async fn mail_from_the_whole_world_opens(db: Db) {
    let srv = webapp_server(db).await;
    let b = Browser::login(&srv, "alice", "alice-pw").await;
    for l in world_languages() {
        for form in ["plain", "html", "both"] {
            let (raw, subject, sample, link) = world_mail(&l, form);
            deliver(&srv, "alice@example.test", &raw).await;
            let store = b.ok("getStore", json!({})).await;
            let rows = b
                .ok(
                    "queryRows",
                    json!({"folder": store["inbox"], "columns": ["PR_SUBJECT"]}),
                )
                .await;
            assert_eq!(rows["rows"][0]["props"]["PR_SUBJECT"], subject.as_str(), "{rows}");
            let id = rows["rows"][0]["entryId"].as_str().unwrap();

            let r = b.get(&format!("/api/web/body?entryId={id}&info=1")).await;
            assert_eq!(r.status(), 200, "{subject}");
            let info: Value = r.json().await.unwrap();
            assert_eq!(info, json!({"html": form != "plain", "remoteImages": 0}), "{subject}");

            let r = b.get(&format!("/api/web/body?entryId={id}")).await;
            assert_eq!(r.status(), 200, "{subject}");
            let html = r.text().await.unwrap();
            assert!(html.contains(&sample), "{subject}: the text is not intact in {html}");
            let word = l["word"].as_str().unwrap();
            assert!(
                html.contains(&format!("{word}<a href=\"{link}\"")),
                "{subject}: no clickable {link} right after {word} in {html}"
            );
            assert!(html.contains(&format!("</a> {word}.")), "{subject}: {html}");
            assert!(html.contains("target=\"_blank\""), "{subject}: {html}");
        }
    }
    srv.stop().await;
}

async fn webapp_files_carry_the_security_headers(db: Db) {
    let srv = webapp_server(db).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client.get(format!("{}/webapp/", srv.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let r = client
        .get(format!("{}/webapp/js/api.js", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let r = client.get(format!("{}/webapp", srv.base)).send().await.unwrap();
    assert_eq!(r.status(), 301);
    assert_eq!(r.headers()["location"], "/webapp/");
    for bad in [
        "/webapp/../Cargo.toml",
        "/webapp/%2e%2e/Cargo.toml",
        "/webapp/.git/config",
        "/webapp/nope.js",
    ] {
        let r = client.get(format!("{}{bad}", srv.base)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{bad}");
    }
    srv.stop().await;
}

async fn users_change_their_own_password(db: Db) {
    let srv = webapp_server(db).await;
    let b = Browser::login(&srv, "alice", "alice-pw").await;
    let other = srv.logon("alice", "alice-pw").await;
    let (status, v) = b
        .call(
            "changePassword",
            json!({"oldPassword": "nope", "newPassword": "new-pw"}),
        )
        .await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"]["name"], "MAPI_E_LOGON_FAILED");
    let (status, v) = b
        .call("changePassword", json!({"oldPassword": "alice-pw", "newPassword": ""}))
        .await;
    assert_eq!(status, 400, "{v}");
    b.ok(
        "changePassword",
        json!({"oldPassword": "alice-pw", "newPassword": "new-pw"}),
    )
    .await;
    // The caller stays logged on; every other session of the user ends.
    b.ok("getStore", json!({})).await;
    srv.fails("getStore", json!({"session": other}), "MAPI_E_END_OF_SESSION")
        .await;
    srv.fails(
        "logon",
        json!({"user": "alice", "password": "alice-pw"}),
        "MAPI_E_LOGON_FAILED",
    )
    .await;
    srv.logon("alice", "new-pw").await;
    srv.stop().await;
}

async fn named_properties_map_to_stable_tags(db: Db) {
    let srv = webapp_server(db).await;
    let b = Browser::login(&srv, "alice", "alice-pw").await;
    let appt = "00062002-0000-0000-C000-000000000046";
    let names = json!({"names": [
        {"guid": appt, "id": 0x820D, "propType": 64},
        {"guid": appt, "id": 0x8208, "propType": 31},
        {"guid": "00020329-0000-0000-C000-000000000046", "name": "urn:okapi:rrule", "propType": 31},
    ]});
    let first = b.ok("getIdsFromNames", names.clone()).await;
    let tags: Vec<String> = first["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(tags.len(), 3);
    assert!(tags[0].ends_with("0040") && tags[1].ends_with("001F"), "{tags:?}");
    assert!(
        tags.iter()
            .all(|t| u32::from_str_radix(&t[2..6], 16).unwrap() >= 0x8000)
    );
    // Another session, another user: the same names give the same tags.
    let bob = Browser::login(&srv, "bob", "bob-pw").await;
    assert_eq!(bob.ok("getIdsFromNames", names).await, first);

    // A tag from the mapping works like any other.
    let store = b.ok("getStore", json!({})).await;
    let id = b
        .ok(
            "saveObject",
            json!({"folder": store["calendar"], "props": {
                "PR_MESSAGE_CLASS": "IPM.Appointment", "PR_SUBJECT": "Planning",
                tags[0].clone(): "2026-12-01T09:00:00Z", tags[1].clone(): "Room 1"}}),
        )
        .await["entryId"]
        .clone();
    let m = b.ok("loadObject", json!({"entryId": id})).await;
    assert_eq!(m["props"][&tags[0]], "2026-12-01T09:00:00Z");
    assert_eq!(m["props"][&tags[1]], "Room 1");

    let (status, v) = b
        .call(
            "getIdsFromNames",
            json!({"names": [{"guid": "nope", "id": 1, "propType": 3}]}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("names[0]"), "{v}");
    srv.stop().await;
}

/// Issue 11 (login CSRF): a log-on posted by a page of another site is
/// refused before the password is looked at, whether the browser says so in
/// Sec-Fetch-Site or only in Origin; the web app's own page (same origin,
/// directly or through Apache's X-Forwarded-Host) and programs that send
/// neither header log on as before.
async fn log_ons_from_other_sites_are_refused(db: Db) {
    let srv = webapp_server(db).await;
    let host = srv.base.trim_start_matches("http://").to_string();
    let attempt = |headers: Vec<(&'static str, String)>| {
        let (base, client) = (srv.base.clone(), reqwest::Client::new());
        async move {
            let mut r = client
                .post(format!("{base}/api/web/login"))
                .json(&json!({"username": "alice", "password": "alice-pw"}));
            for (k, v) in headers {
                r = r.header(k, v);
            }
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    for other_site in [
        vec![
            ("sec-fetch-site", "cross-site".to_string()),
            ("origin", "https://evil.example".to_string()),
        ],
        vec![("sec-fetch-site", "same-site".to_string())],
        vec![("origin", "https://evil.example".to_string())],
        vec![("origin", "null".to_string())],
    ] {
        let (status, body) = attempt(other_site.clone()).await;
        assert_eq!(status, 403, "{other_site:?}: {body}");
        assert!(
            body.contains("MAPI_E_NO_ACCESS") && body.contains("another site"),
            "{body}"
        );
    }
    for own_page in [
        vec![],
        vec![
            ("sec-fetch-site", "same-origin".to_string()),
            ("origin", format!("http://{host}")),
        ],
        vec![("origin", format!("http://{host}"))],
        vec![
            ("origin", "https://mail.example.org".to_string()),
            ("x-forwarded-host", "mail.example.org".to_string()),
        ],
    ] {
        let (status, body) = attempt(own_page.clone()).await;
        assert_eq!(status, 200, "{own_page:?}: {body}");
    }
}

on_both_backends!(
    issue_10_german_plain_text_mail_opens,
    log_ons_from_other_sites_are_refused,
    mail_from_the_whole_world_opens,
    cookie_sessions_need_the_csrf_token,
    hostile_mail_is_rendered_inert,
    plain_text_bodies_are_escaped,
    webapp_files_carry_the_security_headers,
    users_change_their_own_password,
    named_properties_map_to_stable_tags,
);
