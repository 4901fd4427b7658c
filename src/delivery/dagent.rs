//! okapi-dagent: the pipe MDA. Reads one message on stdin and hands it to okapi-server over LMTP.
//!
//! ```text
//! okapi-dagent [-f SENDER] [--socket PATH] [--config PATH] RECIPIENT... < message
//! ```
//! For Postfix's `mailbox_command`, an Exim pipe transport or procmail-style setups. The message goes
//! to the server's local LMTP socket (`/run/okapi/lmtp.sock`, or `lmtp_socket` from the `--config`
//! file, or `--socket`); the server does the delivery, this program only carries it and turns the
//! answers into an exit status the MTA understands ([`ExitStatus`]). A leading mbox `From ` line (as
//! some MTAs add) is dropped, and gives the sender when `-f` is not given.
//!
//! The LMTP client is [`deliver`], which takes the socket path and returns the exit status, so the
//! tests can run it against a server of their own.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The program name, first in every message.
const PROGRAM: &str = "okapi-dagent";

/// Where okapi-server listens for LMTP when nothing else is said.
pub const DEFAULT_SOCKET: &str = "/run/okapi/lmtp.sock";

/// How long to wait for any one reply of the server (delivery of a large message included).
const REPLY_TIMEOUT: Duration = Duration::from_secs(600);

/// The exit status: sysexits(3) codes, the contract with the MTA.
///
/// `75` makes the MTA keep the message and try again later; every other non-zero status makes it
/// bounce. When recipients fare differently, the first of these that applies wins: any unknown user
/// → 67; any temporary failure → 75; any permanent failure → 70; otherwise 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: delivered to every recipient.
    Delivered = 0,
    /// 64 (EX_USAGE): the command line is wrong.
    Usage = 64,
    /// 67 (EX_NOUSER): a recipient does not exist (others may have been delivered).
    NoUser = 67,
    /// 70 (EX_SOFTWARE): the server refused the message for good (too large, rejected).
    PermanentFailure = 70,
    /// 75 (EX_TEMPFAIL): try again later: the server is unreachable or busy, the database is down, the
    /// mailbox is over quota, the configuration cannot be read.
    TempFail = 75,
}

impl ExitStatus {
    /// The numeric status.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// How much a status weighs when recipients fare differently; the heaviest wins.
    fn weight(self) -> u8 {
        match self {
            ExitStatus::Delivered => 0,
            ExitStatus::PermanentFailure => 1,
            ExitStatus::TempFail => 2,
            ExitStatus::NoUser => 3,
            ExitStatus::Usage => 4,
        }
    }

    /// The status for several recipients: the heavier of the two.
    fn combine(self, other: ExitStatus) -> ExitStatus {
        if other.weight() > self.weight() { other } else { self }
    }

    /// The status for one final reply to a recipient (after RCPT or after DATA).
    fn for_reply(reply: &LmtpReply) -> ExitStatus {
        match (reply.code, reply.enhanced()) {
            (200..=299, _) => ExitStatus::Delivered,
            (_, Some("5.1.1")) | (550, None) => ExitStatus::NoUser,
            // Over quota: the mailbox may be emptied, so the MTA keeps the message and retries.
            (_, Some("5.2.2")) => ExitStatus::TempFail,
            (500..=599, _) => ExitStatus::PermanentFailure,
            _ => ExitStatus::TempFail,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Args {
    sender: Option<String>,
    socket: Option<PathBuf>,
    config: Option<PathBuf>,
    recipients: Vec<String>,
}

const USAGE: &str = "usage: okapi-dagent [-f SENDER] [--socket PATH] [--config PATH] RECIPIENT... < message";

/// What went wrong with the command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum UsageError {
    #[error("option {0} needs a value")]
    MissingValue(String),
    #[error("unknown option {0}")]
    UnknownOption(String),
    #[error("no recipient given")]
    NoRecipient,
}

/// What the command line asked for, or that it asked for help.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Parsed {
    Run(Args),
    Help,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Parsed, UsageError> {
    let mut args = Args {
        sender: None,
        socket: None,
        config: None,
        recipients: Vec::new(),
    };
    let mut only_recipients = false;
    while let Some(arg) = argv.next() {
        if only_recipients || !arg.starts_with('-') || arg == "-" {
            args.recipients.push(arg);
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_string(), Some(value.to_string())),
            _ if arg.starts_with("-f") && arg.len() > 2 => ("-f".to_string(), arg.get(2..).map(str::to_string)),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| UsageError::MissingValue(name.into()))
        };
        match name.as_str() {
            "--" => only_recipients = true,
            "-h" | "--help" => return Ok(Parsed::Help),
            "-f" | "--from" => args.sender = Some(value(&name)?),
            "--socket" => args.socket = Some(PathBuf::from(value(&name)?)),
            "-c" | "--config" => args.config = Some(PathBuf::from(value(&name)?)),
            _ => return Err(UsageError::UnknownOption(arg)),
        }
    }
    if args.recipients.is_empty() {
        return Err(UsageError::NoRecipient);
    }
    Ok(Parsed::Run(args))
}

/// okapi-dagent's main: parse the command line, read the message, deliver it, map the result to the
/// exit status. Messages go to stderr, program name first.
pub fn dagent_main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            println!("Delivers the message on standard input to okapi-server over LMTP.");
            println!(
                "Exit status: 0 delivered, 64 usage, 67 unknown user, 70 permanent failure, 75 temporary failure."
            );
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{PROGRAM}: {e}\n{USAGE}");
            return ExitStatus::Usage.into();
        }
    };
    let socket = match (&args.socket, &args.config) {
        (Some(socket), _) => socket.clone(),
        (None, Some(config)) => match crate::config::Config::load(config) {
            Ok(config) => config.lmtp_socket,
            Err(errors) => {
                let errors = errors.to_string().replace('\n', "; ");
                eprintln!(
                    "{PROGRAM}: cannot read the configuration {}: {errors}",
                    config.display()
                );
                return ExitStatus::TempFail.into();
            }
        },
        (None, None) => PathBuf::from(DEFAULT_SOCKET),
    };
    let mut raw = Vec::new();
    if let Err(e) = io::stdin().lock().read_to_end(&mut raw) {
        eprintln!("{PROGRAM}: cannot read the message from standard input: {e}");
        return ExitStatus::TempFail.into();
    }
    let (mbox_sender, body) = strip_mbox_from(&raw);
    let sender = args.sender.or(mbox_sender).unwrap_or_default();
    let mut report = |line: &str| eprintln!("{PROGRAM}: {line}");
    deliver(&socket, &sender, &args.recipients, body, &mut report).into()
}

/// Delivers `message` (as read: LF or CRLF line ends, not dot-stuffed) from `sender` (`""` for the
/// null sender) to `recipients` through the LMTP server at `socket`, and says how it went.
///
/// Every problem is reported through `report` as one line for an administrator; the caller puts the
/// program name in front.
pub fn deliver(
    socket: &Path,
    sender: &str,
    recipients: &[String],
    message: &[u8],
    report: &mut dyn FnMut(&str),
) -> ExitStatus {
    let stream = match UnixStream::connect(socket) {
        Ok(stream) => stream,
        Err(e) => {
            report(&format!(
                "cannot reach okapi-server at {}: {} (is okapi-server running?)",
                socket.display(),
                io_cause(&e)
            ));
            return ExitStatus::TempFail;
        }
    };
    let mut client = match Client::new(stream) {
        Ok(client) => client,
        Err(e) => {
            report(&format!(
                "cannot talk to okapi-server at {}: {}",
                socket.display(),
                io_cause(&e)
            ));
            return ExitStatus::TempFail;
        }
    };
    match client.transaction(sender, recipients, message, report) {
        Ok(status) => status,
        Err(e) => {
            report(&format!(
                "LMTP session with okapi-server at {} failed: {e}",
                socket.display()
            ));
            ExitStatus::TempFail
        }
    }
}

/// Why an LMTP session could not finish; every one of these means "try again later".
#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("{}", io_cause(.0))]
    Io(#[from] io::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("unexpected reply {0:?}")]
    Garbled(String),
}

/// A socket error in words, without Rust's "(os error 2)".
fn io_cause(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text.get(..at).unwrap_or(&text).to_string(),
        None => text,
    }
}

/// One reply of the server (the last line of a multi-line reply, with the code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LmtpReply {
    /// The three-digit code.
    pub code: u16,
    /// The text after the code, enhanced status code included.
    pub text: String,
}

impl LmtpReply {
    /// The enhanced status code (`5.1.1`) when the reply starts with one.
    fn enhanced(&self) -> Option<&str> {
        let first = self.text.split(' ').next()?;
        let mut parts = first.split('.');
        let ok = parts
            .by_ref()
            .take(3)
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .count()
            == 3;
        (ok && parts.next().is_none()).then_some(first)
    }

    fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    /// The status for a refusal of the whole transaction (greeting, LHLO, MAIL, DATA).
    fn transaction_status(&self) -> ExitStatus {
        match ExitStatus::for_reply(self) {
            ExitStatus::NoUser => ExitStatus::PermanentFailure,
            other => other,
        }
    }
}

impl fmt::Display for LmtpReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

/// The client side of one LMTP session.
struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    fn new(stream: UnixStream) -> io::Result<Client> {
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
        let writer = stream.try_clone()?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Reads one reply, multi-line or not.
    fn read_reply(&mut self) -> Result<LmtpReply, SessionError> {
        let mut line = String::new();
        loop {
            line.clear();
            let mut raw = Vec::new();
            if self.reader.by_ref().take(4096).read_until(b'\n', &mut raw)? == 0 {
                return Err(SessionError::Closed);
            }
            line.push_str(String::from_utf8_lossy(&raw).trim_end_matches(['\r', '\n']));
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|c| (200..600).contains(c));
            let Some(code) = code else {
                return Err(SessionError::Garbled(line));
            };
            let sep = line.as_bytes().get(3).copied().unwrap_or(b' ');
            match sep {
                b'-' => continue,
                b' ' => {
                    return Ok(LmtpReply {
                        code,
                        text: line.get(4..).unwrap_or_default().to_string(),
                    });
                }
                _ => return Err(SessionError::Garbled(line)),
            }
        }
    }

    fn command(&mut self, line: &str) -> Result<LmtpReply, SessionError> {
        self.writer.write_all(format!("{line}\r\n").as_bytes())?;
        self.read_reply()
    }

    /// Runs LHLO, MAIL, one RCPT per recipient, DATA and QUIT, reporting every refusal.
    fn transaction(
        &mut self,
        sender: &str,
        recipients: &[String],
        message: &[u8],
        report: &mut dyn FnMut(&str),
    ) -> Result<ExitStatus, SessionError> {
        let refuse = |step: &'static str, reply: LmtpReply, report: &mut dyn FnMut(&str)| {
            let status = reply.transaction_status();
            report(&format!("{step} refused by okapi-server: {reply}"));
            Ok(status)
        };
        let greeting = self.read_reply()?;
        if greeting.code != 220 {
            return refuse("connection", greeting, report);
        }
        let lhlo = self.command(&format!("LHLO {}", local_hostname()))?;
        if !lhlo.is_positive() {
            return refuse("LHLO", lhlo, report);
        }
        let prepared = wire_message(message);
        // BODY=8BITMIME only when the message has 8-bit bytes, as RFC 6152 asks.
        let body = if prepared.iter().any(|b| !b.is_ascii()) {
            " BODY=8BITMIME"
        } else {
            ""
        };
        let mail = self.command(&format!(
            "MAIL FROM:<{}> SIZE={}{body}",
            clean_address(sender),
            prepared.len()
        ))?;
        if !mail.is_positive() {
            return refuse("MAIL FROM", mail, report);
        }
        let mut status = ExitStatus::Delivered;
        let mut accepted = Vec::new();
        for recipient in recipients {
            let reply = self.command(&format!("RCPT TO:<{}>", clean_address(recipient)))?;
            if reply.is_positive() {
                accepted.push(recipient);
            } else {
                report(&format!("{recipient}: {reply}"));
                status = status.combine(ExitStatus::for_reply(&reply));
            }
        }
        if accepted.is_empty() {
            let _ = self.command("QUIT");
            return Ok(status);
        }
        let data = self.command("DATA")?;
        if data.code != 354 {
            return refuse("DATA", data, report);
        }
        self.writer.write_all(&prepared)?;
        self.writer.write_all(b".\r\n")?;
        for recipient in accepted {
            let reply = self.read_reply()?;
            if !reply.is_positive() {
                report(&format!("{recipient}: {reply}"));
            }
            status = status.combine(ExitStatus::for_reply(&reply));
        }
        // The outcome is known; a failed QUIT changes nothing.
        let _ = self.command("QUIT");
        Ok(status)
    }
}

/// An address made safe for a command line: no CR, LF, or angle brackets.
fn clean_address(address: &str) -> String {
    address
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n' | '<' | '>'))
        .collect()
}

/// The name this host gives in LHLO.
fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'))
        .unwrap_or_else(|| "localhost".to_string())
}

/// Splits off a leading mbox `From sender date` line; returns the sender it names (`MAILER-DAEMON`
/// stands for the null sender) and the message after it.
fn strip_mbox_from(raw: &[u8]) -> (Option<String>, &[u8]) {
    let Some(rest) = raw.strip_prefix(b"From ") else {
        return (None, raw);
    };
    let end = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |lf| lf + 1);
    let (line, body) = rest.split_at(end);
    let sender = String::from_utf8_lossy(line)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let sender = if sender.eq_ignore_ascii_case("MAILER-DAEMON") {
        String::new()
    } else {
        sender
    };
    (Some(sender), body)
}

/// The message as it goes on the wire in DATA: CRLF line ends (a bare LF becomes CRLF), a dot added
/// in front of each line that starts with one, and a final CRLF when the message lacks one. The
/// terminating `.` line is not included.
fn wire_message(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 40 + 2);
    let mut line_start = true;
    let mut previous = 0u8;
    for &byte in message {
        if line_start && byte == b'.' {
            out.push(b'.');
        }
        if byte == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(byte);
        line_start = byte == b'\n';
        previous = byte;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        if out.ends_with(b"\r") {
            out.push(b'\n');
        } else {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;
    use std::thread;

    use super::*;

    /// How the in-test server answers each recipient: at RCPT, then after DATA.
    #[derive(Clone, Copy)]
    struct Script {
        rcpt: &'static str,
        data: &'static str,
    }

    /// A one-connection LMTP server on a unix socket in a temp dir. `answer` scripts each recipient;
    /// the thread returns what the client sent in DATA.
    fn start_server(answer: fn(&str) -> Script) -> (tempfile::TempDir, PathBuf, thread::JoinHandle<Vec<u8>>) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("lmtp.sock");
        let listener = UnixListener::bind(&path).unwrap_or_else(|e| panic!("bind: {e}"));
        let handle = thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else {
                return Vec::new();
            };
            let Ok(mut writer) = stream.try_clone() else {
                return Vec::new();
            };
            let mut reader = BufReader::new(stream);
            let mut say = |s: &str| writer.write_all(s.as_bytes()).is_ok();
            say("220 test okapi LMTP ready\r\n");
            let mut scripts = Vec::new();
            let mut data = Vec::new();
            let mut line = Vec::new();
            loop {
                line.clear();
                if reader.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                    return data;
                }
                let text = String::from_utf8_lossy(&line).to_uppercase();
                if text.starts_with("LHLO") {
                    say("250-test\r\n250-PIPELINING\r\n250 SIZE 100000\r\n");
                } else if text.starts_with("MAIL") {
                    say("250 2.1.0 sender OK\r\n");
                } else if let Some(rest) = text.strip_prefix("RCPT TO:<") {
                    let address = rest.trim_end().trim_end_matches('>').to_lowercase();
                    let script = answer(&address);
                    say(&format!("{}\r\n", script.rcpt));
                    if script.rcpt.starts_with('2') {
                        scripts.push(script);
                    }
                } else if text.starts_with("DATA") {
                    say("354 go ahead\r\n");
                    loop {
                        line.clear();
                        if reader.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                            return data;
                        }
                        if line == b".\r\n" {
                            break;
                        }
                        data.extend_from_slice(&line);
                    }
                    for script in &scripts {
                        say(&format!("{}\r\n", script.data));
                    }
                } else if text.starts_with("QUIT") {
                    say("221 2.0.0 bye\r\n");
                    return data;
                } else {
                    say("500 5.5.1 what?\r\n");
                }
            }
        });
        (dir, path, handle)
    }

    const OK: Script = Script {
        rcpt: "250 2.1.5 OK",
        data: "250 2.0.0 delivered",
    };

    fn run(path: &Path, recipients: &[&str], message: &[u8]) -> (ExitStatus, Vec<String>) {
        let recipients: Vec<String> = recipients.iter().map(|r| r.to_string()).collect();
        let mut said = Vec::new();
        let status = deliver(path, "sender@example.net", &recipients, message, &mut |l| {
            said.push(l.to_string())
        });
        (status, said)
    }

    /// Delivered to every recipient: 0, and the message arrives CRLF-terminated and dot-stuffed.
    #[test]
    fn delivered() {
        let (_dir, path, server) = start_server(|_| OK);
        let (status, said) = run(&path, &["a@example.org", "b@example.org"], b"Subject: x\n\n.dot\nlast");
        assert_eq!((status, said), (ExitStatus::Delivered, vec![]));
        assert_eq!(
            server.join().ok(),
            Some(b"Subject: x\r\n\r\n..dot\r\nlast\r\n".to_vec())
        );
        assert_eq!(status.code(), 0);
    }

    /// An unknown recipient gives 67 even when another was delivered, and is named on stderr.
    #[test]
    fn unknown_user() {
        let (_dir, path, server) = start_server(|a| {
            if a.starts_with("nobody") {
                Script {
                    rcpt: "550 5.1.1 <nobody@example.org> user unknown",
                    data: "",
                }
            } else {
                OK
            }
        });
        let (status, said) = run(&path, &["a@example.org", "nobody@example.org"], b"x\n");
        assert_eq!(status, ExitStatus::NoUser);
        assert_eq!(status.code(), 67);
        assert_eq!(
            said,
            ["nobody@example.org: 550 5.1.1 <nobody@example.org> user unknown"]
        );
        let _ = server.join();
    }

    /// A temporary failure after DATA, and over quota, give 75 so the MTA retries; a permanent one 70.
    #[test]
    fn failures_after_data() {
        let (_dir, path, server) = start_server(|_| Script {
            rcpt: "250 2.1.5 OK",
            data: "451 4.3.0 database down",
        });
        assert_eq!(run(&path, &["a@example.org"], b"x\n").0, ExitStatus::TempFail);
        let _ = server.join();
        let (_dir, path, server) = start_server(|_| Script {
            rcpt: "552 5.2.2 <a@example.org> mailbox full",
            data: "",
        });
        assert_eq!(run(&path, &["a@example.org"], b"x\n").0, ExitStatus::TempFail);
        let _ = server.join();
        let (_dir, path, server) = start_server(|_| Script {
            rcpt: "250 2.1.5 OK",
            data: "554 5.0.0 rejected",
        });
        let (status, _) = run(&path, &["a@example.org"], b"x\n");
        assert_eq!((status, status.code()), (ExitStatus::PermanentFailure, 70));
        let _ = server.join();
    }

    /// No server at the socket: 75, with the path and a hint.
    #[test]
    fn server_down() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("missing.sock");
        let (status, said) = run(&path, &["a@example.org"], b"x\n");
        assert_eq!((status, status.code()), (ExitStatus::TempFail, 75));
        assert_eq!(
            said,
            [format!(
                "cannot reach okapi-server at {}: No such file or directory (is okapi-server running?)",
                path.display()
            )]
        );
    }

    /// The server hanging up in mid-session is a temporary failure.
    #[test]
    fn server_hangs_up() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("lmtp.sock");
        let listener = UnixListener::bind(&path).unwrap_or_else(|e| panic!("bind: {e}"));
        let server = thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let _ = stream.write_all(b"220 hello\r\n");
            }
        });
        let (status, said) = run(&path, &["a@example.org"], b"x\n");
        assert_eq!(status, ExitStatus::TempFail);
        // Depending on timing the client sees the close on a read or a broken pipe on its next write.
        assert!(said[0].starts_with("LMTP session with okapi-server at "), "{said:?}");
        let _ = server.join();
    }

    /// The command line: options in any order, `-fSENDER`, `--opt=value`, `--`, and the usage errors.
    #[test]
    fn command_line() {
        let parse = |s: &str| parse_args(s.split_whitespace().map(str::to_string));
        assert_eq!(
            parse("-f a@b --socket /s x y"),
            Ok(Parsed::Run(Args {
                sender: Some("a@b".into()),
                socket: Some("/s".into()),
                config: None,
                recipients: vec!["x".into(), "y".into()]
            }))
        );
        assert!(
            matches!(parse("-fa@b --config=/c -- -x"), Ok(Parsed::Run(Args { recipients, .. })) if recipients == ["-x"])
        );
        assert_eq!(parse("-f"), Err(UsageError::MissingValue("-f".into())));
        assert_eq!(parse("--bogus x"), Err(UsageError::UnknownOption("--bogus".into())));
        assert_eq!(parse("-f a@b"), Err(UsageError::NoRecipient));
        assert_eq!(parse("--help"), Ok(Parsed::Help));
    }

    /// Each status has its sysexits number, and the heaviest wins when recipients fare differently.
    #[test]
    fn exit_codes() {
        use ExitStatus::*;
        let codes: Vec<u8> = [Delivered, Usage, NoUser, PermanentFailure, TempFail]
            .map(ExitStatus::code)
            .to_vec();
        assert_eq!(codes, [0, 64, 67, 70, 75]);
        assert_eq!(Delivered.combine(PermanentFailure).combine(TempFail), TempFail);
        assert_eq!(TempFail.combine(NoUser).combine(Delivered), NoUser);
    }

    /// Bare LF becomes CRLF, leading dots are doubled, a final line end is added, CRLF is kept.
    #[test]
    fn wire_format() {
        assert_eq!(wire_message(b"a\n.b\r\n..c\nd"), b"a\r\n..b\r\n...c\r\nd\r\n");
        assert_eq!(wire_message(b".\n"), b"..\r\n");
        assert_eq!(wire_message(b""), b"");
        assert_eq!(wire_message(b"x\r"), b"x\r\n");
    }

    /// The real thing: okapi-dagent against okapi's own LMTP server over a unix socket, one recipient
    /// delivered and one unknown, with an 8-bit body that needs dot-stuffing.
    #[test]
    fn against_serve_lmtp() {
        use crate::delivery::lmtp::{BoxFuture, Envelope, LmtpLimits, Mailbox, Outcome, RcptCheck, serve_lmtp};

        struct Store;
        impl Mailbox for Store {
            fn check_recipient<'a>(&'a self, address: &'a str) -> BoxFuture<'a, RcptCheck> {
                Box::pin(async move {
                    if address == "a@example.org" {
                        RcptCheck::Accept
                    } else {
                        RcptCheck::Unknown
                    }
                })
            }
            fn deliver<'a>(&'a self, envelope: &'a Envelope, raw: &'a [u8]) -> BoxFuture<'a, Vec<Outcome>> {
                let ok = envelope.body_8bit && raw == "Subj: é\r\n.x\r\n".as_bytes();
                let outcome = if ok {
                    Outcome::Delivered
                } else {
                    Outcome::PermFail(format!("{envelope:?} {raw:?}"))
                };
                Box::pin(async move { vec![outcome] })
            }
        }

        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("lmtp.sock");
        let listener = UnixListener::bind(&path).unwrap_or_else(|e| panic!("bind: {e}"));
        let server = thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            let runtime = runtime.unwrap_or_else(|e| panic!("runtime: {e}"));
            runtime.block_on(async {
                listener.set_nonblocking(true).ok();
                let listener = tokio::net::UnixListener::from_std(listener).unwrap_or_else(|e| panic!("listener: {e}"));
                let (stream, _) = listener.accept().await.unwrap_or_else(|e| panic!("accept: {e}"));
                serve_lmtp(stream, &Store, &LmtpLimits::default(), "test").await
            })
        });
        let (status, said) = run(&path, &["a@example.org", "b@example.org"], "Subj: é\n.x".as_bytes());
        assert_eq!(status, ExitStatus::NoUser);
        assert_eq!(said, ["b@example.org: 550 5.1.1 <b@example.org> user unknown"]);
        assert!(matches!(server.join(), Ok(Ok(()))));
    }

    /// A leading mbox From line is dropped and names the sender.
    #[test]
    fn mbox_from_line() {
        assert_eq!(
            strip_mbox_from(b"From a@b  Thu Jan  1 00:00:00 2026\nSubject: x\n"),
            (Some("a@b".to_string()), &b"Subject: x\n"[..])
        );
        assert_eq!(
            strip_mbox_from(b"From MAILER-DAEMON Thu\nx"),
            (Some(String::new()), &b"x"[..])
        );
        assert_eq!(strip_mbox_from(b"From: a@b\n"), (None, &b"From: a@b\n"[..]));
    }
}
