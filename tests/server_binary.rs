//! The okapi-server binary itself: configuration errors and --print-config,
//! --dev start-up, and the TLS listener (a certificate made with openssl,
//! checked with curl: TLS 1.2 and 1.3 accepted, 1.1 refused).

// Tests fail loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::process::{Running, free_port, tool};

const SERVER: &str = env!("CARGO_BIN_EXE_okapi-server");

fn wait_for_port(port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not open port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A bad key stops the start with exit 78, naming file, line, key and a suggestion.
#[test]
fn configuration_errors_name_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("server.cfg");
    std::fs::write(
        &cfg,
        "# test\nserver_listen = 127.0.0.1:1\nsever_listen = x\nmax_request_size = lots\n",
    )
    .unwrap();
    let out = Command::new(SERVER).arg("--config").arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:3", cfg.display())), "{err}");
    assert!(err.contains("did you mean \"server_listen\""), "{err}");
    assert!(
        err.contains(":4") && err.contains("max_request_size"),
        "both errors are reported: {err}"
    );
}

/// --print-config shows every key with value, default and origin, including drop-ins.
#[test]
fn print_config_shows_values_defaults_and_origins() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("server.cfg");
    std::fs::write(&cfg, "session_timeout = 5m\n").unwrap();
    std::fs::create_dir(dir.path().join("server.cfg.d")).unwrap();
    std::fs::write(
        dir.path().join("server.cfg.d/10-db.cfg"),
        "database_url = mysql://okapi:pw@db/okapi\n",
    )
    .unwrap();
    let out = Command::new(SERVER)
        .arg("--config")
        .arg(&cfg)
        .arg("--print-config")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} =")))
            .unwrap_or_else(|| panic!("{key} missing:\n{text}"))
            .to_string()
    };
    assert!(line("session_timeout").contains("default: 30m"), "{text}");
    assert!(line("session_timeout").contains("server.cfg:1"), "{text}");
    assert!(line("database_url").contains("10-db.cfg:1"), "{text}");
    assert!(!text.contains(":pw@"), "the password is hidden: {text}");
    for key in [
        "server_listen",
        "server_listen_tls",
        "local_socket",
        "attachment_storage",
        "quota_hard",
        "tls_min_protocol",
    ] {
        line(key);
    }
}

/// `okapi-server --dev` runs as an ordinary user on SQLite and says how to log in.
#[test]
fn dev_mode_prints_how_to_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(SERVER)
        .arg("--dev")
        .arg(dir.path())
        .env("OKAPI_DEV_LISTEN", format!("127.0.0.1:{port}"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _guard = Running(child);
    let mut banner = String::new();
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("Stop:") {
            break;
        }
    }
    // Keep draining stderr so the server's log writes never hit a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    assert!(banner.contains(&format!("http://127.0.0.1:{port}")), "{banner}");
    let password = std::fs::read_to_string(dir.path().join("demo-password")).unwrap();
    assert!(
        banner.contains(&format!("Login: demo / {}", password.trim())),
        "{banner}"
    );
    let out = Command::new("curl")
        .args(["-s", &format!("http://127.0.0.1:{port}/api/v1/logon"), "-d"])
        .arg(format!("{{\"user\":\"demo\",\"password\":\"{}\"}}", password.trim()))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"session\""), "{out:?}");
}

/// TLS on server_listen_tls: 1.2 and 1.3 work, 1.1 is refused.
#[test]
fn tls_listener_serves_tls12_and_up() {
    if !tool("openssl") || !tool("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Started as root, the server drops to nobody, who must be able to write here.
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    let (http, https) = (free_port(), free_port());
    let cfg = dir.path().join("server.cfg");
    std::fs::write(
        &cfg,
        format!(
            "server_listen = 127.0.0.1:{http}\nserver_listen_tls = 127.0.0.1:{https}\nlocal_socket = {d}/s.sock\n\
             lmtp_listen =\nlmtp_socket = {d}/lmtp.sock\nrun_as_user = nobody\nrun_as_group = nogroup\n\
             database_url = sqlite://{d}/okapi.db\nattachment_path = {d}/blobs\ntls_cert_file = {c}\ntls_key_file = {k}\n",
            d = dir.path().display(),
            c = cert.display(),
            k = key.display()
        ),
    )
    .unwrap();
    let child = Command::new(SERVER)
        .arg("--config")
        .arg(&cfg)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = Running(child);
    wait_for_port(https);
    let curl = |extra: &[&str]| {
        Command::new("curl")
            .args(["-s", "--cacert"])
            .arg(&cert)
            .args(extra)
            .arg(format!("https://127.0.0.1:{https}/okapi?wsdl"))
            .output()
            .unwrap()
    };
    let out = curl(&["--tlsv1.2", "--tls-max", "1.2"]);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("wsdl:definitions"),
        "{out:?}"
    );
    let wsdl = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        wsdl.contains(&format!("https://127.0.0.1:{https}/okapi")),
        "the WSDL names the TLS endpoint"
    );
    assert!(curl(&["--tlsv1.3"]).status.success());
    assert!(
        !curl(&["--tlsv1.1", "--tls-max", "1.1"]).status.success(),
        "TLS 1.1 must be refused"
    );
}
