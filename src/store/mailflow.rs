//! What mail flow keeps in the store: recipients as delivery sees them,
//! out-of-office settings and the reply log, send-as grants, and the
//! outgoing queue the spooler works off. (Storing delivered messages is
//! `group_commit`'s.)

use sqlx::Row as _;

use super::folders::{FOLDER_COLUMNS, folder_from_row};
use super::{FolderRow, Result, Role, Store};
use crate::error::StoreError;
use crate::props::now_micros;

/// A recipient as delivery sees it, read in one query: the user, what the
/// quota check needs, the folder a message goes to, and the out-of-office
/// settings.
#[derive(Debug, Clone)]
pub struct DeliveryRecipient {
    /// The user.
    pub user_id: i64,
    /// The user's own hard quota in bytes, if one is set.
    pub quota_hard: Option<i64>,
    /// Bytes in the user's store.
    pub store_size: i64,
    /// The folder of the asked role in the user's store.
    pub folder: FolderRow,
    /// The user's out-of-office settings (off if none were saved).
    pub oof: OofSettings,
}

/// A user's out-of-office state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OofSettings {
    /// Replies are on.
    pub enabled: bool,
    /// Reply subject (empty: "Auto: " and the original subject).
    pub subject: String,
    /// Reply text.
    pub body: String,
    /// Replies start at this time (microseconds), if set.
    pub starts_at: Option<i64>,
    /// Replies end at this time, if set.
    pub ends_at: Option<i64>,
}

impl OofSettings {
    /// True if replies are on at `now`.
    pub fn active_at(&self, now: i64) -> bool {
        self.enabled && self.starts_at.is_none_or(|s| now >= s) && self.ends_at.is_none_or(|e| now < e)
    }
}

/// One message waiting in the outgoing queue.
#[derive(Debug, Clone)]
pub struct QueuedMessage {
    /// Queue row id.
    pub id: i64,
    /// The message.
    pub message_id: i64,
    /// Its sender.
    pub user_id: i64,
    /// Envelope sender.
    pub envelope_from: String,
    /// Recipients still to be sent to.
    pub recipients: Vec<String>,
    /// When it was submitted.
    pub submitted_at: i64,
    /// Attempts so far.
    pub attempts: i64,
}

impl Store {
    /// The user an address (primary or alias, any case) belongs to, with the
    /// folder of `role` in their store; `None` for an unknown address.
    /// One round trip, where user, store, folder and out-of-office lookups
    /// would take five: delivery asks at RCPT and again at DATA.
    pub async fn delivery_recipient(&self, address: &str, role: Role) -> Result<Option<DeliveryRecipient>> {
        // Outer joins: a user without a store or folder is an error (the
        // row fails to decode), not an unknown address.
        let sql = format!(
            "SELECT {FOLDER_COLUMNS}, u.id, u.quota_hard, s.size_bytes, o.enabled, o.subject, o.body, o.starts_at, \
             o.ends_at FROM user_addresses a JOIN users u ON u.id = a.user_id \
             LEFT JOIN stores s ON s.owner_id = u.id \
             LEFT JOIN folders f ON f.store_id = s.id AND f.role = ? \
             LEFT JOIN oof_settings o ON o.user_id = u.id \
             WHERE a.address = LOWER(?)"
        );
        let Some(r) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(role.key())
            .bind(address)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let oof = match r.try_get::<Option<i64>, _>(14)? {
            None => OofSettings::default(),
            Some(enabled) => OofSettings {
                enabled: enabled != 0,
                subject: r.try_get(15)?,
                body: r.try_get(16)?,
                starts_at: r.try_get(17)?,
                ends_at: r.try_get(18)?,
            },
        };
        Ok(Some(DeliveryRecipient {
            folder: folder_from_row(&r)?,
            user_id: r.try_get(11)?,
            quota_hard: r.try_get(12)?,
            store_size: r.try_get(13)?,
            oof,
        }))
    }

    /// A user's out-of-office settings.
    pub async fn oof_settings(&self, user: i64) -> Result<OofSettings> {
        type Row = (i64, String, String, Option<i64>, Option<i64>);
        let row: Option<Row> =
            sqlx::query_as("SELECT enabled, subject, body, starts_at, ends_at FROM oof_settings WHERE user_id = ?")
                .bind(user)
                .fetch_optional(self.pool())
                .await?;
        Ok(row
            .map(|(enabled, subject, body, starts_at, ends_at)| OofSettings {
                enabled: enabled != 0,
                subject,
                body,
                starts_at,
                ends_at,
            })
            .unwrap_or_default())
    }

    /// Replaces a user's out-of-office settings; the reply log starts afresh.
    pub async fn set_oof_settings(&self, user: i64, s: &OofSettings) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM oof_settings WHERE user_id = ?")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM oof_replies WHERE user_id = ?")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO oof_settings (user_id, enabled, subject, body, starts_at, ends_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(user)
        .bind(i64::from(s.enabled))
        .bind(&s.subject)
        .bind(&s.body)
        .bind(s.starts_at)
        .bind(s.ends_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an out-of-office reply to `sender` unless one went out within
    /// `interval_micros`; returns true if the caller should send it.
    pub async fn oof_claim_reply(&self, user: i64, sender: &str, interval_micros: i64) -> Result<bool> {
        let sender = sender.to_lowercase();
        let now = now_micros();
        let mut tx = self.begin().await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT replied_at FROM oof_replies WHERE user_id = ? AND sender = ?")
                .bind(user)
                .bind(&sender)
                .fetch_optional(&mut *tx)
                .await?;
        if last.is_some_and(|t| now - t < interval_micros) {
            return Ok(false);
        }
        sqlx::query("DELETE FROM oof_replies WHERE user_id = ? AND sender = ?")
            .bind(user)
            .bind(&sender)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO oof_replies (user_id, sender, replied_at) VALUES (?, ?, ?)")
            .bind(user)
            .bind(&sender)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Addresses a user was granted to send as.
    pub async fn send_as_of(&self, user: i64) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT address FROM send_as WHERE user_id = ? ORDER BY address")
                .bind(user)
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Grants (true) or revokes (false) send-as for an address.
    pub async fn set_send_as(&self, user: i64, address: &str, granted: bool) -> Result<()> {
        let address = address.trim().to_lowercase();
        if !address.contains('@') {
            return Err(StoreError::Invalid(format!("{address:?} is not an e-mail address")));
        }
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM send_as WHERE user_id = ? AND address = ?")
            .bind(user)
            .bind(&address)
            .execute(&mut *tx)
            .await?;
        if granted {
            sqlx::query("INSERT INTO send_as (user_id, address) VALUES (?, ?)")
                .bind(user)
                .bind(&address)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Puts a message into the outgoing queue.
    pub async fn enqueue(&self, message: i64, user: i64, envelope_from: &str, recipients: &[String]) -> Result<i64> {
        let mut tx = self.begin().await?;
        let already: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outgoing_queue WHERE message_id = ?")
            .bind(message)
            .fetch_one(&mut *tx)
            .await?;
        if already > 0 {
            return Err(StoreError::Collision("a queue entry for this message".into()));
        }
        let now = now_micros();
        let res = sqlx::query(
            "INSERT INTO outgoing_queue (message_id, user_id, submitted_at, next_attempt_at, attempts, state, last_error, \
             envelope_from, recipients) VALUES (?, ?, ?, ?, 0, 'queued', '', ?, ?)",
        )
        .bind(message)
        .bind(user)
        .bind(now)
        .bind(now)
        .bind(envelope_from)
        .bind(recipients.join("\n"))
        .execute(&mut *tx)
        .await?;
        let id = super::folders::last_id(&mut tx, &res).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Takes up to `limit` due queue entries, marking them as being sent so
    /// that no other worker takes them too.
    pub async fn claim_due(&self, now: i64, limit: i64) -> Result<Vec<QueuedMessage>> {
        let mut tx = self.begin().await?;
        let rows: Vec<(i64, i64, i64, String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, message_id, user_id, envelope_from, recipients, submitted_at, attempts FROM outgoing_queue \
             WHERE state = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        for r in &rows {
            sqlx::query("UPDATE outgoing_queue SET state = 'sending' WHERE id = ?")
                .bind(r.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, message_id, user_id, envelope_from, rcpts, submitted_at, attempts)| QueuedMessage {
                    id,
                    message_id,
                    user_id,
                    envelope_from,
                    recipients: rcpts.lines().filter(|l| !l.is_empty()).map(str::to_string).collect(),
                    submitted_at,
                    attempts,
                },
            )
            .collect())
    }

    /// Records a temporary failure: only `remaining` are tried again at `next_at`.
    pub async fn queue_retry(&self, id: i64, remaining: &[String], next_at: i64, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE outgoing_queue SET state = 'queued', attempts = attempts + 1, next_attempt_at = ?, last_error = ?, \
             recipients = ? WHERE id = ?",
        )
        .bind(next_at)
        .bind(error)
        .bind(remaining.join("\n"))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes a finished queue entry.
    pub async fn queue_done(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM outgoing_queue WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Entries left "sending" by a server that stopped mid-way go back to the
    /// queue; returns how many.
    pub async fn requeue_interrupted(&self) -> Result<u64> {
        Ok(
            sqlx::query("UPDATE outgoing_queue SET state = 'queued' WHERE state = 'sending'")
                .execute(self.pool())
                .await?
                .rows_affected(),
        )
    }

    /// Entries in the queue.
    pub async fn queue_length(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outgoing_queue")
            .fetch_one(self.pool())
            .await?)
    }

    /// True if the message has a queue entry (submitted and not yet sent).
    pub async fn is_queued(&self, message: i64) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outgoing_queue WHERE message_id = ?")
            .bind(message)
            .fetch_one(self.pool())
            .await?;
        Ok(n > 0)
    }
}
