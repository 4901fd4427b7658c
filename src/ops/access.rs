//! Access control for every operation: what a session may do with a folder
//! or message.
//!
//! A user has every right in their own store; an administrator in every
//! store; anyone else has what the folder's permission entries grant to the
//! user, the user's groups, or `default`. Operations ask for the right they
//! need and get `MAPI_E_NO_ACCESS` with a sentence when it is missing.

use crate::error::{ApiError, MapiCode};
use crate::ops::session::Session;
use crate::ops::{Ctx, Peer};
use crate::store::{FolderRow, Store, UserRow, rights};

/// The rights a session has on a folder.
pub async fn folder_rights(store: &Store, s: &Session, folder: &FolderRow) -> Result<i64, ApiError> {
    if s.is_admin || folder.owner_id == Some(s.user_id) {
        return Ok(rights::ALL);
    }
    Ok(store.rights_of(folder.id, s.user_id, &s.groups).await?)
}

/// Loads a folder and checks that the session holds `need` on it.
pub async fn require_folder(
    store: &Store,
    s: &Session,
    folder: i64,
    need: i64,
    what: &str,
) -> Result<(FolderRow, i64), ApiError> {
    let f = store.folder(folder).await?;
    let r = folder_rights(store, s, &f).await?;
    if r & need != need {
        return Err(denied(&f, what));
    }
    Ok((f, r))
}

/// The error for a missing right.
pub fn denied(f: &FolderRow, what: &str) -> ApiError {
    ApiError::no_access(format!(
        "you have no permission to {what} in folder {:?}; its owner can grant it with setPermissions",
        f.name
    ))
}

/// True if rights allow editing (own = the session created the item).
pub fn may_edit(r: i64, own: bool) -> bool {
    r & rights::EDIT_ANY != 0 || (own && r & rights::EDIT_OWNED != 0)
}

/// True if rights allow deleting.
pub fn may_delete(r: i64, own: bool) -> bool {
    r & rights::DELETE_ANY != 0 || (own && r & rights::DELETE_OWNED != 0)
}

/// True if the folder is visible in the hierarchy with these rights.
pub fn visible(r: i64) -> bool {
    r & (rights::FOLDER_VISIBLE | rights::READ_ANY | rights::FOLDER_OWNER) != 0
}

/// Administration: a trusted caller on the local socket (root or the
/// server's user), or the session of a user with the admin flag.
pub fn require_admin(ctx: &Ctx, session: &Option<String>) -> Result<(), ApiError> {
    if let Peer::Local { trusted: true, .. } = ctx.peer {
        return Ok(());
    }
    match session {
        Some(id) if ctx.session(id)?.is_admin => Ok(()),
        Some(_) => Err(ApiError::no_access(
            "this needs an administrator; ask one to set the admin flag on your user",
        )),
        None => Err(ApiError::new(
            MapiCode::EndOfSession,
            "administration needs an admin session, or root on the local socket (run okapi-admin as root or as the okapi user)",
        )),
    }
}

/// The user `login` names, for an operation users may do for themselves and
/// administrators for anyone. The caller's rights decide before the name
/// does: without a session, or with the session of someone else, the answer
/// is the same whether the name exists or not, so it tells nobody which
/// names are real.
pub async fn own_or_admin(ctx: &Ctx, session: &Option<String>, login: &str) -> Result<UserRow, ApiError> {
    let trusted = matches!(ctx.peer, Peer::Local { trusted: true, .. });
    let caller = match session {
        Some(id) => Some(ctx.session(id)?),
        None if trusted => None,
        None => {
            return Err(ApiError::new(
                MapiCode::EndOfSession,
                "this needs a session; log on first",
            ));
        }
    };
    let user = ctx.store().user_by_login(login).await?;
    match (caller, user) {
        (Some(s), Some(u)) if s.is_admin || s.user_id == u.id => Ok(u),
        (None, Some(u)) => Ok(u),
        (Some(s), None) if s.is_admin => Err(ApiError::not_found(format!("there is no user {login:?}"))),
        (None, None) => Err(ApiError::not_found(format!("there is no user {login:?}"))),
        (Some(_), _) => Err(ApiError::no_access(
            "you may do this for your own account only; an administrator can do it for others",
        )),
    }
}
