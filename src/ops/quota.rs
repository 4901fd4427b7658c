//! Which hard quota a store has: the one answer every write path asks for
//! (saveObject, copyObjects, moveObjects, attachments added by saveObject)
//! and that delivery, submitMessage and `quotaShow` share.
//!
//! A user's store has the user's own limit or, without one, `quota_hard`;
//! the public store has `public_store_quota`. The store enforces the limit
//! inside each write's transaction (see [`HardQuota`]).

use crate::config::Config;
use crate::error::ApiError;
use crate::ops::State;
use crate::store::{HardQuota, StoreRow};

/// A user's hard limit in bytes: their own (`Some(0)`: none) or the server's default.
pub(crate) fn user_hard_limit(cfg: &Config, own: Option<i64>) -> i64 {
    own.unwrap_or(i64::try_from(cfg.quota_hard).unwrap_or(i64::MAX))
}

/// The hard quota of a store, read from its owner and the configuration in
/// force now (a reload applies to the next write).
async fn hard_quota(state: &State, store: &StoreRow) -> Result<HardQuota, ApiError> {
    let cfg = state.config();
    let bytes = match store.owner_id {
        Some(owner) => user_hard_limit(&cfg, state.store.user_by_id(owner).await?.quota_hard),
        None => i64::try_from(cfg.public_store_quota).unwrap_or(i64::MAX),
    };
    Ok(HardQuota::new(bytes))
}

/// The hard quota of the store with this id.
pub(crate) async fn hard_quota_of_store(state: &State, store_id: i64) -> Result<HardQuota, ApiError> {
    let store = state.store.store_by_id(store_id).await?;
    hard_quota(state, &store).await
}
