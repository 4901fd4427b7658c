//! Folder operations: hierarchy, create, rename, move, delete, empty, and
//! folder permissions.

use crate::api::types::*;
use crate::entryid::{EntryId, folder_eid};
use crate::error::{ApiError, MapiCode};
use crate::ops::Ctx;
use crate::ops::access::{denied, folder_rights, require_folder, visible};
use crate::ops::notify::{EventKind, publish};
use crate::store::{AclEntry, FolderRow, HardQuota, MemberKind, Role, rights};

fn folder_row(f: &FolderRow, depth: i32) -> FolderRow2 {
    FolderRow2 {
        entry_id: folder_eid(f.id),
        parent_entry_id: f.parent_id.map(folder_eid).unwrap_or_default(),
        display_name: f.name.clone(),
        container_class: f.container_class.clone(),
        content_count: f.content_count,
        unread_count: f.unread_count,
        has_subfolders: f.subfolders > 0,
        depth,
    }
}

use crate::api::types::FolderRow as FolderRow2;

pub(super) async fn get_hierarchy(ctx: &Ctx, req: GetHierarchyRequest) -> Result<GetHierarchyResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let id = EntryId::folder(&req.folder)?;
    let store = ctx.store();
    let (top, r) = require_folder(store, &s, id, 0, "list subfolders").await?;
    if !visible(r) {
        return Err(denied(&top, "see subfolders"));
    }
    let depth = match req.depth {
        None => Some(1),
        Some(d) if d <= 0 => None,
        Some(d) => Some(d),
    };
    let mut folders = Vec::new();
    for (f, d) in store.descendant_folders(id, depth).await? {
        if visible(folder_rights(store, &s, &f).await?) {
            folders.push(folder_row(&f, d));
        }
    }
    Ok(GetHierarchyResponse { folders })
}

fn check_name(name: &str) -> Result<&str, ApiError> {
    let n = name.trim();
    if n.is_empty() || n.len() > 255 || n.chars().any(char::is_control) {
        return Err(ApiError::invalid("a folder name must be 1 to 255 printable characters"));
    }
    Ok(n)
}

pub(super) async fn create_folder(ctx: &Ctx, req: CreateFolderRequest) -> Result<EntryIdResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let parent = EntryId::folder(&req.parent)?;
    let store = ctx.store();
    let (parent_row, _) = require_folder(store, &s, parent, rights::CREATE_SUBFOLDER, "create subfolders").await?;
    let name = check_name(&req.name)?;
    let class = req
        .container_class
        .as_deref()
        .filter(|c| !c.is_empty())
        .unwrap_or("IPF.Note");
    let id = store.create_folder(parent, name, class).await?;
    if parent_row.owner_id != Some(s.user_id) {
        // Whoever creates a folder in someone else's store (or the public
        // store) owns that folder.
        store
            .set_acl(
                id,
                &AclEntry {
                    kind: MemberKind::User,
                    member_id: s.user_id,
                    rights: rights::ALL,
                },
            )
            .await?;
    }
    publish(&ctx.state, EventKind::FolderCreated, &parent_row, Some(id), None).await;
    Ok(EntryIdResponse {
        entry_id: folder_eid(id),
    })
}

/// Standard folders and roots keep their place and name.
fn ensure_not_special(f: &FolderRow, what: &str) -> Result<(), ApiError> {
    if f.role.is_some() {
        return Err(ApiError::no_access(format!(
            "{:?} is a standard folder and cannot be {what}",
            f.name
        )));
    }
    Ok(())
}

pub(super) async fn rename_folder(ctx: &Ctx, req: RenameFolderRequest) -> Result<Empty, ApiError> {
    let s = ctx.session(&req.session)?;
    let id = EntryId::folder(&req.folder)?;
    let store = ctx.store();
    let (f, _) = require_folder(store, &s, id, rights::FOLDER_OWNER, "rename folders").await?;
    ensure_not_special(&f, "renamed")?;
    store.rename_folder(id, check_name(&req.name)?).await?;
    publish(&ctx.state, EventKind::FolderModified, &f, Some(id), None).await;
    Ok(Empty {})
}

pub(super) async fn move_folder(ctx: &Ctx, req: MoveFolderRequest) -> Result<Empty, ApiError> {
    let s = ctx.session(&req.session)?;
    let id = EntryId::folder(&req.folder)?;
    let dest = EntryId::folder(&req.new_parent)?;
    let store = ctx.store();
    let (f, _) = require_folder(store, &s, id, rights::FOLDER_OWNER, "move folders").await?;
    ensure_not_special(&f, "moved")?;
    let (d, _) = require_folder(store, &s, dest, rights::CREATE_SUBFOLDER, "create subfolders").await?;
    let name = req.new_name.as_deref().map(check_name).transpose()?;
    store.move_folder(id, dest, name).await?;
    publish(&ctx.state, EventKind::FolderModified, &d, Some(id), f.parent_id).await;
    Ok(Empty {})
}

pub(super) async fn delete_folder(ctx: &Ctx, req: FolderDeleteRequest) -> Result<Empty, ApiError> {
    let s = ctx.session(&req.session)?;
    let id = EntryId::folder(&req.folder)?;
    let store = ctx.store();
    let (f, _) = require_folder(store, &s, id, rights::FOLDER_OWNER, "delete folders").await?;
    ensure_not_special(&f, "deleted")?;
    let parent = store.folder(f.parent_id.unwrap_or(f.id)).await?;
    let deleted_items = match f.owner_id {
        Some(_) => Some(store.folder_by_role(f.store_id, Role::DeletedItems).await?),
        None => None,
    };
    let already_deleted = match &deleted_items {
        Some(d) => store
            .descendant_folders(d.id, None)
            .await?
            .iter()
            .any(|(x, _)| x.id == f.id),
        None => true,
    };
    match deleted_items {
        Some(d) if !req.hard.unwrap_or(false) && !already_deleted => {
            // A soft delete keeps the folder, renamed if Deleted Items has one of that name.
            let mut name = f.name.clone();
            let siblings = store.child_folders(d.id).await?;
            let mut n = 1;
            while siblings.iter().any(|x| x.name.eq_ignore_ascii_case(&name)) {
                n += 1;
                name = format!("{} ({n})", f.name);
            }
            store.move_folder(id, d.id, Some(&name)).await?;
        }
        _ => store.delete_folder_hard(id).await?,
    }
    publish(&ctx.state, EventKind::FolderDeleted, &parent, Some(id), None).await;
    Ok(Empty {})
}

pub(super) async fn empty_folder(ctx: &Ctx, req: FolderDeleteRequest) -> Result<Empty, ApiError> {
    let s = ctx.session(&req.session)?;
    let id = EntryId::folder(&req.folder)?;
    let store = ctx.store();
    let (f, _) = require_folder(store, &s, id, rights::DELETE_ANY, "delete items").await?;
    let messages = store.folder_message_ids(id).await?;
    // Subfolders go only where the caller could delete them one by one
    // (folder owner); the others stay, as MAPI's partial completion.
    let mut subfolders = Vec::new();
    for sub in store.child_folders(id).await? {
        if folder_rights(store, &s, &sub).await? & rights::FOLDER_OWNER != 0 {
            subfolders.push(sub);
        }
    }
    let target = match f.owner_id {
        Some(_) if !req.hard.unwrap_or(false) => {
            let d = store.folder_by_role(f.store_id, Role::DeletedItems).await?;
            (d.id != id).then_some(d.id)
        }
        _ => None,
    };
    match target {
        Some(d) => {
            // Deleted Items is in the same store: the move changes no size.
            store.move_messages(&messages, d, HardQuota::NONE).await?;
            for sub in subfolders {
                if sub.role.is_none() {
                    store
                        .move_folder(sub.id, d, Some(&format!("{} ({})", sub.name, sub.id)))
                        .await?;
                }
            }
        }
        None => {
            store.delete_messages(&messages).await?;
            for sub in subfolders {
                if sub.role.is_none() {
                    store.delete_folder_hard(sub.id).await?;
                }
            }
        }
    }
    publish(&ctx.state, EventKind::FolderModified, &f, Some(id), None).await;
    Ok(Empty {})
}

pub(super) async fn get_permissions(ctx: &Ctx, req: GetPermissionsRequest) -> Result<GetPermissionsResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let id = EntryId::folder(&req.folder)?;
    let store = ctx.store();
    require_folder(store, &s, id, rights::FOLDER_OWNER, "see permissions").await?;
    let mut permissions = Vec::new();
    for e in store.acl_of(id).await? {
        let member = match e.kind {
            MemberKind::Default => "default".to_string(),
            MemberKind::User => match store.user_by_id(e.member_id).await {
                Ok(u) => u.login,
                Err(_) => continue,
            },
            MemberKind::Group => match store.list_groups().await?.into_iter().find(|g| g.id == e.member_id) {
                Some(g) => format!("group:{}", g.name),
                None => continue,
            },
        };
        permissions.push(Permission {
            member,
            rights: e.rights as i32,
        });
    }
    Ok(GetPermissionsResponse { permissions })
}

pub(super) async fn set_permissions(ctx: &Ctx, req: SetPermissionsRequest) -> Result<Empty, ApiError> {
    let s = ctx.session(&req.session)?;
    let id = EntryId::folder(&req.folder)?;
    let store = ctx.store();
    require_folder(store, &s, id, rights::FOLDER_OWNER, "change permissions").await?;
    let mut entries = Vec::new();
    for p in &req.permissions {
        let (kind, member_id) = if p.member.eq_ignore_ascii_case("default") {
            (MemberKind::Default, 0)
        } else if let Some(g) = p.member.strip_prefix("group:") {
            let g = store
                .group_by_name(g)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("there is no group {g:?}")))?;
            (MemberKind::Group, g.id)
        } else {
            let u = store
                .user_by_login(&p.member)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("there is no user {:?}", p.member)))?;
            (MemberKind::User, u.id)
        };
        if p.rights < 0 || i64::from(p.rights) & !rights::ALL != 0 {
            return Err(ApiError::new(
                MapiCode::InvalidParameter,
                format!("rights 0x{:X} for {} has bits MAPI does not define", p.rights, p.member),
            ));
        }
        entries.push(AclEntry {
            kind,
            member_id,
            rights: i64::from(p.rights),
        });
    }
    for e in &entries {
        store.set_acl(id, e).await?;
    }
    Ok(Empty {})
}
