//! Every reply the LMTP server sends, in one table.
//!
//! Handlers name a [`Reply`]; only [`Reply::parts`] knows its code, enhanced status code (RFC 3463)
//! and text. Text that comes from elsewhere (an address, a reason from the store) is cleaned of
//! CR and LF so that it can never end a reply line early.

use std::borrow::Cow;

/// One reply to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reply<'a> {
    /// `220`: the greeting.
    Greeting { host: &'a str },
    /// `250-`: the LHLO reply with the capabilities; `max_size` 0 means no limit.
    Capabilities { host: &'a str, max_size: u64 },
    /// `250 2.0.0`: NOOP and RSET.
    Ok,
    /// `250 2.1.0`: MAIL FROM accepted.
    SenderOk,
    /// `250 2.1.5`: RCPT TO accepted.
    RecipientOk { rcpt: &'a str },
    /// `354`: send the message.
    StartData,
    /// `221 2.0.0`: QUIT.
    Bye { host: &'a str },
    /// `252 2.5.2`: VRFY is not answered, but delivery will be tried.
    CannotVerify,
    /// `250 2.0.0`: stored for this recipient.
    Delivered { rcpt: &'a str },
    /// `550 5.1.1`: no such user.
    UnknownUser { rcpt: &'a str },
    /// `552 5.2.2`: mailbox full.
    OverQuota { rcpt: &'a str },
    /// `451 4.3.0`: temporary failure, at RCPT or for one recipient after DATA.
    TempFail { rcpt: &'a str, reason: &'a str },
    /// `554 5.0.0`: permanent failure for one recipient after DATA.
    PermFail { rcpt: &'a str, reason: &'a str },
    /// `552 5.3.4`: the message (declared or real) is larger than the limit.
    MessageTooBig { max_size: u64 },
    /// `452 4.5.3`: one recipient too many in this transaction.
    TooManyRecipients,
    /// `500 5.5.1`: HELO or EHLO on an LMTP port.
    UseLhlo,
    /// `500 5.5.1`: a command okapi does not know.
    UnknownCommand,
    /// `502 5.5.1`: an SMTP command that LMTP here does not offer (STARTTLS, AUTH, BDAT, EXPN, ...).
    NotImplemented { command: &'a str },
    /// `500 5.5.2`: a command line over the limit.
    LineTooLong,
    /// `503 5.5.1`: a command out of order; the text says what was expected.
    BadSequence { what: &'static str },
    /// `501 5.5.4`: a command whose arguments do not parse; the text gives the syntax.
    Syntax { syntax: &'static str },
    /// `501 5.1.7`: an unusable sender address.
    BadSender,
    /// `501 5.1.3`: an unusable recipient address.
    BadRecipient,
    /// `501 5.5.4`: a parameter with a bad value.
    BadParameter { param: &'a str },
    /// `555 5.5.4`: a MAIL or RCPT parameter okapi does not support.
    UnsupportedParameter { param: &'a str },
    /// `421 4.3.2`: the server is stopping; the connection closes and the client tries later.
    ShuttingDown { host: &'a str },
    /// `421 4.4.2`: the client was silent too long; the connection closes.
    IdleTimeout { host: &'a str },
}

impl Reply<'_> {
    /// The table: code, enhanced status code (empty for replies that carry none) and text.
    pub(super) fn parts(&self) -> (u16, &'static str, Cow<'_, str>) {
        match self {
            Reply::Greeting { host } => (220, "", format!("{} okapi LMTP ready", clean(host)).into()),
            Reply::Capabilities { host, .. } => (250, "", clean(host)),
            Reply::Ok => (250, "2.0.0", "OK".into()),
            Reply::SenderOk => (250, "2.1.0", "sender OK".into()),
            Reply::RecipientOk { rcpt } => (250, "2.1.5", format!("<{}> recipient OK", clean(rcpt)).into()),
            Reply::StartData => (354, "", "start mail input; end with <CRLF>.<CRLF>".into()),
            Reply::Bye { host } => (221, "2.0.0", format!("{} closing connection", clean(host)).into()),
            Reply::CannotVerify => (
                252,
                "2.5.2",
                "cannot VRFY user, but will accept message and attempt delivery".into(),
            ),
            Reply::Delivered { rcpt } => (250, "2.0.0", format!("<{}> delivered", clean(rcpt)).into()),
            Reply::UnknownUser { rcpt } => (550, "5.1.1", format!("<{}> user unknown", clean(rcpt)).into()),
            Reply::OverQuota { rcpt } => (
                552,
                "5.2.2",
                format!("<{}> mailbox full, over quota", clean(rcpt)).into(),
            ),
            Reply::TempFail { rcpt, reason } => (
                451,
                "4.3.0",
                format!("<{}> temporary failure: {}", clean(rcpt), clean(reason)).into(),
            ),
            Reply::PermFail { rcpt, reason } => (
                554,
                "5.0.0",
                format!("<{}> delivery failed: {}", clean(rcpt), clean(reason)).into(),
            ),
            Reply::MessageTooBig { max_size } => (
                552,
                "5.3.4",
                format!("message size exceeds fixed maximum message size of {max_size} octets").into(),
            ),
            Reply::TooManyRecipients => (452, "4.5.3", "too many recipients".into()),
            Reply::UseLhlo => (500, "5.5.1", "this is LMTP, use LHLO".into()),
            Reply::UnknownCommand => (500, "5.5.1", "command not recognized".into()),
            Reply::NotImplemented { command } => (502, "5.5.1", format!("{command} not implemented").into()),
            Reply::LineTooLong => (500, "5.5.2", "line too long".into()),
            Reply::BadSequence { what } => (503, "5.5.1", format!("bad sequence of commands: {what}").into()),
            Reply::Syntax { syntax } => (501, "5.5.4", format!("syntax: {syntax}").into()),
            Reply::BadSender => (501, "5.1.7", "bad sender address syntax".into()),
            Reply::BadRecipient => (501, "5.1.3", "bad recipient address syntax".into()),
            Reply::BadParameter { param } => (501, "5.5.4", format!("invalid value for {}", clean(param)).into()),
            Reply::UnsupportedParameter { param } => {
                (555, "5.5.4", format!("unsupported parameter {}", clean(param)).into())
            }
            Reply::ShuttingDown { host } => (
                421,
                "4.3.2",
                format!("{} shutting down, try again later", clean(host)).into(),
            ),
            Reply::IdleTimeout { host } => (
                421,
                "4.4.2",
                format!("{} idle timeout, closing connection", clean(host)).into(),
            ),
        }
    }

    /// The reply code alone (for logs and tests).
    pub(super) fn code(&self) -> u16 {
        self.parts().0
    }

    /// Appends the reply, CRLF-terminated, to `out`.
    pub(super) fn write_to(&self, out: &mut Vec<u8>) {
        let (code, esc, text) = self.parts();
        let mut line = |sep: char, esc: &str, text: &str| {
            let line = if esc.is_empty() {
                format!("{code}{sep}{text}\r\n")
            } else {
                format!("{code}{sep}{esc} {text}\r\n")
            };
            out.extend_from_slice(line.as_bytes());
        };
        if let Reply::Capabilities { max_size, .. } = self {
            line('-', "", &text);
            line('-', "", "PIPELINING");
            line('-', "", "8BITMIME");
            line('-', "", "ENHANCEDSTATUSCODES");
            if *max_size == 0 {
                line(' ', "", "SIZE")
            } else {
                line(' ', "", &format!("SIZE {max_size}"))
            }
        } else {
            line(' ', esc, &text);
        }
    }
}

/// Text from outside, made safe for one reply line: CR, LF and other controls become spaces.
fn clean(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}
