//! The web app in a real browser (issue 6): a real okapi-server (SQLite)
//! behind a real Apache, driven by Debian's chromium through playwright-core
//! (tests/browser/webapp.test.mjs and pim.test.mjs, run with node's own test runner).
//!
//! Apache runs as its own instance on a free port with the site configuration
//! the packages ship, apache/okapi-webapp.conf, included as it is except for
//! two substitutions: the web app's directory (the checkout's webapp/ instead
//! of /usr/share/okapi/webapp) and the proxy target (the test server's TCP
//! port instead of /run/okapi/server.sock, the variant the file itself
//! documents). Every directive and header is the shipped one.
//!
//! Outgoing mail goes from okapi's spooler over SMTP to a relay in this test
//! that hands it straight back to okapi over LMTP, so a message sent in one
//! browser session arrives in another user's inbox the way it would through
//! Postfix.
//!
//! Needs node, npm, chromium and apache2; with `CI` set a missing one fails
//! the test. Screenshots go to target/screenshots/.
//!
//! While working on the web app: `OKAPI_BROWSER_TESTS=<regex>` runs only the
//! browser tests whose names match; `OKAPI_BROWSER_HOLD=1` prints the
//! environment and keeps the servers up instead of running node, so the
//! tests can be run by hand (`node --test tests/browser/webapp.test.mjs`);
//! `OKAPI_BIG_COUNT=<n>` makes the large folder smaller.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::lmtp::Client;
use common::process::{free_port, tool, wait_until};
use common::{Db, TestServer};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use okapi::props::*;
use okapi::store::{MessageData, Role};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Messages in the large folder whose first rows the browser times.
const BIG_COUNT: usize = 100_000;
const BIG_FOLDER: &str = "Archive 100k";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An SMTP server standing in for the MTA: every message it accepts is
/// delivered to okapi over LMTP before it answers, and LMTP's answer is its
/// answer.
async fn smtp_relay(listener: tokio::net::TcpListener, lmtp: std::net::SocketAddr) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut r = BufReader::new(r);
            let _ = w.write_all(b"220 relay.test ESMTP\r\n").await;
            let (mut from, mut rcpts) = (String::new(), Vec::<String>::new());
            let mut line = Vec::new();
            loop {
                line.clear();
                if r.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let text = String::from_utf8_lossy(&line).trim_end().to_string();
                let upper = text.to_ascii_uppercase();
                let reply = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                    "250-relay.test\r\n250-8BITMIME\r\n250 SIZE 100000000".to_string()
                } else if upper.starts_with("MAIL FROM:") {
                    from = angle(&text[10..]);
                    rcpts.clear();
                    "250 2.1.0 Ok".into()
                } else if upper.starts_with("RCPT TO:") {
                    rcpts.push(angle(&text[8..]));
                    "250 2.1.5 Ok".into()
                } else if upper == "DATA" {
                    let _ = w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await;
                    let mut data = Vec::new();
                    loop {
                        line.clear();
                        if r.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == b".\r\n" {
                            break;
                        }
                        data.extend_from_slice(if line.starts_with(b".") { &line[1..] } else { &line[..] });
                    }
                    relay(lmtp, &from, &rcpts, &data).await
                } else if upper == "QUIT" {
                    let _ = w.write_all(b"221 2.0.0 Bye\r\n").await;
                    return;
                } else {
                    "250 Ok".into()
                };
                if w.write_all(format!("{reply}\r\n").as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn relay(lmtp: std::net::SocketAddr, from: &str, rcpts: &[String], data: &[u8]) -> String {
    let rcpts: Vec<&str> = rcpts.iter().map(String::as_str).collect();
    let outcome = async {
        let mut c = Client::tcp(lmtp).await?;
        let o = c.send(from, &rcpts, data).await?;
        c.quit().await;
        Ok::<_, std::io::Error>(o)
    }
    .await;
    match outcome {
        Ok(o) => match o.finals.iter().find(|f| f.code != 250) {
            None => "250 2.0.0 Ok: delivered".into(),
            Some(f) => format!("{} {}", f.code, f.text),
        },
        Err(e) => format!("451 4.3.0 relay: {e}"),
    }
}

fn angle(s: &str) -> String {
    let s = s.trim();
    match (s.find('<'), s.find('>')) {
        (Some(a), Some(b)) if b > a => s[a + 1..b].to_string(),
        _ => s.split_whitespace().next().unwrap_or_default().to_string(),
    }
}

/// Fills a folder of `login`'s store with `count` small messages through the
/// store's bulk path (what an import does); returns how long it took.
async fn fill_big_folder(srv: &TestServer, login: &str, count: usize) -> Duration {
    let t = Instant::now();
    let user = srv.store.user_by_login(login).await.unwrap().unwrap().id;
    let st = srv.store.store_of_user(user).await.unwrap();
    let root = srv.store.folder_by_role(st.id, Role::Root).await.unwrap().id;
    let folder = srv.store.create_folder(root, BIG_FOLDER, "IPF.Note").await.unwrap();
    let senders = [
        ("Grace Hopper", "grace@example.org"),
        ("Alan Turing", "alan@example.org"),
        ("Barbara Liskov", "barbara@example.org"),
        ("Ken Thompson", "ken@example.org"),
        ("Frances Allen", "frances@example.org"),
    ];
    let topics = [
        "Quarterly numbers",
        "Build failure on main",
        "Lunch?",
        "Release notes draft",
        "Travel plans",
    ];
    let start = now_micros() - (count as i64) * 60_000_000;
    let mut done = 0;
    while done < count {
        let n = (count - done).min(5000);
        let batch: Vec<MessageData> = (done..done + n)
            .map(|i| {
                let (name, addr) = senders[i % senders.len()];
                let mut props = PropMap::new();
                props.insert(PR_MESSAGE_CLASS, PropValue::Str("IPM.Note".into()));
                props.insert(PR_SUBJECT, PropValue::Str(format!("{} #{i}", topics[i % topics.len()])));
                props.insert(PR_SENDER_NAME, PropValue::Str(name.into()));
                props.insert(PR_SENDER_EMAIL_ADDRESS, PropValue::Str(addr.into()));
                props.insert(PR_MESSAGE_DELIVERY_TIME, PropValue::Time(start + i as i64 * 60_000_000));
                props.insert(
                    PR_MESSAGE_FLAGS,
                    PropValue::Long(if i % 7 == 0 { 0 } else { MSGFLAG_READ }),
                );
                props.insert(PR_BODY, PropValue::Str(format!("Message number {i} of the archive.")));
                MessageData {
                    props,
                    ..MessageData::default()
                }
            })
            .collect();
        srv.store
            .create_messages_bulk(folder, Some(user), &batch, okapi::store::HardQuota::NONE)
            .await
            .unwrap();
        done += n;
    }
    t.elapsed()
}

/// Writes the Apache configuration: a minimal server that includes the
/// shipped site file with the two substitutions described at the top.
fn apache_config(dir: &Path, port: u16, backend: &str) -> PathBuf {
    let shipped = std::fs::read_to_string(repo().join("apache/okapi-webapp.conf")).expect("apache/okapi-webapp.conf");
    let webapp = repo().join("webapp");
    let site = shipped
        .replace("/usr/share/okapi/webapp", webapp.to_str().unwrap())
        .replace("unix:/run/okapi/server.sock|http://localhost", backend);
    assert!(
        !site
            .lines()
            .any(|l| l.trim_start().starts_with("Proxy") && l.contains("unix:")),
        "every proxy target was substituted"
    );
    std::fs::write(dir.join("okapi-webapp.conf"), site).unwrap();
    let modules = "/usr/lib/apache2/modules";
    let user = if nix::unistd::Uid::effective().is_root() {
        "User www-data\nGroup www-data\n"
    } else {
        ""
    };
    let conf = format!(
        "ServerName 127.0.0.1\nListen 127.0.0.1:{port}\nPidFile {d}/apache2.pid\nDefaultRuntimeDir {d}\n\
         ErrorLog {d}/error.log\nLogLevel warn\nLogFormat \"%h %r %>s %D\" short\nCustomLog {d}/access.log short\n\
         {user}\
         LoadModule mpm_event_module {modules}/mod_mpm_event.so\n\
         LoadModule authz_core_module {modules}/mod_authz_core.so\n\
         LoadModule alias_module {modules}/mod_alias.so\n\
         LoadModule dir_module {modules}/mod_dir.so\n\
         LoadModule mime_module {modules}/mod_mime.so\n\
         LoadModule headers_module {modules}/mod_headers.so\n\
         LoadModule proxy_module {modules}/mod_proxy.so\n\
         LoadModule proxy_http_module {modules}/mod_proxy_http.so\n\
         TypesConfig /etc/mime.types\nAddType text/javascript .js .mjs\n\
         DocumentRoot {d}/htdocs\n<Directory />\n    Require all denied\n</Directory>\n\
         Include {d}/okapi-webapp.conf\n",
        d = dir.display(),
    );
    std::fs::create_dir_all(dir.join("htdocs")).unwrap();
    let path = dir.join("apache2.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

/// Apache in the foreground, in a process group of its own. Dropping it sends
/// SIGTERM (the parent then stops its workers) and, if that has not ended it
/// within ten seconds, kills the whole group: killing only the parent would
/// leave its workers running with the port open.
struct Apache(std::process::Child);

impl Drop for Apache {
    fn drop(&mut self) {
        let group = Pid::from_raw(self.0.id() as i32);
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !matches!(self.0.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

fn http_get_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    std::str::from_utf8(&buf[..n])
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Starts Apache with the shipped site in front of `backend`, in `dir`;
/// returns it and its port once it serves the web app.
async fn start_apache(dir: &Path, backend: &str) -> (Apache, u16) {
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let port = free_port();
    let conf = apache_config(dir, port, backend);
    let check = Command::new("apache2")
        .arg("-t")
        .arg("-f")
        .arg(&conf)
        .output()
        .expect("apache2 -t");
    assert!(
        check.status.success(),
        "apache2 -t: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let apache = Apache(
        std::os::unix::process::CommandExt::process_group(
            Command::new("apache2")
                .arg("-f")
                .arg(&conf)
                .arg("-DFOREGROUND")
                .stdout(Stdio::null()),
            0,
        )
        .spawn()
        .expect("start apache2"),
    );
    let apache_ok = tokio::task::spawn_blocking(move || {
        wait_until("Apache to serve /webapp/", Duration::from_secs(20), || {
            http_get_status(port, "/webapp/") == Some(200)
        });
    })
    .await;
    if apache_ok.is_err() {
        panic!(
            "Apache did not come up: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
    }
    (apache, port)
}

/// Issue 11: logons through the shipped Apache site are throttled per
/// account and per client address, the address being the one Apache's
/// mod_proxy passes in X-Forwarded-For (here the proxy reaches okapi over
/// TCP, so 127.0.0.1 is listed in trusted_proxies; on the local socket
/// Apache is believed without it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logons_through_apache_are_throttled_per_account_and_client_address() {
    if !tool("apache2") {
        eprintln!("apache2 missing: logon throttling through Apache not tested");
        return;
    }
    let srv = TestServer::start(
        Db::Sqlite,
        "trusted_proxies = 127.0.0.1\nlogon_failures_per_account = 10\nlogon_failures_per_address = 12",
    )
    .await
    .expect("sqlite server");
    srv.add_user("hana", "správně").await;
    srv.add_user("otto", "richtig").await;
    let dir = tempfile::tempdir().unwrap();
    let (_apache, port) = start_apache(dir.path(), &srv.base).await;
    let client = reqwest::Client::new();
    let logon = |from: &'static str, user: &'static str, password: &'static str| {
        let client = client.clone();
        async move {
            let r = client
                .post(format!("http://127.0.0.1:{port}/api/v1/logon"))
                .header("X-Forwarded-For", from)
                .json(&serde_json::json!({"user": user, "password": password}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let v: serde_json::Value = r.json().await.unwrap();
            (status, v["error"]["name"].as_str().unwrap_or("").to_string())
        }
    };
    let (a, b) = ("198.51.100.7", "198.51.100.8");
    for _ in 0..10 {
        assert_eq!(logon(a, "hana", "špatně").await, (401, "MAPI_E_LOGON_FAILED".into()));
    }
    // The eleventh, even with the right password, from anywhere.
    assert_eq!(
        logon(a, "hana", "správně").await,
        (429, "MAPI_E_LOGON_THROTTLED".into())
    );
    assert_eq!(
        logon(b, "hana", "správně").await,
        (429, "MAPI_E_LOGON_THROTTLED".into())
    );
    // Address a has ten failures; two more for another account use up its twelve.
    for _ in 0..2 {
        assert_eq!(logon(a, "otto", "falsch").await, (401, "MAPI_E_LOGON_FAILED".into()));
    }
    assert_eq!(
        logon(a, "otto", "richtig").await,
        (429, "MAPI_E_LOGON_THROTTLED".into())
    );
    // The same account from another client address is not held up.
    assert_eq!(logon(b, "otto", "richtig").await, (200, String::new()));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webapp_in_chromium_behind_apache() {
    // In CI each of these must be there (tool() fails the test); elsewhere the test is skipped.
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    if !(tool("node") && tool("npm") && tool(&chromium) && tool("apache2")) {
        eprintln!("node, npm, chromium or apache2 missing: browser test not run");
        return;
    }
    let browser_dir = repo().join("tests/browser");
    if !browser_dir.join("node_modules/playwright-core").exists() {
        let st = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
            .arg(&browser_dir)
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .status()
            .expect("run npm ci");
        assert!(st.success(), "npm ci --prefix tests/browser failed");
    }

    // okapi-server, its spooler pointed at the relay.
    let relay_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_port = relay_listener.local_addr().unwrap().port();
    let srv = TestServer::start(
        Db::Sqlite,
        &format!(
            "smtp_server = 127.0.0.1\nsmtp_port = {relay_port}\nhostname = okapi.test\nwebapp_dir = {}\n",
            repo().join("webapp").display()
        ),
    )
    .await
    .expect("sqlite server");
    tokio::spawn(smtp_relay(relay_listener, srv.lmtp));
    srv.add_user("alice", "alice-Secret-1").await;
    srv.add_user("bob", "bob-Secret-2").await;
    let big_count = std::env::var("OKAPI_BIG_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(BIG_COUNT);
    let took = fill_big_folder(&srv, "alice", big_count).await;
    eprintln!(
        "filled {BIG_FOLDER:?} with {big_count} messages in {:.1} s",
        took.as_secs_f64()
    );

    // Apache in front of it.
    let dir = tempfile::tempdir().unwrap();
    let (_apache, port) = start_apache(dir.path(), &srv.base).await;

    // The browser tests.
    let shots = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
        .join("screenshots");
    let vars = [
        ("OKAPI_URL", format!("http://127.0.0.1:{port}")),
        ("OKAPI_LMTP", srv.lmtp.to_string()),
        ("OKAPI_USER1", "alice".into()),
        ("OKAPI_PASS1", "alice-Secret-1".into()),
        ("OKAPI_ADDR1", "alice@example.test".into()),
        ("OKAPI_USER2", "bob".into()),
        ("OKAPI_PASS2", "bob-Secret-2".into()),
        ("OKAPI_ADDR2", "bob@example.test".into()),
        ("OKAPI_BIG_FOLDER", BIG_FOLDER.into()),
        ("OKAPI_BIG_COUNT", big_count.to_string()),
        ("OKAPI_SCREENSHOTS", shots.display().to_string()),
        ("CHROMIUM", which(&chromium)),
    ];
    if std::env::var_os("OKAPI_BROWSER_HOLD").is_some() {
        let line: Vec<String> = vars.iter().map(|(k, v)| format!("{k}='{v}'")).collect();
        println!("servers up; run the browser tests with:\n  export {}", line.join(" "));
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let mut cmd = tokio::process::Command::new("node");
    cmd.args(["--test", "--test-reporter=spec", "--test-concurrency=1"]);
    if let Ok(p) = std::env::var("OKAPI_BROWSER_TESTS") {
        cmd.arg(format!("--test-name-pattern={p}"));
    }
    cmd.arg(browser_dir.join("webapp.test.mjs"))
        .arg(browser_dir.join("pim.test.mjs"))
        .current_dir(&browser_dir)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .kill_on_drop(true);
    let out = cmd.output();
    let out = tokio::time::timeout(Duration::from_secs(900), out)
        .await
        .expect("the browser tests finished within 15 minutes")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    if !out.status.success() {
        let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
        panic!("browser tests failed ({}); Apache error log:\n{log}", out.status);
    }
    if std::env::var_os("OKAPI_BROWSER_TESTS").is_none() {
        for f in ["mail.png", "mail-phone.png", "calendar-week.png", "contacts.png"] {
            assert!(shots.join(f).exists(), "screenshot {f} was written");
        }
    }
    srv.stop().await;
}

/// The absolute path of a command on PATH (playwright wants one).
fn which(cmd: &str) -> String {
    if cmd.contains('/') {
        return cmd.into();
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .output()
        .expect("sh");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
