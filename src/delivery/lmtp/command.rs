//! One command line to a typed [`Command`].
//!
//! The session hands over only complete lines (ending in LF, at most the line limit), so "need more
//! bytes" never reaches here: that is the session's business. What comes back is either a command to
//! act on or a [`ParseError`] that names the reply. The grammar itself is `smtp-proto`'s.

use std::borrow::Cow;

use smtp_proto::{Error as ProtoError, MAIL_BODY_8BITMIME, Request};

/// A command the session acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Command {
    /// `LHLO host`.
    Lhlo,
    /// `HELO` or `EHLO`: SMTP's greetings, refused here.
    Helo,
    /// `MAIL FROM:<sender> [SIZE=n] [BODY=8BITMIME]`; the null sender is `""`.
    Mail {
        sender: String,
        size: Option<u64>,
        body_8bit: bool,
    },
    /// `RCPT TO:<address>`.
    Rcpt { address: String },
    /// `DATA`.
    Data,
    /// `RSET`.
    Rset,
    /// `NOOP`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY`.
    Vrfy,
    /// An SMTP command known to the grammar but not offered here.
    NotImplemented(&'static str),
}

/// Why a complete line is not a command to act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ParseError {
    /// Not a command at all.
    #[error("unknown command")]
    Unknown,
    /// A known command with arguments that do not parse; carries the expected syntax.
    #[error("syntax error, expected {0}")]
    Syntax(&'static str),
    /// MAIL FROM with an address that is not one.
    #[error("bad sender address")]
    BadSender,
    /// RCPT TO with an address that is not one.
    #[error("bad recipient address")]
    BadRecipient,
    /// A parameter with a value that does not parse.
    #[error("bad value for {0}")]
    BadParameter(&'static str),
    /// A parameter okapi does not know.
    #[error("unsupported parameter {0}")]
    Unsupported(String),
}

/// Parses one complete command line (with its CRLF or LF).
pub(super) fn parse(line: &[u8]) -> Result<Command, ParseError> {
    let verb = line.split(|b| b.is_ascii_whitespace()).next().unwrap_or_default();
    if verb.eq_ignore_ascii_case(b"HELO") || verb.eq_ignore_ascii_case(b"EHLO") {
        return Ok(Command::Helo);
    }
    let request = Request::parse(&mut line.iter()).map_err(|e| match e {
        ProtoError::UnknownCommand => ParseError::Unknown,
        ProtoError::InvalidSenderAddress => ParseError::BadSender,
        ProtoError::InvalidRecipientAddress => ParseError::BadRecipient,
        ProtoError::SyntaxError { syntax } => ParseError::Syntax(syntax),
        ProtoError::InvalidParameter { param } => ParseError::BadParameter(param),
        ProtoError::UnsupportedParameter { param } => ParseError::Unsupported(param),
        // The line is complete, so running out of bytes means it was cut short: a syntax error.
        ProtoError::NeedsMoreData { .. } | ProtoError::ResponseTooLong | ProtoError::InvalidResponse { .. } => {
            ParseError::Syntax("a complete command")
        }
    })?;
    Ok(match request {
        Request::Lhlo { .. } => Command::Lhlo,
        Request::Helo { .. } | Request::Ehlo { .. } => Command::Helo,
        Request::Mail { from } => Command::Mail {
            sender: from.address.into_owned(),
            size: (from.size > 0).then(|| u64::try_from(from.size).unwrap_or(u64::MAX)),
            body_8bit: from.flags & MAIL_BODY_8BITMIME != 0,
        },
        Request::Rcpt { to } => Command::Rcpt {
            address: recipient(to.address, line)?,
        },
        Request::Data => Command::Data,
        Request::Rset => Command::Rset,
        Request::Noop { .. } => Command::Noop,
        Request::Quit => Command::Quit,
        Request::Vrfy { .. } => Command::Vrfy,
        other => Command::NotImplemented(other.name()),
    })
}

/// smtp-proto gives `""` both for `<>` and for the domainless `<Postmaster>` (which RFC 5321 says
/// must be accepted); only the second is a recipient.
fn recipient(address: Cow<'_, str>, line: &[u8]) -> Result<String, ParseError> {
    if !address.is_empty() {
        return Ok(address.into_owned());
    }
    let needle = b"<postmaster>";
    if line.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle)) {
        Ok("postmaster".to_string())
    } else {
        Err(ParseError::BadRecipient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forms an MTA sends parse into the command with its arguments.
    #[test]
    fn parses_transaction_commands() {
        assert_eq!(parse(b"LHLO mx.example.org\r\n"), Ok(Command::Lhlo));
        assert_eq!(parse(b"ehlo x\r\n"), Ok(Command::Helo));
        assert_eq!(parse(b"HELO\r\n"), Ok(Command::Helo));
        assert_eq!(
            parse(b"MAIL FROM:<a@example.net> SIZE=1234 BODY=8BITMIME\r\n"),
            Ok(Command::Mail {
                sender: "a@example.net".into(),
                size: Some(1234),
                body_8bit: true
            })
        );
        assert_eq!(
            parse(b"mail from:<>\n"),
            Ok(Command::Mail {
                sender: String::new(),
                size: None,
                body_8bit: false
            })
        );
        assert_eq!(
            parse(b"RCPT TO:<b@example.org>\r\n"),
            Ok(Command::Rcpt {
                address: "b@example.org".into()
            })
        );
        assert_eq!(
            parse(b"RCPT TO:<Postmaster>\r\n"),
            Ok(Command::Rcpt {
                address: "postmaster".into()
            })
        );
        assert_eq!(parse(b"DATA\r\n"), Ok(Command::Data));
        assert_eq!(parse(b"QUIT\r\n"), Ok(Command::Quit));
        assert_eq!(parse(b"STARTTLS\r\n"), Ok(Command::NotImplemented("STARTTLS")));
    }

    /// Bad input is sorted into the error that names its reply.
    #[test]
    fn sorts_errors() {
        assert_eq!(parse(b"FOO bar\r\n"), Err(ParseError::Unknown));
        assert_eq!(parse(b"\r\n"), Err(ParseError::Unknown));
        assert_eq!(parse(b"RCPT TO:<>\r\n"), Err(ParseError::BadRecipient));
        assert!(matches!(
            parse(b"MAIL FROM:<a@b> SIZE=x\r\n"),
            Err(ParseError::BadParameter(_))
        ));
        assert!(matches!(
            parse(b"MAIL FROM:<a@b> FOO=1\r\n"),
            Err(ParseError::Unsupported(_))
        ));
        assert!(matches!(parse(b"MAIL FROM:a@b\r\n"), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(b"LHLO\r\n"), Err(ParseError::Syntax(_))));
    }
}
