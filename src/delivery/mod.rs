//! Delivery: mail from the MTA into mailboxes.
//!
//! - [`lmtp`]: the LMTP protocol (RFC 2033), one session per connection.
//! - [`mime`]: RFC 5322 bytes to properties, parsed once per message, with
//!   `mime_repair` mending the shapes of broken mail mail-parser misreads.
//! - [`dagent`]: the pipe MDA client, speaking LMTP to the local socket.
//!
//! [`StoreMailbox`] is where the protocol meets the store: it resolves
//! recipients by address (one query each), files spam into Junk E-mail,
//! stores one message for all recipients in one transaction, shared with
//! concurrent deliveries by the store's group commit (so the bytes are kept
//! once, and a `250` means committed), then announces new mail and sends
//! out-of-office replies.

pub mod dagent;
pub mod lmtp;
pub mod mime;
mod mime_repair;

use std::collections::HashSet;
use std::sync::Arc;

use lmtp::{BoxFuture, Envelope, Mailbox, Outcome, RcptCheck};

use crate::error::StoreError;
use crate::ops::State;
use crate::ops::notify::{EventKind, publish};
use crate::ops::quota::user_hard_limit;
use crate::panics;
use crate::props::now_micros;
use crate::store::{DeliveryRecipient, DeliveryTarget, HardQuota, OofSettings, Role, UserRow};

/// Delivers into the store.
pub struct StoreMailbox {
    state: Arc<State>,
}

impl StoreMailbox {
    /// A mailbox over the server's state.
    pub fn new(state: Arc<State>) -> Self {
        StoreMailbox { state }
    }

    /// Whether the user's store is full, by the rule every write follows
    /// (the message's size is not known yet at RCPT: a full store takes
    /// nothing more; one byte below the limit takes this message).
    fn over_hard_quota(&self, r: &DeliveryRecipient) -> bool {
        let hard = user_hard_limit(&self.state.config(), r.quota_hard);
        HardQuota::new(hard).is_full(r.store_size)
    }
}

fn temp(e: &StoreError) -> String {
    tracing::warn!(error = %e, "delivery failed temporarily");
    "the mailbox store is not available; try again later".to_string()
}

/// What the MTA hears when a bug failed a delivery: it retries later.
const INTERNAL_ERROR: &str = "internal error in the mailbox store (logged); try again later";

impl Mailbox for StoreMailbox {
    fn check_recipient<'a>(&'a self, address: &'a str) -> BoxFuture<'a, RcptCheck> {
        Box::pin(async move {
            let check = async {
                match self.state.store.delivery_recipient(address, Role::Inbox).await {
                    Ok(None) => RcptCheck::Unknown,
                    Ok(Some(r)) if self.over_hard_quota(&r) => RcptCheck::OverQuota,
                    Ok(Some(_)) => RcptCheck::Accept,
                    Err(e) => RcptCheck::TempFail(temp(&e)),
                }
            };
            match panics::guard(check).await {
                Ok(check) => check,
                Err(panic) => {
                    panic.log(panics::Unit {
                        operation: "lmtp RCPT",
                        user: Some(address),
                        ..Default::default()
                    });
                    RcptCheck::TempFail(INTERNAL_ERROR.into())
                }
            }
        })
    }

    /// One delivery is one unit of work (see [`crate::panics`]): a panic
    /// before the commit answers `451 4.3.0` for every recipient in flight
    /// and stores nothing (the transaction is never committed), so the MTA
    /// delivers again later; after the commit nothing can turn the `250`s
    /// into failures (see [`announce`]).
    fn deliver<'a>(&'a self, envelope: &'a Envelope, raw: &'a [u8]) -> BoxFuture<'a, Vec<Outcome>> {
        Box::pin(async move {
            match panics::guard(deliver(&self.state, envelope, raw)).await {
                Ok(outcomes) => outcomes,
                Err(panic) => {
                    let message_id = message_id_of(raw);
                    let recipients = envelope.recipients.join(", ");
                    panic.log(panics::Unit {
                        operation: "deliver",
                        user: Some(&recipients),
                        message_id: message_id.as_deref(),
                        ..Default::default()
                    });
                    if self.state.shared_state_poisoned() {
                        panics::abort_shared_state_corrupt("the session table", &panic);
                    }
                    vec![Outcome::TempFail(INTERNAL_ERROR.into()); envelope.recipients.len()]
                }
            }
        })
    }
}

/// The Message-ID header's value, read without the MIME parser (which may be
/// what failed), for the log.
fn message_id_of(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(header_block(raw));
    text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("message-id")
            .then(|| value.trim().chars().take(200).collect())
    })
}

/// The header block of a message (up to the first empty line).
fn header_block(raw: &[u8]) -> &[u8] {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 1))
        .unwrap_or(raw.len());
    &raw[..end]
}

/// True if the header block carries `Name: value...` (name and value matched
/// without regard to case; folded lines joined).
pub fn has_header(raw: &[u8], rule: &str) -> bool {
    let Some((name, value)) = rule.split_once(':') else {
        return false;
    };
    let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_ascii_lowercase());
    let text = String::from_utf8_lossy(header_block(raw))
        .replace("\r\n", "\n")
        .replace("\n ", " ")
        .replace("\n\t", " ");
    text.lines().any(|l| match l.split_once(':') {
        Some((n, v)) => n.trim().eq_ignore_ascii_case(&name) && v.trim().to_ascii_lowercase().starts_with(&value),
        None => false,
    })
}

async fn deliver(state: &Arc<State>, envelope: &Envelope, raw: &[u8]) -> Vec<Outcome> {
    let store = &state.store;
    let cfg = state.config();
    let data = mime::parse_message(raw, now_micros());
    let spam = cfg.spam_header.as_deref().is_some_and(|rule| has_header(raw, rule));
    let role = if spam { Role::Junk } else { Role::Inbox };
    let mut outcomes = vec![Outcome::TempFail(String::new()); envelope.recipients.len()];
    let mut targets = Vec::new();
    let mut target_users: Vec<DeliveryRecipient> = Vec::new();
    let mut seen = HashSet::new();
    let mut delivered_idx = Vec::new();
    for (i, rcpt) in envelope.recipients.iter().enumerate() {
        match store.delivery_recipient(rcpt, role).await {
            Ok(Some(r)) => {
                delivered_idx.push(i);
                // Two addresses of one user in one envelope: one copy.
                if seen.insert(r.user_id) {
                    targets.push(DeliveryTarget::from(&r.folder));
                    target_users.push(r);
                }
            }
            Ok(None) => outcomes[i] = Outcome::Unknown,
            Err(e) => outcomes[i] = Outcome::TempFail(temp(&e)),
        }
    }
    if targets.is_empty() {
        return outcomes;
    }
    crate::fault::point("delivery", "store");
    match store.deliver(&targets, &data).await {
        Ok(ids) => {
            for i in &delivered_idx {
                outcomes[*i] = Outcome::Delivered;
            }
            // Committed: from here on every recipient gets 250 whatever
            // happens, since a 451 now would make the MTA deliver a second copy.
            let announced = panics::guard(announce(state, envelope, raw, &data, &target_users, ids, spam)).await;
            if let Err(panic) = announced {
                let message_id = message_id_of(raw);
                panic.log(panics::Unit {
                    operation: "announce new mail",
                    message_id: message_id.as_deref(),
                    ..Default::default()
                });
            }
        }
        Err(e) => {
            let why = temp(&e);
            for i in &delivered_idx {
                outcomes[*i] = Outcome::TempFail(why.clone());
            }
        }
    }
    outcomes
}

/// What follows a committed delivery: the log line, new-mail events and
/// out-of-office replies.
async fn announce(
    state: &Arc<State>,
    envelope: &Envelope,
    raw: &[u8],
    data: &crate::store::MessageData,
    target_users: &[DeliveryRecipient],
    ids: Vec<i64>,
    spam: bool,
) {
    crate::fault::point("delivery", "announce");
    let store = &state.store;
    state.record_delivery();
    let message_id = data
        .props
        .get(&crate::props::PR_INTERNET_MESSAGE_ID)
        .and_then(|v| v.as_str())
        .unwrap_or("");
    tracing::info!(
        okapi_message_id = message_id, sender = %envelope.sender, recipients = ids.len(), size = raw.len(), spam,
        "message delivered"
    );
    let now = now_micros();
    for (r, id) in target_users.iter().zip(ids) {
        // The row read before the delivery will do: the event needs only its id and owner.
        publish(state, EventKind::NewMail, &r.folder, Some(id), None).await;
        if !spam && r.oof.active_at(now) {
            // Only now the whole user: the reply needs the name and every address.
            match store.user_by_id(r.user_id).await {
                Ok(user) => out_of_office(state, &user, &r.oof, envelope, raw, data).await,
                Err(e) => tracing::warn!(error = %e, "no out-of-office reply: the user could not be read"),
            }
        }
    }
}

/// Sends the out-of-office reply of a user whose replies are on, if RFC 3834 allows it.
async fn out_of_office(
    state: &Arc<State>,
    user: &UserRow,
    oof: &OofSettings,
    envelope: &Envelope,
    raw: &[u8],
    data: &crate::store::MessageData,
) {
    let store = &state.store;
    let mut own = vec![user.address.clone()];
    own.extend(user.aliases.iter().cloned());
    if !crate::spooler::mime_out::should_auto_reply(header_block(raw), &envelope.sender, &own) {
        return;
    }
    let cfg = state.config();
    match store
        .oof_claim_reply(user.id, &envelope.sender, cfg.oof_interval.as_micros() as i64)
        .await
    {
        Ok(true) => {}
        _ => return,
    }
    let subject = data
        .props
        .get(&crate::props::PR_SUBJECT)
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let msgid = data
        .props
        .get(&crate::props::PR_INTERNET_MESSAGE_ID)
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let host = crate::spooler::mail_name(&cfg);
    let from = crate::spooler::mime_out::Mailbox {
        name: user.display_name.clone(),
        address: user.address.clone(),
    };
    let reply = crate::spooler::mime_out::build_oof_reply(
        &envelope.sender,
        &subject,
        msgid.as_deref(),
        &oof.subject,
        &oof.body,
        &from,
        time::OffsetDateTime::now_utc(),
        &host,
    );
    let transport = crate::spooler::transport_of(&cfg);
    let to = envelope.sender.clone();
    // RFC 3834: replies go out with the null sender, so they never bounce back.
    tokio::spawn(async move {
        let r = crate::spooler::transport::send(&transport, "", std::slice::from_ref(&to), &reply).await;
        if r.failed.is_empty() {
            tracing::info!(to = %to, "out-of-office reply sent");
        } else {
            tracing::warn!(to = %to, "out-of-office reply not accepted by the MTA");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spam_headers_match_name_and_value_start() {
        let m = b"Subject: x\r\nX-Spam-Flag: yes\r\n\r\nX-Spam-Flag: NO\r\n";
        assert!(has_header(m, "X-Spam-Flag: YES"));
        assert!(
            !has_header(b"Subject: x\r\n\r\nX-Spam-Flag: YES\r\n", "X-Spam-Flag: YES"),
            "only headers count"
        );
        assert!(has_header(
            b"X-Spam-Status: Yes,\r\n score=9\r\n\r\n",
            "x-spam-status: yes"
        ));
        assert!(!has_header(m, "nonsense"));
    }
}
