//! Message operations: load, save, attachments, delete, move, copy, read flags.

use crate::api::schema::{Bytes, Props};
use crate::api::types::*;
use crate::entryid::{EntryId, folder_eid, message_eid};
use crate::error::ApiError;
use crate::ops::Ctx;
use crate::ops::access::{denied, folder_rights, may_delete, may_edit, require_folder};
use crate::ops::notify::{EventKind, publish};
use crate::ops::quota::hard_quota_of_store;
use crate::ops::session::Session;
use crate::props::PropTag;
use crate::store::{FolderRow, HardQuota, MessageData, NewAttachmentData, RecipientRow, Role, Store, rights};

/// Resolves a message id to its folder, the session's rights there, and
/// whether the session created it.
async fn locate(store: &Store, s: &Session, id: i64) -> Result<(FolderRow, i64, bool), ApiError> {
    let (_, folder, owner) = store.message_location(id).await?;
    let f = store.folder(folder).await?;
    let r = folder_rights(store, s, &f).await?;
    Ok((f, r, owner == Some(s.user_id)))
}

pub(super) async fn load_object(ctx: &Ctx, req: LoadObjectRequest) -> Result<LoadObjectResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let id = EntryId::message(&req.entry_id)?;
    let store = ctx.store();
    let (f, r, _) = locate(store, &s, id).await?;
    if r & rights::READ_ANY == 0 {
        return Err(denied(&f, "read items"));
    }
    let m = store.load_message(id).await?;
    Ok(LoadObjectResponse {
        entry_id: message_eid(id),
        folder: folder_eid(m.folder_id),
        props: Props(m.props),
        recipients: m
            .recipients
            .into_iter()
            .map(|r| Recipient {
                recipient_type: r.recipient_type,
                display_name: r.display_name,
                address: r.address,
                props: (!r.props.is_empty()).then_some(Props(r.props)),
            })
            .collect(),
        attachments: m
            .attachments
            .into_iter()
            .map(|a| AttachmentInfo {
                attach_num: a.attach_num,
                filename: a.filename,
                mime_type: a.mime_type,
                size: a.size,
                content_id: a.content_id,
                inline: a.inline,
            })
            .collect(),
    })
}

fn message_data(req: &SaveObjectRequest) -> Result<MessageData, ApiError> {
    let mut delete_props = Vec::new();
    for t in &req.delete_props {
        delete_props.push(
            PropTag::parse(t).ok_or_else(|| ApiError::invalid(format!("deleteProps: {t:?} is not a property tag")))?,
        );
    }
    let recipients = match &req.recipients {
        None => None,
        Some(list) => {
            let mut out = Vec::with_capacity(list.len());
            for r in list {
                if !(1..=3).contains(&r.recipient_type) {
                    return Err(ApiError::invalid(format!(
                        "recipientType {} for {:?} must be 1 (To), 2 (Cc) or 3 (Bcc)",
                        r.recipient_type, r.address
                    )));
                }
                out.push(RecipientRow {
                    recipient_type: r.recipient_type,
                    display_name: r.display_name.clone(),
                    address: r.address.clone(),
                    props: r.props.clone().map(|p| p.0).unwrap_or_default(),
                });
            }
            Some(out)
        }
    };
    Ok(MessageData {
        props: req.props.0.clone(),
        delete_props,
        recipients,
        new_attachments: req
            .attachments
            .iter()
            .map(|a| NewAttachmentData {
                filename: a.filename.clone(),
                mime_type: a.mime_type.clone().unwrap_or_default(),
                content_id: a.content_id.clone().unwrap_or_default(),
                inline: a.inline.unwrap_or(false),
                data: a.data.0.clone(),
                props: Default::default(),
            })
            .collect(),
        delete_attachments: req.delete_attachments.clone(),
        raw: None,
    })
}

pub(super) async fn save_object(ctx: &Ctx, req: SaveObjectRequest) -> Result<EntryIdResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let store = ctx.store();
    let data = message_data(&req)?;
    match (&req.entry_id, &req.folder) {
        (Some(eid), _) if !eid.is_empty() => {
            let id = EntryId::message(eid)?;
            let (f, r, own) = locate(store, &s, id).await?;
            if !may_edit(r, own) {
                return Err(denied(&f, "change items"));
            }
            let quota = hard_quota_of_store(&ctx.state, f.store_id).await?;
            store.update_message(id, &data, quota).await?;
            publish(&ctx.state, EventKind::ObjectModified, &f, Some(id), None).await;
            Ok(EntryIdResponse {
                entry_id: message_eid(id),
            })
        }
        (_, Some(folder)) if !folder.is_empty() => {
            let folder = EntryId::folder(folder)?;
            let (f, _) = require_folder(store, &s, folder, rights::CREATE, "create items").await?;
            if !data.delete_attachments.is_empty() {
                return Err(ApiError::invalid("deleteAttachments makes no sense for a new message"));
            }
            let quota = hard_quota_of_store(&ctx.state, f.store_id).await?;
            let id = store.create_message(folder, Some(s.user_id), &data, quota).await?;
            publish(&ctx.state, EventKind::ObjectCreated, &f, Some(id), None).await;
            Ok(EntryIdResponse {
                entry_id: message_eid(id),
            })
        }
        _ => Err(ApiError::invalid(
            "saveObject needs a folder (to create) or an entryId (to update)",
        )),
    }
}

pub(super) async fn get_attachment(ctx: &Ctx, req: GetAttachmentRequest) -> Result<GetAttachmentResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let id = EntryId::message(&req.entry_id)?;
    let store = ctx.store();
    let (f, r, _) = locate(store, &s, id).await?;
    if r & rights::READ_ANY == 0 {
        return Err(denied(&f, "read items"));
    }
    let (att, data) = store.attachment_data(id, req.attach_num).await?;
    Ok(GetAttachmentResponse {
        filename: att.filename,
        mime_type: att.mime_type,
        size: att.size,
        data: Bytes(data),
    })
}

/// Checks read access to a message's attachment for the streaming download path.
pub(crate) async fn attachment_for_download(
    ctx: &Ctx,
    session: &str,
    entry_id: &str,
    num: i32,
) -> Result<crate::store::AttachmentRow, ApiError> {
    let id = readable_message(ctx, session, entry_id).await?;
    ctx.store()
        .attachments_of(id)
        .await?
        .into_iter()
        .find(|a| a.attach_num == num)
        .ok_or_else(|| ApiError::not_found(format!("the message has no attachment {num}")))
}

/// A whole message for the web app's body view, after the same read check
/// `loadObject` makes.
pub(crate) async fn message_for_display(
    ctx: &Ctx,
    session: &str,
    entry_id: &str,
) -> Result<crate::store::StoredMessage, ApiError> {
    let id = readable_message(ctx, session, entry_id).await?;
    Ok(ctx.store().load_message(id).await?)
}

/// The message an entry id names, once it is known that the session may read it.
async fn readable_message(ctx: &Ctx, session: &str, entry_id: &str) -> Result<i64, ApiError> {
    let s = ctx.session(session)?;
    let id = EntryId::message(entry_id)?;
    let (f, r, _) = locate(ctx.store(), &s, id).await?;
    if r & rights::READ_ANY == 0 {
        return Err(denied(&f, "read items"));
    }
    Ok(id)
}

fn parse_ids(ids: &[String]) -> Result<Vec<i64>, ApiError> {
    if ids.is_empty() {
        return Err(ApiError::invalid("entryIds is empty"));
    }
    ids.iter().map(|e| EntryId::message(e)).collect()
}

pub(super) async fn delete_objects(ctx: &Ctx, req: DeleteObjectsRequest) -> Result<Empty, ApiError> {
    let s = ctx.session(&req.session)?;
    let store = ctx.store();
    let ids = parse_ids(&req.entry_ids)?;
    let mut located = Vec::new();
    for id in &ids {
        let (f, r, own) = locate(store, &s, *id).await?;
        if !may_delete(r, own) {
            return Err(denied(&f, "delete items"));
        }
        located.push((*id, f));
    }
    for (id, f) in located {
        let deleted_items = match f.owner_id {
            Some(_) if !req.hard.unwrap_or(false) => {
                let d = store.folder_by_role(f.store_id, Role::DeletedItems).await?;
                (d.id != f.id).then_some(d)
            }
            _ => None,
        };
        match deleted_items {
            Some(d) => {
                // Deleted Items is in the same store: the move changes no size.
                store.move_messages(&[id], d.id, HardQuota::NONE).await?;
                publish(&ctx.state, EventKind::ObjectMoved, &d, Some(id), Some(f.id)).await;
            }
            None => {
                store.delete_messages(&[id]).await?;
            }
        }
        publish(&ctx.state, EventKind::ObjectDeleted, &f, Some(id), None).await;
    }
    Ok(Empty {})
}

pub(super) async fn move_objects(ctx: &Ctx, req: MoveObjectsRequest) -> Result<EntryIdsResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let store = ctx.store();
    let ids = parse_ids(&req.entry_ids)?;
    let dest = EntryId::folder(&req.dest_folder)?;
    let (d, _) = require_folder(store, &s, dest, rights::CREATE, "create items").await?;
    let mut sources = Vec::new();
    for id in &ids {
        let (f, r, own) = locate(store, &s, *id).await?;
        if !may_delete(r, own) {
            return Err(denied(&f, "move items away (that needs delete permission)"));
        }
        sources.push(f);
    }
    let quota = hard_quota_of_store(&ctx.state, d.store_id).await?;
    store.move_messages(&ids, dest, quota).await?;
    for (id, f) in ids.iter().zip(sources) {
        publish(&ctx.state, EventKind::ObjectMoved, &d, Some(*id), Some(f.id)).await;
        publish(&ctx.state, EventKind::ObjectDeleted, &f, Some(*id), None).await;
    }
    Ok(EntryIdsResponse {
        entry_ids: ids.into_iter().map(message_eid).collect(),
    })
}

pub(super) async fn copy_objects(ctx: &Ctx, req: MoveObjectsRequest) -> Result<EntryIdsResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let store = ctx.store();
    let ids = parse_ids(&req.entry_ids)?;
    let dest = EntryId::folder(&req.dest_folder)?;
    let (d, _) = require_folder(store, &s, dest, rights::CREATE, "create items").await?;
    for id in &ids {
        let (f, r, _) = locate(store, &s, *id).await?;
        if r & rights::READ_ANY == 0 {
            return Err(denied(&f, "read items"));
        }
    }
    let quota = hard_quota_of_store(&ctx.state, d.store_id).await?;
    let new_ids = store.copy_messages(&ids, dest, Some(s.user_id), quota).await?;
    for id in &new_ids {
        publish(&ctx.state, EventKind::ObjectCreated, &d, Some(*id), None).await;
    }
    Ok(EntryIdsResponse {
        entry_ids: new_ids.into_iter().map(message_eid).collect(),
    })
}

pub(super) async fn set_read_flags(ctx: &Ctx, req: SetReadFlagsRequest) -> Result<Empty, ApiError> {
    let s = ctx.session(&req.session)?;
    let store = ctx.store();
    let ids = parse_ids(&req.entry_ids)?;
    let mut folders = Vec::new();
    for id in &ids {
        let (f, r, _) = locate(store, &s, *id).await?;
        if r & rights::READ_ANY == 0 {
            return Err(denied(&f, "read items"));
        }
        folders.push(f);
    }
    store.set_read(&ids, req.read).await?;
    for (id, f) in ids.iter().zip(folders) {
        publish(&ctx.state, EventKind::ObjectModified, &f, Some(*id), None).await;
    }
    Ok(Empty {})
}

pub(super) async fn get_message_source(ctx: &Ctx, req: LoadObjectRequest) -> Result<MessageSourceResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let id = EntryId::message(&req.entry_id)?;
    let store = ctx.store();
    let (f, r, _) = locate(store, &s, id).await?;
    if r & rights::READ_ANY == 0 {
        return Err(denied(&f, "read items"));
    }
    let m = store.load_message(id).await?;
    let hash = m.raw_blob.ok_or_else(|| {
        ApiError::not_found("this message was created through the API and has no original MIME source")
    })?;
    Ok(MessageSourceResponse {
        data: Bytes(store.blob_get(&hash).await?),
    })
}
