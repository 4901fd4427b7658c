//! One LMTP session (`okapi::delivery::lmtp::serve_lmtp`) with the fuzz input as everything the
//! client sends, over an in-memory pipe, against a mock store.
//!
//! The first input byte picks how the client's bytes are split into writes (1 to 256 bytes at a
//! time), so lines, dot-stuffing and the terminator arrive split at every possible point. The rest
//! is the client's byte stream; the client then closes its sending side.
//!
//! Checked: no panic; the session ends by itself (on QUIT or the client's close; a hang is reported
//! by libFuzzer's `-timeout`); it ends without an I/O error (the client reads everything); every
//! byte the server sends is a well-formed reply line (`NNN` + space or dash + text + CRLF, no bare
//! CR or LF that could inject a reply); the first reply is the `220` greeting; and every message
//! handed to the store has recipients the store accepted.
#![no_main]

use std::sync::Mutex;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use okapi::delivery::lmtp::{BoxFuture, Envelope, LmtpLimits, Mailbox, Outcome, RcptCheck, serve_lmtp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Accepts a few local addresses, refuses or defers some others, and records deliveries.
#[derive(Default)]
struct MockMailbox {
    delivered: Mutex<Vec<(Envelope, usize)>>,
}

fn check(address: &str) -> RcptCheck {
    match address.to_ascii_lowercase().as_str() {
        "a@x" | "b@x" | "alice@example.org" | "bob@example.org" | "short@x" | "temp@x" | "perm@x" => RcptCheck::Accept,
        "full@x" => RcptCheck::OverQuota,
        "down@x" => RcptCheck::TempFail("database unavailable".to_string()),
        _ => RcptCheck::Unknown,
    }
}

impl Mailbox for MockMailbox {
    fn check_recipient<'a>(&'a self, address: &'a str) -> BoxFuture<'a, RcptCheck> {
        Box::pin(async move { check(address) })
    }

    fn deliver<'a>(&'a self, envelope: &'a Envelope, raw: &'a [u8]) -> BoxFuture<'a, Vec<Outcome>> {
        Box::pin(async move {
            self.delivered
                .lock()
                .expect("mock lock")
                .push((envelope.clone(), raw.len()));
            let mut outcomes: Vec<Outcome> = envelope
                .recipients
                .iter()
                .map(|r| match r.to_ascii_lowercase().as_str() {
                    "temp@x" => Outcome::TempFail("try later".to_string()),
                    "perm@x" => Outcome::PermFail("refused".to_string()),
                    "b@x" => Outcome::OverQuota,
                    _ => Outcome::Delivered,
                })
                .collect();
            // A store that answers for fewer recipients than it was given.
            if envelope.recipients.iter().any(|r| r.eq_ignore_ascii_case("short@x")) {
                outcomes.pop();
            }
            outcomes
        })
    }
}

/// Every reply line: three digits, space or dash, text without CR or LF, CRLF.
fn check_replies(out: &[u8]) {
    assert!(
        out.starts_with(b"220 "),
        "no greeting: {:?}",
        String::from_utf8_lossy(out)
    );
    let mut rest = out;
    while !rest.is_empty() {
        let lf = rest
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or_else(|| panic!("reply without line end: {:?}", String::from_utf8_lossy(rest)));
        let line = &rest[..=lf];
        assert!(
            line.len() >= 6
                && line[..3].iter().all(u8::is_ascii_digit)
                && (line[3] == b' ' || line[3] == b'-')
                && line.ends_with(b"\r\n")
                && !line[..line.len() - 2].contains(&b'\r'),
            "malformed reply line: {:?}",
            String::from_utf8_lossy(line)
        );
        rest = &rest[lf + 1..];
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split) + 1;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let mailbox = MockMailbox::default();
    let limits = LmtpLimits {
        max_message_size: 2048,
        max_recipients: 4,
        idle_timeout: Duration::from_secs(30),
    };
    let out = runtime.block_on(async {
        let (client, server) = tokio::io::duplex(512);
        let (mut read, mut write) = tokio::io::split(client);
        let serve = serve_lmtp(server, &mailbox, &limits, "mx.fuzz");
        let send = async {
            for piece in input.chunks(chunk) {
                // The server may close first (QUIT); the rest of the input is then not read.
                if write.write_all(piece).await.is_err() {
                    break;
                }
            }
            let _ = write.shutdown().await;
        };
        let receive = async {
            let mut out = Vec::new();
            read.read_to_end(&mut out).await.expect("client read");
            out
        };
        let (served, (), out) = tokio::join!(serve, send, receive);
        served.expect("the session must end without an I/O error");
        out
    });
    check_replies(&out);
    for (envelope, _size) in mailbox.delivered.lock().expect("mock lock").iter() {
        assert!(!envelope.recipients.is_empty(), "delivery without recipients");
        assert!(
            envelope.recipients.len() <= limits.max_recipients,
            "too many recipients"
        );
        for r in &envelope.recipients {
            assert_eq!(check(r), RcptCheck::Accept, "delivered to a refused recipient {r}");
        }
    }
});
