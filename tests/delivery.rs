//! The delivery path end to end, on SQLite and MariaDB: an LMTP client in the test speaks to the
//! in-process server (TCP and the unix socket), and the results are read back through the JSON API
//! and the store.
//!
//! - the MIME corpus (`tests/corpus/*.eml`): stored, source byte-exact, key properties;
//! - one message to three recipients: one `250` each, one blob with three references;
//! - recipients by primary address and alias, any case; `550 5.1.1` unknown; `552 5.2.2` over quota;
//! - the database gone: `451 4.3.0`, never `250`;
//! - spam into Junk E-mail; `newMail` events; out-of-office replies (RFC 3834) through an SMTP sink;
//! - okapi-dagent's exit codes against the real server;
//! - the spooler through the SMTP sink: sent, Sent Items, no Bcc header; NDR on 550; kept on 451;
//!   refused for a foreign From and over the soft quota.
//!
//! Stored bytes: LMTP, like SMTP, carries CRLF lines only, so the server stores the message as it was
//! on the wire (dot-stuffing undone). A corpus file with bare LF line ends (simple.eml,
//! body_only.eml, garbage.eml) therefore comes back with CRLF line ends, exactly as an MTA would
//! have sent it; [`lmtp::canonical`] is that form, and every other file comes back identical to the
//! file itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::lmtp::{self, Client};
use common::{Db, TestServer};
use serde_json::{Value, json};
use sha2::Digest as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

// ---- helpers -----------------------------------------------------------------------------------

/// Polls `f` every 50 ms until it returns Some, for at most `secs` seconds.
async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A message with these headers and a short body, CRLF line ends.
fn message(headers: &[&str], body: &str) -> Vec<u8> {
    let mut m = String::new();
    for h in headers {
        m.push_str(h);
        m.push_str("\r\n");
    }
    m.push_str("\r\n");
    m.push_str(body);
    m.push_str("\r\n");
    m.into_bytes()
}

/// Delivers over TCP in one session; returns the final reply for each recipient.
async fn deliver(srv: &TestServer, from: &str, rcpts: &[&str], raw: &[u8]) -> Vec<lmtp::Reply> {
    let mut c = Client::tcp(srv.lmtp).await.expect("LMTP connect");
    let out = c.send(from, rcpts, raw).await.expect("LMTP transaction");
    c.quit().await;
    out.finals
}

/// Delivers to one recipient and asserts `250 2.0.0`.
async fn deliver_ok(srv: &TestServer, from: &str, rcpt: &str, raw: &[u8]) {
    let r = deliver(srv, from, &[rcpt], raw).await;
    assert!(r[0].starts("250 2.0.0"), "{rcpt}: {r:?}");
}

/// The rows of a folder with these columns.
async fn rows(srv: &TestServer, s: &str, folder: &str, columns: &[&str]) -> Vec<Value> {
    let v = srv
        .ok(
            "queryRows",
            json!({"session": s, "folder": folder, "columns": columns, "limit": 1000}),
        )
        .await;
    v["rows"].as_array().unwrap().clone()
}

/// Entry ids of the messages with this subject in a folder.
async fn find(srv: &TestServer, s: &str, folder: &str, subject: &str) -> Vec<String> {
    rows(srv, s, folder, &["PR_SUBJECT"])
        .await
        .iter()
        .filter(|r| r["props"]["PR_SUBJECT"] == subject)
        .map(|r| r["entryId"].as_str().unwrap().to_string())
        .collect()
}

async fn source(srv: &TestServer, s: &str, entry_id: &str) -> Vec<u8> {
    let v = srv
        .ok("getMessageSource", json!({"session": s, "entryId": entry_id}))
        .await;
    B64.decode(v["data"].as_str().unwrap()).unwrap()
}

async fn user_id(srv: &TestServer, login: &str) -> i64 {
    srv.store.user_by_login(login).await.unwrap().unwrap().id
}

// ---- an SMTP sink --------------------------------------------------------------------------------

/// One message the sink accepted.
#[derive(Debug, Clone, Default)]
struct Mail {
    from: String,
    rcpts: Vec<String>,
    data: Vec<u8>,
}

impl Mail {
    fn headers(&self) -> String {
        let text = String::from_utf8_lossy(&self.data).to_string();
        text.split("\r\n\r\n").next().unwrap_or_default().to_string()
    }
}

/// A tiny SMTP server on 127.0.0.1:0 standing in for the MTA. RCPT to a local part starting with
/// `refused` gets `550 5.1.1`, with `later` gets `451 4.3.0`, anything else `250`. It records every
/// RCPT it saw and every message it accepted.
#[derive(Clone)]
struct Sink {
    port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    rcpts_seen: Arc<Mutex<Vec<String>>>,
}

impl Sink {
    async fn start() -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = Sink {
            port: listener.local_addr().unwrap().port(),
            mails: Arc::default(),
            rcpts_seen: Arc::default(),
        };
        let s = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(s.clone().session(stream));
            }
        });
        sink
    }

    /// `smtp_server`/`smtp_port` pointing at the sink.
    fn config(&self) -> String {
        format!(
            "smtp_server = 127.0.0.1\nsmtp_port = {}\nhostname = okapi.test\n",
            self.port
        )
    }

    fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    async fn session(self, stream: tokio::net::TcpStream) {
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        let _ = w.write_all(b"220 sink.test ESMTP\r\n").await;
        let mut cur = Mail::default();
        let mut line = Vec::new();
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let text = String::from_utf8_lossy(&line).trim_end().to_string();
            let upper = text.to_ascii_uppercase();
            let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                "250-sink.test\r\n250-8BITMIME\r\n250 SIZE 100000000".into()
            } else if upper.starts_with("MAIL FROM:") {
                cur = Mail::default();
                cur.from = angle(&text["MAIL FROM:".len()..]);
                "250 2.1.0 Ok".into()
            } else if upper.starts_with("RCPT TO:") {
                let addr = angle(&text["RCPT TO:".len()..]);
                self.rcpts_seen.lock().unwrap().push(addr.clone());
                if addr.starts_with("refused") {
                    format!("550 5.1.1 <{addr}>: Recipient address rejected: User unknown")
                } else if addr.starts_with("later") {
                    "451 4.3.0 Temporary lookup failure".into()
                } else {
                    cur.rcpts.push(addr);
                    "250 2.1.5 Ok".into()
                }
            } else if upper == "DATA" {
                let _ = w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await;
                loop {
                    line.clear();
                    if r.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == b".\r\n" {
                        break;
                    }
                    let unstuffed = if line.starts_with(b".") { &line[1..] } else { &line[..] };
                    cur.data.extend_from_slice(unstuffed);
                }
                self.mails.lock().unwrap().push(std::mem::take(&mut cur));
                "250 2.0.0 Ok: queued".into()
            } else if upper == "QUIT" {
                let _ = w.write_all(b"221 2.0.0 Bye\r\n").await;
                return;
            } else if upper == "RSET" {
                cur = Mail::default();
                "250 2.0.0 Ok".into()
            } else {
                "250 Ok".into()
            };
            if w.write_all(format!("{reply}\r\n").as_bytes()).await.is_err() {
                return;
            }
        }
    }
}

/// The address in `<addr> PARAMS`.
fn angle(s: &str) -> String {
    let s = s.trim();
    match (s.find('<'), s.find('>')) {
        (Some(a), Some(b)) if b > a => s[a + 1..b].to_string(),
        _ => s.split_whitespace().next().unwrap_or_default().to_string(),
    }
}

// ---- corpus --------------------------------------------------------------------------------------

/// Every corpus message is stored (250), comes back byte-exact through getMessageSource, and carries
/// the key properties asserted below.
async fn corpus(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("zara", "pw").await;
    let s = srv.logon("zara", "pw").await;
    let inbox = srv.store_of(&s).await["inbox"].as_str().unwrap().to_string();
    let mut sync = srv.ok("getChanges", json!({"session": s, "folder": inbox})).await["syncState"]
        .as_str()
        .unwrap()
        .to_string();

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "corpus has only {} files", files.len());
    let mut stored = std::collections::BTreeMap::new();
    let mut changed_line_ends = Vec::new();
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let raw = std::fs::read(path).unwrap();
        deliver_ok(&srv, "sender@example.net", "zara@example.test", &raw).await;
        let ch = srv
            .ok("getChanges", json!({"session": s, "folder": inbox, "syncState": sync}))
            .await;
        sync = ch["syncState"].as_str().unwrap().to_string();
        let created = ch["created"].as_array().unwrap();
        assert_eq!(created.len(), 1, "{name}: {ch}");
        let id = created[0].as_str().unwrap().to_string();
        let back = source(&srv, &s, &id).await;
        let want = lmtp::canonical(&raw);
        assert!(back == want, "{name}: the stored source differs from what was sent");
        if want != raw {
            changed_line_ends.push(name.clone());
        }
        stored.insert(name, id);
    }
    // Only the files with bare-LF line ends (or no final line end) differ from the file itself.
    for name in &changed_line_ends {
        let raw = std::fs::read(dir.join(format!("{name}.eml"))).unwrap();
        let lf = raw.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r') || !raw.ends_with(b"\n");
        assert!(lf, "{name} changed although it has CRLF line ends");
    }
    eprintln!(
        "corpus: {} messages; sent with CRLF added: {changed_line_ends:?}",
        files.len()
    );

    let load = |name: &str| {
        let id = stored[name].clone();
        let srv = &srv;
        let s = s.clone();
        async move { srv.ok("loadObject", json!({"session": s, "entryId": id})).await }
    };
    let names = |m: &Value| -> Vec<String> {
        m["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["filename"].as_str().unwrap().to_string())
            .collect()
    };

    let m = load("simple").await;
    assert_eq!(m["props"]["PR_SUBJECT"], "Lunch tomorrow?");
    assert_eq!(m["props"]["PR_SENDER_NAME"], "Alice Example");
    assert_eq!(m["props"]["PR_SENDER_EMAIL_ADDRESS"], "alice@example.org");
    assert_eq!(m["props"]["PR_MESSAGE_CLASS"], "IPM.Note");
    assert_eq!(m["props"]["PR_INTERNET_MESSAGE_ID"], "<simple-1@example.org>");
    assert_eq!(m["recipients"][0]["address"], "bob@example.com");

    let m = load("invitation").await;
    assert_eq!(m["props"]["PR_MESSAGE_CLASS"], "IPM.Schedule.Meeting.Request");
    assert_eq!(m["props"]["PR_SUBJECT"], "Invitation: Planning meeting");
    assert!(names(&m).contains(&"invite.ics".to_string()), "{m}");
    let ics = m["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["filename"] == "invite.ics")
        .unwrap();
    assert_eq!(ics["mimeType"], "text/calendar");

    let m = load("signed").await;
    assert_eq!(m["props"]["PR_MESSAGE_CLASS"], "IPM.Note.SMIME.MultipartSigned");
    assert_eq!(names(&m), ["smime.p7s"]);
    let raw = std::fs::read(dir.join("signed.eml")).unwrap();
    assert_eq!(
        source(&srv, &s, &stored["signed"]).await,
        raw,
        "signed mail kept intact"
    );

    let m = load("encrypted").await;
    assert_eq!(m["props"]["PR_MESSAGE_CLASS"], "IPM.Note.SMIME");
    assert_eq!(names(&m), ["smime.p7m"]);

    let m = load("attachment_rfc2231").await;
    assert_eq!(
        names(&m),
        ["€ exchange rätes.pdf", "Grüße.bin", "attachment-3.bin", "notes.txt"]
    );
    assert_eq!(m["props"]["PR_HASATTACH"], true);

    let m = load("nested").await;
    assert_eq!(names(&m), ["photo.png", "itinerary.pdf"]);
    assert_eq!(m["attachments"][0]["inline"], true);
    assert_eq!(m["attachments"][0]["contentId"], "photo1@example.org");
    assert_eq!(m["attachments"][1]["mimeType"], "application/pdf");

    let m = load("rfc2047").await;
    assert_eq!(m["props"]["PR_SUBJECT"], "Re: Café ☕ und Kuchen");
    assert_eq!(m["props"]["PR_SENT_REPRESENTING_NAME"], "Örsöla Oßling");

    let m = load("headers_8bit").await;
    assert_eq!(m["props"]["PR_SUBJECT"], "Grüße aus München");
    assert_eq!(m["props"]["PR_SENDER_NAME"], "Jürgen Müller");

    let m = load("priority").await;
    assert_eq!(m["props"]["PR_IMPORTANCE"], 2);

    let m = load("broken_mime").await;
    assert_eq!(m["props"]["PR_SUBJECT"], "Broken MIME");
    assert!(m["props"]["PR_BODY"].as_str().unwrap().contains("The body survives."));

    let m = load("garbage").await;
    assert_eq!(m["props"]["PR_MESSAGE_CLASS"], "IPM.Note");

    srv.stop().await;
}

// ---- recipients, blobs, quota --------------------------------------------------------------------

/// One message to three local recipients, named by primary address, by alias and in upper case:
/// a 250 for each, a copy in each Inbox, the raw bytes stored once (one blob, three references).
async fn three_recipients_one_blob(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    for u in ["ann", "ben", "cat"] {
        srv.add_user(u, "pw").await;
    }
    let raw = message(
        &[
            "From: Sender <sender@example.net>",
            "To: ann@example.test, ben@example.test, cat@example.test",
            "Subject: Shared message",
        ],
        ".a line starting with a dot\r\n..and two",
    );
    let rcpts = ["ann@example.test", "ben.alias@example.test", "CAT@Example.TEST"];
    let r = deliver(&srv, "sender@example.net", &rcpts, &raw).await;
    assert_eq!(r.len(), 3);
    for (i, reply) in r.iter().enumerate() {
        assert!(reply.starts("250 2.0.0"), "{}: {reply:?}", rcpts[i]);
    }
    let want_hash = hex::encode(sha2::Sha256::digest(&raw));
    let mut hashes = Vec::new();
    for u in ["ann", "ben", "cat"] {
        let s = srv.logon(u, "pw").await;
        let inbox = srv.store_of(&s).await["inbox"].as_str().unwrap().to_string();
        let ids = find(&srv, &s, &inbox, "Shared message").await;
        assert_eq!(ids.len(), 1, "{u}");
        assert_eq!(source(&srv, &s, &ids[0]).await, raw, "{u}");
        let id = okapi::entryid::EntryId::message(&ids[0]).unwrap();
        hashes.push(srv.store.load_message(id).await.unwrap().raw_blob.unwrap());
    }
    assert!(hashes.iter().all(|h| *h == want_hash), "{hashes:?} vs {want_hash}");

    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&srv.db_url).await.unwrap();
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT refcount FROM blobs WHERE hash = ?")
        .bind(&want_hash)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows, [(3,)], "one blob row with three references");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE raw_blob = ?")
        .bind(&want_hash)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 3);
    conn.close().await.unwrap();
    srv.stop().await;
}

/// Primary address and alias in any case resolve; an unknown address is 550 5.1.1 at RCPT and the
/// others in the same transaction are still delivered; a user over the hard quota gets 552 5.2.2.
async fn recipients_unknown_and_quota(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("dora", "pw").await;
    srv.add_user("full", "pw").await;
    let raw = message(&["From: x@example.net", "Subject: resolve"], "hi");

    let mut c = Client::tcp(srv.lmtp).await.unwrap();
    let out = c
        .send(
            "x@example.net",
            &["Dora@EXAMPLE.test", "nobody@example.test", "DORA.ALIAS@example.test"],
            &raw,
        )
        .await
        .unwrap();
    assert!(out.rcpt[0].starts("250 2.1.5"), "{out:?}");
    assert!(out.rcpt[1].starts("550 5.1.1"), "{out:?}");
    assert!(out.rcpt[2].starts("250 2.1.5"), "{out:?}");
    assert!(out.finals[0].starts("250 2.0.0"), "{out:?}");
    assert!(out.finals[1].starts("550 5.1.1"), "{out:?}");
    assert!(out.finals[2].starts("250 2.0.0"), "{out:?}");
    c.quit().await;
    let s = srv.logon("dora", "pw").await;
    let inbox = srv.store_of(&s).await["inbox"].as_str().unwrap().to_string();
    // Two addresses of one user in one envelope: one copy.
    assert_eq!(find(&srv, &s, &inbox, "resolve").await.len(), 1);

    // Over the hard quota: refused at RCPT with 552 5.2.2.
    deliver_ok(&srv, "x@example.net", "full@example.test", &raw).await;
    let id = user_id(&srv, "full").await;
    srv.store
        .update_user(
            id,
            &okapi::store::UserUpdate {
                quota_hard: Some(Some(1)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let r = deliver(&srv, "x@example.net", &["full@example.test", "dora@example.test"], &raw).await;
    assert!(r[0].starts("552 5.2.2"), "{r:?}");
    assert!(r[1].starts("250 2.0.0"), "{r:?}");
    srv.stop().await;
}

/// The database gone (the pool closed: every query fails as when the server is unreachable): a
/// recipient accepted before gets 451 4.3.0 after DATA, a new RCPT gets 451 4.3.0; never 250.
async fn database_down(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("eve", "pw").await;
    let raw = message(&["From: x@example.net", "Subject: down"], "hi");
    deliver_ok(&srv, "x@example.net", "eve@example.test", &raw).await;

    let mut early = Client::tcp(srv.lmtp).await.unwrap();
    assert_eq!(early.command("MAIL FROM:<x@example.net>").await.unwrap().code, 250);
    let r = early.command("RCPT TO:<eve@example.test>").await.unwrap();
    assert!(r.starts("250 2.1.5"), "{r:?}");

    srv.store.close().await;

    let d = early.command("DATA").await.unwrap();
    assert_eq!(d.code, 354);
    early.send_raw(&lmtp::wire(&raw)).await.unwrap();
    let r = early.reply().await.unwrap();
    assert!(r.starts("451 4.3.0"), "after DATA: {r:?}");
    early.quit().await;

    let mut c = Client::tcp(srv.lmtp).await.unwrap();
    let out = c.send("x@example.net", &["eve@example.test"], &raw).await.unwrap();
    assert!(out.rcpt[0].starts("451 4.3.0"), "at RCPT: {out:?}");
    c.quit().await;
    srv.stop().await;
}

// ---- on delivery: spam, newMail, out-of-office ----------------------------------------------------

/// `X-Spam-Flag: YES` files into Junk E-mail; a clean message goes to the Inbox; both raise a
/// `newMail` event on the owner's notify session naming the message and its folder.
async fn spam_and_new_mail(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("fay", "pw").await;
    let s = srv.logon("fay", "pw").await;
    let st = srv.store_of(&s).await;
    let (inbox, junk) = (st["inbox"].as_str().unwrap(), st["junk"].as_str().unwrap());
    srv.ok("notify", json!({"session": s})).await;

    let spam = message(
        &[
            "From: spammer@example.net",
            "To: fay@example.test",
            "Subject: Cheap pills",
            "X-Spam-Flag: YES",
        ],
        "buy",
    );
    deliver_ok(&srv, "spammer@example.net", "fay@example.test", &spam).await;
    assert_eq!(find(&srv, &s, junk, "Cheap pills").await.len(), 1);
    assert!(find(&srv, &s, inbox, "Cheap pills").await.is_empty());

    let ham = message(
        &["From: friend@example.net", "To: fay@example.test", "Subject: Hello"],
        "hi",
    );
    deliver_ok(&srv, "friend@example.net", "fay@example.test", &ham).await;
    let ids = find(&srv, &s, inbox, "Hello").await;
    assert_eq!(ids.len(), 1);

    let mut events = Vec::new();
    let start = Instant::now();
    while events.iter().filter(|e: &&Value| e["kind"] == "newMail").count() < 2 {
        assert!(start.elapsed() < Duration::from_secs(10), "newMail events: {events:?}");
        let v = srv.ok("notify", json!({"session": s, "timeoutSeconds": 2})).await;
        events.extend(v["events"].as_array().unwrap().iter().cloned());
    }
    let new_mail: Vec<&Value> = events.iter().filter(|e| e["kind"] == "newMail").collect();
    assert_eq!(new_mail[0]["folder"], junk);
    assert_eq!(new_mail[1]["folder"], inbox);
    assert_eq!(new_mail[1]["entryId"], ids[0].as_str());
    srv.stop().await;
}

/// Out-of-office set with setOutOfOffice: one reply to an external sender, from the null sender
/// with `Auto-Submitted: auto-replied`, through the MTA; none for the same sender again, for
/// `Precedence: bulk`, for `List-Id`, or for the null sender.
async fn out_of_office(db: Db) {
    let sink = Sink::start().await;
    let Some(srv) = TestServer::start(db, &sink.config()).await else {
        return;
    };
    srv.add_user("olga", "pw").await;
    let s = srv.logon("olga", "pw").await;
    srv.ok(
        "setOutOfOffice",
        json!({"session": s, "settings": {"enabled": true, "subject": "Away", "body": "Back on Monday."}}),
    )
    .await;
    let got = srv.ok("getOutOfOffice", json!({"session": s})).await;
    assert_eq!(got["enabled"], true);

    let msg = |from: &str, extra: &[&str], subject: &str| {
        let from_h = format!("From: {from}");
        let subj = format!("Subject: {subject}");
        let mut h = vec![from_h.as_str(), "To: Olga <olga@example.test>", subj.as_str()];
        h.extend_from_slice(extra);
        message(&h, "text")
    };
    deliver_ok(
        &srv,
        "ext@example.net",
        "olga@example.test",
        &msg("ext@example.net", &[], "first"),
    )
    .await;
    let first = wait_for(10, "the out-of-office reply", || {
        let m = sink.mails();
        async move { (!m.is_empty()).then(|| m[0].clone()) }
    })
    .await;
    assert_eq!(first.from, "", "null sender");
    assert_eq!(first.rcpts, ["ext@example.net"]);
    let h = first.headers().to_ascii_lowercase();
    assert!(h.contains("auto-submitted: auto-replied"), "{h}");
    assert!(first.headers().contains("Away"), "{}", first.headers());

    // No reply: the same sender again, bulk, list, null sender.
    deliver_ok(
        &srv,
        "ext@example.net",
        "olga@example.test",
        &msg("ext@example.net", &[], "second"),
    )
    .await;
    deliver_ok(
        &srv,
        "bulk@example.net",
        "olga@example.test",
        &msg("bulk@example.net", &["Precedence: bulk"], "bulk"),
    )
    .await;
    deliver_ok(
        &srv,
        "list@example.net",
        "olga@example.test",
        &msg("list@example.net", &["List-Id: <news.example.net>"], "list"),
    )
    .await;
    deliver_ok(
        &srv,
        "",
        "olga@example.test",
        &msg("MAILER-DAEMON@example.net", &[], "bounce"),
    )
    .await;
    // A new sender still gets one: once that has arrived, the ones before would have too.
    deliver_ok(
        &srv,
        "other@example.net",
        "olga@example.test",
        &msg("other@example.net", &[], "third"),
    )
    .await;
    wait_for(10, "the second out-of-office reply", || {
        let n = sink.mails().len();
        async move { (n >= 2).then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = sink.mails();
    let to: Vec<&Vec<String>> = mails.iter().map(|m| &m.rcpts).collect();
    assert_eq!(
        to,
        [
            &vec!["ext@example.net".to_string()],
            &vec!["other@example.net".to_string()]
        ]
    );
    // The filters act before a reply is claimed: only the two answered senders are in the reply
    // log (an unchecked null sender would be there even though no MTA could take the reply).
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&srv.db_url).await.unwrap();
    let logged: Vec<String> = sqlx::query_scalar("SELECT sender FROM oof_replies WHERE user_id = ? ORDER BY sender")
        .bind(user_id(&srv, "olga").await)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(logged, ["ext@example.net", "other@example.net"]);
    conn.close().await.unwrap();
    srv.stop().await;
}

// ---- okapi-dagent ----------------------------------------------------------------------------------

async fn dagent(socket: &std::path::Path, sender: &str, rcpt: &str, raw: &[u8]) -> i32 {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_okapi-dagent"))
        .arg("--socket")
        .arg(socket)
        .arg("-f")
        .arg(sender)
        .arg(rcpt)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(raw).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    eprintln!("okapi-dagent: {}", String::from_utf8_lossy(&out.stderr).trim());
    out.status.code().unwrap()
}

/// okapi-dagent against the in-process server's unix socket: 0 and stored, 67 for an unknown user,
/// 75 when there is no socket.
async fn dagent_exit_codes(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("gus", "pw").await;
    // LF line ends and a dot line, as a pipe MDA gets them.
    let raw = b"From: x@example.net\nTo: gus@example.test\nSubject: Piped\n\nline\n.\n..two\n";
    assert_eq!(
        dagent(&srv.lmtp_socket, "x@example.net", "gus@example.test", raw).await,
        0
    );
    let s = srv.logon("gus", "pw").await;
    let inbox = srv.store_of(&s).await["inbox"].as_str().unwrap().to_string();
    let ids = find(&srv, &s, &inbox, "Piped").await;
    assert_eq!(ids.len(), 1);
    assert_eq!(source(&srv, &s, &ids[0]).await, lmtp::canonical(raw));
    assert_eq!(
        dagent(&srv.lmtp_socket, "x@example.net", "nobody@example.test", raw).await,
        67
    );
    let missing = srv.dir.path().join("no-such.sock");
    assert_eq!(dagent(&missing, "x@example.net", "gus@example.test", raw).await, 75);
    srv.stop().await;
}

// ---- the spooler -----------------------------------------------------------------------------------

/// Saves a message in Drafts with these recipients (type, address) and extra props; returns its id.
async fn draft(srv: &TestServer, s: &str, subject: &str, to: &[(i32, &str)], extra: Value) -> String {
    let drafts = srv.store_of(s).await["drafts"].as_str().unwrap().to_string();
    let mut props = json!({"PR_SUBJECT": subject, "PR_BODY": format!("body of {subject}")});
    for (k, v) in extra.as_object().unwrap() {
        props[k] = v.clone();
    }
    let recipients: Vec<Value> = to
        .iter()
        .map(|(t, a)| json!({"recipientType": t, "displayName": a, "address": a}))
        .collect();
    let v = srv
        .ok(
            "saveObject",
            json!({"session": s, "folder": drafts, "props": props, "recipients": recipients}),
        )
        .await;
    v["entryId"].as_str().unwrap().to_string()
}

/// submitMessage → the MTA (the sink) gets it with the right envelope and headers and no Bcc, and
/// it moves to Sent Items; a 550 for one recipient → an NDR in the Inbox; a 451 → kept in the queue
/// for a retry, not in Sent Items; a foreign From → MAPI_E_NO_ACCESS; over soft quota →
/// MAPI_E_STORE_FULL.
async fn spooler(db: Db) {
    let sink = Sink::start().await;
    let Some(srv) = TestServer::start(db, &sink.config()).await else {
        return;
    };
    srv.add_user("alice", "pw").await;
    let s = srv.logon("alice", "pw").await;
    let st = srv.store_of(&s).await;
    let (inbox, sent, outbox) = (
        st["inbox"].as_str().unwrap().to_string(),
        st["sentItems"].as_str().unwrap().to_string(),
        st["outbox"].as_str().unwrap().to_string(),
    );

    // Sent, with To/Cc in the headers, Bcc only in the envelope.
    let id = draft(
        &srv,
        &s,
        "Plain send",
        &[
            (1, "bob@example.net"),
            (2, "carl@example.net"),
            (3, "secret@example.net"),
        ],
        json!({}),
    )
    .await;
    srv.ok("submitMessage", json!({"session": s, "entryId": id})).await;
    let m = wait_for(15, "the sent message at the MTA", || {
        let m = sink.mails();
        async move { m.into_iter().find(|m| m.headers().contains("Plain send")) }
    })
    .await;
    assert_eq!(m.from, "alice@example.test");
    let mut rcpts = m.rcpts.clone();
    rcpts.sort();
    assert_eq!(rcpts, ["bob@example.net", "carl@example.net", "secret@example.net"]);
    let headers = m.headers();
    let lower = headers.to_ascii_lowercase();
    assert!(
        lower
            .lines()
            .any(|l| l.starts_with("from:") && l.contains("alice@example.test")),
        "{headers}"
    );
    assert!(
        lower.contains("bob@example.net") && lower.contains("carl@example.net"),
        "{headers}"
    );
    assert!(!lower.lines().any(|l| l.starts_with("bcc:")), "{headers}");
    assert!(!lower.contains("secret@example.net"), "{headers}");
    wait_for(10, "the message in Sent Items", || {
        let srv = &srv;
        let (s, sent) = (s.clone(), sent.clone());
        async move { (find(srv, &s, &sent, "Plain send").await.len() == 1).then_some(()) }
    })
    .await;
    assert!(find(&srv, &s, &outbox, "Plain send").await.is_empty());

    // 550 for one recipient: the other gets it, the sender gets a non-delivery report.
    let id = draft(
        &srv,
        &s,
        "Partly refused",
        &[(1, "ok@example.net"), (1, "refused@example.net")],
        json!({}),
    )
    .await;
    srv.ok("submitMessage", json!({"session": s, "entryId": id})).await;
    let ndr = wait_for(15, "the non-delivery report", || {
        let srv = &srv;
        let (s, inbox) = (s.clone(), inbox.clone());
        async move {
            rows(srv, &s, &inbox, &["PR_MESSAGE_CLASS", "PR_SUBJECT"])
                .await
                .into_iter()
                .find(|r| r["props"]["PR_MESSAGE_CLASS"] == "REPORT.IPM.Note.NDR")
        }
    })
    .await;
    let ndr = srv
        .ok("loadObject", json!({"session": s, "entryId": ndr["entryId"]}))
        .await;
    let text = ndr.to_string();
    assert!(text.contains("refused@example.net"), "{ndr}");
    assert!(
        !text.contains("ok@example.net"),
        "only the refused recipient is reported: {ndr}"
    );
    let m = sink
        .mails()
        .into_iter()
        .find(|m| m.headers().contains("Partly refused"))
        .unwrap();
    assert_eq!(m.rcpts, ["ok@example.net"]);

    // 451: kept in the queue for a later attempt; not in Sent Items, still in the Outbox.
    let id = draft(&srv, &s, "Deferred", &[(1, "later@example.net")], json!({})).await;
    srv.ok("submitMessage", json!({"session": s, "entryId": id})).await;
    wait_for(15, "the attempt at the MTA", || {
        let seen = sink
            .rcpts_seen
            .lock()
            .unwrap()
            .contains(&"later@example.net".to_string());
        async move { seen.then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mid = okapi::entryid::EntryId::message(&id).unwrap();
    assert!(srv.store.is_queued(mid).await.unwrap(), "kept for a retry");
    assert!(find(&srv, &s, &sent, "Deferred").await.is_empty());
    assert_eq!(find(&srv, &s, &outbox, "Deferred").await, std::slice::from_ref(&id));
    assert!(!sink.mails().iter().any(|m| m.headers().contains("Deferred")));
    let ndrs = rows(&srv, &s, &inbox, &["PR_MESSAGE_CLASS"])
        .await
        .iter()
        .filter(|r| r["props"]["PR_MESSAGE_CLASS"] == "REPORT.IPM.Note.NDR")
        .count();
    assert_eq!(ndrs, 1, "no report for a temporary failure");

    // Refused at submit: a From the user does not own, and over the soft quota.
    let id = draft(
        &srv,
        &s,
        "Spoofed",
        &[(1, "bob@example.net")],
        json!({"PR_SENT_REPRESENTING_EMAIL_ADDRESS": "boss@example.test"}),
    )
    .await;
    srv.fails(
        "submitMessage",
        json!({"session": s, "entryId": id}),
        "MAPI_E_NO_ACCESS",
    )
    .await;
    let id = draft(&srv, &s, "Too big a mailbox", &[(1, "bob@example.net")], json!({})).await;
    srv.store
        .update_user(
            user_id(&srv, "alice").await,
            &okapi::store::UserUpdate {
                quota_soft: Some(Some(1)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    srv.fails(
        "submitMessage",
        json!({"session": s, "entryId": id}),
        "MAPI_E_STORE_FULL",
    )
    .await;
    srv.stop().await;
}

/// A submitted message waits in the queue while the MTA is unreachable,
/// survives a restart of the server, and once the MTA answers it is sent
/// exactly once and filed in Sent Items.
async fn queued_message_survives_restart(db: Db) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("smtp_server = 127.0.0.1\nsmtp_port = {closed}\nhostname = okapi.test\n");
    let Some(srv) = TestServer::start(db, &down).await else {
        return;
    };
    srv.add_user("alice", "pw").await;
    let s = srv.logon("alice", "pw").await;
    let id = draft(
        &srv,
        &s,
        "Queued across a restart",
        &[(1, "bob@example.net")],
        json!({}),
    )
    .await;
    srv.ok("submitMessage", json!({"session": s, "entryId": id})).await;
    // The first attempt fails (connection refused) and the entry waits for its retry.
    wait_for(15, "the first, failed attempt", || {
        let store = srv.store.clone();
        async move {
            let q = store.claim_due(okapi::props::now_micros(), 10).await.ok()?;
            // Nothing is due before the backoff ends; put back whatever we claimed.
            store.requeue_interrupted().await.ok()?;
            (q.is_empty() && store.queue_length().await.ok()? == 1).then_some(())
        }
    })
    .await;
    let sink = Sink::start().await;
    let srv = srv.restart(&sink.config()).await;
    // Make the retry due now instead of in a minute.
    {
        use sqlx::Connection;
        let mut c = sqlx::AnyConnection::connect(&srv.db_url).await.unwrap();
        sqlx::query("UPDATE outgoing_queue SET next_attempt_at = 0")
            .execute(&mut c)
            .await
            .unwrap();
    }
    srv.state.spooler_wake.notify_one();
    wait_for(30, "the message at the MTA after the restart", || {
        let n = sink.mails().len();
        async move { (n > 0).then_some(()) }
    })
    .await;
    let s = srv.logon("alice", "pw").await;
    let sent = srv.store_of(&s).await["sentItems"].as_str().unwrap().to_string();
    wait_for(15, "the message in Sent Items", || {
        let (srv, s, sent) = (&srv, s.clone(), sent.clone());
        async move { (!find(srv, &s, &sent, "Queued across a restart").await.is_empty()).then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(sink.mails().len(), 1, "sent exactly once");
    assert_eq!(srv.store.queue_length().await.unwrap(), 0);
    srv.stop().await;
}

/// Many LMTP connections delivering at once (their messages share group
/// commits): every recipient gets `250 2.0.0`, and every message is in each
/// recipient's Inbox exactly once, counted in the folder.
async fn concurrent_lmtp_deliveries(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    for u in ["fay", "gus"] {
        srv.add_user(u, "pw").await;
    }
    let mut tasks = Vec::new();
    for i in 0..24 {
        let lmtp = srv.lmtp;
        tasks.push(tokio::spawn(async move {
            let subject = format!("Subject: parallel {i}");
            let raw = message(&["From: Sender <sender@example.net>", &subject], "in parallel");
            let mut c = Client::tcp(lmtp).await.expect("LMTP connect");
            let out = c
                .send("sender@example.net", &["fay@example.test", "gus@example.test"], &raw)
                .await
                .expect("LMTP transaction");
            c.quit().await;
            out.finals
        }));
    }
    for t in tasks {
        let finals = t.await.unwrap();
        assert_eq!(finals.len(), 2);
        assert!(finals.iter().all(|r| r.starts("250 2.0.0")), "{finals:?}");
    }
    for u in ["fay", "gus"] {
        let s = srv.logon(u, "pw").await;
        let inbox = srv.store_of(&s).await["inbox"].as_str().unwrap().to_string();
        let mut subjects: Vec<String> = rows(&srv, &s, &inbox, &["PR_SUBJECT"])
            .await
            .iter()
            .map(|r| r["props"]["PR_SUBJECT"].as_str().unwrap().to_string())
            .collect();
        subjects.sort();
        let mut want: Vec<String> = (0..24).map(|i| format!("parallel {i}")).collect();
        want.sort();
        assert_eq!(subjects, want, "{u}: each message once");
        let uid = user_id(&srv, u).await;
        let st = srv.store.store_of_user(uid).await.unwrap();
        let f = srv
            .store
            .folder_by_role(st.id, okapi::store::Role::Inbox)
            .await
            .unwrap();
        assert_eq!((f.content_count, f.unread_count), (24, 24), "{u}: folder counters");
        assert_eq!(st.message_count, 24, "{u}: store counter");
    }
    srv.stop().await;
}

on_both_backends!(
    concurrent_lmtp_deliveries,
    queued_message_survives_restart,
    corpus,
    three_recipients_one_blob,
    recipients_unknown_and_quota,
    database_down,
    spam_and_new_mail,
    out_of_office,
    dagent_exit_codes,
    spooler,
);
