//! MAIL FROM: opens a transaction.
//!
//! The sender is not checked against anything: the MTA already accepted the message, and the null
//! sender `<>` (bounces, auto-replies) is as welcome as any other. A declared `SIZE=` over the limit is
//! refused here, before any data is sent (RFC 1870).

use tokio::io::{AsyncRead, AsyncWrite};

use super::Envelope;
use super::reply::Reply;
use super::session::Session;

impl<S: AsyncRead + AsyncWrite + Unpin> Session<'_, S> {
    /// Opens a transaction for `sender` (`""` for `<>`), with the `SIZE=` and `BODY=8BITMIME` parameters.
    pub(super) fn handle_mail(&mut self, sender: String, size: Option<u64>, body_8bit: bool) {
        if !self.greeted {
            return self.reply(Reply::BadSequence {
                what: "send LHLO first",
            });
        }
        if self.transaction.is_some() {
            return self.reply(Reply::BadSequence {
                what: "sender already given, send RSET first",
            });
        }
        let max_size = self.limits.max_message_size;
        if max_size > 0 && size.is_some_and(|size| size > max_size) {
            tracing::info!(
                sender,
                size,
                max_size,
                "LMTP message refused: declared size over the limit"
            );
            return self.reply(Reply::MessageTooBig { max_size });
        }
        self.transaction = Some(Envelope {
            sender,
            recipients: Vec::new(),
            body_8bit,
            size_hint: size,
        });
        self.reply(Reply::SenderOk);
    }
}
