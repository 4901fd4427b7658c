//! Failed logons, counted per subject (an account or a client address), so
//! that throttling survives a restart and every front end (SOAP, JSON, the
//! web app) shares one count.
//!
//! The store keeps the numbers; how many failures are free and how long a
//! throttled subject waits is decided by the caller (`crate::ops`), which
//! hands the store the time a subject is blocked until.

use super::{Backend, Result, Store};
use crate::error::StoreError;

/// How a subject stands after a failure was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogonFailures {
    /// Failures in the current run (a run ends when no failure came for a window).
    pub failures: i64,
    /// Until when (microseconds since the epoch) attempts are refused unchecked.
    pub blocked_until: i64,
}

impl Store {
    /// The latest time until which any of `subjects` is blocked (0 when none is).
    pub async fn logon_blocked_until(&self, subjects: &[&str]) -> Result<i64> {
        let mut latest = 0;
        for subject in subjects {
            let until: Option<i64> = sqlx::query_scalar("SELECT blocked_until FROM logon_failures WHERE subject = ?")
                .bind(*subject)
                .fetch_optional(self.pool())
                .await?;
            latest = latest.max(until.unwrap_or(0));
        }
        Ok(latest)
    }

    /// Counts a failed logon for `subject` at `now`; a run of failures starts
    /// again at one when a whole `window` passed without a failure or a block
    /// (all times in microseconds), so a block longer than the window does
    /// not wipe the run it belongs to. `block` turns the run's length into the time the
    /// subject is blocked until (or 0).
    ///
    /// Many wrong logons for one name arrive at once (that is what this table
    /// is for), and InnoDB answers two concurrent upserts of one new key with
    /// a deadlock for one of them: that one is counted again, as InnoDB's
    /// manual asks of every application.
    pub async fn record_logon_failure(
        &self,
        subject: &str,
        now: i64,
        window: i64,
        block: impl Fn(i64) -> i64,
    ) -> Result<LogonFailures> {
        const ATTEMPTS: usize = 5;
        let mut attempt = 1;
        let counted = loop {
            match self.count_logon_failure(subject, now, window, &block).await {
                Err(e) if attempt < ATTEMPTS && is_write_conflict(&e) => attempt += 1,
                other => break other?,
            }
        };
        // Runs that ended and blocks that ran out are forgotten, so a flood of
        // made-up names does not grow the table for good. Outside the count's
        // transaction: this range scan would lock every row against the other
        // counts, and it is housekeeping, which the next failure does again.
        if let Err(e) = sqlx::query("DELETE FROM logon_failures WHERE last_failure_at < ? AND blocked_until < ?")
            .bind(now.saturating_sub(window))
            .bind(now.saturating_sub(window))
            .execute(self.pool())
            .await
        {
            tracing::debug!(error = %e, "forgetting old logon failures failed; the next failure tries again");
        }
        Ok(counted)
    }

    /// One attempt of [`Store::record_logon_failure`]'s count, in one transaction.
    async fn count_logon_failure(
        &self,
        subject: &str,
        now: i64,
        window: i64,
        block: &impl Fn(i64) -> i64,
    ) -> Result<LogonFailures> {
        let upsert = match self.backend() {
            Backend::Sqlite => {
                "INSERT INTO logon_failures (subject, failures, last_failure_at, blocked_until) VALUES (?, 1, ?, 0) \
                 ON CONFLICT(subject) DO UPDATE SET \
                 failures = CASE WHEN MAX(last_failure_at, blocked_until) < ? THEN 1 ELSE failures + 1 END, \
                 last_failure_at = excluded.last_failure_at"
            }
            Backend::MySql => {
                "INSERT INTO logon_failures (subject, failures, last_failure_at, blocked_until) VALUES (?, 1, ?, 0) \
                 ON DUPLICATE KEY UPDATE \
                 failures = IF(GREATEST(last_failure_at, blocked_until) < ?, 1, failures + 1), \
                 last_failure_at = VALUES(last_failure_at)"
            }
        };
        let mut tx = self.begin().await?;
        sqlx::query(upsert)
            .bind(subject)
            .bind(now)
            .bind(now.saturating_sub(window))
            .execute(&mut *tx)
            .await?;
        let failures: i64 = sqlx::query_scalar("SELECT failures FROM logon_failures WHERE subject = ?")
            .bind(subject)
            .fetch_one(&mut *tx)
            .await?;
        let blocked_until = block(failures);
        sqlx::query("UPDATE logon_failures SET blocked_until = ? WHERE subject = ?")
            .bind(blocked_until)
            .bind(subject)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(LogonFailures {
            failures,
            blocked_until,
        })
    }

    /// Forgets the failures of `subject` (after a successful logon).
    pub async fn clear_logon_failures(&self, subject: &str) -> Result<()> {
        sqlx::query("DELETE FROM logon_failures WHERE subject = ?")
            .bind(subject)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// Whether a write lost to another transaction and may simply be done again:
/// an InnoDB deadlock (SQLSTATE 40001, error 1213) or lock wait timeout
/// (error 1205), or SQLite's busy database.
fn is_write_conflict(e: &StoreError) -> bool {
    let StoreError::Database(sqlx::Error::Database(db)) = e else {
        return false;
    };
    let code = db.code();
    let message = db.message();
    code.as_deref() == Some("40001")
        || message.contains("Deadlock found")
        || message.contains("Lock wait timeout")
        || message.contains("database is locked")
}
