//! The spooler: sends what users submitted, through the local MTA.
//!
//! `submitMessage` puts a message into the outgoing queue (a table, so a
//! queued message survives a restart). This worker takes due entries, builds
//! the RFC 5322 message ([`mime_out`]), hands it to the MTA ([`transport`]),
//! and then: moves the message to Sent Items when every recipient was
//! accepted; retries recipients that failed temporarily, with backoff, until
//! `queue_lifetime` runs out; and puts a non-delivery report into the
//! sender's Inbox for recipients refused for good or given up on.
//!
//! Exactly once: an entry is marked "sending" before the MTA sees it and
//! removed right after the MTA accepted it. Only a crash in between those two
//! steps (after the MTA's final reply, before the database write) makes the
//! message go out a second time after the restart; the Message-ID stays the
//! same, so the duplicate is recognisable.

pub mod mime_out;
pub mod transport;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use mime_out::envelope_recipients;

use crate::config::Config;
use crate::ops::State;
use crate::props::{MSGFLAG_UNSENT, PR_MESSAGE_FLAGS, PR_SENT_REPRESENTING_NAME, PropValue, now_micros};
use crate::store::{DeliveryTarget, HardQuota, MessageData, QueuedMessage, Role};
use transport::{Failure, Transport};

/// Entries taken per round.
const BATCH: i64 = 10;
/// How often the queue is looked at without a wake-up.
const POLL: Duration = Duration::from_secs(5);

/// The mail name: `hostname` from the configuration, /etc/mailname, or the host name.
pub fn mail_name(cfg: &Config) -> String {
    if let Some(h) = cfg.hostname.as_deref().filter(|h| !h.is_empty()) {
        return h.to_string();
    }
    for file in ["/etc/mailname", "/proc/sys/kernel/hostname"] {
        if let Ok(text) = std::fs::read_to_string(file)
            && let Some(line) = text.lines().next().map(str::trim).filter(|l| !l.is_empty())
        {
            return line.to_string();
        }
    }
    "localhost".into()
}

pub(crate) fn transport_of(cfg: &Config) -> Transport {
    match cfg.sendmail_command.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(cmd) => Transport::Sendmail {
            command: cmd.to_string(),
        },
        None => Transport::Smtp {
            host: cfg.smtp_server.clone(),
            port: cfg.smtp_port,
        },
    }
}

/// Runs the spooler until `stop` is set; finishes the message in hand first.
pub async fn run(state: Arc<State>, mut stop: watch::Receiver<bool>) {
    match state.store.requeue_interrupted().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(entries = n, "resuming messages whose sending was interrupted by a stop"),
        Err(e) => tracing::warn!(error = %e, "could not look at the outgoing queue"),
    }
    loop {
        if *stop.borrow() {
            return;
        }
        match state.store.claim_due(now_micros(), BATCH).await {
            Ok(batch) if !batch.is_empty() => {
                for q in batch {
                    // Between messages, not in the middle of one, is where a stop takes effect.
                    if *stop.borrow() {
                        let _ = state.store.requeue_interrupted().await;
                        return;
                    }
                    send_one(&state, q).await;
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the outgoing queue; retrying"),
        }
        tokio::select! {
            _ = state.spooler_wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = crate::server::stopped(&mut stop) => return,
        }
    }
}

async fn send_one(state: &State, q: QueuedMessage) {
    let cfg = state.config();
    let store = &state.store;
    let host = mail_name(&cfg);
    let msg = match store.load_message(q.message_id).await {
        Ok(m) => m,
        Err(crate::error::StoreError::NotFound(_)) => {
            tracing::warn!(
                message = q.message_id,
                "a queued message was deleted before it was sent; dropping the entry"
            );
            let _ = store.queue_done(q.id).await;
            return;
        }
        Err(e) => return requeue_later(state, &q, e.to_string()).await,
    };
    let mut attachments = Vec::new();
    for a in &msg.attachments {
        match store.attachment_data(msg.id, a.attach_num).await {
            Ok(x) => attachments.push(x),
            Err(e) => return requeue_later(state, &q, e.to_string()).await,
        }
    }
    let user = match store.user_by_id(q.user_id).await {
        Ok(u) => u,
        Err(e) => return requeue_later(state, &q, e.to_string()).await,
    };
    let name = msg
        .props
        .get(&PR_SENT_REPRESENTING_NAME)
        .and_then(PropValue::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or(&user.display_name)
        .to_string();
    let from = mime_out::Mailbox {
        name,
        address: q.envelope_from.clone(),
    };
    let now = time::OffsetDateTime::now_utc();
    let raw = match mime_out::build_message(&msg, &attachments, &from, now, &host) {
        Ok(r) => r,
        Err(e) => {
            let reason = format!("the message could not be built: {e}");
            let failed: Vec<(String, String)> = q.recipients.iter().map(|r| (r.clone(), reason.clone())).collect();
            report_failure(state, &q, &msg, &failed, &cfg, &host).await;
            let _ = store.queue_done(q.id).await;
            return;
        }
    };
    let result = transport::send(&transport_of(&cfg), &q.envelope_from, &q.recipients, &raw).await;
    let mut retry = Vec::new();
    let mut failed = Vec::new();
    for (rcpt, f) in result.failed {
        match f {
            Failure::Temporary(why) => retry.push((rcpt, why)),
            Failure::Permanent(why) => failed.push((rcpt, why)),
        }
    }
    tracing::info!(
        message = msg.id,
        accepted = result.accepted.len(),
        deferred = retry.len(),
        refused = failed.len(),
        "spooler handed a message to the MTA"
    );
    let expired = now_micros() - q.submitted_at > cfg.queue_lifetime.as_micros() as i64;
    if !retry.is_empty() && !expired {
        let remaining: Vec<String> = retry.iter().map(|(r, _)| r.clone()).collect();
        let why = retry
            .iter()
            .map(|(r, w)| format!("{r}: {w}"))
            .collect::<Vec<_>>()
            .join("; ");
        let next = now_micros() + transport::retry_delay(q.attempts as u32).as_micros() as i64;
        if let Err(e) = store.queue_retry(q.id, &remaining, next, &why).await {
            tracing::error!(error = %e, "cannot update the outgoing queue");
        }
    } else {
        failed.extend(retry.into_iter().map(|(r, w)| {
            (
                r,
                format!(
                    "gave up after {:?} of temporary failures; last: {w}",
                    cfg.queue_lifetime
                ),
            )
        }));
        if let Err(e) = finish(state, &q).await {
            tracing::error!(error = %e, "sent, but could not move the message to Sent Items");
        }
    }
    if !failed.is_empty() {
        report_failure(state, &q, &msg, &failed, &cfg, &host).await;
    }
}

/// Puts an entry back for a later attempt after a failure of our own
/// (database, blob storage), not of the MTA.
async fn requeue_later(state: &State, q: &QueuedMessage, why: String) {
    tracing::warn!(message = q.message_id, error = %why, "cannot send now; will retry");
    let next = now_micros() + transport::retry_delay(q.attempts as u32).as_micros() as i64;
    if let Err(e) = state.store.queue_retry(q.id, &q.recipients, next, &why).await {
        tracing::error!(error = %e, "cannot update the outgoing queue");
    }
}

/// Moves a sent message to Sent Items, clears "unsent", and drops the entry.
async fn finish(state: &State, q: &QueuedMessage) -> Result<(), crate::error::StoreError> {
    let store = &state.store;
    store.queue_done(q.id).await?;
    let own = store.store_of_user(q.user_id).await?;
    let sent = store.folder_by_role(own.id, Role::SentItems).await?;
    // The server's own bookkeeping inside one store: never refused for quota.
    store.move_messages(&[q.message_id], sent.id, HardQuota::NONE).await?;
    let m = store.load_message(q.message_id).await?;
    let flags = m.props.get(&PR_MESSAGE_FLAGS).and_then(PropValue::as_i64).unwrap_or(0) as i32;
    let mut data = MessageData::default();
    data.props.insert(
        PR_MESSAGE_FLAGS,
        PropValue::Long((flags & !MSGFLAG_UNSENT) | crate::props::MSGFLAG_READ),
    );
    store.update_message(q.message_id, &data, HardQuota::NONE).await
}

/// Puts a non-delivery report into the sender's Inbox.
async fn report_failure(
    state: &State,
    q: &QueuedMessage,
    msg: &crate::store::StoredMessage,
    failed: &[(String, String)],
    cfg: &Config,
    host: &str,
) {
    let postmaster = cfg
        .postmaster_address
        .clone()
        .unwrap_or_else(|| format!("postmaster@{host}"));
    let (props, raw) = mime_out::build_ndr(msg, failed, &postmaster, time::OffsetDateTime::now_utc(), host);
    let store = &state.store;
    let result = async {
        let own = store.store_of_user(q.user_id).await?;
        let inbox = store.folder_by_role(own.id, Role::Inbox).await?;
        let data = MessageData {
            props,
            raw: Some(raw),
            ..MessageData::default()
        };
        let ids = store.deliver(&[DeliveryTarget::from(&inbox)], &data).await?;
        Ok::<_, crate::error::StoreError>((inbox, ids))
    }
    .await;
    match result {
        Ok((inbox, ids)) => {
            for id in ids {
                crate::ops::notify::publish(state, crate::ops::notify::EventKind::NewMail, &inbox, Some(id), None)
                    .await;
            }
        }
        Err(e) => tracing::error!(error = %e, "could not store a non-delivery report"),
    }
}
