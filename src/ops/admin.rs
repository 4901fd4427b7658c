//! Administration operations, used by okapi-admin over the local socket.
//!
//! A caller on the local socket whose peer credentials are root or the
//! server's own user is trusted without a session; anyone else needs the
//! session of a user with the admin flag.

use crate::api::types::*;
use crate::entryid::EntryId;
use crate::error::ApiError;
use crate::ops::Ctx;
use crate::ops::access::{own_or_admin, require_admin};
use crate::ops::logon::password_error;
use crate::ops::quota::user_hard_limit;
use crate::store::{HardQuota, NewUser, UserRow, UserUpdate};

async fn user(ctx: &Ctx, login: &str) -> Result<UserRow, ApiError> {
    ctx.store()
        .user_by_login(login)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no user {login:?}")))
}

/// Hashes a new password on the password threads (see [`crate::auth`]).
pub(super) async fn hash(ctx: &Ctx, password: &str) -> Result<String, ApiError> {
    if password.is_empty() {
        return Err(ApiError::invalid("the password must not be empty"));
    }
    ctx.state.passwords.hash(password).await.map_err(password_error)
}

fn check_login(login: &str) -> Result<(), ApiError> {
    let ok = !login.is_empty()
        && login.len() <= 64
        && login.chars().all(|c| c.is_ascii_alphanumeric() || "._-@+".contains(c))
        && !login.eq_ignore_ascii_case("public")
        && !login.eq_ignore_ascii_case("default");
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "login {login:?} must be 1 to 64 letters, digits or . _ - @ +, and not 'public' or 'default'"
        )))
    }
}

pub(super) async fn user_add(ctx: &Ctx, req: UserAddRequest) -> Result<Empty, ApiError> {
    require_admin(ctx, &req.session)?;
    check_login(&req.login)?;
    if req.address.trim().is_empty() {
        return Err(ApiError::invalid("a user needs a primary e-mail address"));
    }
    let nu = NewUser {
        login: req.login.clone(),
        display_name: req
            .display_name
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| req.login.clone()),
        password_hash: hash(ctx, &req.password).await?,
        address: req.address.clone(),
        aliases: req.aliases.clone(),
        is_admin: req.admin.unwrap_or(false),
    };
    ctx.store().create_user(&nu).await?;
    tracing::info!(okapi_user = %req.login, "user created");
    Ok(Empty {})
}

pub(super) async fn user_del(ctx: &Ctx, req: NameRequest) -> Result<Empty, ApiError> {
    require_admin(ctx, &req.session)?;
    let u = user(ctx, &req.name).await?;
    ctx.state.sessions.close_user(u.id);
    ctx.store().delete_user(u.id).await?;
    tracing::info!(okapi_user = %u.login, "user deleted");
    Ok(Empty {})
}

/// Ends every session of a user at once (a stolen device, a suspected
/// break-in); a `notify` poll already parked gets no further events.
pub(super) async fn user_logoff(ctx: &Ctx, req: NameRequest) -> Result<UserLogoffResponse, ApiError> {
    require_admin(ctx, &req.session)?;
    let u = user(ctx, &req.name).await?;
    let ended = ctx.state.sessions.close_user(u.id);
    tracing::info!(okapi_user = %u.login, sessions = ended, okapi_remote = %ctx.peer, "user logged off by an administrator");
    Ok(UserLogoffResponse {
        sessions: i64::try_from(ended).unwrap_or(i64::MAX),
    })
}

async fn user_info(ctx: &Ctx, u: UserRow) -> Result<UserInfo, ApiError> {
    let store = ctx.store().store_of_user(u.id).await?;
    Ok(UserInfo {
        groups: ctx.store().group_names_of_user(u.id).await?,
        login: u.login,
        display_name: u.display_name,
        address: u.address,
        aliases: u.aliases,
        admin: u.is_admin,
        quota_warn: u.quota_warn,
        quota_soft: u.quota_soft,
        quota_hard: u.quota_hard,
        store_size: store.size_bytes,
    })
}

pub(super) async fn user_list(ctx: &Ctx, req: AdminRequest) -> Result<UserListResponse, ApiError> {
    require_admin(ctx, &req.session)?;
    let mut users = Vec::new();
    for u in ctx.store().list_users().await? {
        users.push(user_info(ctx, u).await?);
    }
    Ok(UserListResponse { users })
}

pub(super) async fn user_show(ctx: &Ctx, req: NameRequest) -> Result<UserShowResponse, ApiError> {
    require_admin(ctx, &req.session)?;
    let u = user(ctx, &req.name).await?;
    Ok(UserShowResponse {
        user: user_info(ctx, u).await?,
    })
}

pub(super) async fn user_set(ctx: &Ctx, req: UserSetRequest) -> Result<Empty, ApiError> {
    require_admin(ctx, &req.session)?;
    let u = user(ctx, &req.login).await?;
    let password_hash = match &req.password {
        Some(p) => Some(hash(ctx, p).await?),
        None => None,
    };
    let changed_password = password_hash.is_some();
    let up = UserUpdate {
        display_name: req.display_name.clone(),
        password_hash,
        address: req.address.clone(),
        aliases: req.aliases.clone(),
        is_admin: req.admin,
        ..UserUpdate::default()
    };
    ctx.store().update_user(u.id, &up).await?;
    if changed_password || req.admin.is_some() {
        ctx.state.sessions.close_user(u.id);
    }
    Ok(Empty {})
}

pub(super) async fn group_add(ctx: &Ctx, req: NameRequest) -> Result<Empty, ApiError> {
    require_admin(ctx, &req.session)?;
    check_login(&req.name)?;
    ctx.store().create_group(&req.name).await?;
    Ok(Empty {})
}

async fn group(ctx: &Ctx, name: &str) -> Result<crate::store::GroupRow, ApiError> {
    ctx.store()
        .group_by_name(name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no group {name:?}")))
}

pub(super) async fn group_del(ctx: &Ctx, req: NameRequest) -> Result<Empty, ApiError> {
    require_admin(ctx, &req.session)?;
    let g = group(ctx, &req.name).await?;
    ctx.store().delete_group(g.id).await?;
    Ok(Empty {})
}

pub(super) async fn group_list(ctx: &Ctx, req: AdminRequest) -> Result<GroupListResponse, ApiError> {
    require_admin(ctx, &req.session)?;
    let groups = ctx.store().list_groups().await?;
    Ok(GroupListResponse {
        groups: groups
            .into_iter()
            .map(|g| GroupInfo {
                name: g.name,
                members: g.members,
            })
            .collect(),
    })
}

async fn set_member(ctx: &Ctx, req: GroupMemberRequest, member: bool) -> Result<Empty, ApiError> {
    require_admin(ctx, &req.session)?;
    let g = group(ctx, &req.group).await?;
    let u = user(ctx, &req.user).await?;
    ctx.store().set_group_member(g.id, u.id, member).await?;
    // Group rights are read at logon: make the user log on again.
    ctx.state.sessions.close_user(u.id);
    Ok(Empty {})
}

pub(super) async fn group_add_user(ctx: &Ctx, req: GroupMemberRequest) -> Result<Empty, ApiError> {
    set_member(ctx, req, true).await
}

pub(super) async fn group_del_user(ctx: &Ctx, req: GroupMemberRequest) -> Result<Empty, ApiError> {
    set_member(ctx, req, false).await
}

pub(super) async fn quota_set(ctx: &Ctx, req: QuotaSetRequest) -> Result<Empty, ApiError> {
    require_admin(ctx, &req.session)?;
    let u = user(ctx, &req.login).await?;
    let conv = |v: Option<i64>| v.map(|x| if x < 0 { None } else { Some(x) });
    let up = UserUpdate {
        quota_warn: conv(req.warn),
        quota_soft: conv(req.soft),
        quota_hard: conv(req.hard),
        ..UserUpdate::default()
    };
    let (w, s, h) = (
        up.quota_warn.flatten().or(u.quota_warn),
        up.quota_soft.flatten().or(u.quota_soft),
        up.quota_hard.flatten().or(u.quota_hard),
    );
    let nonzero: Vec<i64> = [w, s, h].into_iter().flatten().filter(|v| *v > 0).collect();
    if nonzero.windows(2).any(|p| p[0] > p[1]) {
        return Err(ApiError::invalid("quota limits must grow: warn <= soft <= hard"));
    }
    ctx.store().update_user(u.id, &up).await?;
    Ok(Empty {})
}

/// The effective quota of a user: per-user values over the server defaults.
pub(crate) async fn quota_info(ctx: &Ctx, u: &UserRow) -> Result<QuotaInfo, ApiError> {
    let cfg = ctx.state.config();
    let used = ctx.store().store_of_user(u.id).await?.size_bytes;
    let warn = u.quota_warn.unwrap_or(cfg.quota_warn as i64);
    let soft = u.quota_soft.unwrap_or(cfg.quota_soft as i64);
    let hard = user_hard_limit(&cfg, u.quota_hard);
    let over = |limit: i64| HardQuota::new(limit).is_full(used);
    let state = if over(hard) {
        "hard"
    } else if over(soft) {
        "soft"
    } else if over(warn) {
        "warn"
    } else {
        "ok"
    };
    Ok(QuotaInfo {
        login: u.login.clone(),
        warn,
        soft,
        hard,
        used,
        state: state.into(),
    })
}

pub(super) async fn quota_show(ctx: &Ctx, req: NameRequest) -> Result<QuotaInfo, ApiError> {
    // Users may see their own quota; everything else is for administrators.
    let u = own_or_admin(ctx, &req.session, &req.name).await?;
    quota_info(ctx, &u).await
}

pub(super) async fn store_list(ctx: &Ctx, req: AdminRequest) -> Result<StoreListResponse, ApiError> {
    require_admin(ctx, &req.session)?;
    let mut stores = Vec::new();
    for st in ctx.store().list_stores().await? {
        let owner = match st.owner_id {
            Some(id) => ctx.store().user_by_id(id).await?.login,
            None => String::new(),
        };
        stores.push(StoreInfo {
            store_id: EntryId::Store(st.id).encode(),
            kind: st.kind,
            owner,
            messages: st.message_count,
            size: st.size_bytes,
        });
    }
    Ok(StoreListResponse { stores })
}
