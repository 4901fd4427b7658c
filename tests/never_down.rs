//! Issue 10, "never down": a panic fails the one request or delivery it happened in, and the
//! server goes on serving everyone else. Each test makes one point of the server panic through the
//! test-only fault hook (`okapi::fault`), on SQLite and MariaDB:
//! - an API operation over JSON and over SOAP answers 500 with `MAPI_E_CALL_FAILED`, while another
//!   client logs on and reads its Inbox before and after, on the same server;
//! - a delivery that panics before its commit answers `451 4.3.0` for every recipient in flight
//!   and keeps nothing; the next delivery gets `250` and is stored;
//! - a panic inside the group commit (shared by every delivery) fails only its group; later
//!   deliveries are committed as before;
//! - a panic after the commit keeps the `250`: the message is stored once, not deferred and
//!   delivered again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::lmtp::{Client, Outcome};
use common::{Db, TestServer};
use serde_json::{Value, json};

/// The fault hook is process-wide and the tests of this file share the process: one at a time,
/// so a point armed by one test is never reached by another.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Disarms every fault point when a test ends, also when it fails.
struct Disarm;

impl Drop for Disarm {
    fn drop(&mut self) {
        okapi::fault::disarm_all();
    }
}

const MAIL: &str = "From: Zoë <zoe@example.net>\r\nTo: alice@example.test, bob@example.test\r\n\
Subject: Grüße aus Köln 😀\r\nMessage-ID: <never-down@example.net>\r\n\r\nHallo Jürgen, siehe https://example.org/a\r\n";

/// Another client that keeps working: logs on and reads its Inbox, all over JSON.
async fn bystander_is_served(srv: &TestServer) {
    let s = srv.logon("bob", "pw-bob").await;
    let store = srv.store_of(&s).await;
    let rows = srv
        .ok(
            "queryRows",
            json!({"session": s, "folder": store["inbox"], "columns": ["PR_SUBJECT"]}),
        )
        .await;
    assert!(rows["total"].is_number(), "{rows}");
    let (status, text) = get(srv, "/health").await;
    assert_eq!((status, text.as_str()), (200, "ok\n"));
}

async fn get(srv: &TestServer, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("{}{path}", srv.base)).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn start(db: Db) -> Option<TestServer> {
    let srv = TestServer::start(db, "").await?;
    srv.add_user("alice", "pw-alice").await;
    srv.add_user("bob", "pw-bob").await;
    Some(srv)
}

/// Messages in a user's Inbox.
async fn inbox_count(srv: &TestServer, user: &str, password: &str) -> u64 {
    let s = srv.logon(user, password).await;
    let store = srv.store_of(&s).await;
    let rows = srv
        .ok(
            "queryRows",
            json!({"session": s, "folder": store["inbox"], "columns": []}),
        )
        .await;
    rows["total"].as_u64().unwrap()
}

async fn deliver(srv: &TestServer) -> Outcome {
    let mut c = Client::tcp(srv.lmtp).await.unwrap();
    let out = c
        .send(
            "zoe@example.net",
            &["alice@example.test", "bob@example.test"],
            MAIL.as_bytes(),
        )
        .await
        .unwrap();
    c.quit().await;
    out
}

fn all_start(out: &Outcome, prefix: &str) -> bool {
    out.finals.len() == 2 && out.finals.iter().all(|r| r.starts(prefix))
}

/// The issue's "done when": an operation that panics gets 500 and `MAPI_E_CALL_FAILED` (JSON and
/// SOAP), the same connection and other clients go on being served, and the server keeps running.
async fn a_panicking_operation_fails_only_its_request(db: Db) {
    let _one_at_a_time = SERIAL.lock().await;
    let _disarm = Disarm;
    let Some(srv) = start(db).await else {
        return;
    };
    bystander_is_served(&srv).await;
    let alice = srv.logon("alice", "pw-alice").await;
    let root = srv.store_of(&alice).await["root"].clone();

    okapi::fault::arm("operation", "getHierarchy", 1);
    let (status, v) = srv
        .json("getHierarchy", json!({"session": alice, "folder": root}))
        .await;
    assert_eq!(status, 500, "{v}");
    assert_eq!(v["error"]["name"], "MAPI_E_CALL_FAILED", "{v}");
    assert_eq!(v["error"]["code"], "0x80004005", "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("trying again"), "{v}");
    assert_eq!(
        okapi::fault::remaining("operation", "getHierarchy"),
        0,
        "the point was reached"
    );
    bystander_is_served(&srv).await;
    // The panic cost one request, not alice's session.
    let h = srv.ok("getHierarchy", json!({"session": alice, "folder": root})).await;
    assert!(h.to_string().contains("Inbox"), "{h}");

    okapi::fault::arm("operation", "getHierarchy", 1);
    let root = root.as_str().unwrap();
    let soap = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:o="urn:okapi"><soap:Body><o:getHierarchy><o:session>{alice}</o:session><o:folder>{root}</o:folder></o:getHierarchy></soap:Body></soap:Envelope>"#
    );
    let (status, text) = srv.raw("/okapi", "text/xml; charset=utf-8", soap.clone()).await;
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("<soap:Fault>"), "{text}");
    assert!(text.contains("<name>MAPI_E_CALL_FAILED</name>"), "{text}");
    assert!(text.contains("<code>0x80004005</code>"), "{text}");
    bystander_is_served(&srv).await;
    let (status, text) = srv.raw("/okapi", "text/xml; charset=utf-8", soap).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("Inbox"), "{text}");

    assert!(!srv.state.stopping(), "the server is still running");
    srv.stop().await;
}

/// A delivery that panics before its commit: `451 4.3.0` for every recipient, nothing kept; the
/// MTA's retry gets `250` and the message is stored once.
async fn a_panicking_delivery_is_deferred_and_the_retry_stored(db: Db) {
    let _one_at_a_time = SERIAL.lock().await;
    let _disarm = Disarm;
    let Some(srv) = start(db).await else {
        return;
    };
    okapi::fault::arm("delivery", "store", 1);
    let out = deliver(&srv).await;
    assert!(all_start(&out, "451 4.3.0"), "{out:?}");
    assert_eq!(
        inbox_count(&srv, "alice", "pw-alice").await,
        0,
        "nothing unacknowledged is kept"
    );
    bystander_is_served(&srv).await;

    let out = deliver(&srv).await;
    assert!(all_start(&out, "250 2.0.0"), "{out:?}");
    assert_eq!(inbox_count(&srv, "alice", "pw-alice").await, 1);
    assert_eq!(inbox_count(&srv, "bob", "pw-bob").await, 1);
    srv.stop().await;
}

/// The group committer is shared by every delivery: a panic inside its transaction fails only that
/// group (rolled back, `451 4.3.0`), and the committer goes on committing later deliveries.
async fn a_panic_in_the_group_commit_fails_only_its_group(db: Db) {
    let _one_at_a_time = SERIAL.lock().await;
    let _disarm = Disarm;
    let Some(srv) = start(db).await else {
        return;
    };
    okapi::fault::arm("group_commit", "commit", 1);
    let out = deliver(&srv).await;
    assert!(all_start(&out, "451 4.3.0"), "{out:?}");
    assert_eq!(
        inbox_count(&srv, "alice", "pw-alice").await,
        0,
        "the group was rolled back"
    );
    for expected in 1..=2 {
        let out = tokio::time::timeout(std::time::Duration::from_secs(60), deliver(&srv))
            .await
            .expect("a later delivery hangs: the committer is gone");
        assert!(all_start(&out, "250 2.0.0"), "{out:?}");
        assert_eq!(inbox_count(&srv, "bob", "pw-bob").await, expected);
    }
    srv.stop().await;
}

/// A panic after the commit (while announcing the new mail) keeps the `250`s: answering `451` now
/// would make the MTA deliver a second copy.
async fn a_panic_after_the_commit_keeps_the_250(db: Db) {
    let _one_at_a_time = SERIAL.lock().await;
    let _disarm = Disarm;
    let Some(srv) = start(db).await else {
        return;
    };
    okapi::fault::arm("delivery", "announce", 1);
    let out = deliver(&srv).await;
    assert!(all_start(&out, "250 2.0.0"), "{out:?}");
    assert_eq!(
        okapi::fault::remaining("delivery", "announce"),
        0,
        "the point was reached"
    );
    assert_eq!(inbox_count(&srv, "alice", "pw-alice").await, 1);
    let rows: Value = {
        let s = srv.logon("alice", "pw-alice").await;
        let store = srv.store_of(&s).await;
        srv.ok(
            "queryRows",
            json!({"session": s, "folder": store["inbox"], "columns": ["PR_SUBJECT"]}),
        )
        .await
    };
    assert!(rows.to_string().contains("Grüße aus Köln 😀"), "{rows}");
    srv.stop().await;
}

on_both_backends!(
    a_panicking_operation_fails_only_its_request,
    a_panicking_delivery_is_deferred_and_the_retry_stored,
    a_panic_in_the_group_commit_fails_only_its_group,
    a_panic_after_the_commit_keeps_the_250,
);
