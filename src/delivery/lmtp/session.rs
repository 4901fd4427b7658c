//! One LMTP connection: reading, replying, and the state machine that sends each command to its phase.
//!
//! Reading is line by line in the command phase and by chunks in DATA. Replies are collected in an
//! output buffer and written only when the session is about to wait for the client, so a pipelining
//! client (RFC 2920) that sends MAIL, RCPT, RCPT, DATA in one packet gets all the answers in one packet,
//! in order. Every wait for the client is bounded by the idle timeout. What each command does lives in
//! the phase files (`lhlo`, `mail`, `rcpt`, `data`); this file only routes.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use super::command::{self, Command, ParseError};
use super::reply::Reply;
use super::{Envelope, LmtpLimits, Mailbox};

/// Longest command line accepted, CRLF included (RFC 5321's text-line limit).
pub(super) const MAX_LINE: usize = 1000;

/// How much is read from the client at once.
const READ_CHUNK: usize = 16 * 1024;

/// Whether the session goes on after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    Continue,
    Close,
}

/// What a wait for more bytes from the client brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fill {
    /// New bytes are in the input buffer.
    Data,
    /// The client closed its side.
    Closed,
    /// The client said nothing for the idle timeout.
    TimedOut,
}

/// One command-phase line, or why there is none.
#[derive(Debug)]
enum Line {
    /// A whole line, with its LF.
    Complete(Vec<u8>),
    /// A line over [`MAX_LINE`]; it has been read to its end and thrown away.
    TooLong,
    /// The client closed (a partial last line is dropped).
    Closed,
    /// The idle timeout passed.
    TimedOut,
    /// The server is shutting down.
    ShuttingDown,
}

/// The state of one LMTP session.
pub(super) struct Session<'a, S> {
    stream: S,
    pub(super) mailbox: &'a dyn Mailbox,
    pub(super) limits: &'a LmtpLimits,
    pub(super) hostname: &'a str,
    /// Bytes read from the client and not yet consumed.
    pub(super) input: Vec<u8>,
    /// Replies not yet written; written before every wait for the client.
    output: Vec<u8>,
    /// Scratch space for one read.
    chunk: Vec<u8>,
    /// LHLO has been given.
    pub(super) greeted: bool,
    /// The open transaction: `Some` from MAIL FROM until the end of DATA or RSET.
    pub(super) transaction: Option<Envelope>,
    /// Turns `true` when the server shuts down; a session waiting for its next command then closes.
    stop: Option<watch::Receiver<bool>>,
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin> Session<'a, S> {
    pub(super) fn new(stream: S, mailbox: &'a dyn Mailbox, limits: &'a LmtpLimits, hostname: &'a str) -> Self {
        Session {
            stream,
            mailbox,
            limits,
            hostname,
            input: Vec::new(),
            output: Vec::new(),
            chunk: vec![0; READ_CHUNK],
            greeted: false,
            transaction: None,
            stop: None,
        }
    }

    /// Ends the session between commands once `stop` turns `true`.
    pub(super) fn until(mut self, stop: watch::Receiver<bool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Greets, then reads and answers commands until QUIT, the client's close or the idle timeout.
    pub(super) async fn run(mut self) -> io::Result<()> {
        self.reply(Reply::Greeting { host: self.hostname });
        loop {
            let flow = match self.next_line().await? {
                Line::Complete(line) => match command::parse(&line) {
                    Ok(command) => self.dispatch(command).await?,
                    Err(error) => {
                        tracing::debug!(%error, "LMTP command refused");
                        self.reply(error_reply(&error));
                        Flow::Continue
                    }
                },
                Line::TooLong => {
                    self.reply(Reply::LineTooLong);
                    Flow::Continue
                }
                Line::TimedOut => {
                    self.idle_timeout();
                    Flow::Close
                }
                Line::ShuttingDown => {
                    tracing::debug!("server shutting down, closing an LMTP session between commands");
                    self.transaction = None;
                    self.reply(Reply::ShuttingDown { host: self.hostname });
                    Flow::Close
                }
                Line::Closed => {
                    tracing::debug!("LMTP client closed the connection without QUIT");
                    Flow::Close
                }
            };
            if flow == Flow::Close {
                return self.close().await;
            }
        }
    }

    /// Acts on one command; the phase files do the work.
    async fn dispatch(&mut self, command: Command) -> io::Result<Flow> {
        match command {
            Command::Lhlo => self.handle_lhlo(),
            Command::Helo => self.reply(Reply::UseLhlo),
            Command::Mail {
                sender,
                size,
                body_8bit,
            } => self.handle_mail(sender, size, body_8bit),
            Command::Rcpt { address } => self.handle_rcpt(address).await,
            Command::Data => return self.handle_data().await,
            Command::Rset => {
                self.transaction = None;
                self.reply(Reply::Ok);
            }
            Command::Noop => self.reply(Reply::Ok),
            Command::Vrfy => self.reply(Reply::CannotVerify),
            Command::NotImplemented(command) => self.reply(Reply::NotImplemented { command }),
            Command::Quit => {
                self.reply(Reply::Bye { host: self.hostname });
                return Ok(Flow::Close);
            }
        }
        Ok(Flow::Continue)
    }

    /// Queues a reply; it goes out before the next wait for the client.
    pub(super) fn reply(&mut self, reply: Reply<'_>) {
        reply.write_to(&mut self.output);
    }

    /// Answers the idle timeout and drops the open transaction; the caller closes.
    pub(super) fn idle_timeout(&mut self) {
        tracing::info!(timeout = ?self.limits.idle_timeout, "LMTP client idle, closing the connection");
        self.transaction = None;
        self.reply(Reply::IdleTimeout { host: self.hostname });
    }

    /// Writes the queued replies. A client that stops reading gets the idle timeout here too, so a
    /// full socket buffer cannot hold the session forever.
    async fn flush(&mut self) -> io::Result<()> {
        let write = async {
            if !self.output.is_empty() {
                self.stream.write_all(&self.output).await?;
                self.output.clear();
            }
            self.stream.flush().await
        };
        match tokio::time::timeout(self.limits.idle_timeout, write).await {
            Ok(result) => result,
            Err(_elapsed) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "LMTP client stopped reading replies",
            )),
        }
    }

    /// Writes what is left and closes our side. A client that is already gone is not an error.
    async fn close(mut self) -> io::Result<()> {
        let result = match self.flush().await {
            Ok(()) => self.stream.shutdown().await,
            Err(e) => Err(e),
        };
        match result {
            Err(e) if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset) => Ok(()),
            other => other,
        }
    }

    /// Writes the queued replies, then waits (at most the idle timeout) for more bytes from the client.
    pub(super) async fn fill(&mut self) -> io::Result<Fill> {
        self.flush().await?;
        let read = self.stream.read(&mut self.chunk);
        match tokio::time::timeout(self.limits.idle_timeout, read).await {
            Err(_elapsed) => Ok(Fill::TimedOut),
            Ok(Ok(0)) => Ok(Fill::Closed),
            Ok(Ok(n)) => {
                self.input.extend_from_slice(self.chunk.get(..n).unwrap_or_default());
                Ok(Fill::Data)
            }
            Ok(Err(e)) => Err(e),
        }
    }

    /// The next command line. A line over [`MAX_LINE`] is read to its LF and dropped, so a client
    /// cannot make the session hold more than one line's worth of a command.
    async fn next_line(&mut self) -> io::Result<Line> {
        let mut too_long = false;
        loop {
            let window = self.input.len().min(MAX_LINE);
            if let Some(lf) = self.input.iter().take(window).position(|&b| b == b'\n') {
                let line: Vec<u8> = self.input.drain(..=lf).collect();
                return Ok(if too_long { Line::TooLong } else { Line::Complete(line) });
            }
            if too_long || self.input.len() >= MAX_LINE {
                // Inside a long line: everything up to its LF goes, and what follows is kept.
                too_long = true;
                if let Some(lf) = self.input.iter().position(|&b| b == b'\n') {
                    self.input.drain(..=lf);
                    return Ok(Line::TooLong);
                }
                self.input.clear();
            }
            match self.fill_between_commands().await? {
                Some(Fill::Data) => {}
                Some(Fill::Closed) => return Ok(Line::Closed),
                Some(Fill::TimedOut) => return Ok(Line::TimedOut),
                None => return Ok(Line::ShuttingDown),
            }
        }
    }

    /// [`fill`](Self::fill) for the command phase, where a shutdown of the server ends the wait
    /// (`None`). The replies are written first and whole, so a client always hears the outcome of
    /// a message it sent; a message in DATA is never cut short, since DATA waits with `fill`.
    async fn fill_between_commands(&mut self) -> io::Result<Option<Fill>> {
        let Some(mut stop) = self.stop.clone() else {
            return self.fill().await.map(Some);
        };
        self.flush().await?;
        tokio::select! {
            fill = self.fill() => fill.map(Some),
            Ok(_) = stop.wait_for(|stopping| *stopping) => Ok(None),
        }
    }
}

/// The reply for a line that is not a command to act on.
fn error_reply(error: &ParseError) -> Reply<'_> {
    match error {
        ParseError::Unknown => Reply::UnknownCommand,
        ParseError::Syntax(syntax) => Reply::Syntax { syntax },
        ParseError::BadSender => Reply::BadSender,
        ParseError::BadRecipient => Reply::BadRecipient,
        ParseError::BadParameter(param) => Reply::BadParameter { param },
        ParseError::Unsupported(param) => Reply::UnsupportedParameter { param },
    }
}
