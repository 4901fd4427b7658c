//! `getChanges` (incremental sync from the change journal) and `notify`
//! (the session's events, long-polled).

use std::time::Duration;

use crate::api::types::*;
use crate::entryid::{EntryId, message_eid};
use crate::error::{ApiError, MapiCode};
use crate::ops::Ctx;
use crate::ops::access::require_folder;
use crate::store::rights;

/// Longest `notify` wait.
const MAX_WAIT: i32 = 300;

/// A sync state is the folder and a change number; the folder is in it so a
/// state from one folder is refused for another.
fn encode_state(folder: i64, cn: i64) -> String {
    format!("{folder:x}.{cn:x}")
}

fn decode_state(folder: i64, state: &str) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::new(
            MapiCode::SyncStateInvalid,
            "the sync state is not valid for this folder; start a full sync",
        )
    };
    let (f, cn) = state.split_once('.').ok_or_else(bad)?;
    let f = i64::from_str_radix(f, 16).map_err(|_| bad())?;
    let cn = i64::from_str_radix(cn, 16).map_err(|_| bad())?;
    if f != folder || cn < 0 {
        return Err(bad());
    }
    Ok(cn)
}

pub(super) async fn get_changes(ctx: &Ctx, req: GetChangesRequest) -> Result<GetChangesResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let folder = EntryId::folder(&req.folder)?;
    let store = ctx.store();
    require_folder(store, &s, folder, rights::READ_ANY, "read items").await?;
    let since = match req.sync_state.as_deref() {
        None | Some("") => 0,
        Some(st) => decode_state(folder, st)?,
    };
    let c = store.changes_since(folder, since).await?;
    if since > c.last {
        return Err(ApiError::new(
            MapiCode::SyncStateInvalid,
            "the sync state is ahead of the folder; start a full sync",
        ));
    }
    Ok(GetChangesResponse {
        created: c.created.into_iter().map(message_eid).collect(),
        changed: c.changed.into_iter().map(message_eid).collect(),
        deleted: c.deleted.into_iter().map(message_eid).collect(),
        sync_state: encode_state(folder, c.last),
    })
}

pub(super) async fn notify(ctx: &Ctx, req: NotifyRequest) -> Result<NotifyResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let wait = req.timeout_seconds.unwrap_or(0);
    if !(0..=MAX_WAIT).contains(&wait) {
        return Err(ApiError::invalid(format!(
            "timeoutSeconds {wait} must be between 0 and {MAX_WAIT}"
        )));
    }
    // A parked poll ends with its session: it must not keep one alive past
    // its absolute lifetime.
    let session_end = s
        .ends_at(ctx.state.session_lifetimes().absolute)
        .map(tokio::time::Instant::from_std);
    let asked = tokio::time::Instant::now() + Duration::from_secs(wait as u64);
    let deadline = session_end.map_or(asked, |end| end.min(asked));
    let mut stop = ctx.state.stop.subscribe();
    loop {
        let events = s.take_events();
        // A stopping server answers long-polls at once, so the drain is quick.
        if !events.is_empty() || tokio::time::Instant::now() >= deadline || *stop.borrow() {
            if events.is_empty() && session_end.is_some_and(|end| tokio::time::Instant::now() >= end) {
                return Err(ApiError::new(
                    MapiCode::EndOfSession,
                    "the session reached its session_max_lifetime; log on again",
                ));
            }
            return Ok(NotifyResponse { events });
        }
        // A wake between take_events and here is kept by Notify as a permit.
        tokio::select! {
            _ = tokio::time::timeout_at(deadline, s.wake.notified()) => {}
            _ = crate::server::stopped(&mut stop) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_states_are_bound_to_their_folder() {
        let st = encode_state(7, 42);
        assert_eq!(decode_state(7, &st).unwrap(), 42);
        assert_eq!(decode_state(8, &st).unwrap_err().code, MapiCode::SyncStateInvalid);
        assert!(decode_state(7, "garbage").is_err());
    }
}
