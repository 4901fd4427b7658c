//! The hard quota as every write sees it: one rule for how full a store may
//! get, and the one place where a write adds to a store's size.
//!
//! Which limit applies to a store (the user's own, the server's default, the
//! public store's) is configuration, so the operations layer decides it
//! (`ops::quota`) and hands it down as a [`HardQuota`]; the store applies it
//! inside the write's transaction, with the exact growth the write causes,
//! so two writes racing for the last bytes cannot both pass. Delivery's
//! `RCPT` check asks the same rule through [`HardQuota::is_full`].

use super::{Result, Tx};
use crate::error::StoreError;

/// The hard limit of the store a write goes to, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HardQuota(i64);

impl HardQuota {
    /// No limit: for the server's own bookkeeping (a sent message moved to
    /// Sent Items, a non-delivery report) and moves inside one store, which
    /// change no store's size.
    pub const NONE: HardQuota = HardQuota(0);

    /// A limit of `bytes`; 0 (or less) means none.
    pub fn new(bytes: i64) -> Self {
        HardQuota(bytes.max(0))
    }

    /// The limit in bytes, 0 for none.
    pub fn bytes(self) -> i64 {
        self.0
    }

    /// Whether a store holding `used` bytes may grow by `growth`. A write
    /// that shrinks the store or keeps its size is always allowed, so that a
    /// user over quota can still delete, mark read and trim messages.
    pub fn allows(self, used: i64, growth: i64) -> bool {
        self.0 == 0 || growth <= 0 || used.saturating_add(growth) <= self.0
    }

    /// Whether a store holding `used` bytes takes nothing more at all (not a
    /// single byte): what delivery asks before it knows the message's size.
    pub fn is_full(self, used: i64) -> bool {
        !self.allows(used, 1)
    }
}

/// Adds `count` messages and `size` bytes to a store's counters, refusing
/// with [`StoreError::StoreFull`] when `quota` does not allow the growth.
/// The check and the update are one statement (its `WHERE` is
/// [`HardQuota::allows`] for a growing write, in SQL), so it holds under
/// concurrent writers on both backends without locking the row first.
pub(super) async fn charge_store(tx: &mut Tx, store: i64, count: i64, size: i64, quota: HardQuota) -> Result<()> {
    if quota.bytes() == 0 || size <= 0 {
        sqlx::query("UPDATE stores SET message_count = message_count + ?, size_bytes = size_bytes + ? WHERE id = ?")
            .bind(count)
            .bind(size)
            .bind(store)
            .execute(&mut **tx)
            .await?;
        return Ok(());
    }
    let res = sqlx::query(
        "UPDATE stores SET message_count = message_count + ?, size_bytes = size_bytes + ? \
         WHERE id = ? AND size_bytes + ? <= ?",
    )
    .bind(count)
    .bind(size)
    .bind(store)
    .bind(size)
    .bind(quota.bytes())
    .execute(&mut **tx)
    .await?;
    if res.rows_affected() == 1 {
        return Ok(());
    }
    let used: Option<i64> = sqlx::query_scalar("SELECT size_bytes FROM stores WHERE id = ?")
        .bind(store)
        .fetch_optional(&mut **tx)
        .await?;
    match used {
        Some(used) => Err(StoreError::StoreFull {
            used,
            hard: quota.bytes(),
            growth: size,
        }),
        None => Err(StoreError::NotFound("store".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_up_to_the_limit_is_allowed_and_beyond_it_refused() {
        let q = HardQuota::new(1000);
        assert!(q.allows(0, 1000));
        assert!(q.allows(999, 1));
        assert!(!q.allows(999, 2));
        assert!(!q.allows(1000, 1));
        assert!(!q.allows(i64::MAX, i64::MAX), "no overflow into a pass");
    }

    #[test]
    fn shrinking_or_keeping_the_size_is_allowed_over_quota() {
        let q = HardQuota::new(1000);
        assert!(q.allows(5000, 0));
        assert!(q.allows(5000, -10));
    }

    #[test]
    fn no_limit_allows_everything() {
        for q in [HardQuota::NONE, HardQuota::new(0), HardQuota::new(-5)] {
            assert!(q.allows(i64::MAX, 1 << 40));
            assert!(!q.is_full(i64::MAX));
        }
    }

    #[test]
    fn full_means_not_one_more_byte() {
        let q = HardQuota::new(1000);
        assert!(!q.is_full(999));
        assert!(q.is_full(1000));
        assert!(q.is_full(1001));
    }
}
