//! okapi-server as a Linux service, with the real binary: socket activation
//! under `systemd-socket-activate`, the sd_notify protocol (READY only once
//! the database answers, RELOADING/READY around SIGHUP, WATCHDOG while the
//! database answers, STOPPING at SIGTERM), the privilege drop when started as
//! root, and a SIGTERM in the middle of parallel LMTP deliveries.

// Tests fail loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::process::{Running, free_port, tool, wait_until};

use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

const SERVER: &str = env!("CARGO_BIN_EXE_okapi-server");

/// A directory the server may write after dropping to nobody.
fn open_dir() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("okapi-linux-")
        .tempdir_in("/var/tmp")
        .unwrap();
    std::fs::set_permissions(d.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    d
}

fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let cfg = dir.join("server.cfg");
    std::fs::write(
        &cfg,
        format!(
            "run_as_user = nobody\nrun_as_group = nogroup\nlocal_socket = {d}/server.sock\nlmtp_socket = {d}/lmtp.sock\n\
             lmtp_listen =\nserver_listen_tls =\nattachment_path = {d}/blobs\ndatabase_url = sqlite://{d}/okapi.db\n{extra}\n",
            d = dir.display()
        ),
    )
    .unwrap();
    cfg
}

fn http_get(stream: &mut impl ReadWrite, path: &str) -> String {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn greeting(stream: &mut impl Read) -> String {
    let mut buf = [0u8; 256];
    let n = stream.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).to_string()
}

/// The server takes its listeners from systemd by FileDescriptorName= and
/// serves each; it binds nothing the socket unit already gave it.
#[test]
fn socket_activation_serves_every_named_socket() {
    if !tool("systemd-socket-activate") {
        return;
    }
    let dir = open_dir();
    let unused_http = free_port();
    let cfg = write_config(dir.path(), &format!("server_listen = 127.0.0.1:{unused_http}\n"));
    let (http, lmtp) = (free_port(), free_port());
    let (local, lmtp_local) = (
        dir.path().join("activated.sock"),
        dir.path().join("activated-lmtp.sock"),
    );
    let child = Command::new("systemd-socket-activate")
        .arg(format!("--listen=127.0.0.1:{http}"))
        .arg(format!("--listen=127.0.0.1:{lmtp}"))
        .arg(format!("--listen={}", local.display()))
        .arg(format!("--listen={}", lmtp_local.display()))
        .arg("--fdname=http:lmtp:local:lmtp-local")
        .arg(SERVER)
        .arg("--config")
        .arg(&cfg)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = Running(child);
    wait_until("the activation sockets", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", http)).is_ok() && lmtp_local.exists()
    });
    // The first connection makes systemd-socket-activate start the server.
    let mut c = std::net::TcpStream::connect(("127.0.0.1", http)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let health = http_get(&mut c, "/health");
    assert!(
        health.starts_with("HTTP/1.1 200") && health.ends_with("\r\n\r\nok\n"),
        "{health:?}"
    );
    let mut l = std::net::TcpStream::connect(("127.0.0.1", lmtp)).unwrap();
    l.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert!(
        greeting(&mut l).starts_with("220 "),
        "LMTP over the activated TCP socket"
    );
    let mut u = std::os::unix::net::UnixStream::connect(&local).unwrap();
    u.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert!(
        http_get(&mut u, "/health").starts_with("HTTP/1.1 200"),
        "HTTP over the activated local socket"
    );
    let mut lu = std::os::unix::net::UnixStream::connect(&lmtp_local).unwrap();
    lu.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert!(
        greeting(&mut lu).starts_with("220 "),
        "LMTP over the activated unix socket"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", unused_http)).is_err(),
        "server_listen must not be bound"
    );
    assert!(
        !dir.path().join("server.sock").exists(),
        "local_socket must not be bound"
    );
}

/// Reads sd_notify datagrams.
struct NotifyListener {
    sock: UnixDatagram,
    path: PathBuf,
    seen: Vec<String>,
}

impl NotifyListener {
    fn new(dir: &Path) -> Self {
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        NotifyListener {
            sock,
            path,
            seen: Vec::new(),
        }
    }

    /// Collects messages for `d`.
    fn collect(&mut self, d: Duration) -> Vec<String> {
        let start = Instant::now();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while start.elapsed() < d {
            if let Ok(n) = self.sock.recv(&mut buf) {
                got.push(String::from_utf8_lossy(&buf[..n]).to_string());
            }
        }
        self.seen.extend(got.clone());
        got
    }

    /// Waits until a message contains `needle`; returns the messages up to it.
    fn until(&mut self, needle: &str, limit: Duration) -> Vec<String> {
        let start = Instant::now();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while start.elapsed() < limit {
            if let Ok(n) = self.sock.recv(&mut buf) {
                let m = String::from_utf8_lossy(&buf[..n]).to_string();
                got.push(m.clone());
                if m.lines().any(|l| l == needle) {
                    self.seen.extend(got.clone());
                    return got;
                }
            }
        }
        panic!("no {needle} within {limit:?}; got {got:?}");
    }
}

fn has(msgs: &[String], line: &str) -> bool {
    msgs.iter().any(|m| m.lines().any(|l| l == line))
}

/// A TCP proxy in front of MariaDB: absent (database down), forwarding, or
/// holding data back (database hung).
struct DbProxy {
    paused: Arc<AtomicBool>,
}

impl DbProxy {
    fn start(port: u16, upstream: (String, u16)) -> Self {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let paused = Arc::new(AtomicBool::new(false));
        let p = paused.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = std::net::TcpStream::connect((upstream.0.as_str(), upstream.1)) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let p = p.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n @ 1..) = from.read(&mut buf) {
                            while p.load(Ordering::SeqCst) {
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        DbProxy { paused }
    }
}

/// READY=1 only after the database answered; RELOADING=1 then READY=1 on
/// SIGHUP; WATCHDOG=1 while the database answers and none while it hangs;
/// STOPPING=1 on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_protocol_follows_the_database() {
    let Some(base) = common::mysql_url() else {
        eprintln!("OKAPI_TEST_MYSQL_URL not set: the notify test needs MariaDB");
        return;
    };
    let (db_url, db_name) = common::fresh_mysql_db_named(&base).await;
    // mysql://user:pw@host[:port]/name → the same through the proxy port.
    let (prefix, rest) = db_url.split_once('@').unwrap();
    let (hostport, name) = rest.split_once('/').unwrap();
    let (host, port) = match hostport.split_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().unwrap()),
        None => (hostport.to_string(), 3306),
    };
    let host = if host == "localhost" {
        "127.0.0.1".to_string()
    } else {
        host
    };
    let proxy_port = free_port();
    let dir = open_dir();
    let mut notify = NotifyListener::new(dir.path());
    let http = free_port();
    let cfg = write_config(
        dir.path(),
        &format!(
            "server_listen = 127.0.0.1:{http}\ndatabase_url = {prefix}@127.0.0.1:{proxy_port}/{name}\nattachment_storage = db\n"
        ),
    );
    let mut server = Running(
        Command::new(SERVER)
            .arg("--config")
            .arg(&cfg)
            .env("NOTIFY_SOCKET", &notify.path)
            .env("WATCHDOG_USEC", "2000000")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The database is down: status lines, but no READY=1.
    let early = notify.collect(Duration::from_secs(4));
    assert!(!has(&early, "READY=1"), "READY=1 while the database is down: {early:?}");
    assert!(
        early.iter().any(|m| m.contains("STATUS=waiting for the database")),
        "{early:?}"
    );
    // ... and, once the attempt has timed out, the step that ends the wait: nothing answers on
    // this host.
    let t = Instant::now();
    let mut waiting = early;
    while !waiting.iter().any(|m| m.contains("systemctl start mariadb")) {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "no next step in STATUS=: {waiting:?}"
        );
        waiting = notify.collect(Duration::from_secs(1));
    }
    // It comes up.
    let proxy = DbProxy::start(proxy_port, (host, port));
    let t = Instant::now();
    notify.until("READY=1", Duration::from_secs(30));
    println!("READY=1 {:?} after the database came up", t.elapsed());
    // Watchdog pings at half of WatchdogSec (2 s).
    let pings = notify.collect(Duration::from_secs(3));
    assert!(has(&pings, "WATCHDOG=1"), "no WATCHDOG=1: {pings:?}");
    // SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1.
    server.signal(Signal::SIGHUP);
    let reload = notify.until("READY=1", Duration::from_secs(10));
    let reloading = reload
        .iter()
        .find(|m| m.lines().any(|l| l == "RELOADING=1"))
        .expect("RELOADING=1 before READY=1");
    assert!(
        reloading.lines().any(|l| l.starts_with("MONOTONIC_USEC=")),
        "{reloading}"
    );
    // The database hangs: the pings stop.
    proxy.paused.store(true, Ordering::SeqCst);
    notify.collect(Duration::from_millis(1500));
    let hung = notify.collect(Duration::from_secs(4));
    assert!(
        !has(&hung, "WATCHDOG=1"),
        "WATCHDOG=1 while the database hangs: {hung:?}"
    );
    proxy.paused.store(false, Ordering::SeqCst);
    let back = notify.collect(Duration::from_secs(4));
    assert!(
        has(&back, "WATCHDOG=1"),
        "pings resume once the database answers: {back:?}"
    );
    // SIGTERM: STOPPING=1 and a clean exit.
    server.signal(Signal::SIGTERM);
    notify.until("STOPPING=1", Duration::from_secs(10));
    let status = server
        .wait_exit(Duration::from_secs(40))
        .expect("the server exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    common::drop_mysql_db(&db_name).await;
}

/// While MariaDB refuses okapi's account (the database was never set up for it), STATUS= shows
/// the error together with the command that sets it up, and READY=1 does not come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_names_the_fix_when_the_database_refuses_okapi() {
    let Some(base) = common::mysql_url() else {
        eprintln!("OKAPI_TEST_MYSQL_URL not set: this test needs MariaDB");
        return;
    };
    let (db_url, db_name) = common::fresh_mysql_db_named(&base).await;
    // The test account with a password it does not have.
    let (account, rest) = db_url.split_once('@').unwrap();
    let (user, _) = account.rsplit_once(':').unwrap();
    let refused = format!("{user}:not-the-password@{rest}");
    let dir = open_dir();
    let mut notify = NotifyListener::new(dir.path());
    let http = free_port();
    let cfg = write_config(
        dir.path(),
        &format!("server_listen = 127.0.0.1:{http}\ndatabase_url = {refused}\nattachment_storage = db\n"),
    );
    let server = Running(
        Command::new(SERVER)
            .arg("--config")
            .arg(&cfg)
            .env("NOTIFY_SOCKET", &notify.path)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let seen = notify.collect(Duration::from_secs(4));
    assert!(
        !has(&seen, "READY=1"),
        "READY=1 although the database refuses: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|m| m.contains("Access denied") && m.contains("run \"okapi-admin setup database\"")),
        "no next step in STATUS=: {seen:?}"
    );
    drop(server);
    common::drop_mysql_db(&db_name).await;
}

fn status_field(pid: Pid, field: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

/// Started as root, the server runs as run_as_user with every capability set
/// empty and no_new_privs set.
#[test]
fn started_as_root_it_drops_everything() {
    if !nix::unistd::Uid::effective().is_root() {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs as root; this test must run there"
        );
        return;
    }
    let dir = open_dir();
    let http = free_port();
    let cfg = write_config(dir.path(), &format!("server_listen = 127.0.0.1:{http}\n"));
    let server = Running(
        Command::new(SERVER)
            .arg("--config")
            .arg(&cfg)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The port opens before the drop; the server answers only after it.
    wait_until("the server to answer", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", http)).is_ok_and(|mut c| {
            let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
            http_get(&mut c, "/health").starts_with("HTTP/1.1 200")
        })
    });
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let nogroup = nix::unistd::Group::from_name("nogroup").unwrap().unwrap();
    let pid = server.pid();
    let uids: Vec<String> = status_field(pid, "Uid")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(
        uids,
        vec![nobody.uid.to_string(); 4],
        "real, effective, saved and fs uid"
    );
    let gids: Vec<String> = status_field(pid, "Gid")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(gids, vec![nogroup.gid.to_string(); 4]);
    for set in ["CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"] {
        assert_eq!(status_field(pid, set), "0000000000000000", "{set}");
    }
    assert_eq!(status_field(pid, "NoNewPrivs"), "1");
    let groups = status_field(pid, "Groups");
    assert!(
        !groups.split_whitespace().any(|g| g == "0"),
        "no root group left: {groups}"
    );

    // The LMTP socket got its mode at bind (0666, see okapi-server-lmtp-local.socket).
    use std::os::unix::fs::PermissionsExt as _;
    let lmtp = std::fs::symlink_metadata(dir.path().join("lmtp.sock")).unwrap();
    assert_eq!(lmtp.permissions().mode() & 0o777, 0o666);
    // The user it runs as is trusted on the local socket, like root: trust compares with the
    // effective uid (another user, e.g. uid 12345, is refused administration there).
    use std::os::unix::process::CommandExt as _;
    let admin = Command::new(env!("CARGO_BIN_EXE_okapi-admin"))
        .arg("--socket")
        .arg(dir.path().join("server.sock"))
        .args(["user", "list"])
        .uid(nobody.uid.as_raw())
        .gid(nogroup.gid.as_raw())
        .output()
        .unwrap();
    assert!(
        admin.status.success(),
        "okapi-admin user list as the server's own user: {admin:?}"
    );
}

/// SIGTERM during a burst of parallel LMTP deliveries: every message that got
/// 250 is stored and complete; an idle session (as an MTA keeps for reuse)
/// hears `421 4.3.2` at once instead of holding the shutdown up; the server
/// drains and exits cleanly.
/// (A message stored whose 250 never reached the client is allowed: the MTA
/// retries it, and a duplicate is the safe side.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_lmtp_burst_keeps_every_acknowledged_message() {
    let dir = open_dir();
    let http = free_port();
    let lmtp = free_port();
    let cfg = write_config(
        dir.path(),
        &format!("server_listen = 127.0.0.1:{http}\nlmtp_listen = 127.0.0.1:{lmtp}\n"),
    );
    // Users first, through the store, before the server owns the database.
    {
        let c = okapi::config::Config::load(&cfg).unwrap();
        let store = okapi::store::Store::open(&okapi::startup::store_options(&c).unwrap())
            .await
            .unwrap();
        for u in ["ann", "ben"] {
            store
                .create_user(&okapi::store::NewUser {
                    login: u.into(),
                    display_name: u.into(),
                    password_hash: okapi::auth::hash_password("pw").unwrap(),
                    address: format!("{u}@example.test"),
                    aliases: vec![],
                    is_admin: false,
                })
                .await
                .unwrap();
        }
        store.close().await;
        // The server will run as nobody and must own what it writes.
        Command::new("chown")
            .arg("-R")
            .arg("nobody:nogroup")
            .arg(dir.path())
            .status()
            .unwrap();
    }
    let mut server = Running(
        Command::new(SERVER)
            .arg("--config")
            .arg(&cfg)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("the LMTP port", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", lmtp)).is_ok()
    });
    let mut idle = common::lmtp::Client::tcp(std::net::SocketAddr::from(([127, 0, 0, 1], lmtp)))
        .await
        .unwrap();
    let acked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut clients = Vec::new();
    for c in 0..8 {
        let acked = acked.clone();
        clients.push(tokio::spawn(async move {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], lmtp));
            let Ok(mut client) = common::lmtp::Client::tcp(addr).await else {
                return;
            };
            for i in 0.. {
                let subject = format!("burst-{c}-{i}");
                let raw = format!(
                    "From: x@example.test\r\nSubject: {subject}\r\nMessage-ID: <{subject}@t>\r\n\r\nbody {subject}\r\n"
                );
                match client
                    .send(
                        "x@example.test",
                        &["ann@example.test", "ben@example.test"],
                        raw.as_bytes(),
                    )
                    .await
                {
                    Ok(o) if o.finals.iter().all(|r| r.code == 250) => acked.lock().unwrap().push(subject),
                    Ok(_) | Err(_) => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.signal(Signal::SIGTERM);
    let bye = idle.reply().await.expect("the idle LMTP session is told why it closes");
    assert!(bye.starts("421 4.3.2"), "{}", bye.line());
    let status = server
        .wait_exit(Duration::from_secs(45))
        .expect("the server drains and exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    for c in clients {
        let _ = c.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty(), "no delivery was acknowledged before SIGTERM");
    let c = okapi::config::Config::load(&cfg).unwrap();
    let store = okapi::store::Store::open(&okapi::startup::store_options(&c).unwrap())
        .await
        .unwrap();
    for login in ["ann", "ben"] {
        let u = store.user_by_login(login).await.unwrap().unwrap();
        let st = store.store_of_user(u.id).await.unwrap();
        let inbox = store.folder_by_role(st.id, okapi::store::Role::Inbox).await.unwrap();
        let q = okapi::store::TableQuery {
            folder: inbox.id,
            columns: vec![okapi::props::PR_SUBJECT],
            sort: vec![],
            restriction: None,
            offset: 0,
            limit: 1_000_000,
        };
        let (_, rows) = store.query_rows(&q, inbox.content_count).await.unwrap();
        let stored: HashSet<String> = rows
            .iter()
            .filter_map(|r| r.props.get(&okapi::props::PR_SUBJECT)?.as_str().map(str::to_string))
            .collect();
        for s in &acked {
            assert!(stored.contains(s), "{login}: {s} was acknowledged but is not stored");
        }
        println!("{login}: {} acknowledged, {} stored", acked.len(), stored.len());
    }
    store.close().await;
}
