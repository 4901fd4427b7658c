//! Logon protection and sessions, on SQLite and MariaDB: the 11th wrong
//! password in a minute is throttled (also after a restart, and through the
//! web login), unknown and existing names get the same answers in the same
//! time, no log line carries a session id, `?session=` is refused on the GET
//! routes, and a session ends at its absolute lifetime, a parked `notify`
//! included.

// A test fails by panicking, helpers included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{Db, TestServer};
use serde_json::{Value, json};

const THROTTLED: &str = "MAPI_E_LOGON_THROTTLED";
const FAILED: &str = "MAPI_E_LOGON_FAILED";

/// Ten wrong passwords in a minute cost nothing more; the eleventh attempt is
/// refused at once with a retryable error, even with the right password, for a
/// real and for a made-up name alike; the block survives a restart and holds
/// for the web login too; a success before the limit starts the count again.
async fn the_eleventh_wrong_password_is_throttled(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("jürgen", "richtig").await;
    for _ in 0..10 {
        srv.fails("logon", json!({"user": "jürgen", "password": "falsch"}), FAILED)
            .await;
        srv.fails("logon", json!({"user": "niemand", "password": "falsch"}), FAILED)
            .await;
    }
    for user in ["jürgen", "JÜRGEN", "niemand"] {
        let v = srv
            .fails("logon", json!({"user": user, "password": "richtig"}), THROTTLED)
            .await;
        assert!(v["error"]["message"].as_str().unwrap().contains("try again in"), "{v}");
    }
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/logon", srv.base))
        .json(&json!({"user": "jürgen", "password": "richtig"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "Retry-After {wait}");

    // The count is in the database: a restart does not reset it.
    let srv = srv.restart("").await;
    srv.fails("logon", json!({"user": "jürgen", "password": "richtig"}), THROTTLED)
        .await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/web/login", srv.base))
        .json(&json!({"username": "jürgen", "password": "richtig"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);

    // Another account: nine failures, a success, then ten failures again are free.
    srv.add_user("dvořák", "heslo").await;
    for _ in 0..9 {
        srv.fails("logon", json!({"user": "dvořák", "password": "špatně"}), FAILED)
            .await;
    }
    srv.logon("dvořák", "heslo").await;
    for _ in 0..10 {
        srv.fails("logon", json!({"user": "dvořák", "password": "špatně"}), FAILED)
            .await;
    }
    srv.fails("logon", json!({"user": "dvořák", "password": "heslo"}), THROTTLED)
        .await;
    srv.stop().await;
}

/// One client address gets `logon_failures_per_address` failures over all
/// names, then it is throttled whatever name it tries.
async fn one_address_is_throttled_across_names(db: Db) {
    let Some(srv) = TestServer::start(db, "logon_failures_per_address = 5").await else {
        return;
    };
    srv.add_user("eleni", "κωδικός").await;
    for name in ["a", "b", "c", "d", "e"] {
        srv.fails("logon", json!({"user": name, "password": "x"}), FAILED).await;
    }
    srv.fails("logon", json!({"user": "eleni", "password": "κωδικός"}), THROTTLED)
        .await;
    srv.stop().await;
}

/// Without a session, asking about a real name and a made-up one gives the
/// same status and the same body, for a logon with a wrong password and for
/// every operation that takes a user name; the logons also take the same
/// time (medians within a factor of three, so load on the machine does not
/// make the test fail, while skipping argon2 for unknown names, a factor of
/// ten and more, would).
async fn unknown_and_existing_names_look_the_same(db: Db) {
    let Some(srv) = TestServer::start(db, "logon_failures_per_address = 1000").await else {
        return;
    };
    srv.add_user("wang", "密码").await;
    let alice = srv.add_user("alice", "pw").await;
    let alice_session = srv.logon(&alice, "pw").await;
    let (real, fake) = ("wang", "li-nobody");
    let mut answers = Vec::new();
    for (op, field) in [
        ("quotaShow", "name"),
        ("sendAsList", "name"),
        ("getOutOfOffice", "user"),
    ] {
        for session in [None, Some(alice_session.as_str())] {
            let ask = |name: &str| {
                let mut body = json!({ field: name });
                if let Some(s) = session {
                    body["session"] = json!(s);
                }
                body
            };
            let a = srv.json(op, ask(real)).await;
            let b = srv.json(op, ask(fake)).await;
            assert_ne!(a.0, 200, "{op}: {a:?}");
            assert_eq!(a, b, "{op} with session {session:?} tells the names apart");
            answers.push(a);
        }
    }
    // One wrong logon each first, so neither side pays for a cold start.
    let wrong = |user: &str| json!({"user": user, "password": "wrong"});
    let first_real = srv.fails("logon", wrong(real), FAILED).await;
    let first_fake = srv.fails("logon", wrong(fake), FAILED).await;
    assert_eq!(first_real, first_fake);
    let (mut real_times, mut fake_times) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        for (user, times) in [(real, &mut real_times), (fake, &mut fake_times)] {
            let t = Instant::now();
            srv.fails("logon", wrong(user), FAILED).await;
            times.push(t.elapsed());
        }
    }
    let (r, f) = (median(&mut real_times), median(&mut fake_times));
    eprintln!("median wrong logon: existing name {r:?}, unknown name {f:?}");
    assert!(f * 3 > r && r * 3 > f, "existing {r:?} vs unknown {f:?}");
    srv.stop().await;
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// `session=` in the URL is refused on both GET routes (the id would reach
/// access logs); the header and the cookie are how a session comes.
async fn session_ids_in_urls_are_refused(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("amira", "سر").await;
    let s = srv.logon("amira", "سر").await;
    let inbox = srv.store_of(&s).await["inbox"].as_str().unwrap().to_string();
    let data = "Grüße, Ελληνικά, 中文, عربى 🎉".as_bytes();
    let saved = srv
        .ok(
            "saveObject",
            json!({"session": s, "folder": inbox, "props": {"PR_SUBJECT": "Anhang"},
                   "attachments": [{"filename": "notiz.txt", "mimeType": "text/plain",
                                    "data": base64_of(data)}]}),
        )
        .await;
    let id = saved["entryId"].as_str().unwrap();
    let client = reqwest::Client::new();
    for path in [
        format!("/api/v1/attachment?session={s}&entryId={id}&attachNum=0"),
        format!("/api/web/body?session={s}&entryId={id}"),
    ] {
        let r = client.get(format!("{}{path}", srv.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["name"], "MAPI_E_INVALID_PARAMETER", "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("X-Okapi-Session"),
            "{v}"
        );
        // Not even with the id in the header as well.
        let r = client
            .get(format!("{}{path}", srv.base))
            .header("X-Okapi-Session", &s)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{path}");
    }
    let r = client
        .get(format!("{}/api/v1/attachment?entryId={id}&attachNum=0", srv.base))
        .header("X-Okapi-Session", &s)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), data);
    let r = client
        .get(format!("{}/api/web/body?entryId={id}", srv.base))
        .header("X-Okapi-Session", &s)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    srv.stop().await;
}

fn base64_of(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A session used all the time still ends at `session_max_lifetime`, and a
/// `notify` parked past it answers `MAPI_E_END_OF_SESSION` then, not at the
/// end of its own wait.
async fn a_session_ends_at_its_absolute_lifetime(db: Db) {
    let Some(srv) = TestServer::start(db, "session_max_lifetime = 3s").await else {
        return;
    };
    srv.add_user("zoë", "pw").await;
    let busy = srv.logon("zoë", "pw").await;
    let parked = srv.logon("zoë", "pw").await;
    // Both logons happened before this: the sessions end at most 3 s from now.
    let started = Instant::now();
    let poll = {
        let base = srv.base.clone();
        let parked = parked.clone();
        tokio::spawn(async move {
            let r = reqwest::Client::new()
                .post(format!("{base}/api/v1/notify"))
                .json(&json!({"session": parked, "timeoutSeconds": 120}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap(), started.elapsed())
        })
    };
    let mut ended = None;
    while started.elapsed() < Duration::from_secs(30) {
        let (status, v) = srv.json("getStore", json!({"session": busy})).await;
        if status != 200 {
            assert_eq!(v["error"]["name"], "MAPI_E_END_OF_SESSION", "{v}");
            ended = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ended = ended.expect("the busy session never ended");
    assert!(ended >= Duration::from_millis(2500), "ended after {ended:?}");
    let (status, v, took) = poll.await.unwrap();
    assert_eq!(
        (status, v["error"]["name"].as_str()),
        (401, Some("MAPI_E_END_OF_SESSION")),
        "{v}"
    );
    assert!(took < Duration::from_secs(60), "the parked poll took {took:?}");
    srv.fails("getStore", json!({"session": parked}), "MAPI_E_END_OF_SESSION")
        .await;
    srv.stop().await;
}

/// Everything the server logs, at every level, for the whole test binary.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || SharedWriter(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        log
    })
    .clone()
}

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A run of logon, web login, submit, notify and logoff logs sessions by
/// their short hash only: no line holds a whole session id.
async fn no_log_line_holds_a_session_id(db: Db) {
    let log = captured_log();
    let nowhere = common::process::free_port();
    let Some(srv) = TestServer::start(db, &format!("smtp_server = 127.0.0.1\nsmtp_port = {nowhere}")).await else {
        return;
    };
    srv.add_user("søren", "pw").await;
    let s = srv.logon("søren", "pw").await;
    let drafts = srv.store_of(&s).await["drafts"].as_str().unwrap().to_string();
    let draft = srv
        .ok(
            "saveObject",
            json!({"session": s, "folder": drafts, "props": {"PR_SUBJECT": "Hej 👋", "PR_BODY": "x"},
                   "recipients": [{"recipientType": 1, "displayName": "b", "address": "b@example.net"}]}),
        )
        .await;
    srv.ok("submitMessage", json!({"session": s, "entryId": draft["entryId"]}))
        .await;
    srv.ok("notify", json!({"session": s, "timeoutSeconds": 1})).await;
    let web = reqwest::Client::new()
        .post(format!("{}/api/web/login", srv.base))
        .json(&json!({"username": "søren", "password": "pw"}))
        .send()
        .await
        .unwrap();
    let cookie = web.headers()["set-cookie"].to_str().unwrap().to_string();
    let web_id = cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_string())
        .unwrap();
    let csrf = web.json::<Value>().await.unwrap()["csrfToken"]
        .as_str()
        .unwrap()
        .to_string();
    let r = reqwest::Client::new()
        .post(format!("{}/api/web/logout", srv.base))
        .header("cookie", format!("okapi_session={web_id}"))
        .header("X-Okapi-CSRF", csrf)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    srv.ok("logoff", json!({"session": s})).await;
    srv.stop().await;
    let text = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    assert!(text.contains("logon"), "nothing was captured: {text}");
    for id in [&s, &web_id] {
        let short = okapi::ops::session::log_id(id);
        assert!(text.contains(&short), "the logon line should name {short}");
        for line in text.lines() {
            assert!(!line.contains(id.as_str()), "a log line holds a session id: {line}");
        }
    }
}

on_both_backends!(
    the_eleventh_wrong_password_is_throttled,
    one_address_is_throttled_across_names,
    unknown_and_existing_names_look_the_same,
    session_ids_in_urls_are_refused,
    a_session_ends_at_its_absolute_lifetime,
    no_log_line_holds_a_session_id,
);
