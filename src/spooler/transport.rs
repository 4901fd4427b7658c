//! Transport: hands one finished message to the local MTA and says, per recipient, what became of it.
//!
//! Two ways out, as configured: SMTP to the MTA (`smtp_server`, normally `localhost:25`), or a
//! sendmail-compatible command (`sendmail_command`). Either way the result is a [`SendResult`]: the
//! recipients the MTA took, and for each other one whether the failure is temporary (retry later,
//! after [`retry_delay`]) or permanent (give up and write a non-delivery report). What to do with that
//! result (queue bookkeeping, Sent Items, reports) is the spooler's business, not this module's.
//!
//! SMTP is driven through lettre's low-level [`AsyncSmtpConnection`], one command at a time. lettre's
//! high-level `AsyncSmtpTransport::send` cannot be used: it aborts the whole transaction at the first
//! rejected RCPT and returns one error, so one unknown recipient would fail the message for everyone
//! and lose which recipient it was. Issuing MAIL, each RCPT, DATA and the message ourselves gives the
//! per-recipient answers RFC 5321 provides, while lettre still does reply parsing, dot-stuffing and
//! STARTTLS.
//!
//! How SMTP replies map to results:
//!
//! | when                                 | reply or event              | result                          |
//! |--------------------------------------|-----------------------------|---------------------------------|
//! | connect, greeting, EHLO, STARTTLS    | refused, timeout, any error | temporary, all recipients       |
//! | MAIL FROM                            | 4xx / 5xx                   | temporary / permanent, all      |
//! | RCPT TO                              | 4xx / 5xx                   | temporary / permanent, that one |
//! | DATA, end of data                    | 4xx / 5xx                   | temporary / permanent, all RCPT-accepted |
//! | anywhere                             | connection lost, timeout    | temporary, all not yet failed   |
//!
//! TLS: to a loopback host the connection stays plain (the MTA is on this machine). To any other host
//! STARTTLS is used when offered, with the certificate checked against the system's roots (rustls with
//! the ring provider); a failed handshake is a temporary failure, never a silent fall-back to plain text.

use std::fmt;
use std::net::IpAddr;
use std::process::Stdio;
use std::time::Duration;

use lettre::Address;
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use tokio::io::AsyncWriteExt as _;
use tokio::time::timeout;

/// Where outgoing mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// An SMTP server, normally the local MTA on `localhost:25`.
    Smtp {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A sendmail-compatible command, run as `COMMAND -i -f SENDER -- RECIPIENTS...`; the command is
    /// split on whitespace (no shell, no quoting).
    Sendmail {
        /// The command line, e.g. `/usr/sbin/sendmail`.
        command: String,
    },
}

/// Why one recipient was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth trying again later: the MTA was unreachable, busy, or answered 4xx.
    Temporary(String),
    /// Will never work: the MTA answered 5xx, or the address is unusable. Report it to the sender.
    Permanent(String),
}

impl Failure {
    /// True for a permanent failure.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Failure::Permanent(_))
    }

    /// The reason: the MTA's reply (`550 5.1.1 ...`) or what went wrong.
    pub fn reason(&self) -> &str {
        match self {
            Failure::Temporary(r) | Failure::Permanent(r) => r,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Temporary(r) => write!(f, "temporary failure: {r}"),
            Failure::Permanent(r) => write!(f, "permanent failure: {r}"),
        }
    }
}

/// What became of each recipient of one send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendResult {
    /// Recipients the MTA accepted responsibility for.
    pub accepted: Vec<String>,
    /// The other recipients, each with why.
    pub failed: Vec<(String, Failure)>,
}

impl SendResult {
    fn fail_all<'a>(&mut self, recipients: impl IntoIterator<Item = &'a String>, failure: &Failure) {
        self.failed
            .extend(recipients.into_iter().map(|r| (r.clone(), failure.clone())));
    }
}

/// Time allowed to connect, read the greeting, EHLO and STARTTLS.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Time allowed for each of MAIL, RCPT, DATA and QUIT (RFC 5321 §4.5.3.2 allows up to 5 minutes; the
/// MTA here is local, so a minute of silence means it is stuck).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Time allowed to write the message and get the final reply (RFC 5321 §4.5.3.2: 10 minutes).
const DATA_TIMEOUT: Duration = Duration::from_secs(600);
/// Time a sendmail command may take for the whole message.
const SENDMAIL_TIMEOUT: Duration = Duration::from_secs(600);

/// Sends `raw` from `envelope_from` (empty or `<>` for the null sender of reports and replies) to
/// `recipients` through `t`. Never fails as a whole: every recipient ends up either accepted or failed.
pub async fn send(t: &Transport, envelope_from: &str, recipients: &[String], raw: &[u8]) -> SendResult {
    let result = match t {
        Transport::Smtp { host, port } => send_smtp(host, *port, envelope_from, recipients, raw).await,
        Transport::Sendmail { command } => send_sendmail(command, envelope_from, recipients, raw).await,
    };
    for (rcpt, failure) in &result.failed {
        tracing::warn!(recipient = %rcpt, %failure, "recipient not accepted by the MTA");
    }
    tracing::info!(
        accepted = result.accepted.len(),
        failed = result.failed.len(),
        "message handed to the MTA"
    );
    result
}

/// The delay before retry number `attempt + 1`, where `attempt` counts the failed attempts so far (1
/// after the first failure): 1 minute, 5, 15, 30 minutes, 1 hour, then every 2 hours. A short first
/// step catches an MTA that was restarting; the long tail keeps a dead destination from being
/// hammered. How long to keep retrying at all is the spooler's setting, not this function's.
pub fn retry_delay(attempt: u32) -> Duration {
    const MINUTE: u64 = 60;
    let minutes = match attempt {
        0 | 1 => 1,
        2 => 5,
        3 => 15,
        4 => 30,
        5 => 60,
        _ => 120,
    };
    Duration::from_secs(minutes * MINUTE)
}

fn is_null_sender(from: &str) -> bool {
    let from = from.trim();
    from.is_empty() || from == "<>"
}

/// An address without surrounding space or angle brackets (`<a@b>` and `a@b` are both accepted).
fn bare(addr: &str) -> &str {
    let a = addr.trim();
    a.strip_prefix('<').and_then(|a| a.strip_suffix('>')).unwrap_or(a)
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An SMTP error as a reason: the reply code and text when the server answered, else lettre's words.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    match (e.status(), std::error::Error::source(e)) {
        (Some(code), Some(text)) => format!("{code} {}", text.to_string().trim()),
        _ => e.to_string(),
    }
}

/// The failure an SMTP error means: 5xx permanent, anything else (4xx, network, protocol) temporary.
fn classify(e: &lettre::transport::smtp::Error) -> Failure {
    if e.is_permanent() {
        Failure::Permanent(describe(e))
    } else {
        Failure::Temporary(describe(e))
    }
}

/// True if the error came from a reply (4xx/5xx), so the session can go on.
fn is_reply(e: &lettre::transport::smtp::Error) -> bool {
    e.is_permanent() || e.is_transient()
}

async fn send_smtp(host: &str, port: u16, envelope_from: &str, recipients: &[String], raw: &[u8]) -> SendResult {
    let mut result = SendResult::default();
    let mut targets: Vec<(String, Address)> = Vec::new();
    for r in recipients {
        match bare(r).parse::<Address>() {
            Ok(a) => targets.push((r.clone(), a)),
            Err(e) => result.failed.push((
                r.clone(),
                Failure::Permanent(format!("553 5.1.3 bad recipient address syntax: {e}")),
            )),
        }
    }
    if targets.is_empty() {
        return result;
    }
    let all = |t: &[(String, Address)]| t.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>();
    let sender = if is_null_sender(envelope_from) {
        None
    } else {
        match bare(envelope_from).parse::<Address>() {
            Ok(a) => Some(a),
            Err(e) => {
                let f = Failure::Permanent(format!("553 5.1.7 bad sender address syntax: {e}"));
                result.fail_all(&all(&targets), &f);
                return result;
            }
        }
    };

    let hello = ClientId::default();
    let connect = async {
        let mut conn =
            AsyncSmtpConnection::connect_tokio1((host, port), Some(CONNECT_TIMEOUT), &hello, None, None).await?;
        if !is_loopback(host) && conn.can_starttls() {
            let tls = TlsParameters::new_rustls(host.to_string())?;
            conn.starttls(tls, &hello).await?;
        }
        Ok::<_, lettre::transport::smtp::Error>(conn)
    };
    let mut conn = match timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            let f = Failure::Temporary(format!("cannot talk to the MTA at {host}:{port}: {}", describe(&e)));
            result.fail_all(&all(&targets), &f);
            return result;
        }
        Err(_) => {
            let f = Failure::Temporary(format!(
                "the MTA at {host}:{port} did not answer within {CONNECT_TIMEOUT:?}"
            ));
            result.fail_all(&all(&targets), &f);
            return result;
        }
    };

    let mut params = Vec::new();
    if !raw.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let non_ascii = !envelope_from.is_ascii() || targets.iter().any(|(r, _)| !r.is_ascii());
    if non_ascii && conn.server_info().supports_feature(Extension::SmtpUtfEight) {
        params.push(MailParameter::SmtpUtfEight);
    }
    match timeout(COMMAND_TIMEOUT, conn.command(Mail::new(sender, params))).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            let f = classify(&e);
            result.fail_all(&all(&targets), &f);
            finish(conn).await;
            return result;
        }
        Err(_) => {
            result.fail_all(
                &all(&targets),
                &Failure::Temporary("timeout after MAIL FROM".to_string()),
            );
            return result;
        }
    }

    let mut rcpt_ok: Vec<String> = Vec::new();
    for (i, (name, addr)) in targets.iter().enumerate() {
        let broken = match timeout(COMMAND_TIMEOUT, conn.command(Rcpt::new(addr.clone(), Vec::new()))).await {
            Ok(Ok(_)) => {
                rcpt_ok.push(name.clone());
                continue;
            }
            Ok(Err(e)) if is_reply(&e) => {
                result.failed.push((name.clone(), classify(&e)));
                continue;
            }
            Ok(Err(e)) => Failure::Temporary(format!("connection lost after RCPT TO: {}", describe(&e))),
            Err(_) => Failure::Temporary("timeout after RCPT TO".to_string()),
        };
        // The session is gone: this and every later recipient, and those already accepted at RCPT
        // (nothing was sent to them yet), are to be tried again.
        let rest = targets.get(i..).unwrap_or_default().iter().map(|(r, _)| r);
        result.fail_all(rcpt_ok.iter().chain(rest), &broken);
        return result;
    }
    if rcpt_ok.is_empty() {
        finish(conn).await;
        return result;
    }

    match timeout(COMMAND_TIMEOUT, conn.command(Data)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            result.fail_all(&rcpt_ok, &classify(&e));
            finish(conn).await;
            return result;
        }
        Err(_) => {
            result.fail_all(&rcpt_ok, &Failure::Temporary("timeout after DATA".to_string()));
            return result;
        }
    }
    // lettre dot-stuffs and appends CRLF.CRLF; it expects CRLF line ends and no final CRLF of its own.
    // CRLF line ends (SMTP's), so a bare LF can never end a line or the data early.
    let mut body = super::mime_out::crlf(raw);
    if body.ends_with(b"\r\n") {
        body.truncate(body.len() - 2);
    }
    match timeout(DATA_TIMEOUT, conn.message(&body)).await {
        Ok(Ok(_)) => {
            result.accepted = rcpt_ok;
            finish(conn).await;
        }
        Ok(Err(e)) => {
            result.fail_all(&rcpt_ok, &classify(&e));
            finish(conn).await;
        }
        Err(_) => {
            let f = Failure::Temporary("timeout waiting for the reply to the message".to_string());
            result.fail_all(&rcpt_ok, &f);
        }
    }
    result
}

/// Ends the session: QUIT if the connection is still in step (lettre's `abort` sends it unless the
/// connection is known broken), then close. The QUIT reply does not change any result, and a stalled
/// connection cannot hold the spooler here for more than a few seconds.
async fn finish(mut conn: AsyncSmtpConnection) {
    let _ = timeout(Duration::from_secs(10), conn.abort()).await;
}

/// Normalises line ends to LF, the local convention a sendmail command reads.
fn lf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut iter = data.iter().peekable();
    while let Some(&b) = iter.next() {
        if b == b'\r' {
            if iter.peek() != Some(&&b'\n') {
                out.push(b'\n');
            }
        } else {
            out.push(b);
        }
    }
    out
}

/// Names of the sysexits(3) codes sendmail commands use, for messages.
fn sysexit_name(code: i32) -> &'static str {
    match code {
        64 => "EX_USAGE",
        65 => "EX_DATAERR",
        66 => "EX_NOINPUT",
        67 => "EX_NOUSER",
        68 => "EX_NOHOST",
        69 => "EX_UNAVAILABLE",
        70 => "EX_SOFTWARE",
        71 => "EX_OSERR",
        72 => "EX_OSFILE",
        73 => "EX_CANTCREAT",
        74 => "EX_IOERR",
        75 => "EX_TEMPFAIL",
        76 => "EX_PROTOCOL",
        77 => "EX_NOPERM",
        78 => "EX_CONFIG",
        _ => "unknown status",
    }
}

async fn send_sendmail(command: &str, envelope_from: &str, recipients: &[String], raw: &[u8]) -> SendResult {
    let mut result = SendResult::default();
    // Results name each recipient as given; the command gets the bare address.
    let mut targets: Vec<String> = Vec::new();
    let mut args: Vec<&str> = Vec::new();
    for r in recipients {
        let a = bare(r);
        // Recipients come after `--`, but a sendmail that ignores `--` would still take `-x` as an option.
        if a.is_empty()
            || a.starts_with('-')
            || !a.contains('@')
            || a.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            result.failed.push((
                r.clone(),
                Failure::Permanent("bad recipient address syntax".to_string()),
            ));
        } else {
            targets.push(r.clone());
            args.push(a);
        }
    }
    if targets.is_empty() {
        return result;
    }
    let mut words = command.split_whitespace();
    let Some(program) = words.next() else {
        result.fail_all(
            &targets,
            &Failure::Temporary("the sendmail command is empty".to_string()),
        );
        return result;
    };
    let sender = if is_null_sender(envelope_from) {
        "<>"
    } else {
        bare(envelope_from)
    };

    let spawned = tokio::process::Command::new(program)
        .args(words)
        .args(["-i", "-f", sender, "--"])
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            result.fail_all(&targets, &Failure::Temporary(format!("cannot run {program}: {e}")));
            return result;
        }
    };
    let stdin = child.stdin.take();
    let input = lf(raw);
    let write = async move {
        match stdin {
            Some(mut s) => {
                s.write_all(&input).await?;
                s.shutdown().await
            }
            None => Err(std::io::Error::other("no pipe to the command's standard input")),
        }
    };
    let run = async { tokio::join!(write, child.wait_with_output()) };
    let (written, output) = match timeout(SENDMAIL_TIMEOUT, run).await {
        Ok(r) => r,
        Err(_) => {
            let f = Failure::Temporary(format!("{program} did not finish within {SENDMAIL_TIMEOUT:?}"));
            result.fail_all(&targets, &f);
            return result;
        }
    };
    let output = match output {
        Ok(o) => o,
        Err(e) => {
            result.fail_all(&targets, &Failure::Temporary(format!("waiting for {program}: {e}")));
            return result;
        }
    };
    let stderr: String = String::from_utf8_lossy(&output.stderr)
        .split(|c: char| c.is_control())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(500)
        .collect();
    let detail = if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    };
    match output.status.code() {
        Some(0) => match written {
            Ok(()) => result.accepted = targets,
            Err(e) => {
                let f = Failure::Temporary(format!("{program} exited before reading the whole message ({e})"));
                result.fail_all(&targets, &f);
            }
        },
        Some(code @ (67 | 68)) => {
            let f = Failure::Permanent(format!("{program} exited with {code} ({}){detail}", sysexit_name(code)));
            result.fail_all(&targets, &f);
        }
        Some(code) => {
            let f = Failure::Temporary(format!("{program} exited with {code} ({}){detail}", sysexit_name(code)));
            result.fail_all(&targets, &f);
        }
        None => {
            let f = Failure::Temporary(format!("{program} was killed by a signal{detail}"));
            result.fail_all(&targets, &f);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt as _, BufReader};
    use tokio::net::TcpListener;

    /// How the fake MTA answers.
    #[derive(Clone)]
    struct Script {
        mail: &'static str,
        data: &'static str,
        end_of_data: &'static str,
    }

    impl Default for Script {
        fn default() -> Self {
            Script {
                mail: "250 2.1.0 Ok",
                data: "354 End data with <CR><LF>.<CR><LF>",
                end_of_data: "250 2.0.0 Ok: queued as 1234",
            }
        }
    }

    /// A one-connection SMTP server on 127.0.0.1: RCPT to `bad*` gets 550, to `busy*` 451, else 250.
    /// Returns its port and a handle that yields the transcript (commands, then the data lines as sent).
    async fn fake_mta(script: Script) -> (u16, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read);
            let mut transcript = Vec::new();
            write.write_all(b"220 fake.test ESMTP\r\n").await.unwrap();
            let mut in_data = false;
            loop {
                let mut line = String::new();
                if lines.read_line(&mut line).await.unwrap() == 0 {
                    break;
                }
                let line = line.strip_suffix("\r\n").expect("line not ended by CRLF").to_string();
                if in_data {
                    if line == "." {
                        in_data = false;
                        transcript.push("<end of data>".to_string());
                        write
                            .write_all(format!("{}\r\n", script.end_of_data).as_bytes())
                            .await
                            .unwrap();
                    } else {
                        transcript.push(format!("D:{line}"));
                    }
                    continue;
                }
                transcript.push(line.clone());
                let upper = line.to_ascii_uppercase();
                let reply = if upper.starts_with("EHLO") {
                    "250-fake.test\r\n250-8BITMIME\r\n250 PIPELINING".to_string()
                } else if upper.starts_with("MAIL FROM:") {
                    script.mail.to_string()
                } else if let Some(addr) = upper.strip_prefix("RCPT TO:<") {
                    if addr.starts_with("BAD") {
                        format!(
                            "550 5.1.1 <{}>: Recipient address rejected: User unknown",
                            addr.trim_end_matches('>')
                        )
                    } else if addr.starts_with("BUSY") {
                        "451 4.3.0 Temporary lookup failure".to_string()
                    } else {
                        "250 2.1.5 Ok".to_string()
                    }
                } else if upper == "DATA" {
                    if script.data.starts_with('3') {
                        in_data = true;
                    }
                    script.data.to_string()
                } else if upper == "QUIT" {
                    write.write_all(b"221 2.0.0 Bye\r\n").await.unwrap();
                    break;
                } else {
                    "250 Ok".to_string()
                };
                write.write_all(format!("{reply}\r\n").as_bytes()).await.unwrap();
            }
            transcript
        });
        (port, handle)
    }

    fn smtp(port: u16) -> Transport {
        Transport::Smtp {
            host: "127.0.0.1".to_string(),
            port,
        }
    }

    fn rcpts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    const MESSAGE: &[u8] = b"Subject: t\r\n\r\nline one\n.hidden line\r\n..two dots\r\n.\r\nlast\r\n";

    /// One accepted, one 550 (permanent), one 451 (temporary) recipient; the message is dot-stuffed,
    /// bare LFs become CRLF, and only the accepted recipient is reported accepted.
    #[tokio::test]
    async fn smtp_per_recipient_results() {
        let (port, server) = fake_mta(Script::default()).await;
        let to = rcpts(&["<good@example.net>", "bad@example.net", "busy@example.net"]);
        let r = send(&smtp(port), "alice@example.org", &to, MESSAGE).await;
        assert_eq!(r.accepted, ["<good@example.net>"], "results name recipients as given");
        assert_eq!(r.failed.len(), 2);
        let (addr, f) = &r.failed[0];
        assert_eq!(addr, "bad@example.net");
        assert!(f.is_permanent() && f.reason().starts_with("550 5.1.1"), "{f}");
        let (addr, f) = &r.failed[1];
        assert_eq!(addr, "busy@example.net");
        assert!(!f.is_permanent() && f.reason().starts_with("451 4.3.0"), "{f}");

        let t = server.await.unwrap();
        assert!(t.iter().any(|l| l == "MAIL FROM:<alice@example.org>"), "{t:?}");
        assert!(t.iter().any(|l| l == "RCPT TO:<good@example.net>"), "{t:?}");
        let data: Vec<_> = t.iter().filter_map(|l| l.strip_prefix("D:")).collect();
        assert_eq!(
            data,
            [
                "Subject: t",
                "",
                "line one",
                "..hidden line",
                "...two dots",
                "..",
                "last"
            ]
        );
        assert!(t.iter().any(|l| l == "<end of data>"));
        assert_eq!(t.last().map(String::as_str), Some("QUIT"));
        assert_eq!(t.iter().filter(|l| *l == "QUIT").count(), 1);
    }

    /// 451 at MAIL FROM fails every recipient temporarily; the null sender is sent as `<>`.
    #[tokio::test]
    async fn smtp_451_at_mail_is_temporary_for_all() {
        let script = Script {
            mail: "451 4.3.0 Server busy",
            ..Script::default()
        };
        let (port, server) = fake_mta(script).await;
        let r = send(&smtp(port), "", &rcpts(&["a@example.net", "b@example.net"]), MESSAGE).await;
        assert!(r.accepted.is_empty());
        assert_eq!(r.failed.len(), 2);
        assert!(
            r.failed
                .iter()
                .all(|(_, f)| matches!(f, Failure::Temporary(r) if r.starts_with("451")))
        );
        let t = server.await.unwrap();
        assert!(t.iter().any(|l| l == "MAIL FROM:<>"), "{t:?}");
        assert!(!t.iter().any(|l| l.starts_with("RCPT")));
    }

    /// 554 after the data fails the RCPT-accepted recipients permanently; 451 there, temporarily.
    #[tokio::test]
    async fn smtp_reply_after_data() {
        for (reply, permanent) in [("554 5.7.1 Rejected by policy", true), ("451 4.7.1 Try again", false)] {
            let script = Script {
                end_of_data: reply,
                ..Script::default()
            };
            let (port, server) = fake_mta(script).await;
            let r = send(
                &smtp(port),
                "a@example.org",
                &rcpts(&["x@example.net", "bad@example.net"]),
                MESSAGE,
            )
            .await;
            assert!(r.accepted.is_empty(), "{reply}");
            let x = r.failed.iter().find(|(a, _)| a == "x@example.net").unwrap();
            assert_eq!(x.1.is_permanent(), permanent, "{reply}: {}", x.1);
            assert!(x.1.reason().starts_with(&reply[..3]));
            server.await.unwrap();
        }
    }

    /// 554 to DATA itself is permanent for all accepted recipients.
    #[tokio::test]
    async fn smtp_554_at_data() {
        let script = Script {
            data: "554 5.5.1 No valid recipients",
            ..Script::default()
        };
        let (port, server) = fake_mta(script).await;
        let r = send(&smtp(port), "a@example.org", &rcpts(&["x@example.net"]), MESSAGE).await;
        assert!(r.accepted.is_empty());
        assert!(matches!(&r.failed[0].1, Failure::Permanent(m) if m.starts_with("554")));
        server.await.unwrap();
    }

    /// Nothing listening: every recipient fails temporarily.
    #[tokio::test]
    async fn smtp_connection_refused_is_temporary() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let r = send(
            &smtp(port),
            "a@example.org",
            &rcpts(&["x@example.net", "y@example.net"]),
            MESSAGE,
        )
        .await;
        assert!(r.accepted.is_empty());
        assert_eq!(r.failed.len(), 2);
        assert!(r.failed.iter().all(|(_, f)| !f.is_permanent()), "{:?}", r.failed);
    }

    /// A recipient that is not an address is refused before any connection is made.
    #[tokio::test]
    async fn smtp_bad_recipient_syntax_is_permanent() {
        let r = send(&smtp(1), "a@example.org", &rcpts(&["not an address"]), MESSAGE).await;
        assert!(r.accepted.is_empty());
        assert!(r.failed[0].1.is_permanent());
    }

    /// A fake sendmail (a shell script run by /bin/sh, so no freshly written file is executed) that
    /// records its arguments and standard input and exits with `code`.
    fn fake_sendmail(dir: &std::path::Path, code: i32) -> Transport {
        let script = dir.join("fake-sendmail");
        let body = format!(
            "printf '%s\\n' \"$@\" > {dir}/args\ncat > {dir}/stdin\necho 'fake: something went wrong' >&2\nexit {code}\n",
            dir = dir.display()
        );
        std::fs::write(&script, body).unwrap();
        Transport::Sendmail {
            command: format!("/bin/sh {}", script.display()),
        }
    }

    /// Exit 0 accepts everyone; arguments are `-i -f SENDER -- RCPT...`; input has LF line ends.
    #[tokio::test]
    async fn sendmail_success() {
        let dir = tempfile::tempdir().unwrap();
        let t = fake_sendmail(dir.path(), 0);
        let to = rcpts(&["x@example.net", "<y@example.net>"]);
        let r = send(&t, "<alice@example.org>", &to, b"Subject: t\r\n\r\nbody\r\n.\r\n").await;
        assert_eq!(r.accepted, to);
        assert!(r.failed.is_empty());
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(args, "-i\n-f\nalice@example.org\n--\nx@example.net\ny@example.net\n");
        assert_eq!(
            std::fs::read(dir.path().join("stdin")).unwrap(),
            b"Subject: t\n\nbody\n.\n"
        );
    }

    /// sysexits: 67 and 68 are permanent, 75 and other codes temporary; the null sender is `<>`.
    #[tokio::test]
    async fn sendmail_exit_codes() {
        for (code, permanent) in [(67, true), (68, true), (75, false), (69, false), (1, false)] {
            let dir = tempfile::tempdir().unwrap();
            let t = fake_sendmail(dir.path(), code);
            let r = send(&t, "", &rcpts(&["x@example.net"]), b"Subject: t\r\n\r\nbody\r\n").await;
            assert!(r.accepted.is_empty(), "{code}");
            let f = &r.failed[0].1;
            assert_eq!(f.is_permanent(), permanent, "{code}: {f}");
            assert!(
                f.reason().contains(&code.to_string()) && f.reason().contains("something went wrong"),
                "{f}"
            );
            let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
            assert!(args.starts_with("-i\n-f\n<>\n--\n"), "{args}");
        }
    }

    /// A command that does not exist is a temporary failure (a configuration error an admin can fix).
    #[tokio::test]
    async fn sendmail_missing_command() {
        let t = Transport::Sendmail {
            command: "/nonexistent/sendmail -oi".to_string(),
        };
        let r = send(&t, "a@example.org", &rcpts(&["x@example.net"]), b"x").await;
        assert!(matches!(&r.failed[0].1, Failure::Temporary(m) if m.contains("/nonexistent/sendmail")));
    }

    /// The retry schedule.
    #[test]
    fn retry_schedule() {
        let minutes: Vec<u64> = (0..9).map(|a| retry_delay(a).as_secs() / 60).collect();
        assert_eq!(minutes, [1, 1, 5, 15, 30, 60, 120, 120, 120]);
        assert_eq!(retry_delay(u32::MAX), Duration::from_secs(7200));
    }

    /// Line-end conversions both ways.
    #[test]
    fn line_ends() {
        assert_eq!(super::super::mime_out::crlf(b"a\nb\r\nc"), b"a\r\nb\r\nc");
        assert_eq!(lf(b"a\r\nb\rc\n"), b"a\nb\nc\n");
        assert!(is_loopback("localhost") && is_loopback("127.0.0.1") && is_loopback("::1") && is_loopback("[::1]"));
        assert!(!is_loopback("mail.example.org") && !is_loopback("10.0.0.1"));
    }
}
