//! RCPT TO: adds one recipient to the transaction, after asking the store about it.
//!
//! Only recipients answered `250` here are part of the transaction; each of them gets its own reply
//! after DATA.

use tokio::io::{AsyncRead, AsyncWrite};

use super::RcptCheck;
use super::reply::Reply;
use super::session::Session;

impl<S: AsyncRead + AsyncWrite + Unpin> Session<'_, S> {
    /// Checks `address` with the store and answers for it.
    pub(super) async fn handle_rcpt(&mut self, address: String) {
        let Some(transaction) = &self.transaction else {
            return self.reply(Reply::BadSequence {
                what: "send MAIL FROM first",
            });
        };
        if transaction.recipients.len() >= self.limits.max_recipients {
            tracing::info!(
                rcpt = address,
                max = self.limits.max_recipients,
                "LMTP recipient refused: too many"
            );
            return self.reply(Reply::TooManyRecipients);
        }
        let mailbox = self.mailbox;
        match mailbox.check_recipient(&address).await {
            RcptCheck::Accept => {
                self.reply(Reply::RecipientOk { rcpt: &address });
                if let Some(transaction) = &mut self.transaction {
                    transaction.recipients.push(address);
                }
            }
            RcptCheck::Unknown => {
                tracing::info!(rcpt = address, "LMTP recipient refused: unknown user");
                self.reply(Reply::UnknownUser { rcpt: &address });
            }
            RcptCheck::OverQuota => {
                tracing::info!(rcpt = address, "LMTP recipient refused: over quota");
                self.reply(Reply::OverQuota { rcpt: &address });
            }
            RcptCheck::TempFail(reason) => {
                tracing::warn!(rcpt = address, reason, "LMTP recipient deferred");
                self.reply(Reply::TempFail {
                    rcpt: &address,
                    reason: &reason,
                });
            }
        }
    }
}
