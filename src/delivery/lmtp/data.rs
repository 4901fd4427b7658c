//! DATA: receives the message and answers once per accepted recipient (RFC 2033 section 4.2).
//!
//! The message is read in chunks through [`DotDecoder`], which undoes dot-stuffing, finds the
//! terminating `.` line, turns bare LF line ends into CRLF and counts the size as it goes. Past the
//! size limit it stops keeping bytes but reads on to the terminator, so the session stays in step
//! and every recipient gets `552 5.3.4`; memory never holds more than the limit. Otherwise the message
//! goes to [`Mailbox::deliver`](super::Mailbox::deliver) and each recipient gets the reply for its
//! own outcome, in RCPT order.

use std::io;

use tokio::io::{AsyncRead, AsyncWrite};

use super::reply::Reply;
use super::session::{Fill, Flow, Session};
use super::{Envelope, Outcome};

/// Most memory reserved up front on the strength of a client's `SIZE=`.
const MAX_PREALLOCATION: u64 = 16 * 1024 * 1024;

impl<S: AsyncRead + AsyncWrite + Unpin> Session<'_, S> {
    /// Runs the DATA phase: `354`, the message, then one reply per accepted recipient.
    pub(super) async fn handle_data(&mut self) -> io::Result<Flow> {
        let (size_hint, recipients) = match &self.transaction {
            None => {
                self.reply(Reply::BadSequence {
                    what: "send MAIL FROM first",
                });
                return Ok(Flow::Continue);
            }
            Some(envelope) => (envelope.size_hint, envelope.recipients.len()),
        };
        if recipients == 0 {
            self.reply(Reply::BadSequence {
                what: "no valid recipients",
            });
            return Ok(Flow::Continue);
        }
        self.reply(Reply::StartData);

        let max_size = self.limits.max_message_size;
        let mut decoder = DotDecoder::new(max_size);
        let reserve = size_hint
            .unwrap_or(0)
            .min(if max_size == 0 { u64::MAX } else { max_size })
            .min(MAX_PREALLOCATION);
        let mut message = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
        loop {
            let step = decoder.feed(&self.input, &mut message);
            match step {
                Step::Done { consumed } => {
                    self.input.drain(..consumed);
                    break;
                }
                Step::NeedMore => self.input.clear(),
            }
            match self.fill().await? {
                Fill::Data => {}
                Fill::Closed => {
                    tracing::info!("LMTP client closed the connection during DATA; nothing delivered");
                    self.transaction = None;
                    return Ok(Flow::Close);
                }
                Fill::TimedOut => {
                    self.idle_timeout();
                    return Ok(Flow::Close);
                }
            }
        }

        let Some(envelope) = self.transaction.take() else {
            return Ok(Flow::Continue);
        };
        if decoder.over_limit() {
            tracing::info!(
                sender = envelope.sender,
                size = decoder.size(),
                max_size,
                "LMTP message refused: over the size limit"
            );
            for _ in &envelope.recipients {
                self.reply(Reply::MessageTooBig { max_size });
            }
            return Ok(Flow::Continue);
        }
        self.deliver(&envelope, &message).await;
        Ok(Flow::Continue)
    }

    /// Hands the message to the store and answers for each recipient.
    async fn deliver(&mut self, envelope: &Envelope, message: &[u8]) {
        let mailbox = self.mailbox;
        let outcomes = mailbox.deliver(envelope, message).await;
        if outcomes.len() != envelope.recipients.len() {
            tracing::error!(
                recipients = envelope.recipients.len(),
                outcomes = outcomes.len(),
                "store returned the wrong number of delivery outcomes; the missing ones are deferred"
            );
        }
        let missing = Outcome::TempFail("internal error: no outcome from the store".to_string());
        for (index, rcpt) in envelope.recipients.iter().enumerate() {
            let outcome = outcomes.get(index).unwrap_or(&missing);
            let reply = match outcome {
                Outcome::Delivered => Reply::Delivered { rcpt },
                Outcome::Unknown => Reply::UnknownUser { rcpt },
                Outcome::OverQuota => Reply::OverQuota { rcpt },
                Outcome::TempFail(reason) => Reply::TempFail { rcpt, reason },
                Outcome::PermFail(reason) => Reply::PermFail { rcpt, reason },
            };
            tracing::info!(
                sender = envelope.sender,
                rcpt,
                size = message.len(),
                code = reply.code(),
                outcome = ?outcome,
                "LMTP delivery"
            );
            self.reply(reply);
        }
    }
}

/// Where the decoder is within the current line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line (also right after DATA).
    LineStart,
    /// A `.` opened the line: the end, or a stuffed dot to drop.
    Dot,
    /// `.` and CR opened the line: the end if LF follows.
    DotCr,
    /// Inside a line.
    Middle,
    /// Inside a line, after a CR not yet written (it may start a CRLF).
    Cr,
}

/// How far one [`DotDecoder::feed`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// All input was used; the terminator has not come yet. Incomplete, not invalid.
    NeedMore,
    /// The terminator ended after `consumed` bytes; what follows belongs to the next command.
    Done { consumed: usize },
}

/// Turns the DATA stream into the message: dot-unstuffing, the end at `CRLF . CRLF` (or the bare-LF
/// forms), bare LF to CRLF, and the size limit. Bytes may arrive split anywhere.
#[derive(Debug)]
pub(super) struct DotDecoder {
    state: State,
    /// 0 means no limit.
    max_size: u64,
    /// Octets of message seen so far, kept or not.
    size: u64,
    over_limit: bool,
}

impl DotDecoder {
    pub(super) fn new(max_size: u64) -> Self {
        DotDecoder {
            state: State::LineStart,
            max_size,
            size: 0,
            over_limit: false,
        }
    }

    /// The message was larger than the limit (its bytes were not kept).
    pub(super) fn over_limit(&self) -> bool {
        self.over_limit
    }

    /// The size of the message so far, in octets after decoding.
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// Decodes `input` onto `out` until the terminator or the end of `input`.
    pub(super) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Step {
        let mut at = 0;
        while let Some(&byte) = input.get(at) {
            match self.state {
                State::LineStart => {
                    if byte == b'.' {
                        self.state = State::Dot;
                        at += 1;
                    } else {
                        self.state = State::Middle;
                    }
                }
                State::Dot => match byte {
                    b'\r' => {
                        self.state = State::DotCr;
                        at += 1;
                    }
                    b'\n' => return Step::Done { consumed: at + 1 },
                    // A stuffed dot: dropped, and the line goes on with this byte.
                    _ => self.state = State::Middle,
                },
                State::DotCr => {
                    if byte == b'\n' {
                        return Step::Done { consumed: at + 1 };
                    }
                    // `.` CR and something else: the dot was stuffing, the CR is data.
                    self.state = State::Cr;
                }
                State::Middle => {
                    let rest = input.get(at..).unwrap_or_default();
                    let run = rest
                        .iter()
                        .position(|&b| b == b'\r' || b == b'\n')
                        .unwrap_or(rest.len());
                    self.emit(rest.get(..run).unwrap_or_default(), out);
                    at += run;
                    match input.get(at) {
                        Some(b'\r') => {
                            self.state = State::Cr;
                            at += 1;
                        }
                        Some(_) => {
                            self.emit(b"\r\n", out);
                            self.state = State::LineStart;
                            at += 1;
                        }
                        None => {}
                    }
                }
                State::Cr => match byte {
                    b'\n' => {
                        self.emit(b"\r\n", out);
                        self.state = State::LineStart;
                        at += 1;
                    }
                    b'\r' => {
                        self.emit(b"\r", out);
                        at += 1;
                    }
                    _ => {
                        self.emit(b"\r", out);
                        self.state = State::Middle;
                    }
                },
            }
        }
        Step::NeedMore
    }

    /// Counts `bytes` and keeps them while the message is within the limit. On crossing the limit
    /// the kept bytes are dropped, so memory never holds more than the limit.
    fn emit(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        self.size = self.size.saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        if self.over_limit {
            return;
        }
        if self.max_size > 0 && self.size > self.max_size {
            self.over_limit = true;
            *out = Vec::new();
            return;
        }
        out.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `piece` bytes; returns the message and the bytes left over.
    fn decode(input: &[u8], piece: usize) -> (Vec<u8>, Vec<u8>) {
        let mut decoder = DotDecoder::new(0);
        let mut out = Vec::new();
        for (index, chunk) in input.chunks(piece).enumerate() {
            if let Step::Done { consumed } = decoder.feed(chunk, &mut out) {
                let rest = input.get(index * piece + consumed..).unwrap_or_default().to_vec();
                return (out, rest);
            }
        }
        panic!("no terminator in {input:?}");
    }

    /// Dot-unstuffing and the terminator give the same bytes however the input is split.
    #[test]
    fn unstuffs_byte_exact_at_any_split() {
        let wire = b"Subject: x\r\n\r\n..leading dot\r\n.\r.\r\nbare\rcr\r\n...\r\nend\r\n.\r\nQUIT\r\n";
        let want = b"Subject: x\r\n\r\n.leading dot\r\n\r.\r\nbare\rcr\r\n..\r\nend\r\n";
        for piece in 1..=wire.len() {
            let (message, rest) = decode(wire, piece);
            assert_eq!(message, want.to_vec(), "split every {piece} bytes");
            assert_eq!(rest, b"QUIT\r\n".to_vec());
        }
    }

    /// Bare LF line ends become CRLF and `.` LF ends the message.
    #[test]
    fn bare_lf() {
        let (message, rest) = decode(b"a\nb\r\n..c\n.\nNOOP\n", 3);
        assert_eq!(message, b"a\r\nb\r\n.c\r\n".to_vec());
        assert_eq!(rest, b"NOOP\n".to_vec());
    }

    /// An empty message is just the terminator.
    #[test]
    fn empty_message() {
        assert_eq!(decode(b".\r\n", 1), (Vec::new(), Vec::new()));
    }

    /// Past the limit nothing is kept, but the terminator is still found.
    #[test]
    fn size_limit_drops_and_reads_on() {
        let mut decoder = DotDecoder::new(10);
        let mut out = Vec::new();
        assert_eq!(decoder.feed(b"0123456789abcdef\r\n", &mut out), Step::NeedMore);
        assert!(decoder.over_limit());
        assert!(out.is_empty());
        assert_eq!(decoder.feed(b"more\r\n.\r\nX", &mut out), Step::Done { consumed: 9 });
        assert!(out.is_empty());
        assert_eq!(decoder.size(), 24);
        let mut exact = DotDecoder::new(10);
        assert_eq!(exact.feed(b"01234567\r\n.\r\n", &mut out), Step::Done { consumed: 13 });
        assert!(!exact.over_limit());
        assert_eq!(out, b"01234567\r\n".to_vec());
    }
}
