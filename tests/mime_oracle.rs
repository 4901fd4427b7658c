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
const EXPECTED: &[(&str, &str, &str)] = &[
    ("attachment_rfc2231", "attachments", PATH_IN_NAME),
    ("cal_apple", "attachments", CRLF_KEPT),
    ("cal_cancel", "attachments", CRLF_KEPT),
    ("cal_google", "attachments", CRLF_KEPT),
    ("cal_reply_accepted", "attachments", CRLF_KEPT),
    ("charset_ascii_utf8", "text", LABEL_WRONG),
    ("charset_missing", "text", LABEL_WRONG),
    ("charset_utf8_latin1", "text", LABEL_WRONG),
    ("cs_cp1252_as_ascii", "text", LABEL_WRONG),
    ("cs_cp1252_as_latin1", "text", WHATWG_LABELS),
    ("cs_gbk_as_gb2312", "text", WHATWG_LABELS),
    ("cs_latin1_as_utf8", "text", LABEL_WRONG),
    ("cs_no_charset_8bit", "text", LABEL_WRONG),
    ("cs_unknown_label", "text", LABEL_WRONG),
    ("cs_utf8_as_ascii", "text", LABEL_WRONG),
    (
        "cs_utf8_as_latin1",
        "text",
        "valid UTF-8 with multi-byte characters under a Latin-1 label is UTF-8 (Latin-1 text almost never is); \
         Python decodes by the label and shows mojibake",
    ),
    ("ew_address_comment", "from", NAME_IN_COMMENT),
    ("ew_gbk", "subject", WHATWG_LABELS),
    ("ew_hebrew", "subject", WHATWG_LABELS),
    (
        "garbage",
        "text",
        "random bytes with no header: okapi shows no body rather than binary noise as text; the bytes stay in \
         the raw message",
    ),
    ("hdr_control_chars", "subject", CONTROL_CHARS),
    ("hdr_cr_cr_lf", "date", CR_CR_LF),
    ("hdr_cr_cr_lf", "message_id", CR_CR_LF),
    ("hdr_cr_cr_lf", "subject", CR_CR_LF),
    ("hdr_cr_cr_lf", "text", CR_CR_LF),
    ("hdr_cr_cr_lf", "to", CR_CR_LF),
    ("hdr_from_comment", "from", NAME_IN_COMMENT),
    ("hdr_junk_between_fields", "date", JUNK_BETWEEN_FIELDS),
    ("hdr_junk_between_fields", "from", JUNK_BETWEEN_FIELDS),
    ("hdr_junk_between_fields", "message_id", JUNK_BETWEEN_FIELDS),
    ("hdr_junk_between_fields", "text", JUNK_BETWEEN_FIELDS),
    ("hdr_junk_between_fields", "to", JUNK_BETWEEN_FIELDS),
    ("hdr_nul_subject", "subject", CONTROL_CHARS),
    (
        "hdr_nul_subject",
        "text",
        "a NUL byte in text becomes a space: MAPI clients read text properties as C strings and would stop \
         there; Python keeps the NUL",
    ),
    ("hdr_raw_latin1", "from", RAW_8BIT_HEADER),
    ("hdr_raw_latin1", "subject", RAW_8BIT_HEADER),
    ("hdr_space_before_colon", "date", OBSOLETE_COLON),
    ("hdr_space_before_colon", "from", OBSOLETE_COLON),
    ("hdr_space_before_colon", "subject", OBSOLETE_COLON),
    ("hdr_space_before_colon", "text", OBSOLETE_COLON),
    ("headers_8bit", "from", RAW_8BIT_HEADER),
    ("headers_8bit", "subject", RAW_8BIT_HEADER),
    ("invitation", "attachments", CRLF_KEPT),
    ("meeting_reply", "attachments", CRLF_KEPT),
    (
        "mp_duplicate_ctype",
        "text",
        "two Content-Type headers: okapi takes the last (multipart, which the body is) and shows its text part; \
         Python takes the first and shows the MIME structure as text",
    ),
    (
        "mp_inline_text_parts",
        "text",
        "okapi shows every inline text part in order, as Apple Mail and Thunderbird do; get_body gives only the \
         first and hides the second",
    ),
    (
        "mp_lf_before_boundary_missing",
        "text",
        "a boundary glued to the end of a text line (its CRLF missing): okapi ends the part there, as the sender \
         meant; Python keeps the boundary string in the text",
    ),
    (
        "mp_nested_40",
        "text",
        "okapi reads 32 levels of multipart nesting (MAX_MIME_DEPTH), so hostile nesting costs bounded work; the \
         deeper text stays in the raw message",
    ),
    ("mp_no_boundary_param", "attachments", CRLF_KEPT),
    ("mp_no_parts", "attachments", CRLF_KEPT),
    ("mp_report_dsn", "attachments", CRLF_KEPT),
    ("mp_report_dsn", "from", NAME_IN_COMMENT),
    (
        "p2231_unquoted_spaces",
        "attachments",
        "an unquoted file name with spaces (illegal, common): okapi keeps the whole name; Python stops at the \
         first space",
    ),
    ("p2231_windows_path", "attachments", PATH_IN_NAME),
    ("pgp_encrypted", "attachments", CRLF_KEPT),
    ("pgp_signed", "attachments", CRLF_KEPT),
    ("te_8bit_attachment", "attachments", CRLF_KEPT),
    (
        "te_cte_spaces",
        "text",
        "the transfer encoding `  Base64 ` (spaces, odd case): okapi decodes it; Python does not recognise it and \
         shows the base64 text",
    ),
    (
        "te_cte_unknown",
        "text",
        "x-uuencode is no MIME transfer encoding (RFC 2045 section 6.1): okapi shows the body as sent; Python's \
         legacy uudecode makes it empty",
    ),
    ("te_qp_attachment", "attachments", CRLF_KEPT),
];

/// Differences where okapi's answer is the worse one and is not fixed yet: (message, field, cause).
/// Listed so the test stays green and tells when one is fixed; each is a defect, not a choice.
const KNOWN_DEFECTS: &[(&str, &str, &str)] = &[];

const CRLF_KEPT: &str = "a text attachment keeps its CRLF line ends as sent (the canonical form of RFC 2046 \
    section 4.1.1: the file the sender attached); Python's get_payload(decode=True) turns them into LF, one byte \
    less per line";
const LABEL_WRONG: &str = "the charset label is missing, unknown or wrong for these bytes: okapi reads valid \
    UTF-8 as UTF-8 and other bytes as Windows-1252, as mail clients do; Python trusts the label and puts U+FFFD";
const WHATWG_LABELS: &str = "okapi reads charset labels as the WHATWG Encoding Standard and browsers do \
    (iso-8859-1 is windows-1252, gb2312 is GBK, iso-8859-8-i is Hebrew); Python's codecs are narrower and put U+FFFD";
const RAW_8BIT_HEADER: &str = "a raw 8-bit header that is not UTF-8 is read as Windows-1252 by okapi; Python \
    puts U+FFFD";
const NAME_IN_COMMENT: &str = "the name is in an address comment, `addr (Name)`: okapi shows it as the display \
    name, as Outlook and Thunderbird do; Python leaves the name empty";
const CONTROL_CHARS: &str = "control characters in a header (NUL, BEL, ESC, TAB) become spaces: display text \
    is one clean line; Python keeps them";
const OBSOLETE_COLON: &str = "RFC 5322 section 4.5 (obs-optional) allows whitespace before a header's colon: \
    okapi reads `Subject : x` as a header; Python ends the header block there and shows the rest as body";
const CR_CR_LF: &str = "header lines ending in CR CR LF (a gateway that converted line ends twice): okapi \
    takes each for one line end and reads every header; Python sees an empty line after From: and shows the \
    other headers as body";
const JUNK_BETWEEN_FIELDS: &str = "a line without a colon between header fields, with more fields after it: \
    okapi reads on and keeps From, To, Date and Message-ID; Python ends the header block at the junk line and \
    shows the rest of the headers as body (where no field follows, okapi starts the body there too)";
const PATH_IN_NAME: &str = "okapi drops directories from a file name (`../../etc/notes.txt`, `C:\\Users\\...`), so a \
    saved attachment cannot land outside the folder chosen; Python keeps the path";

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

/// At most 400 characters of a value, for a readable failure message.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(400) {
        Some((cut, _)) => format!("{}…", s.get(..cut).unwrap_or_default()),
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
                && want
                    .iter()
                    .zip(&attachments)
                    .all(|(w, got)| (w[0].is_null() || w[0] == got[0]) && (w[1].is_null() || w[1] == got[1]))
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

        let source = srv.ok("getMessageSource", json!({"session": s, "entryId": id})).await;
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

    let expected: BTreeSet<(String, &str)> = EXPECTED
        .iter()
        .chain(KNOWN_DEFECTS)
        .map(|(n, f, _)| (n.to_string(), *f))
        .collect();
    assert_eq!(
        expected.len(),
        EXPECTED.len() + KNOWN_DEFECTS.len(),
        "a difference is listed twice"
    );
    let unexpected: Vec<String> = found
        .iter()
        .filter(|(k, _)| !expected.contains(&(k.0.clone(), k.1)))
        .map(|((name, field), (okapi, theirs))| {
            format!(
                "{name} {field}:\n  okapi:  {}\n  oracle: {}",
                short(okapi),
                short(theirs)
            )
        })
        .collect();
    let gone: Vec<String> = expected
        .iter()
        .filter(|k| !found.contains_key(&(k.0.clone(), k.1)))
        .map(|(name, field)| format!("{name} {field}"))
        .collect();
    eprintln!(
        "mime oracle: {} messages; {} differences from the oracle: {} where okapi is better, {} known defects",
        samples.len(),
        found.len(),
        EXPECTED.len(),
        KNOWN_DEFECTS.len()
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

/// Nothing is cut silently: a 5,000-character subject in Greek, Chinese and emoji, and a sender name,
/// message id, recipient name and file name longer than their columns, come back whole through
/// loadObject after delivery; a table without the bag shows the subject column, cut at a character
/// boundary; and a later, shorter subject replaces the long one.
async fn long_values_are_kept_whole(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("lena", "pw").await;
    let s = srv.logon("lena", "pw").await;
    let inbox = srv.store_of(&s).await["inbox"].as_str().unwrap().to_string();

    let subject: String = "Ελληνικά 中文 😀 ".chars().cycle().take(5000).collect();
    let name: String = "Jiří 王 👋 ".chars().cycle().take(600).collect();
    let id = format!("{}@example.org", "x".repeat(400));
    let file: String = "Αρχείο 文件 📎 ".chars().cycle().take(1200).collect::<String>() + ".pdf";
    let raw = format!(
        "From: =?utf-8?B?{}?= <long@example.org>\r\nTo: =?utf-8?B?{}?= <lena@example.test>\r\n\
         Subject: =?utf-8?B?{}?=\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
         --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''{}\r\n\r\n%PDF\r\n--b--\r\n",
        B64.encode(&name),
        B64.encode(&name),
        B64.encode(&subject),
        file.bytes().map(|b| format!("%{b:02X}")).collect::<String>(),
    );
    let mut c = Client::tcp(srv.lmtp).await.unwrap();
    let out = c
        .send("long@example.org", &["lena@example.test"], raw.as_bytes())
        .await
        .unwrap();
    assert!(out.finals[0].starts("250 2.0.0"), "{:?}", out.finals);
    c.quit().await;

    let rows = srv
        .ok(
            "queryRows",
            json!({"session": s, "folder": inbox, "columns": ["PR_SUBJECT"], "limit": 10}),
        )
        .await;
    let row = &rows["rows"][0];
    let column = row["props"]["PR_SUBJECT"].as_str().unwrap();
    assert_eq!(
        column.chars().count(),
        1000,
        "the subject column holds 1,000 characters"
    );
    assert!(subject.starts_with(column), "the column holds the subject's beginning");

    let entry = row["entryId"].as_str().unwrap().to_string();
    let m = srv.ok("loadObject", json!({"session": s, "entryId": entry})).await;
    assert_eq!(m["props"]["PR_SUBJECT"], subject.trim_end());
    assert_eq!(m["props"]["PR_SENDER_NAME"], name.trim_end());
    assert_eq!(m["props"]["PR_SENT_REPRESENTING_NAME"], name.trim_end());
    assert_eq!(m["props"]["PR_INTERNET_MESSAGE_ID"], format!("<{id}>"));
    assert_eq!(m["recipients"][0]["displayName"], name.trim_end());
    assert_eq!(m["attachments"][0]["filename"], file);

    // A shorter subject that begins like the long one replaces it everywhere.
    let short: String = subject.chars().take(20).collect();
    srv.ok(
        "saveObject",
        json!({"session": s, "entryId": entry, "props": {"PR_SUBJECT": short}}),
    )
    .await;
    let m = srv.ok("loadObject", json!({"session": s, "entryId": entry})).await;
    assert_eq!(m["props"]["PR_SUBJECT"], short);
    srv.stop().await;
}

on_both_backends!(mime_oracle, long_values_are_kept_whole);
