//! LHLO: the client introduces itself and learns what the server offers.
//!
//! LMTP has no HELO or EHLO (RFC 2033 section 4.1); those get `500 5.5.1` in the session. LHLO may be
//! repeated; like EHLO it then drops any open transaction.

use tokio::io::{AsyncRead, AsyncWrite};

use super::reply::Reply;
use super::session::Session;

impl<S: AsyncRead + AsyncWrite + Unpin> Session<'_, S> {
    /// Answers LHLO with the capabilities: PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES and SIZE.
    pub(super) fn handle_lhlo(&mut self) {
        self.greeted = true;
        self.transaction = None;
        self.reply(Reply::Capabilities {
            host: self.hostname,
            max_size: self.limits.max_message_size,
        });
    }
}
