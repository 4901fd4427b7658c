//! `logon`, `logoff` and `getStore`.

use crate::api::types::*;
use crate::auth::{PoolError, UNKNOWN_USER_HASH};
use crate::entryid::{EntryId, folder_eid};
use crate::error::{ApiError, MapiCode};
use crate::ops::{Ctx, throttle};
use crate::store::Role;

/// Logs on. A throttled account or address is refused before anything is
/// looked up; an unknown name costs one argon2 check like a known one (against
/// [`UNKNOWN_USER_HASH`]) and gets the same answer, so neither the answer nor
/// its time tells which names exist.
pub(super) async fn logon(ctx: &Ctx, req: LogonRequest) -> Result<LogonResponse, ApiError> {
    let subjects = throttle::Subjects::new(&req.user, ctx.peer.client_ip());
    throttle::check(ctx, &subjects).await?;
    let user = ctx.store().user_by_login(req.user.trim()).await?;
    let hash = user.as_ref().map_or(UNKNOWN_USER_HASH, |u| u.password_hash.as_str());
    let matches = password_matches(ctx, &req.password, hash).await?;
    let Some(user) = user.filter(|_| matches) else {
        tracing::info!(okapi_user = %req.user, okapi_remote = %ctx.peer, "logon failed");
        throttle::failed(ctx, &subjects).await?;
        return Err(ApiError::new(MapiCode::LogonFailed, "wrong user name or password"));
    };
    throttle::succeeded(ctx, &subjects).await?;
    let groups = ctx.store().groups_of_user(user.id).await?;
    let s = ctx.state.sessions.open(user.id, &user.login, user.is_admin, groups);
    tracing::info!(okapi_user = %user.login, okapi_session = %s.log_id(), okapi_remote = %ctx.peer, "logon");
    Ok(LogonResponse {
        session: s.id.clone(),
        display_name: user.display_name,
        session_timeout: ctx.state.session_timeout().as_secs() as i64,
    })
}

/// Checks a password against its stored hash on the password threads
/// (argon2 takes tens of milliseconds of CPU and 19 MiB of memory; see
/// [`crate::auth`]). When they are all busy and their queue is full, the
/// caller gets `MAPI_E_BUSY` at once and may try again.
pub(super) async fn password_matches(ctx: &Ctx, password: &str, hash: &str) -> Result<bool, ApiError> {
    ctx.state.passwords.verify(password, hash).await.map_err(password_error)
}

/// The API error for a password pool failure.
pub(super) fn password_error(e: PoolError) -> ApiError {
    match e {
        PoolError::Busy => ApiError::new(
            MapiCode::Busy,
            "the server is checking too many passwords at once; try again in a moment",
        )
        .retry_after(1),
        e => ApiError::new(MapiCode::CallFailed, e.to_string()),
    }
}

pub(super) async fn logoff(ctx: &Ctx, req: SessionRequest) -> Result<Empty, ApiError> {
    let s = ctx.session(&req.session)?;
    ctx.state.sessions.close(&req.session);
    tracing::info!(okapi_user = %s.login, okapi_session = %s.log_id(), okapi_remote = %ctx.peer, "logoff");
    Ok(Empty {})
}

pub(super) async fn get_store(ctx: &Ctx, req: GetStoreRequest) -> Result<GetStoreResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let store = ctx.store();
    let public = store.public_store().await?;
    let target = match req.user.as_deref() {
        None | Some("") => store.store_of_user(s.user_id).await?,
        Some(u) if u.eq_ignore_ascii_case("public") => public.clone(),
        Some(u) => {
            let other = store
                .user_by_login(u)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("there is no user {u:?}")))?;
            let st = store.store_of_user(other.id).await?;
            if other.id != s.user_id
                && !s.is_admin
                && !store.has_any_rights_in_store(st.id, s.user_id, &s.groups).await?
            {
                return Err(ApiError::no_access(format!(
                    "{u} has not shared any folder with you; ask them to grant permissions"
                )));
            }
            st
        }
    };
    let mut resp = GetStoreResponse {
        store_id: EntryId::Store(target.id).encode(),
        root: folder_eid(target.root_folder_id),
        public_root: folder_eid(public.root_folder_id),
        ..GetStoreResponse::default()
    };
    if target.kind == "private" {
        for role in Role::STANDARD {
            let id = folder_eid(store.folder_by_role(target.id, role).await?.id);
            let slot = match role {
                Role::Inbox => &mut resp.inbox,
                Role::Outbox => &mut resp.outbox,
                Role::SentItems => &mut resp.sent_items,
                Role::DeletedItems => &mut resp.deleted_items,
                Role::Drafts => &mut resp.drafts,
                Role::Junk => &mut resp.junk,
                Role::Calendar => &mut resp.calendar,
                Role::Contacts => &mut resp.contacts,
                Role::Tasks => &mut resp.tasks,
                Role::Notes => &mut resp.notes,
                Role::Root => continue,
            };
            *slot = id;
        }
    }
    Ok(resp)
}
