//! Folder permissions, with MAPI's rights bits.
//!
//! An entry grants rights on one folder to a user, a group, or `default`
//! (every logged-on user). The operations layer decides what the rights mean
//! for each operation; this module only keeps them.

use super::{Result, Store};

/// MAPI rights bits (frights).
pub mod rights {
    /// Read items.
    pub const READ_ANY: i64 = 0x1;
    /// Create items.
    pub const CREATE: i64 = 0x2;
    /// Edit items one created.
    pub const EDIT_OWNED: i64 = 0x8;
    /// Delete items one created.
    pub const DELETE_OWNED: i64 = 0x10;
    /// Edit any item.
    pub const EDIT_ANY: i64 = 0x20;
    /// Delete any item.
    pub const DELETE_ANY: i64 = 0x40;
    /// Create subfolders.
    pub const CREATE_SUBFOLDER: i64 = 0x80;
    /// Owner of the folder: may change its properties and permissions, rename and delete it.
    pub const FOLDER_OWNER: i64 = 0x100;
    /// See the folder in the hierarchy.
    pub const FOLDER_VISIBLE: i64 = 0x400;
    /// Every right.
    pub const ALL: i64 = 0x5FB;
}

/// Who an entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    /// One user (member id = user id).
    User,
    /// A group (member id = group id).
    Group,
    /// Every logged-on user (member id 0).
    Default,
}

impl MemberKind {
    fn key(self) -> &'static str {
        match self {
            MemberKind::User => "user",
            MemberKind::Group => "group",
            MemberKind::Default => "default",
        }
    }
    fn from_key(k: &str) -> Option<Self> {
        Some(match k {
            "user" => MemberKind::User,
            "group" => MemberKind::Group,
            "default" => MemberKind::Default,
            _ => return None,
        })
    }
}

/// One permission entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry {
    /// Kind of member.
    pub kind: MemberKind,
    /// User or group id (0 for default).
    pub member_id: i64,
    /// Rights bits.
    pub rights: i64,
}

impl Store {
    /// The permission entries of a folder.
    pub async fn acl_of(&self, folder: i64) -> Result<Vec<AclEntry>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT member_kind, member_id, rights FROM acls WHERE folder_id = ? ORDER BY member_kind, member_id",
        )
        .bind(folder)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, id, rights)| {
                MemberKind::from_key(&k).map(|kind| AclEntry {
                    kind,
                    member_id: id,
                    rights,
                })
            })
            .collect())
    }

    /// Sets one entry; rights 0 removes it.
    pub async fn set_acl(&self, folder: i64, entry: &AclEntry) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM acls WHERE folder_id = ? AND member_kind = ? AND member_id = ?")
            .bind(folder)
            .bind(entry.kind.key())
            .bind(entry.member_id)
            .execute(&mut *tx)
            .await?;
        if entry.rights != 0 {
            sqlx::query("INSERT INTO acls (folder_id, member_kind, member_id, rights) VALUES (?, ?, ?, ?)")
                .bind(folder)
                .bind(entry.kind.key())
                .bind(entry.member_id)
                .bind(entry.rights)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The rights a user has on a folder through entries for the user, the
    /// user's groups, and default (combined with OR).
    pub async fn rights_of(&self, folder: i64, user: i64, groups: &[i64]) -> Result<i64> {
        let mut rights = 0;
        for e in self.acl_of(folder).await? {
            let applies = match e.kind {
                MemberKind::User => e.member_id == user,
                MemberKind::Group => groups.contains(&e.member_id),
                MemberKind::Default => true,
            };
            if applies {
                rights |= e.rights;
            }
        }
        Ok(rights)
    }

    /// True if any folder of a store grants this user anything.
    pub async fn has_any_rights_in_store(&self, store: i64, user: i64, groups: &[i64]) -> Result<bool> {
        let folders: Vec<i64> = sqlx::query_scalar(
            "SELECT a.folder_id FROM acls a JOIN folders f ON f.id = a.folder_id WHERE f.store_id = ?",
        )
        .bind(store)
        .fetch_all(self.pool())
        .await?;
        for f in folders {
            if self.rights_of(f, user, groups).await? != 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
