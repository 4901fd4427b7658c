//! Real-world MIME against an independent parser, on SQLite and MariaDB.
//!
//! Every message of `tests/corpus/mime/` (written by its `generate.py`; INDEX.tsv says what each one
//! exercises) and of `tests/corpus/` is delivered over LMTP into a real store, read back through the
//! JSON API as a client sees it, and compared with what Python's standard `email` package
//! (`policy.default`, run by `tests/mime_oracle.py`) reads in the same bytes: subject, from, to, cc,
//! message id, date, the plain and HTML bodies, and each attachment's name and decoded size. The
//! stored source must come back byte-exact.
//!
//! A difference either gets fixed or is listed in [`EXPECTED`] with the reason okapi's answer is the
//! better one. The test fails on a difference not listed, and on a listed one that no longer occurs,
//! so the list stays true.
//!
//! What the comparison normalises, and why: bodies lose `\r` line ends and trailing whitespace (the
//! two parsers keep line ends differently, and neither matters to a reader); header text is
//! trimmed; a part the oracle gives no name keeps okapi's made-up name (`attachment-1.pdf`) and a
//! `message/*` part is compared by name only (Python holds it parsed, not as bytes); a body the
//! oracle does not find (an HTML-only message's text) is not compared, since okapi derives it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::lmtp::{self, Client};
use common::{Db, TestServer};
use serde_json::{Value, json};

/// Differences okapi keeps on purpose: (message, field, why okapi's answer is the better one).
const EXPECTED: &[(&str, &str, &str)] = &[];

/// One message of the corpus: its name and the bytes an MTA puts on the LMTP wire for it.
struct Sample {
    name: String,
    wire: Vec<u8>,
}

fn corpus() -> Vec<Sample> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut samples = Vec::new();
    for dir in [root.join("mime"), root] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        for path in files {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(
                samples.iter().all(|s: &Sample| s.name != name),
                "{name}.eml is in both corpus folders"
            );
            // LMTP carries CRLF lines only: the oracle reads what okapi stores.
            samples.push(Sample {
                name,
                wire: lmtp::canonical(&std::fs::read(&path).unwrap()),
            });
        }
    }
    samples
}

/// Runs the Python oracle over the samples; returns its reading of each, by name.
fn oracle(samples: &[Sample]) -> BTreeMap<String, Value> {
    let dir = tempfile::tempdir().unwrap();
    for s in samples {
        std::fs::write(dir.path().join(format!("{}.eml", s.name)), &s.wire).unwrap();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mime_oracle.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(dir.path())
        .output()
        .expect("python3 runs (the oracle needs only the standard library)");
    assert!(
        out.status.success(),
        "the oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the oracle prints JSON")
}

/// Line ends as `\n`, no trailing whitespace on any line or at the end.
fn normal_body(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_string()
}

/// At most `n` characters of a value, for a readable failure message.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(400) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s,
    }
}

fn prop_str(m: &Value, tag: &str) -> Option<String> {
    m["props"][tag].as_str().map(str::to_string)
}

fn oracle_failed(v: &Value) -> bool {
    v.get("error").is_some()
}

/// The fields where okapi's reading differs from the oracle's, each with both values.
fn differences(m: &Value, o: &Value, delivered_at: i64) -> Vec<(&'static str, Value, Value)> {
    let mut diffs = Vec::new();
    let mut differ = |field: &'static str, okapi: Value, oracle: Value| diffs.push((field, okapi, oracle));

    let subject = prop_str(m, "PR_SUBJECT").unwrap_or_default();
    match &o["subject"] {
        v if oracle_failed(v) => differ("subject", json!(subject), v.clone()),
        v => {
            let want = v.as_str().unwrap_or_default().trim();
            if subject.trim() != want {
                differ("subject", json!(subject), v.clone());
            }
        }
    }

    let from = match (
        prop_str(m, "PR_SENT_REPRESENTING_NAME"),
        prop_str(m, "PR_SENT_REPRESENTING_EMAIL_ADDRESS"),
    ) {
        (None, None) => Value::Null,
        (name, addr) => json!([name.unwrap_or_default(), addr.unwrap_or_default()]),
    };
    if from != o["from"] {
        differ("from", from, o["from"].clone());
    }

    for (field, kind) in [("to", 1), ("cc", 2)] {
        let list: Vec<Value> = m["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["recipientType"] == kind)
            .map(|r| json!([r["displayName"], r["address"]]))
            .collect();
        if Value::Array(list.clone()) != o[field] {
            differ(field, Value::Array(list), o[field].clone());
        }
    }

    let id = prop_str(m, "PR_INTERNET_MESSAGE_ID").map_or(Value::Null, Value::from);
    if id != o["message_id"] {
        differ("message_id", id, o["message_id"].clone());
    }

    let sent = prop_str(m, "PR_CLIENT_SUBMIT_TIME")
        .and_then(|t| okapi::props::parse_time(&t))
        .map(|us| us.div_euclid(1_000_000));
    let sent_matches = match o["date"].as_i64() {
        Some(secs) => sent == Some(secs),
        // No date the oracle can read: okapi must fall back to the delivery time.
        None => sent == Some(delivered_at),
    };
    if !sent_matches {
        differ("date", json!(sent), o["date"].clone());
    }

    let text = prop_str(m, "PR_BODY").unwrap_or_default();
    match &o["text"] {
        Value::Null => {}
        Value::String(want) if normal_body(want) == normal_body(&text) => {}
        v => differ("text", json!(text), v.clone()),
    }

    let html = prop_str(m, "PR_HTML")
        .map(|b| String::from_utf8_lossy(&B64.decode(b).unwrap()).into_owned())
        .map_or(Value::Null, Value::from);
    let html_matches = match (&o["html"], &html) {
        (Value::Null, Value::Null) => true,
        (Value::String(want), Value::String(got)) => normal_body(want) == normal_body(got),
        _ => false,
    };
    if !html_matches {
        differ("html", html, o["html"].clone());
    }

    let attachments: Vec<Value> = m["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| json!([a["filename"], a["size"], a["mimeType"]]))
        .collect();
    let attachments_match = match o["attachments"].as_array() {
        Some(want) => {
            want.len() == attachments.len()
                && want.iter().zip(&attachments).all(|(w, got)| {
                    (w[0].is_null() || w[0] == got[0]) && (w[1].is_null() || w[1] == got[1])
                })
        }
        None => false,
    };
    if !attachments_match {
        differ("attachments", Value::Array(attachments), o["attachments"].clone());
    }
    diffs
}

/// Delivers every corpus message, checks its source is byte-exact, and compares okapi's reading
/// with the oracle's.
async fn mime_oracle(db: Db) {
    let samples = corpus();
    assert!(samples.len() >= 150, "the corpus has only {} messages", samples.len());
    let oracle = oracle(&samples);
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("olga", "pw").await;
    let s = srv.logon("olga", "pw").await;
    let inbox = srv.store_of(&s).await["inbox"].as_str().unwrap().to_string();
    let mut sync = srv.ok("getChanges", json!({"session": s, "folder": inbox})).await["syncState"]
        .as_str()
        .unwrap()
        .to_string();

    let mut found: BTreeMap<(String, &'static str), (Value, Value)> = BTreeMap::new();
    let mut lmtp = Client::tcp(srv.lmtp).await.expect("LMTP connect");
    for sample in &samples {
        let out = lmtp
            .send("sender@example.net", &["olga@example.test"], &sample.wire)
            .await
            .expect("LMTP transaction");
        assert!(out.finals[0].starts("250 2.0.0"), "{}: {:?}", sample.name, out.finals);
        let ch = srv
            .ok("getChanges", json!({"session": s, "folder": inbox, "syncState": sync}))
            .await;
        sync = ch["syncState"].as_str().unwrap().to_string();
        let created = ch["created"].as_array().unwrap();
        assert_eq!(created.len(), 1, "{}: {ch}", sample.name);
        let id = created[0].as_str().unwrap();

        let source = srv
            .ok("getMessageSource", json!({"session": s, "entryId": id}))
            .await;
        let source = B64.decode(source["data"].as_str().unwrap()).unwrap();
        assert!(
            source == sample.wire,
            "{}: the stored source differs from the delivered bytes",
            sample.name
        );

        let m = srv.ok("loadObject", json!({"session": s, "entryId": id})).await;
        let delivered_at = prop_str(&m, "PR_MESSAGE_DELIVERY_TIME")
            .and_then(|t| okapi::props::parse_time(&t))
            .unwrap()
            .div_euclid(1_000_000);
        for (field, okapi, theirs) in differences(&m, &oracle[&sample.name], delivered_at) {
            found.insert((sample.name.clone(), field), (okapi, theirs));
        }
    }
    lmtp.quit().await;

    let expected: BTreeSet<(String, &str)> = EXPECTED.iter().map(|(n, f, _)| (n.to_string(), *f)).collect();
    let unexpected: Vec<String> = found
        .iter()
        .filter(|(k, _)| !expected.contains(&(k.0.clone(), k.1)))
        .map(|((name, field), (okapi, theirs))| {
            format!("{name} {field}:\n  okapi:  {}\n  oracle: {}", short(okapi), short(theirs))
        })
        .collect();
    let gone: Vec<String> = expected
        .iter()
        .filter(|k| !found.contains_key(&(k.0.clone(), k.1)))
        .map(|(name, field)| format!("{name} {field}"))
        .collect();
    eprintln!(
        "mime oracle: {} messages, {} differences, all listed with their reason",
        samples.len(),
        found.len()
    );
    assert!(
        unexpected.is_empty(),
        "{} differences from the oracle that are neither fixed nor listed in EXPECTED:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    assert!(
        gone.is_empty(),
        "listed in EXPECTED but no longer different (remove them): {gone:?}"
    );
    srv.stop().await;
}

on_both_backends!(mime_oracle);
