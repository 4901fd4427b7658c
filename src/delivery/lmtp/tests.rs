//! Session tests: whole LMTP conversations over an in-memory pipe, against a mock store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

use super::*;

/// A store that knows a fixed set of users and records what it was given.
#[derive(Default)]
struct MockMailbox {
    /// RCPT answers by address; addresses not listed are accepted.
    checks: HashMap<String, RcptCheck>,
    /// DATA outcomes by address; addresses not listed are delivered.
    outcomes: HashMap<String, Outcome>,
    /// Every deliver call: the envelope and the message bytes.
    delivered: Mutex<Vec<(Envelope, Vec<u8>)>>,
}

impl MockMailbox {
    fn with_check(mut self, address: &str, check: RcptCheck) -> Self {
        self.checks.insert(address.to_string(), check);
        self
    }

    fn with_outcome(mut self, address: &str, outcome: Outcome) -> Self {
        self.outcomes.insert(address.to_string(), outcome);
        self
    }

    fn deliveries(&self) -> Vec<(Envelope, Vec<u8>)> {
        self.delivered.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

impl Mailbox for MockMailbox {
    fn check_recipient<'a>(&'a self, address: &'a str) -> BoxFuture<'a, RcptCheck> {
        Box::pin(async move { self.checks.get(address).cloned().unwrap_or(RcptCheck::Accept) })
    }

    fn deliver<'a>(&'a self, envelope: &'a Envelope, raw: &'a [u8]) -> BoxFuture<'a, Vec<Outcome>> {
        Box::pin(async move {
            if let Ok(mut d) = self.delivered.lock() {
                d.push((envelope.clone(), raw.to_vec()));
            }
            envelope
                .recipients
                .iter()
                .map(|r| self.outcomes.get(r).cloned().unwrap_or(Outcome::Delivered))
                .collect()
        })
    }
}

fn limits() -> LmtpLimits {
    LmtpLimits {
        max_message_size: 1000,
        max_recipients: 3,
        idle_timeout: Duration::from_secs(60),
    }
}

/// Sends `input` in one write, closes the client's sending side, and returns everything the server
/// said. The server must end by itself.
async fn converse(mailbox: &MockMailbox, limits: &LmtpLimits, input: &[u8]) -> String {
    let (client, server) = duplex(4096);
    let (mut read, mut write) = tokio::io::split(client);
    let serve = serve_lmtp(server, mailbox, limits, "mx.test");
    let send = async {
        // The server may close first (QUIT); a failed write is then expected.
        let _ = write.write_all(input).await;
        let _ = write.shutdown().await;
    };
    let receive = async {
        let mut out = Vec::new();
        let _ = read.read_to_end(&mut out).await;
        out
    };
    let (served, (), out) = tokio::join!(serve, send, receive);
    assert!(served.is_ok(), "session failed: {served:?}");
    String::from_utf8_lossy(&out).into_owned()
}

/// The reply codes (with enhanced codes) of every final reply line, for compact assertions.
fn codes(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| l.as_bytes().get(3) == Some(&b' '))
        .map(|l| {
            let mut parts = l.splitn(3, ' ');
            let code = parts.next().unwrap_or_default();
            match parts.next() {
                Some(esc) if esc.chars().next().is_some_and(|c| c.is_ascii_digit()) && esc.contains('.') => {
                    format!("{code} {esc}")
                }
                _ => code.to_string(),
            }
        })
        .collect()
}

const HEAD: &str = "LHLO mta.test\r\nMAIL FROM:<sender@example.net>\r\n";

/// A plain transaction: greeting, capabilities, one recipient, the message, QUIT; the store gets the
/// envelope and the exact bytes.
#[tokio::test]
async fn full_session() {
    let mailbox = MockMailbox::default();
    let out = converse(
        &mailbox,
        &limits(),
        b"LHLO mta.test\r\nMAIL FROM:<sender@example.net> SIZE=20 BODY=8BITMIME\r\nRCPT TO:<user@example.org>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n",
    )
    .await;
    assert!(out.starts_with("220 mx.test okapi LMTP ready\r\n"), "{out}");
    assert!(
        out.contains("250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SIZE 1000\r\n"),
        "{out}"
    );
    assert!(out.contains("250 2.0.0 <user@example.org> delivered\r\n"), "{out}");
    assert!(out.ends_with("221 2.0.0 mx.test closing connection\r\n"), "{out}");
    assert_eq!(
        codes(&out),
        ["220", "250", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0", "221 2.0.0"]
    );
    let delivered = mailbox.deliveries();
    assert_eq!(delivered.len(), 1);
    let (envelope, raw) = &delivered[0];
    assert_eq!(
        envelope,
        &Envelope {
            sender: "sender@example.net".into(),
            recipients: vec!["user@example.org".into()],
            body_8bit: true,
            size_hint: Some(20),
        }
    );
    assert_eq!(raw, b"Subject: hi\r\n\r\nbody\r\n");
}

/// Replies are flushed whenever the server waits, so a client that waits for each reply before
/// sending the next command (no pipelining) is never left hanging.
#[tokio::test]
async fn lockstep_client_gets_each_reply() {
    let mailbox = MockMailbox::default();
    let limits = limits();
    let (mut client, server) = duplex(4096);
    let serve = serve_lmtp(server, &mailbox, &limits, "mx.test");
    let talk = async {
        let mut said = String::new();
        for (send, expect) in [
            ("", "220 "),
            ("LHLO a\r\n", "250 SIZE"),
            ("MAIL FROM:<>\r\n", "250 2.1.0"),
            ("RCPT TO:<u@example.org>\r\n", "250 2.1.5"),
            ("DATA\r\n", "354 "),
            ("x\r\n.\r\n", "250 2.0.0 <u@example.org>"),
            ("QUIT\r\n", "221 "),
        ] {
            client.write_all(send.as_bytes()).await.ok();
            let mut buf = [0u8; 1024];
            while !said.contains(expect) {
                let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf)).await;
                let Ok(Ok(n @ 1..)) = n else {
                    panic!("no reply {expect:?} after {send:?}; got {said:?}")
                };
                said.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    };
    let (served, ()) = tokio::join!(serve, talk);
    assert!(served.is_ok());
    assert_eq!(mailbox.deliveries()[0].0.sender, "", "<> is the null sender");
}

/// Many commands in one write get their replies in order, and the DATA replies come one per
/// accepted recipient, in RCPT order, each with its own outcome.
#[tokio::test]
async fn pipelined_mixed_outcomes() {
    let mailbox = MockMailbox::default()
        .with_check("nobody@example.org", RcptCheck::Unknown)
        .with_outcome("b@example.org", Outcome::TempFail("database unavailable".into()))
        .with_outcome("c@example.org", Outcome::OverQuota)
        .with_outcome("d@example.org", Outcome::PermFail("message rejected".into()));
    let limits = LmtpLimits {
        max_recipients: 10,
        ..limits()
    };
    let input = format!(
        "{HEAD}RCPT TO:<a@example.org>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<b@example.org>\r\n\
         RCPT TO:<c@example.org>\r\nRCPT TO:<d@example.org>\r\nDATA\r\nhello\r\n.\r\nQUIT\r\n"
    );
    let out = converse(&mailbox, &limits, input.as_bytes()).await;
    assert_eq!(
        codes(&out),
        [
            "220",
            "250",
            "250 2.1.0",
            "250 2.1.5",
            "550 5.1.1",
            "250 2.1.5",
            "250 2.1.5",
            "250 2.1.5",
            "354",
            "250 2.0.0",
            "451 4.3.0",
            "552 5.2.2",
            "554 5.0.0",
            "221 2.0.0"
        ],
        "{out}"
    );
    assert!(out.contains("250 2.0.0 <a@example.org> delivered\r\n"), "{out}");
    assert!(out.contains("550 5.1.1 <nobody@example.org> user unknown\r\n"), "{out}");
    assert!(
        out.contains("451 4.3.0 <b@example.org> temporary failure: database unavailable\r\n"),
        "{out}"
    );
    assert!(
        out.contains("554 5.0.0 <d@example.org> delivery failed: message rejected\r\n"),
        "{out}"
    );
    let delivered = mailbox.deliveries();
    assert_eq!(
        delivered[0].0.recipients,
        ["a@example.org", "b@example.org", "c@example.org", "d@example.org"]
    );
}

/// RCPT-time refusals: unknown user, over quota, store unavailable; none joins the transaction, so
/// DATA then has no recipient and is refused.
#[tokio::test]
async fn rcpt_refusals() {
    let mailbox = MockMailbox::default()
        .with_check("nobody@example.org", RcptCheck::Unknown)
        .with_check("full@example.org", RcptCheck::OverQuota)
        .with_check("later@example.org", RcptCheck::TempFail("database down".into()));
    let input = format!(
        "{HEAD}RCPT TO:<nobody@example.org>\r\nRCPT TO:<full@example.org>\r\nRCPT TO:<later@example.org>\r\nDATA\r\n"
    );
    let out = converse(&mailbox, &limits(), input.as_bytes()).await;
    assert_eq!(
        codes(&out),
        [
            "220",
            "250",
            "250 2.1.0",
            "550 5.1.1",
            "552 5.2.2",
            "451 4.3.0",
            "503 5.5.1"
        ],
        "{out}"
    );
    assert!(
        out.contains("451 4.3.0 <later@example.org> temporary failure: database down\r\n"),
        "{out}"
    );
    assert!(mailbox.deliveries().is_empty());
}

/// Commands out of order get 503 and change nothing: MAIL before LHLO, RCPT before MAIL, DATA
/// before MAIL, DATA with no recipient, a second MAIL.
#[tokio::test]
async fn bad_sequences() {
    let mailbox = MockMailbox::default();
    let out = converse(
        &mailbox,
        &limits(),
        b"MAIL FROM:<a@b.c>\r\nLHLO x\r\nRCPT TO:<u@example.org>\r\nDATA\r\nMAIL FROM:<a@b.c>\r\nDATA\r\nMAIL FROM:<a@b.c>\r\nQUIT\r\n",
    )
    .await;
    assert_eq!(
        codes(&out),
        [
            "220",
            "503 5.5.1",
            "250",
            "503 5.5.1",
            "503 5.5.1",
            "250 2.1.0",
            "503 5.5.1",
            "503 5.5.1",
            "221 2.0.0"
        ],
        "{out}"
    );
    assert!(
        out.contains("503 5.5.1 bad sequence of commands: no valid recipients\r\n"),
        "{out}"
    );
}

/// Lines that start with a dot lose exactly one dot, and a message whose last line had no line end
/// (the client adds CRLF before the terminator) ends with that CRLF, nothing more.
#[tokio::test]
async fn dot_unstuffing_is_byte_exact() {
    let mailbox = MockMailbox::default();
    let input = format!(
        "{HEAD}RCPT TO:<u@example.org>\r\nDATA\r\n..\r\n...dots\r\n.x\r\nmid.dle\r\n\r\nlast line\r\n.\r\n\
         MAIL FROM:<>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n.\r\nQUIT\r\n"
    );
    let out = converse(&mailbox, &limits(), input.as_bytes()).await;
    assert!(
        out.ends_with("250 2.0.0 <u@example.org> delivered\r\n221 2.0.0 mx.test closing connection\r\n"),
        "{out}"
    );
    let delivered = mailbox.deliveries();
    assert_eq!(delivered[0].1, b".\r\n..dots\r\nx\r\nmid.dle\r\n\r\nlast line\r\n");
    assert_eq!(delivered[1].1, b"", "an empty message is just the terminator");
}

/// A client that ends lines with bare LF is understood, commands and message alike, and the stored
/// message has CRLF line ends.
#[tokio::test]
async fn bare_lf() {
    let mailbox = MockMailbox::default();
    let out = converse(
        &mailbox,
        &limits(),
        b"LHLO x\nMAIL FROM:<a@b.c>\nRCPT TO:<u@example.org>\nDATA\nSubject: lf\n\n..dot\nend\n.\nQUIT\n",
    )
    .await;
    assert_eq!(
        codes(&out),
        ["220", "250", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0", "221 2.0.0"],
        "{out}"
    );
    assert_eq!(mailbox.deliveries()[0].1, b"Subject: lf\r\n\r\n.dot\r\nend\r\n");
}

/// A declared SIZE over the limit is refused at MAIL; a message that turns out larger than the limit
/// is read to its end and refused once per recipient, and the session goes on in step.
#[tokio::test]
async fn size_limits() {
    let mailbox = MockMailbox::default();
    let big = "x".repeat(600);
    let input = format!(
        "LHLO x\r\nMAIL FROM:<a@b.c> SIZE=1001\r\nMAIL FROM:<a@b.c> SIZE=1000\r\nRCPT TO:<u@example.org>\r\n\
         RCPT TO:<v@example.org>\r\nDATA\r\n{big}\r\n{big}\r\n.\r\nNOOP\r\nQUIT\r\n"
    );
    let out = converse(&mailbox, &limits(), input.as_bytes()).await;
    assert_eq!(
        codes(&out),
        [
            "220",
            "250",
            "552 5.3.4",
            "250 2.1.0",
            "250 2.1.5",
            "250 2.1.5",
            "354",
            "552 5.3.4",
            "552 5.3.4",
            "250 2.0.0",
            "221 2.0.0"
        ],
        "{out}"
    );
    assert!(mailbox.deliveries().is_empty());
}

/// The recipient past the limit gets 452 4.5.3 and the others are still delivered.
#[tokio::test]
async fn too_many_recipients() {
    let mailbox = MockMailbox::default();
    let input = format!(
        "{HEAD}RCPT TO:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\n\
         RCPT TO:<d@example.org>\r\nDATA\r\nx\r\n.\r\n"
    );
    let out = converse(&mailbox, &limits(), input.as_bytes()).await;
    assert_eq!(
        codes(&out),
        [
            "220",
            "250",
            "250 2.1.0",
            "250 2.1.5",
            "250 2.1.5",
            "250 2.1.5",
            "452 4.5.3",
            "354",
            "250 2.0.0",
            "250 2.0.0",
            "250 2.0.0"
        ],
        "{out}"
    );
    assert_eq!(mailbox.deliveries()[0].0.recipients.len(), 3);
}

/// HELO and EHLO are refused with a hint, unknown and unoffered commands are refused, syntax errors
/// get 501, and none of it ends the session.
#[tokio::test]
async fn refusals_keep_the_session() {
    let mailbox = MockMailbox::default();
    let out = converse(
        &mailbox,
        &limits(),
        b"HELO x\r\nEHLO x\r\nFOO bar\r\n\r\nSTARTTLS\r\nLHLO\r\nLHLO x\r\nMAIL FROM:nobrackets\r\nMAIL FROM:<a@b.c> FOO=1\r\n\
          MAIL FROM:<a@b.c>\r\nRCPT TO:<>\r\nVRFY u\r\nNOOP\r\nQUIT\r\n",
    )
    .await;
    assert_eq!(
        codes(&out),
        [
            "220",
            "500 5.5.1",
            "500 5.5.1",
            "500 5.5.1",
            "500 5.5.1",
            "502 5.5.1",
            "501 5.5.4",
            "250",
            "501 5.5.4",
            "555 5.5.4",
            "250 2.1.0",
            "501 5.1.3",
            "252 2.5.2",
            "250 2.0.0",
            "221 2.0.0"
        ],
        "{out}"
    );
    assert!(out.contains("500 5.5.1 this is LMTP, use LHLO\r\n"), "{out}");
}

/// RSET drops the transaction: a RCPT after it is out of sequence, and a new MAIL is accepted.
#[tokio::test]
async fn rset_clears() {
    let mailbox = MockMailbox::default();
    let input = format!(
        "{HEAD}RCPT TO:<a@example.org>\r\nRSET\r\nRCPT TO:<a@example.org>\r\nDATA\r\nMAIL FROM:<x@y.z>\r\n\
         RCPT TO:<b@example.org>\r\nDATA\r\nm\r\n.\r\n"
    );
    let out = converse(&mailbox, &limits(), input.as_bytes()).await;
    assert_eq!(
        codes(&out),
        [
            "220",
            "250",
            "250 2.1.0",
            "250 2.1.5",
            "250 2.0.0",
            "503 5.5.1",
            "503 5.5.1",
            "250 2.1.0",
            "250 2.1.5",
            "354",
            "250 2.0.0"
        ],
        "{out}"
    );
    let delivered = mailbox.deliveries();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].0.sender, "x@y.z");
    assert_eq!(delivered[0].0.recipients, ["b@example.org"]);
}

/// A silent client gets 421 4.4.2 after the idle timeout and the connection closes, in the command
/// phase and in the middle of a message (which is then not delivered).
#[tokio::test(start_paused = true)]
async fn idle_timeout() {
    let mailbox = MockMailbox::default();
    let limits = limits();
    for input in [
        "LHLO x\r\n".to_string(),
        format!("{HEAD}RCPT TO:<u@example.org>\r\nDATA\r\npartial line"),
    ] {
        let (mut client, server) = duplex(4096);
        let serve = serve_lmtp(server, &mailbox, &limits, "mx.test");
        let talk = async {
            client.write_all(input.as_bytes()).await.ok();
            let started = tokio::time::Instant::now();
            let mut out = Vec::new();
            client.read_to_end(&mut out).await.ok();
            (String::from_utf8_lossy(&out).into_owned(), started.elapsed())
        };
        let (served, (out, waited)) = tokio::join!(serve, talk);
        assert!(served.is_ok());
        assert!(
            out.ends_with("421 4.4.2 mx.test idle timeout, closing connection\r\n"),
            "{out}"
        );
        assert!(waited >= limits.idle_timeout, "closed after {waited:?}");
    }
    assert!(mailbox.deliveries().is_empty());
}

/// When the server stops, a session waiting for a command answers 421 4.3.2 and closes at once,
/// after the replies to everything before it, with or without a transaction open; a message in DATA
/// is received, delivered and answered first.
#[tokio::test(start_paused = true)]
async fn shutdown_closes_sessions_between_commands() {
    let mailbox = MockMailbox::default();
    let limits = limits();
    let cases = [
        ("LHLO x\r\n".to_string(), "", 0),
        (format!("{HEAD}RCPT TO:<u@example.org>\r\n"), "", 0),
        (
            format!("{HEAD}RCPT TO:<u@example.org>\r\nDATA\r\nSubject: s\r\n"),
            "\r\nbody\r\n.\r\n",
            1,
        ),
    ];
    for (before, after, delivered) in cases {
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let (client, server) = duplex(4096);
        let (mut read, mut write) = tokio::io::split(client);
        let served_before = mailbox.deliveries().len();
        let serve = serve_lmtp_until(server, &mailbox, &limits, "mx.test", stop);
        let talk = async {
            let started = tokio::time::Instant::now();
            write.write_all(before.as_bytes()).await.ok();
            // Paused time moves on only once the server waits for more input.
            tokio::time::sleep(Duration::from_millis(10)).await;
            stop_tx.send_replace(true);
            write.write_all(after.as_bytes()).await.ok();
            let mut out = Vec::new();
            read.read_to_end(&mut out).await.ok();
            (String::from_utf8_lossy(&out).into_owned(), started.elapsed())
        };
        let (served, (out, waited)) = tokio::join!(serve, talk);
        assert!(served.is_ok());
        assert!(
            out.ends_with("421 4.3.2 mx.test shutting down, try again later\r\n"),
            "{out}"
        );
        assert!(waited < limits.idle_timeout, "closed only after {waited:?}");
        assert_eq!(mailbox.deliveries().len() - served_before, delivered, "{out}");
        if delivered == 1 {
            assert!(
                out.contains("250 2.0.0 <u@example.org> delivered\r\n421 4.3.2"),
                "{out}"
            );
        }
    }
}

/// A command line over 1000 octets gets 500 5.5.2, is skipped to its end, and the next command works.
#[tokio::test]
async fn long_lines_are_refused() {
    let mailbox = MockMailbox::default();
    let long = format!("NOOP {}\r\n", "y".repeat(5000));
    let just_fits = format!("NOOP {}\r\n", "z".repeat(1000 - 7));
    let input = format!("LHLO x\r\n{long}{just_fits}{long}{long}QUIT\r\n");
    let out = converse(&mailbox, &limits(), input.as_bytes()).await;
    assert_eq!(
        codes(&out),
        [
            "220",
            "250",
            "500 5.5.2",
            "250 2.0.0",
            "500 5.5.2",
            "500 5.5.2",
            "221 2.0.0"
        ],
        "{out}"
    );
}

/// Garbage of every kind (binary, NULs, bare CRs, endless lines, cut-off commands) never panics and
/// never ends the session with an error.
#[tokio::test]
async fn garbage_never_panics() {
    let mailbox = MockMailbox::default();
    let limits = LmtpLimits {
        max_recipients: 1000,
        ..limits()
    };
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let fragments: [&[u8]; 12] = [
        b"LHLO x\r\n",
        b"MAIL FROM:<a@b.c>\r\n",
        b"RCPT TO:<u@example.org>\r\n",
        b"DATA\r\n",
        b".\r\n",
        b"\r\n",
        b"\n",
        b"\r",
        b"MAIL FROM:<\"q\\\"x\"@b> SIZE=99999999999999999999999 BODY=8BITMIME\r\n",
        b"RCPT TO:<@a,@b:u@c>\r\n",
        b"\0\xff\xfe MAIL",
        b"..\r\n",
    ];
    for _ in 0..200 {
        let mut input = Vec::new();
        for _ in 0..(random() % 40) {
            match random() % 4 {
                0 => input.extend((0..random() % 3000).map(|_| (random() & 0xff) as u8)),
                _ => input.extend_from_slice(fragments[(random() % fragments.len() as u64) as usize]),
            }
        }
        let out = converse(&mailbox, &limits, &input).await;
        assert!(out.starts_with("220 "), "{out}");
    }
}
