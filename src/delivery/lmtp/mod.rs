//! LMTP (RFC 2033): how the MTA hands mail to okapi-server.
//!
//! One LMTP session runs over any byte stream (TCP, the unix socket, a test's in-memory pipe) through
//! [`serve_lmtp`]. The storage side is behind the [`Mailbox`] trait, so this module never sees the
//! store and the store never sees the protocol.
//!
//! # Layout
//! - `session`: the connection: reading lines and data, the idle timeout, the state machine that
//!   dispatches each typed command to its phase.
//! - `command`: one command line to a typed [`Command`](command::Command) (through `smtp-proto`),
//!   keeping "line too long" and "syntax error" apart from "unknown command".
//! - `lhlo`, `mail`, `rcpt`, `data`: one file per phase of the transaction.
//! - `reply`: every reply the server sends, with its code and enhanced status code, in one table.
//!
//! # What the MTA sees
//! ```text
//! S: 220 mx.example.org okapi LMTP ready
//! C: LHLO mta.example.org
//! S: 250-mx.example.org
//! S: 250-PIPELINING / 8BITMIME / ENHANCEDSTATUSCODES
//! S: 250 SIZE 52428800
//! C: MAIL FROM:<a@example.net> SIZE=1234 BODY=8BITMIME
//! C: RCPT TO:<b@example.org>          S: 250 2.1.5 ...
//! C: RCPT TO:<c@example.org>          S: 250 2.1.5 ...
//! C: DATA                             S: 354 ...
//! C: ... .                            S: 250 2.0.0 <b@example.org> delivered
//!                                     S: 451 4.3.0 <c@example.org> database unavailable
//! ```
//! After the message, LMTP answers once per accepted recipient, in RCPT order, and a recipient gets
//! `250` only once [`Mailbox::deliver`] says the message is durably committed for it.

mod command;
mod data;
mod lhlo;
mod mail;
mod rcpt;
mod reply;
mod session;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

/// A boxed future, so that [`Mailbox`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The store as LMTP sees it: one check per recipient, one delivery per message.
pub trait Mailbox: Send + Sync {
    /// Checks one recipient at RCPT time.
    fn check_recipient<'a>(&'a self, address: &'a str) -> BoxFuture<'a, RcptCheck>;
    /// Stores one message for the accepted recipients; returns one outcome per recipient, in order.
    ///
    /// Only return [`Outcome::Delivered`] after the message is durably committed. A missing outcome
    /// (a shorter vector) is answered `451 4.3.0` for that recipient, so the MTA retries.
    fn deliver<'a>(&'a self, envelope: &'a Envelope, raw: &'a [u8]) -> BoxFuture<'a, Vec<Outcome>>;
}

/// What the store says about a recipient at RCPT time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptCheck {
    /// The recipient exists and may receive mail: `250 2.1.5`.
    Accept,
    /// No such user: `550 5.1.1`.
    Unknown,
    /// The mailbox is full: `552 5.2.2`.
    OverQuota,
    /// The store cannot answer now (database down): `451 4.3.0 <reason>`; the MTA retries.
    TempFail(String),
}

/// What became of the message for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Durably committed: `250 2.0.0 <addr> delivered`.
    Delivered,
    /// The recipient vanished between RCPT and DATA: `550 5.1.1`.
    Unknown,
    /// The mailbox is full: `552 5.2.2`.
    OverQuota,
    /// Not stored, try again later: `451 4.3.0 <reason>`.
    TempFail(String),
    /// Not stored and never will be: `554 5.0.0 <reason>`.
    PermFail(String),
}

/// The envelope of one LMTP transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// The reverse path; `""` for the null sender `<>` (bounces, auto-replies).
    pub sender: String,
    /// The accepted recipients, in RCPT order; the outcomes of [`Mailbox::deliver`] follow this order.
    pub recipients: Vec<String>,
    /// `BODY=8BITMIME` was given on MAIL FROM.
    pub body_8bit: bool,
    /// `SIZE=` from MAIL FROM, when the client gave one (a hint, not the real size).
    pub size_hint: Option<u64>,
}

/// The limits of one LMTP session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LmtpLimits {
    /// Largest message accepted, in octets after dot-unstuffing; advertised as `SIZE`. 0 means no limit.
    pub max_message_size: u64,
    /// Most recipients in one transaction; the next RCPT gets `452 4.5.3`.
    pub max_recipients: usize,
    /// How long the client may stay silent before `421 4.4.2` and the close.
    pub idle_timeout: Duration,
}

impl Default for LmtpLimits {
    fn default() -> Self {
        LmtpLimits {
            max_message_size: 50 * 1024 * 1024,
            max_recipients: 1000,
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// Runs one LMTP session on `stream` to its end: the greeting, any number of transactions, then QUIT,
/// the client's close or the idle timeout.
///
/// `hostname` is the name the server gives in the greeting and the LHLO reply. Protocol errors are
/// answered and the session goes on; the result is an error only when the stream itself fails
/// (a reset connection, a write to a closed socket).
pub async fn serve_lmtp<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    mailbox: &dyn Mailbox,
    limits: &LmtpLimits,
    hostname: &str,
) -> std::io::Result<()> {
    session::Session::new(stream, mailbox, limits, hostname).run().await
}

/// [`serve_lmtp`] for a server that can stop: once `stop` turns `true`, a session waiting for its
/// next command answers `421 4.3.2` and closes, so a shutdown does not wait for idle clients (an
/// MTA keeps LMTP connections open for reuse). A message in DATA is received and answered first.
pub async fn serve_lmtp_until<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    mailbox: &dyn Mailbox,
    limits: &LmtpLimits,
    hostname: &str,
    stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    session::Session::new(stream, mailbox, limits, hostname)
        .until(stop)
        .run()
        .await
}
