//! Mail-flow operations: `submitMessage` (hand a message to the spooler),
//! out-of-office state, and send-as grants.

use crate::api::types::*;
use crate::entryid::EntryId;
use crate::error::{ApiError, MapiCode};
use crate::ops::access::{own_or_admin, require_admin};
use crate::ops::admin::quota_info;
use crate::ops::{Ctx, Peer};
use crate::props::{PR_INTERNET_MESSAGE_ID, PR_SENT_REPRESENTING_EMAIL_ADDRESS, PropValue, format_time, parse_time};
use crate::store::{HardQuota, MessageData, OofSettings, Role, UserRow};

/// The addresses a user may put in From: their own and those granted.
pub(crate) async fn allowed_senders(ctx: &Ctx, user: &UserRow) -> Result<Vec<String>, ApiError> {
    let mut all = vec![user.address.to_lowercase()];
    all.extend(user.aliases.iter().map(|a| a.to_lowercase()));
    all.extend(ctx.store().send_as_of(user.id).await?);
    Ok(all)
}

pub(super) async fn submit_message(ctx: &Ctx, req: SubmitMessageRequest) -> Result<Empty, ApiError> {
    let s = ctx.session(&req.session)?;
    let id = EntryId::message(&req.entry_id)?;
    let store = ctx.store();
    let (store_id, folder, _) = store.message_location(id).await?;
    let own = store.store_of_user(s.user_id).await?;
    if store_id != own.id {
        return Err(ApiError::no_access(
            "only messages in your own store can be sent; copy it to your Drafts first",
        ));
    }
    let user = store.user_by_id(s.user_id).await?;
    let quota = quota_info(ctx, &user).await?;
    if quota.state == "soft" || quota.state == "hard" {
        return Err(ApiError::new(
            MapiCode::QuotaExceeded,
            format!(
                "your mailbox is over its quota ({} of {} bytes); delete or archive mail before sending",
                quota.used,
                if quota.soft > 0 { quota.soft } else { quota.hard }
            ),
        ));
    }
    let m = store.load_message(id).await?;
    let recipients = crate::spooler::envelope_recipients(&m);
    if recipients.is_empty() {
        return Err(ApiError::invalid("the message has no recipient with a valid address"));
    }
    let from = match m
        .props
        .get(&PR_SENT_REPRESENTING_EMAIL_ADDRESS)
        .and_then(|v| v.as_str())
    {
        Some(a) if !a.trim().is_empty() => a.trim().to_lowercase(),
        _ => user.address.to_lowercase(),
    };
    if !allowed_senders(ctx, &user).await?.contains(&from) {
        return Err(ApiError::no_access(format!(
            "you may not send as {from}; an administrator can allow it with: okapi-admin sendas grant {} {from}",
            user.login
        )));
    }
    if store.is_queued(id).await? {
        return Err(ApiError::new(
            MapiCode::Collision,
            "this message was already submitted and is waiting to be sent",
        ));
    }
    let message_id = match m.props.get(&PR_INTERNET_MESSAGE_ID).and_then(|v| v.as_str()) {
        Some(existing) if !existing.is_empty() => existing.to_string(),
        _ => {
            // Fixed before the first attempt, so a retry after a crash carries the same id.
            let host = crate::spooler::mail_name(&ctx.state.config());
            let fresh = crate::spooler::mime_out::new_message_id(&host);
            let mut data = MessageData::default();
            data.props.insert(PR_INTERNET_MESSAGE_ID, PropValue::Str(fresh.clone()));
            // A Message-ID of a few bytes; the quota was checked above.
            store.update_message(id, &data, HardQuota::NONE).await?;
            fresh
        }
    };
    let outbox = store.folder_by_role(own.id, Role::Outbox).await?;
    if folder != outbox.id {
        // The Outbox is in the sender's own store: the move changes no size.
        store.move_messages(&[id], outbox.id, HardQuota::NONE).await?;
    }
    store.enqueue(id, s.user_id, &from, &recipients).await?;
    ctx.state.spooler_wake.notify_one();
    tracing::info!(okapi_user = %user.login, okapi_session = %s.log_id(), okapi_message_id = %message_id, recipients = recipients.len(), "message submitted");
    Ok(Empty {})
}

/// The user an out-of-office or send-as request is about, with access checked:
/// one's own, or anyone's for administrators and trusted local callers.
async fn subject_user(ctx: &Ctx, session: &Option<String>, user: &Option<String>) -> Result<UserRow, ApiError> {
    let login = match user {
        Some(u) if !u.is_empty() => u.clone(),
        _ => match (session, &ctx.peer) {
            (Some(sid), _) => ctx.session(sid)?.login.clone(),
            (None, Peer::Local { trusted: true, .. }) => {
                return Err(ApiError::invalid("name the user whose out-of-office state you mean"));
            }
            (None, _) => {
                return Err(ApiError::new(
                    MapiCode::EndOfSession,
                    "this needs a session; log on first",
                ));
            }
        },
    };
    own_or_admin(ctx, session, &login).await
}

fn time_opt(t: &Option<String>, field: &str) -> Result<Option<i64>, ApiError> {
    match t.as_deref() {
        None | Some("") => Ok(None),
        Some(text) => parse_time(text).map(Some).ok_or_else(|| {
            ApiError::invalid(format!(
                "{field} {text:?} is not an RFC 3339 time like 2025-07-01T00:00:00Z"
            ))
        }),
    }
}

pub(super) async fn get_out_of_office(ctx: &Ctx, req: GetOutOfOfficeRequest) -> Result<OutOfOffice, ApiError> {
    let u = subject_user(ctx, &req.session, &req.user).await?;
    let o = ctx.store().oof_settings(u.id).await?;
    Ok(OutOfOffice {
        enabled: o.enabled,
        subject: o.subject,
        body: o.body,
        start: o.starts_at.map(format_time),
        end: o.ends_at.map(format_time),
    })
}

pub(super) async fn set_out_of_office(ctx: &Ctx, req: SetOutOfOfficeRequest) -> Result<Empty, ApiError> {
    let u = subject_user(ctx, &req.session, &req.user).await?;
    let o = &req.settings;
    let settings = OofSettings {
        enabled: o.enabled,
        subject: o.subject.clone(),
        body: o.body.clone(),
        starts_at: time_opt(&o.start, "start")?,
        ends_at: time_opt(&o.end, "end")?,
    };
    if let (Some(a), Some(b)) = (settings.starts_at, settings.ends_at)
        && b <= a
    {
        return Err(ApiError::invalid("the out-of-office end must be after its start"));
    }
    ctx.store().set_oof_settings(u.id, &settings).await?;
    tracing::info!(okapi_user = %u.login, enabled = o.enabled, "out-of-office changed");
    Ok(Empty {})
}

async fn set_send_as(ctx: &Ctx, req: SendAsRequest, grant: bool) -> Result<Empty, ApiError> {
    require_admin(ctx, &req.session)?;
    let u = ctx
        .store()
        .user_by_login(&req.login)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no user {:?}", req.login)))?;
    ctx.store().set_send_as(u.id, &req.address, grant).await?;
    Ok(Empty {})
}

pub(super) async fn send_as_grant(ctx: &Ctx, req: SendAsRequest) -> Result<Empty, ApiError> {
    set_send_as(ctx, req, true).await
}

pub(super) async fn send_as_revoke(ctx: &Ctx, req: SendAsRequest) -> Result<Empty, ApiError> {
    set_send_as(ctx, req, false).await
}

pub(super) async fn send_as_list(ctx: &Ctx, req: NameRequest) -> Result<SendAsListResponse, ApiError> {
    let u = subject_user(ctx, &req.session, &Some(req.name.clone())).await?;
    Ok(SendAsListResponse {
        addresses: ctx.store().send_as_of(u.id).await?,
    })
}
