//! Stores and their folder trees.
//!
//! Each folder row keeps its content and unread counts, maintained in the same
//! transaction as every message change, so listing a hierarchy never counts
//! rows. Standard folders carry a `role`, so they are found by role rather than
//! by a name a user might rename.

use sqlx::Row as _;

use super::{Result, Store, Tx};
use crate::error::StoreError;
use crate::props::now_micros;

/// The standard folders of a private store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The store's root ("Top of Information Store").
    Root,
    /// Inbox.
    Inbox,
    /// Outbox.
    Outbox,
    /// Sent Items.
    SentItems,
    /// Deleted Items.
    DeletedItems,
    /// Drafts.
    Drafts,
    /// Junk E-mail.
    Junk,
    /// Calendar.
    Calendar,
    /// Contacts.
    Contacts,
    /// Tasks.
    Tasks,
    /// Notes.
    Notes,
}

impl Role {
    /// Every standard folder below the root, in the order they are created.
    pub const STANDARD: [Role; 10] = [
        Role::Inbox,
        Role::Outbox,
        Role::SentItems,
        Role::DeletedItems,
        Role::Drafts,
        Role::Junk,
        Role::Calendar,
        Role::Contacts,
        Role::Tasks,
        Role::Notes,
    ];

    /// The key stored in the `role` column.
    pub fn key(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Inbox => "inbox",
            Role::Outbox => "outbox",
            Role::SentItems => "sent",
            Role::DeletedItems => "deleted",
            Role::Drafts => "drafts",
            Role::Junk => "junk",
            Role::Calendar => "calendar",
            Role::Contacts => "contacts",
            Role::Tasks => "tasks",
            Role::Notes => "notes",
        }
    }

    /// Display name and container class of a new folder with this role.
    pub fn defaults(self) -> (&'static str, &'static str) {
        match self {
            Role::Root => ("Top of Information Store", ""),
            Role::Inbox => ("Inbox", "IPF.Note"),
            Role::Outbox => ("Outbox", "IPF.Note"),
            Role::SentItems => ("Sent Items", "IPF.Note"),
            Role::DeletedItems => ("Deleted Items", "IPF.Note"),
            Role::Drafts => ("Drafts", "IPF.Note"),
            Role::Junk => ("Junk E-mail", "IPF.Note"),
            Role::Calendar => ("Calendar", "IPF.Appointment"),
            Role::Contacts => ("Contacts", "IPF.Contact"),
            Role::Tasks => ("Tasks", "IPF.Task"),
            Role::Notes => ("Notes", "IPF.StickyNote"),
        }
    }
}

/// A store.
#[derive(Debug, Clone)]
pub struct StoreRow {
    /// Row id.
    pub id: i64,
    /// `private` or `public`.
    pub kind: String,
    /// Owner's user id (private stores).
    pub owner_id: Option<i64>,
    /// Root folder.
    pub root_folder_id: i64,
    /// Bytes used.
    pub size_bytes: i64,
    /// Messages held.
    pub message_count: i64,
}

/// A folder.
#[derive(Debug, Clone)]
pub struct FolderRow {
    /// Row id.
    pub id: i64,
    /// Its store.
    pub store_id: i64,
    /// Owner of the store (None for the public store).
    pub owner_id: Option<i64>,
    /// Parent folder (None for a root).
    pub parent_id: Option<i64>,
    /// Display name.
    pub name: String,
    /// Container class.
    pub container_class: String,
    /// Standard-folder role key, if any.
    pub role: Option<String>,
    /// Messages in it.
    pub content_count: i64,
    /// Unread messages in it.
    pub unread_count: i64,
    /// Number of direct subfolders.
    pub subfolders: i64,
    /// Latest change number of the folder's journal.
    pub last_change_num: i64,
}

pub(super) const FOLDER_COLUMNS: &str = "f.id, f.store_id, s.owner_id, f.parent_id, f.name, f.container_class, f.role, \
     f.content_count, f.unread_count, \
     (SELECT COUNT(*) FROM folders c WHERE c.parent_id = f.id) AS subfolders, f.last_change_num";

pub(super) fn folder_from_row(r: &sqlx::any::AnyRow) -> Result<FolderRow> {
    Ok(FolderRow {
        id: r.try_get(0)?,
        store_id: r.try_get(1)?,
        owner_id: r.try_get(2)?,
        parent_id: r.try_get(3)?,
        name: r.try_get(4)?,
        container_class: r.try_get(5)?,
        role: r.try_get(6)?,
        content_count: r.try_get(7)?,
        unread_count: r.try_get(8)?,
        subfolders: r.try_get(9)?,
        last_change_num: r.try_get(10)?,
    })
}

fn store_from_row(r: &sqlx::any::AnyRow) -> Result<StoreRow> {
    Ok(StoreRow {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        owner_id: r.try_get(2)?,
        root_folder_id: r.try_get::<Option<i64>, _>(3)?.unwrap_or(0),
        size_bytes: r.try_get(4)?,
        message_count: r.try_get(5)?,
    })
}

const STORE_COLUMNS: &str = "id, kind, owner_id, root_folder_id, size_bytes, message_count";

impl Store {
    /// Creates the public store at first start.
    pub(super) async fn ensure_public_store(&self) -> Result<()> {
        let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stores WHERE kind = 'public'")
            .fetch_one(self.pool())
            .await?;
        if exists == 0 {
            let mut tx = self.begin().await?;
            let store_id = self.create_store_in(&mut tx, "public", None).await?;
            let root = self
                .insert_folder(&mut tx, store_id, None, "Public Folders", "IPF.Note", Some(Role::Root))
                .await?;
            set_root(&mut tx, store_id, root).await?;
            // Every user may see and read the top level; an administrator
            // grants who may add items and folders there (each new folder
            // is then owned by its creator). Open to all, as in Zarafa, it
            // let anyone fill the public store.
            use super::rights::*;
            let everyone = FOLDER_VISIBLE | READ_ANY;
            sqlx::query("INSERT INTO acls (folder_id, member_kind, member_id, rights) VALUES (?, 'default', 0, ?)")
                .bind(root)
                .bind(everyone)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Creates a store row.
    pub(super) async fn create_store_in(&self, tx: &mut Tx, kind: &str, owner: Option<i64>) -> Result<i64> {
        let guid = hex::encode(rand::random::<[u8; 16]>());
        let res = sqlx::query("INSERT INTO stores (guid, kind, owner_id, created_at) VALUES (?, ?, ?, ?)")
            .bind(guid)
            .bind(kind)
            .bind(owner)
            .bind(now_micros())
            .execute(&mut **tx)
            .await?;
        last_id(tx, &res).await
    }

    /// Creates a private store with its standard folders for a user.
    pub(super) async fn create_private_store(&self, tx: &mut Tx, user_id: i64) -> Result<i64> {
        let store_id = self.create_store_in(tx, "private", Some(user_id)).await?;
        let (root_name, root_class) = Role::Root.defaults();
        let root = self
            .insert_folder(tx, store_id, None, root_name, root_class, Some(Role::Root))
            .await?;
        set_root(tx, store_id, root).await?;
        for role in Role::STANDARD {
            let (name, class) = role.defaults();
            self.insert_folder(tx, store_id, Some(root), name, class, Some(role))
                .await?;
        }
        Ok(store_id)
    }

    pub(super) async fn insert_folder(
        &self,
        tx: &mut Tx,
        store_id: i64,
        parent: Option<i64>,
        name: &str,
        class: &str,
        role: Option<Role>,
    ) -> Result<i64> {
        let now = now_micros();
        let res = sqlx::query(
            "INSERT INTO folders (store_id, parent_id, name, container_class, role, created_at, modified_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(store_id)
        .bind(parent)
        .bind(name)
        .bind(class)
        .bind(role.map(Role::key))
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        last_id(tx, &res).await
    }

    /// The private store of a user.
    pub async fn store_of_user(&self, user_id: i64) -> Result<StoreRow> {
        let sql = format!("SELECT {STORE_COLUMNS} FROM stores WHERE owner_id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        store_from_row(&row.ok_or_else(|| StoreError::NotFound("store of that user".into()))?)
    }

    /// The public store.
    pub async fn public_store(&self) -> Result<StoreRow> {
        let sql = format!("SELECT {STORE_COLUMNS} FROM stores WHERE kind = 'public'");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_optional(self.pool())
            .await?;
        store_from_row(&row.ok_or_else(|| StoreError::NotFound("public store".into()))?)
    }

    /// A store by id.
    pub async fn store_by_id(&self, id: i64) -> Result<StoreRow> {
        let sql = format!("SELECT {STORE_COLUMNS} FROM stores WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        store_from_row(&row.ok_or_else(|| StoreError::NotFound("store".into()))?)
    }

    /// Every store.
    pub async fn list_stores(&self) -> Result<Vec<StoreRow>> {
        let sql = format!("SELECT {STORE_COLUMNS} FROM stores ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await?;
        rows.iter().map(store_from_row).collect()
    }

    /// The folder with a role in a store.
    pub async fn folder_by_role(&self, store_id: i64, role: Role) -> Result<FolderRow> {
        let sql = format!(
            "SELECT {FOLDER_COLUMNS} FROM folders f JOIN stores s ON s.id = f.store_id WHERE f.store_id = ? AND f.role = ?"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(store_id)
            .bind(role.key())
            .fetch_optional(self.pool())
            .await?;
        folder_from_row(&row.ok_or_else(|| StoreError::NotFound(format!("{} folder", role.key())))?)
    }

    /// A folder by id.
    pub async fn folder(&self, id: i64) -> Result<FolderRow> {
        let sql = format!("SELECT {FOLDER_COLUMNS} FROM folders f JOIN stores s ON s.id = f.store_id WHERE f.id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        folder_from_row(&row.ok_or_else(|| StoreError::NotFound("folder".into()))?)
    }

    /// Direct subfolders, by name.
    pub async fn child_folders(&self, parent: i64) -> Result<Vec<FolderRow>> {
        let sql = format!(
            "SELECT {FOLDER_COLUMNS} FROM folders f JOIN stores s ON s.id = f.store_id WHERE f.parent_id = ? ORDER BY f.name, f.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(parent)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(folder_from_row).collect()
    }

    /// Creates a subfolder; a sibling with the same name is a collision.
    pub async fn create_folder(&self, parent: i64, name: &str, class: &str) -> Result<i64> {
        let mut tx = self.begin().await?;
        let parent_row = folder_in(&mut tx, parent).await?;
        ensure_name_free(&mut tx, parent, name, None).await?;
        let id = self
            .insert_folder(&mut tx, parent_row.0, Some(parent), name, class, None)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Renames a folder.
    pub async fn rename_folder(&self, id: i64, name: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let (_, parent) = folder_in(&mut tx, id).await?;
        if let Some(parent) = parent {
            ensure_name_free(&mut tx, parent, name, Some(id)).await?;
        }
        sqlx::query("UPDATE folders SET name = ?, modified_at = ? WHERE id = ?")
            .bind(name)
            .bind(now_micros())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a folder under a new parent in the same store, optionally renaming it.
    pub async fn move_folder(&self, id: i64, new_parent: i64, new_name: Option<&str>) -> Result<()> {
        let mut tx = self.begin().await?;
        let (store, _) = folder_in(&mut tx, id).await?;
        let (dest_store, _) = folder_in(&mut tx, new_parent).await?;
        if store != dest_store {
            return Err(StoreError::Invalid(
                "a folder can only be moved within its own store".into(),
            ));
        }
        // Refuse to move a folder below itself: walk up from the new parent.
        let mut cursor = Some(new_parent);
        while let Some(f) = cursor {
            if f == id {
                return Err(StoreError::Invalid(
                    "a folder cannot be moved into itself or its subfolders".into(),
                ));
            }
            cursor = folder_in(&mut tx, f).await?.1;
        }
        let name: String = match new_name {
            Some(n) => n.to_string(),
            None => {
                sqlx::query_scalar("SELECT name FROM folders WHERE id = ?")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
            }
        };
        ensure_name_free(&mut tx, new_parent, &name, Some(id)).await?;
        sqlx::query("UPDATE folders SET parent_id = ?, name = ?, modified_at = ? WHERE id = ?")
            .bind(new_parent)
            .bind(name)
            .bind(now_micros())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every folder below `id` (not including it), parents before children.
    pub async fn descendant_folders(&self, id: i64, max_depth: Option<i32>) -> Result<Vec<(FolderRow, i32)>> {
        let mut out = Vec::new();
        let mut frontier = vec![(id, 0)];
        while let Some((f, depth)) = frontier.pop() {
            if max_depth.is_some_and(|m| depth >= m) {
                continue;
            }
            let children = self.child_folders(f).await?;
            for c in children.into_iter().rev() {
                frontier.push((c.id, depth + 1));
                out.push((c, depth + 1));
            }
        }
        // Re-establish a stable parents-first, name-ordered listing.
        let mut ordered = Vec::with_capacity(out.len());
        order_tree(id, &out, &mut ordered);
        Ok(ordered)
    }

    /// Deletes a folder, its subfolders and their messages for good.
    pub async fn delete_folder_hard(&self, id: i64) -> Result<()> {
        let mut victims: Vec<i64> = self
            .descendant_folders(id, None)
            .await?
            .into_iter()
            .map(|(f, _)| f.id)
            .collect();
        victims.reverse();
        victims.push(id);
        let mut tx = self.begin().await?;
        let mut files = Vec::new();
        for f in &victims {
            let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM messages WHERE folder_id = ?")
                .bind(f)
                .fetch_all(&mut *tx)
                .await?;
            files.extend(self.delete_messages_in(&mut tx, &ids).await?);
            sqlx::query("DELETE FROM changes WHERE folder_id = ?")
                .bind(f)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM acls WHERE folder_id = ?")
                .bind(f)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM folders WHERE id = ?")
                .bind(f)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        super::blobs::remove_files(files);
        Ok(())
    }

    /// Store id and message ids of a folder's contents.
    pub async fn folder_message_ids(&self, folder: i64) -> Result<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM messages WHERE folder_id = ? ORDER BY id")
                .bind(folder)
                .fetch_all(self.pool())
                .await?,
        )
    }
}

fn order_tree(parent: i64, all: &[(FolderRow, i32)], out: &mut Vec<(FolderRow, i32)>) {
    let mut kids: Vec<&(FolderRow, i32)> = all.iter().filter(|(f, _)| f.parent_id == Some(parent)).collect();
    kids.sort_by(|a, b| {
        a.0.name
            .to_lowercase()
            .cmp(&b.0.name.to_lowercase())
            .then(a.0.id.cmp(&b.0.id))
    });
    for k in kids {
        out.push(k.clone());
        order_tree(k.0.id, all, out);
    }
}

/// (store id, parent id) of a folder, inside a transaction.
async fn folder_in(tx: &mut Tx, id: i64) -> Result<(i64, Option<i64>)> {
    let row: Option<(i64, Option<i64>)> = sqlx::query_as("SELECT store_id, parent_id FROM folders WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.ok_or_else(|| StoreError::NotFound("folder".into()))
}

async fn ensure_name_free(tx: &mut Tx, parent: i64, name: &str, except: Option<i64>) -> Result<()> {
    let taken: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM folders WHERE parent_id = ? AND LOWER(name) = LOWER(?) AND id <> ?")
            .bind(parent)
            .bind(name)
            .bind(except.unwrap_or(-1))
            .fetch_one(&mut **tx)
            .await?;
    if taken > 0 {
        return Err(StoreError::Collision(format!("a folder named {name:?} in that place")));
    }
    Ok(())
}

async fn set_root(tx: &mut Tx, store_id: i64, root: i64) -> Result<()> {
    sqlx::query("UPDATE stores SET root_folder_id = ? WHERE id = ?")
        .bind(root)
        .bind(store_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The id an INSERT produced. MySQL reports it with the result; SQLite's Any
/// driver does not, so there it is asked on the same connection.
pub(super) async fn last_id(conn: &mut sqlx::AnyConnection, res: &sqlx::any::AnyQueryResult) -> Result<i64> {
    if let Some(id) = res.last_insert_id() {
        return Ok(id);
    }
    Ok(sqlx::query_scalar("SELECT last_insert_rowid()").fetch_one(conn).await?)
}
