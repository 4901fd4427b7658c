//! "Killing okapi-server with SIGKILL in the middle of parallel LMTP deliveries loses no message that
//! got a 250."
//!
//! The real okapi-server binary runs on a config file in a temporary directory, on SQLite (blobs in
//! files) and, when `OKAPI_TEST_MYSQL_URL` is set, on MariaDB (blobs in the database). Users are
//! created by opening the store from the test before the server starts. Eight LMTP clients on the
//! unix socket deliver messages with unique subjects (and bodies of varied size) in a loop, some to
//! two recipients; after about a second the server gets SIGKILL (`Child::kill`). Each client records
//! every recipient that got `250` for each message.
//!
//! The server is then started again on the same database, and through the JSON API every
//! acknowledged (subject, recipient) must be in that recipient's Inbox exactly once, with
//! getMessageSource returning exactly the bytes that were sent. Messages that were stored but not
//! acknowledged (the commit happened, the kill came before the `250` reached the client) are
//! allowed: the MTA would deliver them a second time, which LMTP permits; losing one is not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::process::{Running, free_port};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::Db;
use common::lmtp::Client;
use serde_json::{Value, json};

const SERVER: &str = env!("CARGO_BIN_EXE_okapi-server");
const CLIENTS: usize = 8;
const USERS: usize = 4;

/// Writes a configuration with a fresh HTTP port; returns its path and the port.
fn write_config(dir: &Path, url: &str, db: Db) -> (PathBuf, u16) {
    let port = free_port();
    let text = format!(
        "server_listen = 127.0.0.1:{port}\nserver_listen_tls =\nlocal_socket = {d}/server.sock\n\
         lmtp_listen =\nlmtp_socket = {d}/lmtp.sock\ndatabase_url = {url}\n\
         attachment_storage = {storage}\nattachment_path = {d}/blobs\nlog_level = warn\n\
         run_as_user = nobody\nrun_as_group = nogroup\n",
        d = dir.display(),
        storage = if db == Db::Sqlite { "files" } else { "db" },
    );
    let path = dir.join("server.cfg");
    std::fs::write(&path, text).unwrap();
    (path, port)
}

/// Started as root, the server drops to nobody (`run_as_user`), who must be able to write
/// everything the test created in `dir` (the directory, the SQLite files, the blob directory).
fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if dir.is_dir() { 0o777 } else { 0o666 };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
    if dir.is_dir() {
        for e in std::fs::read_dir(dir).unwrap() {
            open_up(&e.unwrap().path());
        }
    }
}

/// Starts okapi-server and waits until both its HTTP port and its LMTP socket answer.
async fn start(dir: &Path, url: &str, db: Db) -> (Running, String) {
    let (cfg, port) = write_config(dir, url, db);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .unwrap();
    let child = Command::new(SERVER)
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let start = Instant::now();
    loop {
        let http = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok();
        let lmtp = tokio::net::UnixStream::connect(dir.join("lmtp.sock")).await.is_ok();
        if http && lmtp {
            break;
        }
        if let Ok(Some(status)) = running.0.try_wait() {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            panic!("okapi-server exited with {status}:\n{log}");
        }
        assert!(start.elapsed() < Duration::from_secs(30), "okapi-server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (running, format!("http://127.0.0.1:{port}"))
}

/// A message with a unique subject and a body of some size that depends on the sequence number.
fn message(subject: &str, seq: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Sender <sender@example.net>\r\nTo: someone@example.test\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.net>\r\n\r\n"
    );
    for i in 0..(seq * 37 % 400) {
        m.push_str(&format!(
            "{subject} line {i}: the quick brown fox jumps over the lazy dog\r\n"
        ));
    }
    m.push_str(".\r\nend\r\n");
    m.into_bytes()
}

/// What one client saw: (subject, recipient login) pairs acknowledged with 250, with the bytes sent.
#[derive(Default)]
struct Seen {
    acked: Vec<(String, String, Vec<u8>)>,
    attempted: usize,
}

async fn client(n: usize, socket: PathBuf) -> Seen {
    let mut seen = Seen::default();
    let Ok(mut c) = Client::unix(&socket).await else {
        return seen;
    };
    for seq in 0.. {
        let subject = format!("dur-{n}-{seq}");
        let raw = message(&subject, seq);
        let mut users = vec![format!("d{}", n % USERS)];
        if seq % 5 == 0 {
            users.push(format!("d{}", (n + 1) % USERS));
        }
        let rcpts: Vec<String> = users.iter().map(|u| format!("{u}@example.test")).collect();
        let rcpts: Vec<&str> = rcpts.iter().map(String::as_str).collect();
        seen.attempted += 1;
        let Ok(out) = c.send("sender@example.net", &rcpts, &raw).await else {
            break;
        };
        for (user, reply) in users.iter().zip(&out.finals) {
            if reply.code == 250 {
                seen.acked.push((subject.clone(), user.clone(), raw.clone()));
            }
        }
    }
    seen
}

async fn post(http: &reqwest::Client, base: &str, op: &str, body: Value) -> Value {
    let r = http
        .post(format!("{base}/api/v1/{op}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert!(status.is_success(), "{op}: {v}");
    v
}

async fn kill_during_deliveries(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let (url, mysql_db) = match db {
        Db::Sqlite => (format!("sqlite://{}/okapi.db", dir.path().display()), None),
        Db::MySql => {
            let (url, name) = common::fresh_mysql_db_named(&common::mysql_url().unwrap()).await;
            (url, Some(name))
        }
    };

    // Users, created in the store before the server runs.
    {
        let (cfg, _) = write_config(dir.path(), &url, db);
        let cfg = okapi::config::Config::load(&cfg).unwrap();
        let store = okapi::store::Store::open(&okapi::startup::store_options(&cfg).unwrap())
            .await
            .unwrap();
        for u in 0..USERS {
            store
                .create_user(&okapi::store::NewUser {
                    login: format!("d{u}"),
                    display_name: format!("D {u}"),
                    password_hash: okapi::auth::hash_password("pw").unwrap(),
                    address: format!("d{u}@example.test"),
                    aliases: vec![],
                    is_admin: false,
                })
                .await
                .unwrap();
        }
        store.close().await;
    }
    open_up(dir.path());

    let (mut server, _) = start(dir.path(), &url, db).await;
    let socket = dir.path().join("lmtp.sock");
    let tasks: Vec<_> = (0..CLIENTS).map(|n| tokio::spawn(client(n, socket.clone()))).collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.0.kill().unwrap(); // SIGKILL
    let status = server.0.wait().unwrap();
    assert!(!status.success(), "the server was killed: {status}");
    let mut acked = Vec::new();
    let mut attempted = 0;
    for t in tasks {
        let seen = t.await.unwrap();
        attempted += seen.attempted;
        acked.extend(seen.acked);
    }
    assert!(
        acked.len() >= CLIENTS,
        "too few deliveries before the kill: {}",
        acked.len()
    );

    // Restart on the same database and look for every acknowledged message.
    let (server, base) = start(dir.path(), &url, db).await;
    let http = reqwest::Client::new();
    let mut found = 0;
    let mut extra = 0;
    let mut by_user: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for (subject, user, raw) in acked.iter().cloned() {
        by_user.entry(user).or_default().push((subject, raw));
    }
    for u in 0..USERS {
        let login = format!("d{u}");
        let s = post(&http, &base, "logon", json!({"user": login, "password": "pw"})).await["session"]
            .as_str()
            .unwrap()
            .to_string();
        let inbox = post(&http, &base, "getStore", json!({"session": s})).await["inbox"]
            .as_str()
            .unwrap()
            .to_string();
        let mut stored: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut offset = 0;
        loop {
            let v = post(
                &http,
                &base,
                "queryRows",
                json!({"session": s, "folder": inbox, "columns": ["PR_SUBJECT"], "offset": offset, "limit": 1000}),
            )
            .await;
            let rows = v["rows"].as_array().unwrap();
            for r in rows {
                stored
                    .entry(r["props"]["PR_SUBJECT"].as_str().unwrap().to_string())
                    .or_default()
                    .push(r["entryId"].as_str().unwrap().to_string());
            }
            offset += rows.len();
            if rows.is_empty() || offset as i64 >= v["total"].as_i64().unwrap() {
                break;
            }
        }
        let mine = by_user.remove(&login).unwrap_or_default();
        let acked_subjects: BTreeSet<&str> = mine.iter().map(|(s, _)| s.as_str()).collect();
        for (subject, raw) in &mine {
            let ids = stored
                .get(subject)
                .unwrap_or_else(|| panic!("{login}: {subject} got 250 but is missing after the restart"));
            assert_eq!(ids.len(), 1, "{login}: {subject} stored {} times", ids.len());
            let v = post(
                &http,
                &base,
                "getMessageSource",
                json!({"session": s, "entryId": ids[0]}),
            )
            .await;
            let back = B64.decode(v["data"].as_str().unwrap()).unwrap();
            assert!(back == *raw, "{login}: {subject} is not complete after the restart");
            found += 1;
        }
        for (subject, ids) in &stored {
            assert_eq!(ids.len(), 1, "{login}: {subject} stored {} times", ids.len());
            if !acked_subjects.contains(subject.as_str()) {
                extra += 1;
            }
        }
    }
    eprintln!(
        "durability on {db:?}: {attempted} transactions started, {} recipient deliveries acknowledged \
         with 250 before SIGKILL, {found} of them found complete after the restart, {extra} stored \
         without an acknowledgement",
        acked.len()
    );
    assert_eq!(found, acked.len());
    drop(server);
    if let Some(name) = mysql_db {
        common::drop_mysql_db(&name).await;
    }
}

on_both_backends!(kill_during_deliveries);
