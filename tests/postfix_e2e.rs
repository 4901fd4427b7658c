//! End-to-end mail flow against a real Postfix (Debian's package, "Local only"), with the real
//! okapi-server binary on MariaDB:
//!
//! 1. mail injected with Postfix's `sendmail` reaches three Inboxes with its properties and raw bytes;
//! 2. the same over SMTP on 127.0.0.1:25;
//! 3. an unknown recipient bounces (550 5.1.1) and Postfix's bounce reaches the sender's Inbox;
//! 4. mail delivered while MariaDB is stopped is deferred (451 4.3.0) and arrives once it is back;
//! 5. pipe delivery through Postfix into okapi-dagent, and okapi-dagent's exit codes;
//! 6. `submitMessage` sends through Postfix into another user's Inbox and into Sent Items; a refused
//!    recipient gives a non-delivery report; sending as someone else is refused.
//!
//! Needs root, Postfix and `OKAPI_TEST_MYSQL_URL` (scripts/test-all provides all three and sets
//! `OKAPI_TEST_POSTFIX=1`). Without them the test prints a note and passes, unless `CI` or
//! `OKAPI_TEST_POSTFIX` is set, where it fails. Postfix's main.cf and master.cf are saved before
//! they are changed and put back at the end (also after a failure, and at the start of the next run
//! if a run was killed), so reruns start clean. The steps run one after another in one test, since
//! they share Postfix; each step's failure is reported under its name and the others still run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::process::free_port;

use std::fmt::Write as _;
use std::fs;
use std::future::Future;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const SERVER: &str = env!("CARGO_BIN_EXE_okapi-server");
const ADMIN: &str = env!("CARGO_BIN_EXE_okapi-admin");
const DAGENT: &str = env!("CARGO_BIN_EXE_okapi-dagent");

/// Everything of this test lives here: reachable by Postfix's pipe user (`nobody`).
const BASE: &str = "/var/tmp/okapi-postfix-e2e";
/// How long a message may take to arrive.
const ARRIVAL: Duration = Duration::from_secs(60);
/// The domains the test routes; queued mail for them is removed before and after a run.
const TEST_DOMAINS: [&str; 3] = ["okapi.test", "pipe.okapi.test", "refused.test"];
const USERS: [(&str, &str); 4] = [
    ("alice", "alice@okapi.test"),
    ("bob", "bob@okapi.test"),
    ("carol", "carol@okapi.test"),
    ("dave", "dave@pipe.okapi.test"),
];

fn password(login: &str) -> String {
    format!("{login}-e2e-pw")
}

// ---------------------------------------------------------------------------------------------
// Processes and commands

fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
}

/// Runs a command that must succeed; returns its standard output.
fn run_ok(cmd: &str, args: &[&str]) -> String {
    let out = run(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command with `input` on standard input; returns its output.
fn run_with_input(cmd: &str, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Postfix's own sendmail: `-f sender` and the recipients, message on stdin.
fn sendmail(sender: &str, recipients: &[&str], msg: &[u8]) {
    let mut args = vec!["-f", sender, "--"];
    args.extend_from_slice(recipients);
    let out = run_with_input("/usr/sbin/sendmail", &args, msg);
    assert!(
        out.status.success(),
        "/usr/sbin/sendmail {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn mariadb_alive() -> bool {
    run("mysqladmin", &["ping"]).status.success()
}

/// Starts MariaDB as scripts/test-all does (no systemd here) and waits until it answers.
fn start_mariadb() {
    if mariadb_alive() {
        return;
    }
    fs::create_dir_all("/run/mysqld").unwrap();
    let _ = run("chown", &["mysql:mysql", "/run/mysqld"]);
    run_ok(
        "start-stop-daemon",
        &[
            "--start",
            "--background",
            "--exec",
            "/usr/sbin/mariadbd",
            "--",
            "--user=mysql",
        ],
    );
    let start = Instant::now();
    while !mariadb_alive() {
        assert!(
            start.elapsed() < ARRIVAL,
            "MariaDB did not come back within {ARRIVAL:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Lines of the Postfix log written since `offset`.
fn log_since(path: &Path, offset: u64) -> String {
    let bytes = fs::read(path).unwrap_or_default();
    let from = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    String::from_utf8_lossy(&bytes[from..]).into_owned()
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Polls `f` every 250 ms until it returns Some, or panics after `limit` with `what` and the state
/// of Postfix's queue and logs, so a failure says where the message got stuck.
async fn wait_for<T, F, Fut>(env: &Env, what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if start.elapsed() > limit {
            panic!(
                "timed out after {limit:?} waiting for {what}\n--- postqueue -p:\n{}\n--- Postfix log (last lines):\n{}\n\
                 --- okapi-server log (last lines):\n{}",
                String::from_utf8_lossy(&run("postqueue", &["-p"]).stdout),
                tail(&log_since(&env.maillog, env.maillog_start), 25),
                tail(&fs::read_to_string(env.run.join("server.log")).unwrap_or_default(), 25),
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Postfix

/// Removes queued mail of earlier runs to the test domains, so it cannot arrive later.
fn purge_test_mail_from_queue() {
    let out = run("postqueue", &["-j"]);
    if !out.status.success() {
        return;
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let ours = v["recipients"].as_array().is_some_and(|rs| {
            rs.iter().any(|r| {
                let a = r["address"].as_str().unwrap_or("").to_lowercase();
                TEST_DOMAINS.iter().any(|d| a.ends_with(&format!("@{d}")))
            })
        });
        if let (true, Some(id)) = (ours, v["queue_id"].as_str()) {
            let _ = run("postsuper", &["-d", id]);
        }
    }
}

fn postfix_running() -> bool {
    run("postfix", &["status"]).status.success()
}

/// Postfix's configuration as it was before the test, and whether the test started Postfix.
struct PostfixState {
    started: bool,
}

impl PostfixState {
    fn saved_dir() -> PathBuf {
        Path::new(BASE).join("saved")
    }

    /// Puts back main.cf and master.cf as saved (by this run, or by an earlier one that did not
    /// finish: `why` says which). Returns whether that run had started Postfix itself.
    fn put_back_saved(why: &str) -> bool {
        let saved = Self::saved_dir();
        let started = saved.join("started-by-test").exists();
        for f in ["main.cf", "master.cf"] {
            let from = saved.join(f);
            if from.exists() {
                println!("postfix_e2e: restoring /etc/postfix/{f} {why}");
                fs::copy(&from, Path::new("/etc/postfix").join(f)).unwrap();
            }
        }
        let _ = fs::remove_dir_all(&saved);
        started
    }

    /// Saves the configuration, applies the test's settings and starts or reloads Postfix.
    fn configure(lmtp_port: u16, run_dir: &Path) -> PostfixState {
        let started_before = Self::put_back_saved("left changed by an interrupted run");
        let saved = Self::saved_dir();
        fs::create_dir_all(&saved).unwrap();
        // Written to a temporary name first: a half-saved copy must never be "restored".
        for f in ["main.cf", "master.cf"] {
            fs::copy(Path::new("/etc/postfix").join(f), saved.join(format!("{f}.tmp"))).unwrap();
            fs::rename(saved.join(format!("{f}.tmp")), saved.join(f)).unwrap();
        }
        let dagent = run_dir.join("okapi-dagent");
        let sock = run_dir.join("lmtp.sock");
        let settings = postfix_settings(lmtp_port, &dagent, &sock);
        println!("postfix_e2e: Postfix settings (postconf -e):");
        for s in &settings.main {
            println!("   {s}");
        }
        println!("   master.cf: {}", settings.service);
        let mut args = vec!["-e"];
        args.extend(settings.main.iter().map(String::as_str));
        run_ok("postconf", &args);
        run_ok("postconf", &["-M", &format!("okapidagent/unix={}", settings.service)]);
        let problems = run("postfix", &["check"]);
        assert!(
            problems.status.success(),
            "postfix check: {}",
            String::from_utf8_lossy(&problems.stderr)
        );
        let running = postfix_running();
        if running {
            run_ok("postfix", &["reload"]);
        } else {
            run_ok("postfix", &["start"]);
        }
        // Stopped again at the end if this run (or an interrupted one) started it.
        let started = !running || started_before;
        if started {
            fs::write(saved.join("started-by-test"), "").unwrap();
        }
        // smtpd must answer on port 25 before anything is sent.
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", 25)).is_err() {
            assert!(start.elapsed() < ARRIVAL, "Postfix does not listen on 127.0.0.1:25");
            std::thread::sleep(Duration::from_millis(100));
        }
        purge_test_mail_from_queue();
        PostfixState { started }
    }

    fn restore(&self) {
        purge_test_mail_from_queue();
        Self::put_back_saved("as it was before the test");
        if self.started {
            let _ = run("postfix", &["stop"]);
        } else {
            let _ = run("postfix", &["reload"]);
        }
    }
}

/// The settings the test gives Postfix: main.cf lines and the master.cf pipe service.
struct PostfixSettings {
    main: Vec<String>,
    service: String,
}

fn postfix_settings(lmtp_port: u16, dagent: &Path, sock: &Path) -> PostfixSettings {
    PostfixSettings {
        main: vec![
            "maillog_file = /var/log/postfix.log".into(),
            "mydestination = localhost".into(),
            "virtual_mailbox_domains = okapi.test pipe.okapi.test".into(),
            format!("virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}"),
            // No spaces inside inline:{}: Postfix splits its entries on whitespace and commas.
            "transport_maps = inline:{pipe.okapi.test=okapidagent:}".into(),
            "okapidagent_destination_recipient_limit = 1".into(),
            "smtpd_recipient_restrictions = check_recipient_access inline:{refused.test=REJECT}, \
             permit_mynetworks, reject_unauth_destination"
                .into(),
            "minimal_backoff_time = 5s".into(),
            "maximal_backoff_time = 10s".into(),
            "queue_run_delay = 5s".into(),
        ],
        service: format!(
            "okapidagent unix - n n - - pipe flags=DRhu user=nobody argv={} --socket {} -f ${{sender}} ${{recipient}}",
            dagent.display(),
            sock.display()
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// okapi's JSON API

#[derive(Clone)]
struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    async fn call(&self, op: &str, body: &Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}/api/v1/{op}", self.base))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{op}: request failed: {e}"));
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.call(op, &body).await;
        assert_eq!(status, 200, "{op} {body} failed: {v}");
        v
    }

    /// Logs on; returns the session and the standard folders.
    async fn logon(&self, login: &str) -> (String, Value) {
        let v = self
            .ok("logon", json!({"user": login, "password": password(login)}))
            .await;
        let s = v["session"].as_str().expect("session").to_string();
        let st = self.ok("getStore", json!({"session": s})).await;
        (s, st)
    }

    /// Messages of a folder whose subject contains `needle`.
    async fn find(&self, session: &str, folder: &str, needle: &str) -> Vec<Value> {
        let v = self
            .ok(
                "queryRows",
                json!({"session": session, "folder": folder,
                       "columns": ["PR_SUBJECT", "PR_MESSAGE_CLASS", "PR_SENDER_EMAIL_ADDRESS"],
                       "restriction": {"content": {"tag": "PR_SUBJECT", "value": needle, "mode": "substring"}}}),
            )
            .await;
        v["rows"].as_array().cloned().unwrap_or_default()
    }

    async fn load(&self, session: &str, entry_id: &str) -> Value {
        self.ok("loadObject", json!({"session": session, "entryId": entry_id}))
            .await
    }

    async fn source(&self, session: &str, entry_id: &str) -> Vec<u8> {
        let v = self
            .ok("getMessageSource", json!({"session": session, "entryId": entry_id}))
            .await;
        B64.decode(v["data"].as_str().expect("data")).expect("base64 source")
    }
}

// ---------------------------------------------------------------------------------------------
// The environment: okapi-server, users, Postfix

struct Env {
    api: Api,
    run: PathBuf,
    lmtp_sock: PathBuf,
    maillog: PathBuf,
    maillog_start: u64,
    /// Unique per run, in every subject, so nothing of another run is mistaken for this one's.
    token: String,
}

impl Env {
    /// Waits for a message whose subject contains `needle` in a standard folder of `login`
    /// (`inbox`, `sentItems`, ...); returns its entry id and the session.
    async fn arrival(&self, login: &str, folder: &str, needle: &str) -> (String, String) {
        let (s, st) = self.api.logon(login).await;
        let f = st[folder].as_str().expect("folder").to_string();
        let id = wait_for(self, &format!("{needle:?} in {login}'s {folder}"), ARRIVAL, || {
            let (api, s, f) = (self.api.clone(), s.clone(), f.clone());
            async move {
                api.find(&s, &f, needle)
                    .await
                    .first()
                    .map(|r| r["entryId"].as_str().unwrap().to_string())
            }
        })
        .await;
        (s, id)
    }

    /// Waits until the Postfix log written since `offset` has a line with every one of `parts`.
    async fn log_line(&self, offset: u64, parts: &[&str]) -> String {
        wait_for(self, &format!("a Postfix log line with {parts:?}"), ARRIVAL, || async {
            log_since(&self.maillog, offset)
                .lines()
                .find(|l| parts.iter().all(|p| l.contains(p)))
                .map(str::to_string)
        })
        .await
    }
}

/// Starts MariaDB again when dropped, so a failing step cannot leave it stopped for the next.
struct MariaDbBack;

impl Drop for MariaDbBack {
    fn drop(&mut self) {
        start_mariadb();
    }
}

/// What the test set up, taken down again however the test ends.
struct Cleanup {
    server: Option<Child>,
    postfix: Option<PostfixState>,
    database: Option<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // A step that stopped MariaDB and then failed must not leave it stopped.
        if !mariadb_alive() {
            start_mariadb();
        }
        if let Some(p) = self.postfix.take() {
            p.restore();
        }
        if let Some(db) = self.database.take() {
            let _ = run("mysql", &["-e", &format!("DROP DATABASE IF EXISTS {db}")]);
        }
    }
}

/// Checks what the test needs; None means "skip" (a note was printed).
fn preconditions() -> Option<String> {
    let must = std::env::var_os("CI").is_some() || std::env::var_os("OKAPI_TEST_POSTFIX").is_some();
    let skip = |why: &str| {
        assert!(!must, "{why} (CI or OKAPI_TEST_POSTFIX is set, so this is a failure)");
        eprintln!("postfix_e2e: {why}; not run (scripts/test-all sets this up)");
    };
    if !Path::new("/usr/sbin/postfix").exists() || !Path::new("/usr/sbin/postconf").exists() {
        skip("Postfix is not installed");
        return None;
    }
    if !is_root() {
        skip("this test configures Postfix and stops MariaDB, so it must run as root");
        return None;
    }
    match std::env::var("OKAPI_TEST_MYSQL_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            skip("OKAPI_TEST_MYSQL_URL is not set (MariaDB is needed for the \"MariaDB stopped\" case)");
            None
        }
    }
}

/// A run that was killed (SIGKILL, no Drop) leaves its okapi-server and database behind: this
/// ends that server (by its recorded pid, after checking it is ours) and drops that database.
fn clean_up_killed_run(run_dir: &Path) {
    if let Ok(pid) = fs::read_to_string(run_dir.join("server.pid")) {
        let pid = pid.trim();
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cfg = run_dir.join("server.cfg");
        if contains(&cmdline, cfg.to_str().unwrap().as_bytes()) {
            println!("postfix_e2e: ending okapi-server {pid} left by an interrupted run");
            let _ = run("kill", &["-KILL", pid]);
        }
    }
    if let Ok(db) = fs::read_to_string(run_dir.join("database")) {
        let db = db.trim();
        if db.starts_with("okapi_t_") && db.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            let _ = run("mysql", &["-e", &format!("DROP DATABASE IF EXISTS {db}")]);
        }
    }
}

async fn set_up(mysql_base: &str, cleanup: &mut Cleanup) -> Arc<Env> {
    let run_dir = Path::new(BASE).join("run");
    clean_up_killed_run(&run_dir);
    let _ = fs::remove_dir_all(&run_dir);
    fs::create_dir_all(&run_dir).unwrap();
    for d in [Path::new(BASE), run_dir.as_path()] {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    // The pipe service runs okapi-dagent as nobody, who cannot reach target/.
    let dagent = run_dir.join("okapi-dagent");
    fs::copy(DAGENT, &dagent).unwrap();
    fs::set_permissions(&dagent, fs::Permissions::from_mode(0o755)).unwrap();

    let (url, db) = common::fresh_mysql_db_named(mysql_base).await;
    fs::write(run_dir.join("database"), &db).unwrap();
    cleanup.database = Some(db);
    let (http, lmtp) = (free_port(), free_port());
    let lmtp_sock = run_dir.join("lmtp.sock");
    let admin_sock = run_dir.join("server.sock");
    let cfg = run_dir.join("server.cfg");
    fs::write(
        &cfg,
        format!(
            "server_listen = 127.0.0.1:{http}\nserver_listen_tls =\nlocal_socket = {}\n\
             lmtp_listen = 127.0.0.1:{lmtp}\nlmtp_socket = {}\ndatabase_url = {url}\n\
             attachment_storage = db\nsmtp_server = 127.0.0.1\nsmtp_port = 25\nhostname = okapi.test\n\
             run_as_user = nobody\nrun_as_group = nogroup\n",
            admin_sock.display(),
            lmtp_sock.display()
        ),
    )
    .unwrap();
    let log = fs::File::create(run_dir.join("server.log")).unwrap();
    let child = Command::new(SERVER)
        .arg("--config")
        .arg(&cfg)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("okapi-server starts");
    fs::write(run_dir.join("server.pid"), child.id().to_string()).unwrap();
    cleanup.server = Some(child);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", http)).is_err() || !lmtp_sock.exists() {
        if let Some(status) = cleanup.server.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            panic!(
                "okapi-server exited ({status}) at start:\n{}",
                fs::read_to_string(run_dir.join("server.log")).unwrap_or_default()
            );
        }
        assert!(start.elapsed() < ARRIVAL, "okapi-server did not open its listeners");
        std::thread::sleep(Duration::from_millis(50));
    }
    for (login, address) in USERS {
        let out = run_with_input(
            ADMIN,
            &[
                "--socket",
                admin_sock.to_str().unwrap(),
                "user",
                "add",
                login,
                "--address",
                address,
                "--name",
                &format!("{}{} E2e", login[..1].to_uppercase(), &login[1..]),
            ],
            format!("{}\n", password(login)).as_bytes(),
        );
        assert!(
            out.status.success(),
            "okapi-admin user add {login}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let maillog = PathBuf::from("/var/log/postfix.log");
    let maillog_start = file_len(&maillog);
    cleanup.postfix = Some(PostfixState::configure(lmtp, &run_dir));
    Arc::new(Env {
        api: Api {
            base: format!("http://127.0.0.1:{http}"),
            client: reqwest::Client::new(),
        },
        run: run_dir,
        lmtp_sock,
        maillog,
        maillog_start,
        token: format!("{:08x}", rand::random::<u32>()),
    })
}

// ---------------------------------------------------------------------------------------------
// Messages

const UTF8_BODY: &str = "Grüße aus Köln: naïve café, Ærøskøbing, 東京, ✓";

fn attachment_bytes() -> Vec<u8> {
    (0..5000u32).map(|i| (i * 31 % 251) as u8).collect()
}

/// A multipart message with an RFC 2047 subject, an 8-bit UTF-8 body and a PDF attachment.
fn rich_message(tag: &str, to: &str, cc: &str) -> (String, String) {
    let subject = format!("Größenbericht {tag}");
    let mut att = String::new();
    for chunk in B64.encode(attachment_bytes()).as_bytes().chunks(76) {
        att.push_str(std::str::from_utf8(chunk).unwrap());
        att.push('\n');
    }
    let msg = format!(
        "From: Sender Person <sender@example.test>\n\
         To: {to}\n\
         Cc: {cc}\n\
         Subject: =?UTF-8?B?{}?=\n\
         Date: Mon, 01 Jan 2024 10:00:00 +0000\n\
         Message-ID: <{tag}@example.test>\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b-{tag}\"\n\
         \n\
         This is a multi-part message in MIME format.\n\
         \n\
         --b-{tag}\n\
         Content-Type: text/plain; charset=utf-8\n\
         Content-Transfer-Encoding: 8bit\n\
         \n\
         {UTF8_BODY}\n\
         Marker {tag}.\n\
         \n\
         --b-{tag}\n\
         Content-Type: application/pdf; name=\"report.pdf\"\n\
         Content-Disposition: attachment; filename=\"report.pdf\"\n\
         Content-Transfer-Encoding: base64\n\
         \n\
         {att}\
         --b-{tag}--\n",
        B64.encode(subject.as_bytes())
    );
    (subject, msg)
}

fn plain_message(from: &str, to: &str, subject: &str, body: &str) -> String {
    format!(
        "From: {from}\nTo: {to}\nSubject: {subject}\nDate: Mon, 01 Jan 2024 10:00:00 +0000\n\
         Message-ID: <{:016x}@example.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}\n",
        rand::random::<u64>()
    )
}

fn crlf_to_lf(b: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(b).replace("\r\n", "\n").into_bytes()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Checks a delivered copy of [`rich_message`]: properties, attachment and raw bytes.
async fn check_rich(env: &Env, login: &str, session: &str, id: &str, subject: &str, original: &str) {
    let api = &env.api;
    let m = api.load(session, id).await;
    let p = &m["props"];
    assert_eq!(p["PR_SUBJECT"], subject, "{login}: subject: {m}");
    assert_eq!(
        p["PR_SENDER_EMAIL_ADDRESS"], "sender@example.test",
        "{login}: sender: {m}"
    );
    assert_eq!(p["PR_SENDER_NAME"], "Sender Person", "{login}: sender name: {m}");
    assert_eq!(p["PR_MESSAGE_CLASS"], "IPM.Note", "{login}: class: {m}");
    let body = p["PR_BODY"].as_str().unwrap_or_default();
    assert!(body.contains(UTF8_BODY), "{login}: UTF-8 body lost: {body:?}");
    let rcpts: Vec<&str> = m["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .map(|r| r["address"].as_str().unwrap_or(""))
        .collect();
    for want in ["alice@okapi.test", "bob@okapi.test", "carol@okapi.test"] {
        assert!(rcpts.contains(&want), "{login}: recipient {want} missing: {rcpts:?}");
    }
    let atts = m["attachments"].as_array().expect("attachments");
    assert_eq!(atts.len(), 1, "{login}: attachments: {m}");
    assert_eq!(atts[0]["filename"], "report.pdf", "{login}: {m}");
    assert_eq!(atts[0]["mimeType"], "application/pdf", "{login}: {m}");
    let data = api
        .ok(
            "getAttachment",
            json!({"session": session, "entryId": id, "attachNum": 0}),
        )
        .await;
    assert_eq!(
        B64.decode(data["data"].as_str().unwrap()).unwrap(),
        attachment_bytes(),
        "{login}: attachment bytes"
    );
    // Postfix only prepends its Received: header (and CRLF line ends): the original follows intact.
    let raw = crlf_to_lf(&api.source(session, id).await);
    assert!(
        contains(&raw, original.as_bytes()),
        "{login}: the original message is not in getMessageSource:\n{}",
        String::from_utf8_lossy(&raw)
    );
    assert!(
        raw.starts_with(b"Received:") || raw.starts_with(b"Return-Path:"),
        "{login}"
    );
}

// ---------------------------------------------------------------------------------------------
// A small SMTP client

struct Smtp {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl Smtp {
    async fn connect() -> Smtp {
        let (r, w) = tokio::net::TcpStream::connect("127.0.0.1:25")
            .await
            .expect("connect to Postfix on 127.0.0.1:25")
            .into_split();
        let mut s = Smtp {
            r: BufReader::new(r),
            w,
        };
        s.expect(220, "greeting").await;
        s
    }

    /// Reads a (multi-line) reply; checks its code.
    async fn expect(&mut self, code: u16, after: &str) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(60), self.r.read_line(&mut line))
                .await
                .unwrap_or_else(|_| panic!("SMTP: no reply to {after}"))
                .unwrap();
            assert!(n > 0, "SMTP: connection closed after {after}; so far: {all}");
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                break;
            }
        }
        assert!(
            all.starts_with(&code.to_string()),
            "SMTP: {after}: expected {code}, got {all}"
        );
        all
    }

    async fn cmd(&mut self, line: &str, code: u16) -> String {
        self.w.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
        self.expect(code, line).await
    }

    /// Sends a message (LF line ends, no line starting with a dot).
    async fn send(&mut self, from: &str, to: &[&str], msg: &str) {
        self.cmd("EHLO e2e.example.test", 250).await;
        self.cmd(&format!("MAIL FROM:<{from}> BODY=8BITMIME"), 250).await;
        for r in to {
            self.cmd(&format!("RCPT TO:<{r}>"), 250).await;
        }
        self.cmd("DATA", 354).await;
        let data = msg.replace('\n', "\r\n");
        self.w.write_all(data.as_bytes()).await.unwrap();
        self.cmd(".", 250).await;
        self.cmd("QUIT", 221).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The cases

/// 1. `sendmail` to three local users: every Inbox gets it, with its properties and bytes.
async fn sendmail_to_three_inboxes(env: Arc<Env>) {
    let tag = format!("t1-{}", env.token);
    let (subject, msg) = rich_message(&tag, "alice@okapi.test, bob@okapi.test", "carol@okapi.test");
    let started = Instant::now();
    sendmail(
        "sender@example.test",
        &["alice@okapi.test", "bob@okapi.test", "carol@okapi.test"],
        msg.as_bytes(),
    );
    let mut arrived = Vec::new();
    for login in ["alice", "bob", "carol"] {
        let (s, id) = env.arrival(login, "inbox", &tag).await;
        arrived.push((login, s, id));
    }
    println!(
        "   sendmail -> Postfix -> LMTP -> three Inboxes: {} ms from injection to arrival",
        started.elapsed().as_millis()
    );
    for (login, s, id) in arrived {
        check_rich(&env, login, &s, &id, &subject, &msg).await;
    }
}

/// 2. The same over SMTP to Postfix's smtpd.
async fn smtp_to_two_inboxes(env: Arc<Env>) {
    let tag = format!("t2-{}", env.token);
    let subject = format!("Over SMTP {tag}");
    let body = format!("Hej då, smörgåsbord: {tag}");
    let msg = plain_message(
        "SMTP Sender <smtp-sender@example.test>",
        "alice@okapi.test, bob@okapi.test",
        &subject,
        &body,
    );
    let started = Instant::now();
    let mut smtp = Smtp::connect().await;
    smtp.send(
        "smtp-sender@example.test",
        &["alice@okapi.test", "bob@okapi.test"],
        &msg,
    )
    .await;
    for login in ["alice", "bob"] {
        let (s, id) = env.arrival(login, "inbox", &tag).await;
        let m = env.api.load(&s, &id).await;
        assert_eq!(m["props"]["PR_SUBJECT"], subject.as_str(), "{login}: {m}");
        assert_eq!(m["props"]["PR_SENDER_EMAIL_ADDRESS"], "smtp-sender@example.test", "{m}");
        assert_eq!(
            m["props"]["PR_BODY"].as_str().map(str::trim_end),
            Some(body.as_str()),
            "{m}"
        );
        let raw = crlf_to_lf(&env.api.source(&s, &id).await);
        assert!(
            contains(&raw, msg.as_bytes()),
            "{login}: the original message is not in getMessageSource:\n{}",
            String::from_utf8_lossy(&raw)
        );
    }
    println!("   SMTP -> two Inboxes: {} ms", started.elapsed().as_millis());
}

/// 3. An unknown recipient: okapi answers 550 5.1.1, Postfix bounces to the sender (alice).
async fn unknown_recipient_bounces(env: Arc<Env>) {
    let tag = format!("t3-{}", env.token);
    let offset = file_len(&env.maillog);
    let msg = plain_message(
        "alice@okapi.test",
        "nobody@okapi.test",
        &format!("To nobody {tag}"),
        &format!("this goes nowhere {tag}"),
    );
    sendmail("alice@okapi.test", &["nobody@okapi.test"], msg.as_bytes());
    let line = env
        .log_line(offset, &["to=<nobody@okapi.test>", "status=bounced", "550 5.1.1"])
        .await;
    println!("   log: {}", line.trim());
    let (s, st) = env.api.logon("alice").await;
    let inbox = st["inbox"].as_str().unwrap().to_string();
    let id = wait_for(&env, "Postfix's bounce in alice's Inbox", ARRIVAL, || {
        let (api, s, inbox, tag) = (env.api.clone(), s.clone(), inbox.clone(), tag.clone());
        async move {
            for row in api.find(&s, &inbox, "Undelivered Mail Returned to Sender").await {
                let id = row["entryId"].as_str().unwrap().to_string();
                if contains(&api.source(&s, &id).await, tag.as_bytes()) {
                    return Some(id);
                }
            }
            None
        }
    })
    .await;
    let m = env.api.load(&s, &id).await;
    let body = m["props"]["PR_BODY"].as_str().unwrap_or_default();
    assert!(
        body.contains("nobody@okapi.test"),
        "the bounce names the recipient: {body}"
    );
}

/// 4. MariaDB stopped: Postfix defers (451 4.3.0) and delivers after MariaDB is back.
async fn deferred_while_mariadb_is_down(env: Arc<Env>) {
    let tag = format!("t4-{}", env.token);
    let offset = file_len(&env.maillog);
    // Started again when this step ends, passed or not (start_mariadb does nothing if it runs).
    let _back = MariaDbBack;
    run_ok("mysqladmin", &["shutdown"]);
    let start = Instant::now();
    while mariadb_alive() {
        assert!(start.elapsed() < ARRIVAL, "MariaDB did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let msg = plain_message(
        "sender@example.test",
        "bob@okapi.test",
        &format!("While the database was down {tag}"),
        &format!("kept by Postfix {tag}"),
    );
    sendmail("sender@example.test", &["bob@okapi.test"], msg.as_bytes());
    let line = env
        .log_line(offset, &["to=<bob@okapi.test>", "status=deferred", "451 4.3.0"])
        .await;
    println!("   log: {}", line.trim());
    let queue_id = line
        .split(": to=<")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .expect("queue id in the log line")
        .to_string();
    let queue = run_ok("postqueue", &["-p"]);
    assert!(
        queue.contains(&queue_id) && queue.contains("bob@okapi.test"),
        "postqueue -p does not list {queue_id}:\n{queue}"
    );
    start_mariadb();
    run_ok("postqueue", &["-f"]);
    env.arrival("bob", "inbox", &tag).await;
    let queue = run_ok("postqueue", &["-p"]);
    assert!(
        !queue.contains(&queue_id),
        "{queue_id} still queued after delivery:\n{queue}"
    );
    env.log_line(offset, &[&queue_id, "to=<bob@okapi.test>", "status=sent"])
        .await;
}

/// 5. Postfix's pipe transport into okapi-dagent, and okapi-dagent's exit codes.
async fn pipe_delivery_and_exit_codes(env: Arc<Env>) {
    let tag = format!("t5-{}", env.token);
    let offset = file_len(&env.maillog);
    let msg = plain_message(
        "sender@example.test",
        "dave@pipe.okapi.test",
        &format!("Through the pipe {tag}"),
        &format!("delivered by okapi-dagent {tag}"),
    );
    sendmail("sender@example.test", &["dave@pipe.okapi.test"], msg.as_bytes());
    let (s, id) = env.arrival("dave", "inbox", &tag).await;
    let m = env.api.load(&s, &id).await;
    assert_eq!(m["props"]["PR_SENDER_EMAIL_ADDRESS"], "sender@example.test", "{m}");
    env.log_line(
        offset,
        &["to=<dave@pipe.okapi.test>", "relay=okapidagent", "status=sent"],
    )
    .await;

    let sock = env.lmtp_sock.to_str().unwrap().to_string();
    let dagent = |socket: &str, rcpt: &str, subject: &str| {
        let m = plain_message("sender@example.test", rcpt, subject, "direct");
        let out = run_with_input(
            DAGENT,
            &["--socket", socket, "-f", "sender@example.test", rcpt],
            m.as_bytes(),
        );
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let direct = format!("Direct {tag}");
    let (code, err) = dagent(&sock, "dave@pipe.okapi.test", &direct);
    assert_eq!(code, Some(0), "delivered: {err}");
    env.arrival("dave", "inbox", &direct).await;
    let (code, err) = dagent(&sock, "nobody@pipe.okapi.test", "unknown");
    assert_eq!(code, Some(67), "unknown user: {err}");
    let missing = env.run.join("no-such.sock");
    let (code, err) = dagent(missing.to_str().unwrap(), "dave@pipe.okapi.test", "down");
    assert_eq!(code, Some(75), "server down: {err}");
}

/// 6. submitMessage through the spooler and Postfix; a refused address; send-as refused.
async fn submit_through_postfix(env: Arc<Env>) {
    let api = &env.api;
    let tag = format!("t6-{}", env.token);
    let (s, st) = api.logon("alice").await;
    let drafts = st["drafts"].as_str().unwrap();
    let compose = |subject: String, to: &str, extra: Value| {
        let mut props = json!({"PR_SUBJECT": subject, "PR_BODY": format!("Grüße, Bob! {UTF8_BODY}")});
        if let (Some(p), Some(e)) = (props.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        json!({"session": s, "folder": drafts, "props": props,
               "recipients": [{"recipientType": 1, "displayName": "Someone", "address": to}]})
    };

    let subject = format!("Submitted {tag}");
    let id = api
        .ok("saveObject", compose(subject.clone(), "bob@okapi.test", json!({})))
        .await["entryId"]
        .as_str()
        .unwrap()
        .to_string();
    let started = Instant::now();
    api.ok("submitMessage", json!({"session": s, "entryId": id})).await;
    let (bs, bid) = env.arrival("bob", "inbox", &tag).await;
    println!(
        "   submitMessage -> spooler -> Postfix -> Bob's Inbox: {} ms",
        started.elapsed().as_millis()
    );
    let m = api.load(&bs, &bid).await;
    assert_eq!(m["props"]["PR_SUBJECT"], subject.as_str(), "{m}");
    assert_eq!(m["props"]["PR_SENDER_EMAIL_ADDRESS"], "alice@okapi.test", "{m}");
    let body = m["props"]["PR_BODY"].as_str().unwrap_or_default();
    assert!(body.contains(UTF8_BODY), "body: {body:?}");
    env.arrival("alice", "sentItems", &tag).await;
    let outbox = st["outbox"].as_str().unwrap();
    assert!(
        api.find(&s, outbox, &tag).await.is_empty(),
        "the sent message is still in the Outbox"
    );

    let refused = format!("Refused {tag}");
    let id = api
        .ok(
            "saveObject",
            compose(refused.clone(), "someone@refused.test", json!({})),
        )
        .await["entryId"]
        .as_str()
        .unwrap()
        .to_string();
    api.ok("submitMessage", json!({"session": s, "entryId": id})).await;
    let inbox = st["inbox"].as_str().unwrap().to_string();
    let ndr = wait_for(&env, "a non-delivery report in alice's Inbox", ARRIVAL, || {
        let (api, s, inbox, refused) = (api.clone(), s.clone(), inbox.clone(), refused.clone());
        async move {
            api.find(&s, &inbox, &refused)
                .await
                .into_iter()
                .find(|r| r["props"]["PR_MESSAGE_CLASS"] == "REPORT.IPM.Note.NDR")
        }
    })
    .await;
    let m = api.load(&s, ndr["entryId"].as_str().unwrap()).await;
    let body = m["props"]["PR_BODY"].as_str().unwrap_or_default();
    assert!(
        body.contains("someone@refused.test"),
        "the report names the address: {body}"
    );

    let id = api
        .ok(
            "saveObject",
            compose(
                format!("Forged {tag}"),
                "bob@okapi.test",
                json!({"PR_SENT_REPRESENTING_EMAIL_ADDRESS": "carol@okapi.test"}),
            ),
        )
        .await["entryId"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, v) = api.call("submitMessage", &json!({"session": s, "entryId": id})).await;
    assert_ne!(status, 200, "sending as carol was accepted: {v}");
    assert_eq!(v["error"]["name"], "MAPI_E_NO_ACCESS", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mail_flow_through_postfix() {
    let Some(mysql_base) = preconditions() else {
        return;
    };
    fs::create_dir_all(BASE).unwrap();
    // One run at a time on this machine: they share Postfix's configuration.
    let lock = fs::File::create(Path::new(BASE).join("lock")).unwrap();
    lock.lock().unwrap();
    if !mariadb_alive() {
        start_mariadb();
    }
    let mut cleanup = Cleanup {
        server: None,
        postfix: None,
        database: None,
    };
    let env = set_up(&mysql_base, &mut cleanup).await;

    let mut failed = String::new();
    macro_rules! step {
        ($name:literal, $f:ident) => {{
            println!("== {}", $name);
            let t = Instant::now();
            match tokio::spawn($f(env.clone())).await {
                Ok(()) => println!("   ok ({} ms)", t.elapsed().as_millis()),
                Err(e) => {
                    println!("   FAILED: {e}");
                    let _ = writeln!(failed, "{} (see the panic message above)", $name);
                }
            }
        }};
    }
    step!("1. sendmail to alice, bob and carol", sendmail_to_three_inboxes);
    step!("2. SMTP to alice and bob", smtp_to_two_inboxes);
    step!("3. unknown recipient bounces", unknown_recipient_bounces);
    step!("4. deferred while MariaDB is stopped", deferred_while_mariadb_is_down);
    step!("5. pipe delivery into okapi-dagent", pipe_delivery_and_exit_codes);
    step!("6. submitMessage through Postfix", submit_through_postfix);

    drop(cleanup);
    drop(lock);
    assert!(failed.is_empty(), "failed steps:\n{failed}");
}
