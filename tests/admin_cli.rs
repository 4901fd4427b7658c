//! okapi-admin against a real okapi-server over the local socket: every command, and the exit
//! status contract (0 success, 1 refused, 2 usage, 69 unreachable).
//!
//! The server runs with `--dev` in a temporary directory and its own configuration file, so
//! nothing on the host is read or touched. The tests run as root, whom the server trusts on its
//! socket; the refusal of an untrusted peer (exit 77) needs a second uid and is not tested here.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: a failed setup step should fail the test"
)]

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = env!("CARGO_BIN_EXE_okapi-admin");
const SERVER: &str = env!("CARGO_BIN_EXE_okapi-server");

/// An okapi-server in its own directory, killed when dropped (also when a test fails).
struct Server {
    child: Child,
    dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = dir.path().join("server.cfg");
        // --dev moves sockets and HTTP into the directory but leaves LMTP on 127.0.0.1:2003,
        // which the servers of parallel tests would fight over; this test needs no LMTP.
        fs::write(&config, "lmtp_listen =\n").expect("configuration");
        let log = fs::File::create(dir.path().join("server.log")).expect("log file");
        let child = Command::new(SERVER)
            .arg("--config")
            .arg(&config)
            .arg("--dev")
            .arg(dir.path())
            .env("OKAPI_DEV_LISTEN", "127.0.0.1:0")
            .env("OKAPI_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("okapi-server starts");
        let mut server = Server { child, dir };
        server.wait_until_ready();
        server
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("server.sock")
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if UnixStream::connect(self.socket()).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("okapi-server exited with {status} before listening:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "okapi-server did not listen on {} within 30 s:\n{}",
            self.socket().display(),
            self.log()
        );
    }

    /// okapi-admin with `--socket` pointing here and nothing on stdin.
    fn admin(&self, args: &[&str]) -> Run {
        admin_at(&self.socket(), args, None)
    }

    /// okapi-admin with `input` on stdin.
    fn admin_with_stdin(&self, args: &[&str], input: &str) -> Run {
        admin_at(&self.socket(), args, Some(input))
    }

    /// The HTTP address from the `--dev` banner, to log on as a user.
    fn http_address(&self) -> String {
        let log = self.log();
        let start = log.find("API:   http://").expect("the --dev banner names the API") + "API:   http://".len();
        let rest = &log[start..];
        rest[..rest.find('/').expect("address ends")].to_string()
    }

    /// True when `user` can log on with `password` over HTTP.
    fn logon_works(&self, user: &str, password: &str) -> bool {
        let answer = self.post("logon", &serde_json::json!({ "user": user, "password": password }));
        answer.starts_with("HTTP/1.1 200") && answer.contains("\"session\"")
    }

    /// POSTs a JSON operation over HTTP; returns the whole answer, status line first.
    fn post(&self, op: &str, body: &serde_json::Value) -> String {
        let body = body.to_string();
        let mut stream = std::net::TcpStream::connect(self.http_address()).expect("HTTP listener");
        write!(
            stream,
            "POST /api/v1/{op} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("request sent");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer read");
        answer
    }

    /// Logs on over HTTP; returns the session id.
    fn session_of(&self, user: &str, password: &str) -> String {
        let answer = self.post("logon", &serde_json::json!({ "user": user, "password": password }));
        let body = answer.split("\r\n\r\n").nth(1).expect("a body");
        let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
        v["session"].as_str().expect("a session").to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one okapi-admin run did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts success and returns stdout.
    fn ok(self) -> String {
        assert_eq!(
            self.code, 0,
            "expected success; stderr: {}\nstdout: {}",
            self.stderr, self.stdout
        );
        self.stdout
    }

    /// Asserts exit status `code` and returns stderr.
    fn fails(self, code: i32) -> String {
        assert_eq!(
            self.code, code,
            "expected exit {code}; stderr: {}\nstdout: {}",
            self.stderr, self.stdout
        );
        assert!(
            self.stderr.starts_with("okapi-admin: "),
            "messages start with the program name: {}",
            self.stderr
        );
        self.stderr
    }
}

fn admin_at(socket: &Path, args: &[&str], input: Option<&str>) -> Run {
    let mut command = Command::new(ADMIN);
    command.arg("--socket").arg(socket).args(args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = command.spawn().expect("okapi-admin starts");
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes()).expect("stdin written");
    }
    Run::from(child.wait_with_output().expect("okapi-admin ends"))
}

/// The line of a table or field list that starts with `first`.
fn line_of<'a>(text: &'a str, first: &str) -> &'a str {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("no line for {first} in:\n{text}"))
}

/// Users: add (password from a file and from stdin), duplicate, list, show, set, del.
#[test]
fn users_from_add_to_del() {
    let server = Server::start();
    let pw_file = server.dir.path().join("alice.pw");
    fs::write(&pw_file, "wonderland-1\nignored second line\n").unwrap();
    fs::set_permissions(&pw_file, fs::Permissions::from_mode(0o600)).unwrap();
    let pw = pw_file.to_str().unwrap();

    let out = server
        .admin(&[
            "user",
            "add",
            "alice",
            "--address",
            "alice@example.org",
            "--name",
            "Alice Liddell",
            "--alias",
            "al@example.org",
            "--password-file",
            pw,
        ])
        .ok();
    assert!(out.contains("created user alice <alice@example.org>"), "{out}");
    assert!(
        server.logon_works("alice", "wonderland-1"),
        "the file's first line is the password"
    );

    let out = server
        .admin_with_stdin(
            &["user", "add", "bob", "--address", "bob@example.org", "--admin"],
            "builder-2\n",
        )
        .ok();
    assert!(out.contains("created administrator bob"), "{out}");
    assert!(
        server.logon_works("bob", "builder-2"),
        "stdin's first line is the password"
    );

    let err = server
        .admin_with_stdin(&["user", "add", "alice", "--address", "other@example.org"], "x\n")
        .fails(1);
    assert!(
        err.contains("alice") && err.trim_end().ends_with("(MAPI_E_COLLISION)"),
        "{err}"
    );

    let list = server.admin(&["user", "list"]).ok();
    assert!(list.starts_with("LOGIN"), "{list}");
    let alice = line_of(&list, "alice");
    assert!(
        alice.contains("Alice Liddell") && alice.contains("alice@example.org"),
        "{alice}"
    );
    assert!(
        line_of(&list, "bob").contains(" yes "),
        "bob is an administrator:\n{list}"
    );
    line_of(&list, "demo");

    let show = server.admin(&["user", "show", "alice"]).ok();
    assert!(line_of(&show, "aliases:").ends_with("al@example.org"), "{show}");
    assert!(line_of(&show, "admin:").ends_with("no"), "{show}");

    let out = server
        .admin_with_stdin(
            &[
                "user",
                "set",
                "alice",
                "--name",
                "Alice L.",
                "--admin",
                "--clear-aliases",
                "--password-stdin",
            ],
            "looking-glass-3\n",
        )
        .ok();
    assert!(
        out.contains("changed the name, aliases, admin flag and password of user alice"),
        "{out}"
    );
    assert!(server.logon_works("alice", "looking-glass-3"));
    assert!(!server.logon_works("alice", "wonderland-1"));
    let show = server.admin(&["user", "show", "alice"]).ok();
    assert!(line_of(&show, "name:").ends_with("Alice L."), "{show}");
    assert!(line_of(&show, "aliases:").ends_with('-'), "{show}");
    assert!(line_of(&show, "admin:").ends_with("yes"), "{show}");

    let json = server.admin(&["--json", "user", "show", "alice"]).ok();
    let v: serde_json::Value = serde_json::from_str(&json).expect("--json prints JSON");
    assert_eq!(v["user"]["displayName"], "Alice L.");

    let err = server.admin(&["user", "show", "nobody"]).fails(1);
    assert!(err.trim_end().ends_with("(MAPI_E_NOT_FOUND)"), "{err}");

    // Without --yes and without a terminal to ask on, nothing is deleted.
    let err = server.admin(&["user", "del", "bob"]).fails(2);
    assert!(err.contains("--yes"), "{err}");
    line_of(&server.admin(&["user", "list"]).ok(), "bob");

    let out = server.admin(&["user", "del", "bob", "--yes"]).ok();
    assert!(out.contains("deleted user bob"), "{out}");
    assert!(!server.admin(&["user", "list"]).ok().contains("bob"));
    server.admin(&["user", "show", "bob"]).fails(1);
}

/// `user logoff` ends every session of the user at once; the user can log on
/// again, and an unknown user is refused.
#[test]
fn user_logoff_ends_every_session() {
    let server = Server::start();
    server
        .admin_with_stdin(&["user", "add", "zoe", "--address", "zoe@example.org"], "Grüße-1\n")
        .ok();
    let sessions = [server.session_of("zoe", "Grüße-1"), server.session_of("zoe", "Grüße-1")];
    for s in &sessions {
        assert!(
            server
                .post("getStore", &serde_json::json!({ "session": s }))
                .starts_with("HTTP/1.1 200")
        );
    }
    let out = server.admin(&["user", "logoff", "zoe"]).ok();
    assert!(out.contains("ended 2 sessions of zoe"), "{out}");
    for s in &sessions {
        let answer = server.post("getStore", &serde_json::json!({ "session": s }));
        assert!(answer.contains("MAPI_E_END_OF_SESSION"), "{answer}");
    }
    assert!(server.logon_works("zoe", "Grüße-1"));
    let json = server.admin(&["--json", "user", "logoff", "zoe"]).ok();
    let v: serde_json::Value = serde_json::from_str(&json).expect("--json prints JSON");
    assert_eq!(v["sessions"], 1);
    let err = server.admin(&["user", "logoff", "nobody"]).fails(1);
    assert!(err.trim_end().ends_with("(MAPI_E_NOT_FOUND)"), "{err}");
}

/// Groups: add, adduser, list, deluser, del; unknown names are refused by the server.
#[test]
fn groups_and_members() {
    let server = Server::start();
    server
        .admin_with_stdin(
            &["user", "add", "carol", "--address", "carol@example.org"],
            "pw-carol\n",
        )
        .ok();

    assert!(
        server
            .admin(&["group", "add", "staff"])
            .ok()
            .contains("created group staff")
    );
    server.admin(&["group", "add", "staff"]).fails(1);
    server.admin(&["group", "adduser", "staff", "carol"]).ok();
    let list = server.admin(&["group", "list"]).ok();
    assert!(line_of(&list, "staff").ends_with("carol"), "{list}");
    let show = server.admin(&["user", "show", "carol"]).ok();
    assert!(line_of(&show, "groups:").ends_with("staff"), "{show}");

    let err = server.admin(&["group", "adduser", "nogroup", "carol"]).fails(1);
    assert!(err.contains("MAPI_E_NOT_FOUND"), "{err}");

    server.admin(&["group", "deluser", "staff", "carol"]).ok();
    let list = server.admin(&["group", "list"]).ok();
    assert!(line_of(&list, "staff").ends_with('-'), "{list}");

    assert!(
        server
            .admin(&["group", "del", "staff"])
            .ok()
            .contains("deleted group staff")
    );
    assert!(!server.admin(&["group", "list"]).ok().contains("staff"));
}

/// Quotas: set with units, show in human sizes, back to the server default, order enforced;
/// stores: listed with their owners.
#[test]
fn quotas_and_stores() {
    let server = Server::start();
    server
        .admin_with_stdin(&["user", "add", "dave", "--address", "dave@example.org"], "pw-dave\n")
        .ok();

    let out = server
        .admin(&[
            "quota", "set", "dave", "--warn", "450M", "--soft", "500M", "--hard", "1G",
        ])
        .ok();
    assert!(out.contains("warn 450 MiB, soft 500 MiB, hard 1 GiB"), "{out}");
    let show = server.admin(&["quota", "show", "dave"]).ok();
    assert!(line_of(&show, "warn:").ends_with("450 MiB"), "{show}");
    assert!(line_of(&show, "soft:").ends_with("500 MiB"), "{show}");
    assert!(line_of(&show, "hard:").ends_with("1 GiB"), "{show}");
    assert!(line_of(&show, "used:").contains(" B"), "{show}");
    assert!(line_of(&show, "state:").contains("ok"), "{show}");

    let json = server.admin(&["quota", "show", "dave", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&json).expect("--json prints JSON");
    assert_eq!(v["hard"], 1_i64 << 30);

    server.admin(&["quota", "set", "dave", "--warn", "default"]).ok();
    let show = server.admin(&["quota", "show", "dave"]).ok();
    assert!(line_of(&show, "warn:").ends_with("(server default)"), "{show}");

    let err = server.admin(&["quota", "set", "dave", "--soft", "2G"]).fails(1);
    assert!(err.contains("MAPI_E_INVALID_PARAMETER"), "{err}");
    let err = server.admin(&["quota", "set", "dave", "--hard", "lots"]).fails(2);
    assert!(err.contains("is not a size"), "{err}");

    let stores = server.admin(&["store", "list"]).ok();
    assert!(stores.starts_with("OWNER"), "{stores}");
    assert!(line_of(&stores, "dave").contains("private"), "{stores}");
    assert!(line_of(&stores, "demo").contains("private"), "{stores}");
    assert!(stores.lines().any(|l| l.contains("public")), "{stores}");
}

/// Usage errors exit 2 before any connection is tried.
#[test]
fn unknown_commands_and_options_exit_2() {
    let nowhere = Path::new("/nonexistent/okapi/server.sock");
    let err = admin_at(nowhere, &["frobnicate"], None).fails(2);
    assert!(err.contains("unknown command \"frobnicate\""), "{err}");
    let err = admin_at(nowhere, &["user", "list", "--colour"], None).fails(2);
    assert!(
        err.contains("unknown option --colour") && err.contains("--help"),
        "{err}"
    );
    let err = admin_at(nowhere, &["user", "add", "x"], None).fails(2);
    assert!(err.contains("--address"), "{err}");
}

/// A password on the command line is refused, with the reason and the alternatives.
#[test]
fn password_argument_is_refused() {
    let nowhere = Path::new("/nonexistent/okapi/server.sock");
    for args in [
        &[
            "user",
            "add",
            "eve",
            "--address",
            "eve@example.org",
            "--password",
            "secret",
        ][..],
        &["user", "set", "eve", "--password=secret"][..],
    ] {
        let err = admin_at(nowhere, args, None).fails(2);
        assert!(err.contains("--password is not accepted"), "{err}");
        assert!(
            err.contains("shell history") && err.contains("--password-file"),
            "{err}"
        );
    }
}

/// An empty first line on stdin is no password; nothing is sent.
#[test]
fn empty_password_on_stdin_is_refused() {
    let nowhere = Path::new("/nonexistent/okapi/server.sock");
    let err = admin_at(
        nowhere,
        &["user", "add", "eve", "--address", "e@example.org"],
        Some("\n"),
    )
    .fails(2);
    assert!(err.contains("no password on stdin"), "{err}");
}

/// No server at the socket: exit 69 and a message naming the socket and what to check.
#[test]
fn missing_socket_exits_69() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("server.sock");
    let err = admin_at(&socket, &["user", "list"], None).fails(69);
    assert_eq!(
        err.trim_end(),
        format!(
            "okapi-admin: cannot reach okapi-server at {}: No such file or directory. \
             Is it running? (systemctl status okapi-server)",
            socket.display()
        )
    );
}

/// Help and version need no server.
#[test]
fn help_and_version() {
    let nowhere = Path::new("/nonexistent/okapi/server.sock");
    let help = admin_at(nowhere, &["--help"], None).ok();
    assert!(help.contains("Exit status:") && help.contains("quota set"), "{help}");
    assert!(
        help.contains("oof set LOGIN") && help.contains("sendas grant LOGIN ADDRESS"),
        "{help}"
    );
    let help = admin_at(nowhere, &["oof", "set", "--help"], None).ok();
    assert!(help.contains("--body-file FILE") && help.contains("RFC 3339"), "{help}");
    let help = admin_at(nowhere, &["user", "add", "--help"], None).ok();
    assert!(
        help.starts_with("Usage: okapi-admin user add LOGIN --address ADDR"),
        "{help}"
    );
    let version = admin_at(nowhere, &["--version"], None).ok();
    assert!(version.starts_with("okapi-admin "), "{version}");
}

/// Out-of-office: set the text from a file and the dates, show them, change one setting and keep
/// the rest, clear the end; the server's own check (end after start) exits 1, a bad time exits 2.
#[test]
fn out_of_office_set_and_show() {
    let server = Server::start();
    server
        .admin_with_stdin(&["user", "add", "fred", "--address", "fred@example.org"], "pw-fred\n")
        .ok();

    let show = server.admin(&["oof", "show", "fred"]).ok();
    assert!(line_of(&show, "enabled:").ends_with("no"), "{show}");
    assert!(line_of(&show, "start:").ends_with("(at once)"), "{show}");

    let body_file = server.dir.path().join("reply.txt");
    fs::write(&body_file, "I am away.\n\nBack on 15 July.\n").unwrap();
    let out = server
        .admin(&[
            "oof",
            "set",
            "fred",
            "--on",
            "--subject",
            "Away until July",
            "--body-file",
            body_file.to_str().unwrap(),
            "--from",
            "2025-07-01T08:00:00+02:00",
            "--until",
            "2025-07-15T06:00:00Z",
        ])
        .ok();
    assert!(
        out.contains("changed the state, subject, body, start and end of the out-of-office reply of fred"),
        "{out}"
    );
    assert!(out.contains("ended"), "the end is in the past: {out}");

    let json = server.admin(&["--json", "oof", "show", "fred"]).ok();
    let v: serde_json::Value = serde_json::from_str(&json).expect("--json prints JSON");
    assert_eq!(v["enabled"], true);
    assert_eq!(v["subject"], "Away until July");
    assert_eq!(
        v["body"], "I am away.\n\nBack on 15 July.\n",
        "the whole file, verbatim"
    );
    assert_eq!(v["start"], "2025-07-01T06:00:00Z");
    assert_eq!(v["end"], "2025-07-15T06:00:00Z");

    let show = server.admin(&["oof", "show", "fred"]).ok();
    assert!(line_of(&show, "enabled:").ends_with("yes"), "{show}");
    assert!(line_of(&show, "subject:").ends_with("Away until July"), "{show}");
    assert!(line_of(&show, "body:").ends_with("I am away."), "{show}");
    assert!(show.contains("\n          Back on 15 July.\n"), "{show}");
    assert!(line_of(&show, "start:").ends_with("2025-07-01T06:00:00Z"), "{show}");
    assert!(line_of(&show, "end:").ends_with("2025-07-15T06:00:00Z"), "{show}");

    // Only the end changes; the rest stays.
    let out = server.admin(&["oof", "set", "fred", "--no-until"]).ok();
    assert!(out.contains("changed the end of"), "{out}");
    assert!(out.contains("now replying"), "started and no end: {out}");
    let v: serde_json::Value = serde_json::from_str(&server.admin(&["--json", "oof", "show", "fred"]).ok()).unwrap();
    assert_eq!(v["end"], serde_json::Value::Null);
    assert_eq!(v["subject"], "Away until July");
    assert_eq!(v["start"], "2025-07-01T06:00:00Z");
    assert_eq!(v["enabled"], true);

    // The text from stdin, replies from now on, turned off.
    let out = server
        .admin_with_stdin(
            &["oof", "set", "fred", "--off", "--body-file", "-", "--from-now"],
            "Gone fishing.\n",
        )
        .ok();
    assert!(out.contains("now off"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&server.admin(&["--json", "oof", "show", "fred"]).ok()).unwrap();
    assert_eq!(v["body"], "Gone fishing.\n");
    assert_eq!(v["enabled"], false);
    assert!(
        v["start"]
            .as_str()
            .is_some_and(|s| s.starts_with("20") && s.ends_with('Z')),
        "{v}"
    );

    // An end before the (now) start is refused by the server.
    let err = server
        .admin(&["oof", "set", "fred", "--until", "2001-01-01T00:00:00Z"])
        .fails(1);
    assert!(err.contains("MAPI_E_INVALID_PARAMETER"), "{err}");
    let err = server.admin(&["oof", "set", "fred", "--from", "next week"]).fails(2);
    assert!(err.contains("is not an RFC 3339 time"), "{err}");
    let missing = server.dir.path().join("missing.txt");
    let err = server
        .admin(&["oof", "set", "fred", "--body-file", missing.to_str().unwrap()])
        .fails(2);
    assert!(err.contains("cannot read the reply text file"), "{err}");
}

/// Send-as: grant, list, grant again, revoke, revoke again.
#[test]
fn send_as_grant_list_revoke() {
    let server = Server::start();
    server
        .admin_with_stdin(&["user", "add", "gina", "--address", "gina@example.org"], "pw-gina\n")
        .ok();

    let list = server.admin(&["sendas", "list", "gina"]).ok();
    assert_eq!(list.trim_end(), "SEND AS", "{list}");

    let out = server.admin(&["sendas", "grant", "gina", "Sales@Example.org"]).ok();
    assert!(out.contains("gina may now send as sales@example.org"), "{out}");
    server.admin(&["sendas", "grant", "gina", "info@example.org"]).ok();
    let out = server.admin(&["sendas", "grant", "gina", "sales@example.org"]).ok();
    assert!(out.contains("could already send as"), "{out}");

    let list = server.admin(&["sendas", "list", "gina"]).ok();
    assert_eq!(list, "SEND AS\ninfo@example.org\nsales@example.org\n");
    let json = server.admin(&["--json", "sendas", "list", "gina"]).ok();
    let v: serde_json::Value = serde_json::from_str(&json).expect("--json prints JSON");
    assert_eq!(
        v["addresses"],
        serde_json::json!(["info@example.org", "sales@example.org"])
    );

    let out = server.admin(&["sendas", "revoke", "gina", "sales@example.org"]).ok();
    assert!(out.contains("gina may no longer send as sales@example.org"), "{out}");
    let out = server.admin(&["sendas", "revoke", "gina", "sales@example.org"]).ok();
    assert!(out.contains("had no grant"), "{out}");
    assert_eq!(
        server.admin(&["sendas", "list", "gina"]).ok(),
        "SEND AS\ninfo@example.org\n"
    );

    let err = server.admin(&["sendas", "grant", "gina", "not-an-address"]).fails(1);
    assert!(err.contains("not an e-mail address"), "{err}");
    let err = server.admin(&["sendas", "grant", "gina"]).fails(2);
    assert!(err.contains("ADDRESS is missing"), "{err}");
}

/// Out-of-office and send-as for a user who does not exist: the server says so, exit 1.
#[test]
fn oof_and_sendas_for_an_unknown_user_exit_1() {
    let server = Server::start();
    for args in [
        &["oof", "show", "nobody"][..],
        &["oof", "set", "nobody", "--on"][..],
        &["sendas", "grant", "nobody", "x@example.org"][..],
        &["sendas", "revoke", "nobody", "x@example.org"][..],
        &["sendas", "list", "nobody"][..],
    ] {
        let err = server.admin(args).fails(1);
        assert!(err.trim_end().ends_with("(MAPI_E_NOT_FOUND)"), "{args:?}: {err}");
    }
}
