//! What users do to their own account: `changePassword`.
//!
//! Administrators change anyone's account through `userSet`; this is the
//! self-service path the web app's settings page uses, so it asks for the
//! current password and keeps the caller's own session open.

use crate::api::types::*;
use crate::error::{ApiError, MapiCode};
use crate::ops::Ctx;
use crate::ops::admin::hash;
use crate::ops::logon::password_matches;
use crate::store::UserUpdate;

pub(super) async fn change_password(ctx: &Ctx, req: ChangePasswordRequest) -> Result<Empty, ApiError> {
    let s = ctx.session(&req.session)?;
    let user = ctx.store().user_by_id(s.user_id).await?;
    if !password_matches(ctx, &req.old_password, &user.password_hash).await? {
        tracing::info!(okapi_user = %s.login, okapi_remote = %ctx.peer, "password change refused: wrong current password");
        return Err(ApiError::new(
            MapiCode::LogonFailed,
            "the current password is not right; the password was not changed",
        ));
    }
    let update = UserUpdate {
        password_hash: Some(hash(ctx, &req.new_password).await?),
        ..UserUpdate::default()
    };
    ctx.store().update_user(s.user_id, &update).await?;
    // Whoever else holds a session of this user logged on with the old
    // password; they must log on again. The caller stays logged on.
    ctx.state.sessions.close_user_except(s.user_id, &s.id);
    tracing::info!(okapi_user = %s.login, okapi_remote = %ctx.peer, "password changed");
    Ok(Empty {})
}
