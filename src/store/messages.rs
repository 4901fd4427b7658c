//! Messages: hot columns plus one property bag, recipients, attachments.
//!
//! Every write keeps the folder's counters, the store's size and the change
//! journal in the same transaction, so a crash never leaves them out of step.

use std::path::PathBuf;

use sqlx::Row as _;

use super::blobs::remove_files;
use super::columns::{
    SHORT_CHARS, SUBJECT_CHARS, attachment_columns, fit, recipient_columns, recipient_from_row, restore,
};
use super::folders::last_id;
use super::journal::{ChangeKind, record};
use super::quota::{HardQuota, charge_store};
use super::{Result, Store, Tx};
use crate::error::StoreError;
use crate::props::*;

/// A recipient row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecipientRow {
    /// 1 To, 2 Cc, 3 Bcc.
    pub recipient_type: i32,
    /// Display name.
    pub display_name: String,
    /// SMTP address.
    pub address: String,
    /// Further properties.
    pub props: PropMap,
}

/// An attachment as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachmentRow {
    /// Number within the message.
    pub attach_num: i32,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Content id.
    pub content_id: String,
    /// Shown inline.
    pub inline: bool,
    /// Blob holding the bytes.
    pub blob_hash: Option<String>,
    /// Further properties.
    pub props: PropMap,
}

/// An attachment to add.
#[derive(Debug, Clone, Default)]
pub struct NewAttachmentData {
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime_type: String,
    /// Content id.
    pub content_id: String,
    /// Shown inline.
    pub inline: bool,
    /// The bytes.
    pub data: Vec<u8>,
    /// Further properties.
    pub props: PropMap,
}

/// What to write into a new or existing message.
#[derive(Debug, Clone, Default)]
pub struct MessageData {
    /// Properties to set.
    pub props: PropMap,
    /// Properties to remove.
    pub delete_props: Vec<PropTag>,
    /// Replaces the recipients when present.
    pub recipients: Option<Vec<RecipientRow>>,
    /// Attachments to add.
    pub new_attachments: Vec<NewAttachmentData>,
    /// Attachment numbers to remove.
    pub delete_attachments: Vec<i32>,
    /// The original RFC 5322 bytes, kept byte-exact (delivery).
    pub raw: Option<Vec<u8>>,
}

/// A message as loaded.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    /// Row id.
    pub id: i64,
    /// Store.
    pub store_id: i64,
    /// Folder.
    pub folder_id: i64,
    /// Who created it (for "own" rights).
    pub owner_id: Option<i64>,
    /// Every property, hot ones included.
    pub props: PropMap,
    /// Recipients.
    pub recipients: Vec<RecipientRow>,
    /// Attachments.
    pub attachments: Vec<AttachmentRow>,
    /// The raw message blob, if delivered from MIME.
    pub raw_blob: Option<String>,
}

/// The hot columns and the remaining bag of a new message, with the
/// defaults a message gets when the client or the mail did not say:
/// class IPM.Note, normal importance, received now.
pub(super) fn new_message_columns(props: &PropMap) -> (Hot, PropMap) {
    let mut bag = props.clone();
    let mut hot = Hot {
        message_class: "IPM.Note".into(),
        importance: 1,
        ..Hot::default()
    };
    split_hot(&mut bag, &mut hot);
    if hot.received_at == 0 {
        hot.received_at = now_micros();
    }
    (hot, bag)
}

/// One message row to insert: where it goes, its hot columns and its bag.
pub(super) struct MessageRow<'a> {
    pub store_id: i64,
    pub folder_id: i64,
    pub owner_id: Option<i64>,
    pub hot: &'a Hot,
    pub size: i64,
    pub has_attach: i64,
    pub raw_blob: Option<&'a str>,
    pub bag: &'a [u8],
    pub now: i64,
}

/// Inserts a message row and returns its id: the one statement that writes
/// a new message, for the API's saves and delivery's group commits alike.
pub(super) async fn insert_message_row(conn: &mut sqlx::AnyConnection, m: &MessageRow<'_>) -> Result<i64> {
    let h = m.hot;
    let res = sqlx::query(
        "INSERT INTO messages (store_id, folder_id, owner_id, message_class, subject, sender_name, sender_address, \
         received_at, sent_at, size, flags, importance, has_attach, internet_message_id, conversation_topic, \
         raw_blob, props, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(m.store_id)
    .bind(m.folder_id)
    .bind(m.owner_id)
    .bind(&h.message_class)
    .bind(&h.subject)
    .bind(&h.sender_name)
    .bind(&h.sender_address)
    .bind(h.received_at)
    .bind(h.sent_at)
    .bind(m.size)
    .bind(h.flags)
    .bind(h.importance)
    .bind(m.has_attach)
    .bind(&h.internet_message_id)
    .bind(&h.conversation_topic)
    .bind(m.raw_blob)
    .bind(m.bag)
    .bind(m.now)
    .bind(m.now)
    .execute(&mut *conn)
    .await?;
    last_id(conn, &res).await
}

/// The hot columns of a message row, in column order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hot {
    pub message_class: String,
    pub subject: String,
    pub sender_name: String,
    pub sender_address: String,
    pub received_at: i64,
    pub sent_at: i64,
    pub flags: i64,
    pub importance: i64,
    pub internet_message_id: String,
    pub conversation_topic: String,
}

/// Hot columns a message row has besides the bag; shared with `query`.
pub(crate) const HOT_SELECT: &str = "m.id, m.store_id, m.folder_id, m.owner_id, m.message_class, m.subject, \
    m.sender_name, m.sender_address, m.received_at, m.sent_at, m.size, m.flags, m.importance, m.has_attach, \
    m.internet_message_id, m.conversation_topic, m.created_at, m.modified_at, m.raw_blob";

/// The hot text properties with their column sizes (characters).
const HOT_TEXT: [(PropTag, usize); 6] = [
    (PR_MESSAGE_CLASS, SHORT_CHARS),
    (PR_SUBJECT, SUBJECT_CHARS),
    (PR_SENDER_NAME, SHORT_CHARS),
    (PR_SENDER_EMAIL_ADDRESS, SHORT_CHARS),
    (PR_INTERNET_MESSAGE_ID, SHORT_CHARS),
    (PR_CONVERSATION_TOPIC, SUBJECT_CHARS),
];

/// Takes the hot properties out of a property map. A text longer than its
/// column goes into the column cut, and stays whole in the map (the bag).
pub(crate) fn split_hot(props: &mut PropMap, hot: &mut Hot) {
    for (tag, max) in HOT_TEXT {
        let slot = match tag {
            PR_MESSAGE_CLASS => &mut hot.message_class,
            PR_SUBJECT => &mut hot.subject,
            PR_SENDER_NAME => &mut hot.sender_name,
            PR_SENDER_EMAIL_ADDRESS => &mut hot.sender_address,
            PR_INTERNET_MESSAGE_ID => &mut hot.internet_message_id,
            _ => &mut hot.conversation_topic,
        };
        if let Some(PropValue::Str(s)) = props.remove(&tag) {
            *slot = fit(&s, max, tag, props);
        }
    }
    if let Some(PropValue::Time(t)) = props.remove(&PR_MESSAGE_DELIVERY_TIME) {
        hot.received_at = t;
    }
    if let Some(PropValue::Time(t)) = props.remove(&PR_CLIENT_SUBMIT_TIME) {
        hot.sent_at = t;
    }
    if let Some(PropValue::Long(f)) = props.remove(&PR_MESSAGE_FLAGS) {
        // MSGFLAG_HASATTACH is derived from the attachments, never stored.
        hot.flags = i64::from(f & !MSGFLAG_HASATTACH);
    }
    if let Some(PropValue::Long(i)) = props.remove(&PR_IMPORTANCE) {
        hot.importance = i64::from(i);
    }
    // Derived on load; a client cannot set them.
    for tag in [
        PR_MESSAGE_SIZE,
        PR_HASATTACH,
        PR_CREATION_TIME,
        PR_LAST_MODIFICATION_TIME,
        PR_ENTRYID,
    ] {
        props.remove(&tag);
    }
}

/// Builds the full property map of a row: bag plus hot columns plus derived ones.
pub(crate) fn row_props(r: &sqlx::any::AnyRow, bag: Option<&[u8]>) -> Result<PropMap> {
    let mut p = match bag {
        Some(b) => decode_bag(b).map_err(StoreError::Corrupt)?,
        None => PropMap::new(),
    };
    let s = |i: usize| -> Result<String> { Ok(r.try_get::<String, _>(i)?) };
    let n = |i: usize| -> Result<i64> { Ok(r.try_get::<i64, _>(i)?) };
    let class = restore(s(4)?, PR_MESSAGE_CLASS, &mut p);
    p.insert(PR_MESSAGE_CLASS, PropValue::Str(class));
    for (tag, i) in [
        (PR_SUBJECT, 5),
        (PR_SENDER_NAME, 6),
        (PR_SENDER_EMAIL_ADDRESS, 7),
        (PR_INTERNET_MESSAGE_ID, 14),
        (PR_CONVERSATION_TOPIC, 15),
    ] {
        let v = restore(s(i)?, tag, &mut p);
        if !v.is_empty() {
            p.insert(tag, PropValue::Str(v));
        }
    }
    for (tag, i) in [(PR_MESSAGE_DELIVERY_TIME, 8), (PR_CLIENT_SUBMIT_TIME, 9)] {
        let v = n(i)?;
        if v != 0 {
            p.insert(tag, PropValue::Time(v));
        }
    }
    let has_attach = n(13)? != 0;
    let mut flags = n(11)? as i32;
    if has_attach {
        flags |= MSGFLAG_HASATTACH;
    }
    p.insert(PR_MESSAGE_SIZE, PropValue::Long(n(10)?.min(i64::from(i32::MAX)) as i32));
    p.insert(PR_MESSAGE_FLAGS, PropValue::Long(flags));
    p.insert(PR_IMPORTANCE, PropValue::Long(n(12)? as i32));
    p.insert(PR_HASATTACH, PropValue::Bool(has_attach));
    p.insert(PR_CREATION_TIME, PropValue::Time(n(16)?));
    p.insert(PR_LAST_MODIFICATION_TIME, PropValue::Time(n(17)?));
    Ok(p)
}

fn hot_from_props(p: &PropMap) -> Hot {
    let mut copy = p.clone();
    let mut hot = Hot {
        message_class: "IPM.Note".into(),
        importance: 1,
        ..Hot::default()
    };
    split_hot(&mut copy, &mut hot);
    hot
}

impl Store {
    /// Creates a message in a folder; returns its id. Refused with
    /// [`StoreError::StoreFull`] when the store's `quota` has no room for it.
    pub async fn create_message(
        &self,
        folder: i64,
        owner: Option<i64>,
        data: &MessageData,
        quota: HardQuota,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = self.create_message_in(&mut tx, folder, owner, data, quota).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Creates many messages in one folder in one transaction; returns their
    /// ids in order.
    ///
    /// Each message takes the same path as [`Store::create_message`] (hot
    /// columns, bag, blobs, folder and store counters, change journal), so
    /// the result is that of as many single calls; only the commit (and its
    /// fsync) per message is saved, which fills a large folder (an import,
    /// the `query_rows` benchmark) two to three times faster.
    /// All or nothing: an error (a full store among them) rolls the whole
    /// batch back. Keep batches to a few thousand messages; the write lock is
    /// held until the commit.
    pub async fn create_messages_bulk(
        &self,
        folder: i64,
        owner: Option<i64>,
        items: &[MessageData],
        quota: HardQuota,
    ) -> Result<Vec<i64>> {
        let mut tx = self.begin().await?;
        let mut ids = Vec::with_capacity(items.len());
        for data in items {
            ids.push(self.create_message_in(&mut tx, folder, owner, data, quota).await?);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Creates a message inside the caller's transaction (delivery stores one
    /// message for many recipients in one transaction).
    pub(crate) async fn create_message_in(
        &self,
        tx: &mut Tx,
        folder: i64,
        owner: Option<i64>,
        data: &MessageData,
        quota: HardQuota,
    ) -> Result<i64> {
        let store_id: Option<i64> = sqlx::query_scalar("SELECT store_id FROM folders WHERE id = ?")
            .bind(folder)
            .fetch_optional(&mut **tx)
            .await?;
        let store_id = store_id.ok_or_else(|| StoreError::NotFound("folder".into()))?;
        let (hot, bag) = new_message_columns(&data.props);
        let raw_blob = match &data.raw {
            Some(raw) => Some(self.blob_put(tx, raw).await?),
            None => None,
        };
        let bag_bytes = encode_bag(&bag);
        // What refresh_size would read back (the raw bytes' size, else the
        // property bag and the attachments), known here without the queries.
        let raw_size = data.raw.as_ref().map_or(0, Vec::len) as i64;
        let size = if raw_size > 0 {
            raw_size
        } else {
            bag_bytes.len() as i64 + data.new_attachments.iter().map(|a| a.data.len() as i64).sum::<i64>()
        };
        let has_attach = i64::from(!data.new_attachments.is_empty());
        let id = insert_message_row(
            tx,
            &MessageRow {
                store_id,
                folder_id: folder,
                owner_id: owner,
                hot: &hot,
                size,
                has_attach,
                raw_blob: raw_blob.as_deref(),
                bag: &bag_bytes,
                now: now_micros(),
            },
        )
        .await?;
        if let Some(rcpts) = &data.recipients {
            write_recipients(tx, id, rcpts).await?;
        }
        for a in &data.new_attachments {
            self.add_attachment(tx, id, a).await?;
        }
        let unread = i64::from(hot.flags & i64::from(MSGFLAG_READ) == 0);
        adjust_folder(tx, folder, 1, unread).await?;
        charge_store(tx, store_id, 1, size, quota).await?;
        record(tx, folder, id, ChangeKind::Created).await?;
        Ok(id)
    }

    async fn add_attachment(&self, tx: &mut Tx, message: i64, a: &NewAttachmentData) -> Result<i32> {
        let next: Option<i64> = sqlx::query_scalar("SELECT MAX(attach_num) FROM attachments WHERE message_id = ?")
            .bind(message)
            .fetch_one(&mut **tx)
            .await?;
        let num = next.map_or(0, |n| n + 1);
        let hash = self.blob_put(tx, &a.data).await?;
        let cols = attachment_columns(a);
        sqlx::query(
            "INSERT INTO attachments (message_id, attach_num, filename, mime_type, size, content_id, is_inline, blob_hash, props) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(message)
        .bind(num)
        .bind(cols.filename)
        .bind(cols.mime_type)
        .bind(a.data.len() as i64)
        .bind(cols.content_id)
        .bind(i64::from(a.inline))
        .bind(hash)
        .bind(encode_bag(&cols.bag))
        .execute(&mut **tx)
        .await?;
        Ok(num as i32)
    }

    /// Recomputes has_attach and size from what the message holds; returns the size.
    async fn refresh_size(&self, tx: &mut Tx, id: i64) -> Result<i64> {
        let sizes: Vec<i64> = sqlx::query_scalar("SELECT size FROM attachments WHERE message_id = ?")
            .bind(id)
            .fetch_all(&mut **tx)
            .await?;
        let (bag_len, raw): (Option<Vec<u8>>, Option<String>) =
            sqlx::query_as("SELECT props, raw_blob FROM messages WHERE id = ?")
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
        let raw_size: i64 = match raw {
            Some(h) => {
                sqlx::query_scalar("SELECT size FROM blobs WHERE hash = ?")
                    .bind(h)
                    .fetch_one(&mut **tx)
                    .await?
            }
            None => 0,
        };
        let size = if raw_size > 0 {
            raw_size
        } else {
            bag_len.map_or(0, |b| b.len() as i64) + sizes.iter().sum::<i64>()
        };
        sqlx::query("UPDATE messages SET size = ?, has_attach = ? WHERE id = ?")
            .bind(size)
            .bind(i64::from(!sizes.is_empty()))
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(size)
    }

    /// Loads a message with recipients and attachment list.
    pub async fn load_message(&self, id: i64) -> Result<StoredMessage> {
        let sql = format!("SELECT {HOT_SELECT}, m.props FROM messages m WHERE m.id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound("message".into()))?;
        let bag: Option<Vec<u8>> = row.try_get(19)?;
        let props = row_props(&row, bag.as_deref())?;
        let recipients = self.recipients_of(id).await?;
        let attachments = self.attachments_of(id).await?;
        Ok(StoredMessage {
            id,
            store_id: row.try_get(1)?,
            folder_id: row.try_get(2)?,
            owner_id: row.try_get(3)?,
            props,
            recipients,
            attachments,
            raw_blob: row.try_get(18)?,
        })
    }

    /// (store, folder, owner) of a message, for access checks.
    pub async fn message_location(&self, id: i64) -> Result<(i64, i64, Option<i64>)> {
        let row: Option<(i64, i64, Option<i64>)> =
            sqlx::query_as("SELECT store_id, folder_id, owner_id FROM messages WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        row.ok_or_else(|| StoreError::NotFound("message".into()))
    }

    async fn recipients_of(&self, id: i64) -> Result<Vec<RecipientRow>> {
        let rows: Vec<(i64, String, String, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT recipient_type, display_name, address, props FROM recipients WHERE message_id = ? ORDER BY row_num",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(t, name, addr, props)| {
                let props = decode_bag(props.as_deref().unwrap_or_default()).map_err(StoreError::Corrupt)?;
                Ok(recipient_from_row(t, name, addr, props))
            })
            .collect()
    }

    /// The attachments of a message.
    pub async fn attachments_of(&self, id: i64) -> Result<Vec<AttachmentRow>> {
        let rows = sqlx::query(
            "SELECT attach_num, filename, mime_type, size, content_id, is_inline, blob_hash, props \
             FROM attachments WHERE message_id = ? ORDER BY attach_num",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let props: Option<Vec<u8>> = r.try_get(7)?;
                let mut props = decode_bag(props.as_deref().unwrap_or_default()).map_err(StoreError::Corrupt)?;
                Ok(AttachmentRow {
                    attach_num: r.try_get::<i64, _>(0)? as i32,
                    filename: restore(r.try_get(1)?, PR_ATTACH_LONG_FILENAME, &mut props),
                    mime_type: restore(r.try_get(2)?, PR_ATTACH_MIME_TAG, &mut props),
                    size: r.try_get(3)?,
                    content_id: restore(r.try_get(4)?, PR_ATTACH_CONTENT_ID, &mut props),
                    inline: r.try_get::<i64, _>(5)? != 0,
                    blob_hash: r.try_get(6)?,
                    props,
                })
            })
            .collect()
    }

    /// Updates a message: merges properties, replaces recipients when given,
    /// adds and removes attachments. Refused with [`StoreError::StoreFull`]
    /// when the message grows and the store's `quota` has no room for that;
    /// an update that keeps or shrinks its size always passes.
    pub async fn update_message(&self, id: i64, data: &MessageData, quota: HardQuota) -> Result<()> {
        let mut tx = self.begin().await?;
        let (store_id, folder, old_flags, old_size, bag): (i64, i64, i64, i64, Option<Vec<u8>>) =
            sqlx::query_as("SELECT store_id, folder_id, flags, size, props FROM messages WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::NotFound("message".into()))?;
        let mut bag = decode_bag(bag.as_deref().unwrap_or_default()).map_err(StoreError::Corrupt)?;
        let current = self.load_hot_in(&mut tx, id).await?;
        let mut hot = current.clone();
        let mut incoming = data.props.clone();
        // A new value for a hot column replaces any full form an older, longer
        // one left in the bag.
        for (tag, _) in HOT_TEXT {
            if incoming.contains_key(&tag) {
                bag.remove(&tag);
            }
        }
        split_hot(&mut incoming, &mut hot);
        bag.extend(incoming);
        for tag in &data.delete_props {
            bag.remove(tag);
            clear_hot(&mut hot, *tag);
        }
        sqlx::query(
            "UPDATE messages SET message_class = ?, subject = ?, sender_name = ?, sender_address = ?, received_at = ?, \
             sent_at = ?, flags = ?, importance = ?, internet_message_id = ?, conversation_topic = ?, props = ?, \
             modified_at = ? WHERE id = ?",
        )
        .bind(&hot.message_class)
        .bind(&hot.subject)
        .bind(&hot.sender_name)
        .bind(&hot.sender_address)
        .bind(hot.received_at)
        .bind(hot.sent_at)
        .bind(hot.flags)
        .bind(hot.importance)
        .bind(&hot.internet_message_id)
        .bind(&hot.conversation_topic)
        .bind(encode_bag(&bag))
        .bind(now_micros())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if let Some(rcpts) = &data.recipients {
            sqlx::query("DELETE FROM recipients WHERE message_id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            write_recipients(&mut tx, id, rcpts).await?;
        }
        // New attachments first, so their numbers never reuse a number a
        // client may still hold for one it deletes in the same call.
        for a in &data.new_attachments {
            self.add_attachment(&mut tx, id, a).await?;
        }
        let mut files = Vec::new();
        for num in &data.delete_attachments {
            let hash: Option<Option<String>> =
                sqlx::query_scalar("SELECT blob_hash FROM attachments WHERE message_id = ? AND attach_num = ?")
                    .bind(id)
                    .bind(i64::from(*num))
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(hash) = hash else {
                return Err(StoreError::NotFound(format!("attachment {num}")));
            };
            sqlx::query("DELETE FROM attachments WHERE message_id = ? AND attach_num = ?")
                .bind(id)
                .bind(i64::from(*num))
                .execute(&mut *tx)
                .await?;
            if let Some(h) = hash {
                files.extend(self.blob_release(&mut tx, &h).await?);
            }
        }
        let size = self.refresh_size(&mut tx, id).await?;
        let was_unread = old_flags & i64::from(MSGFLAG_READ) == 0;
        let is_unread = hot.flags & i64::from(MSGFLAG_READ) == 0;
        adjust_folder(&mut tx, folder, 0, i64::from(is_unread) - i64::from(was_unread)).await?;
        charge_store(&mut tx, store_id, 0, size - old_size, quota).await?;
        record(&mut tx, folder, id, ChangeKind::Modified).await?;
        tx.commit().await?;
        remove_files(files);
        Ok(())
    }

    async fn load_hot_in(&self, tx: &mut Tx, id: i64) -> Result<Hot> {
        let sql = format!("SELECT {HOT_SELECT} FROM messages m WHERE m.id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
        Ok(hot_from_props(&row_props(&row, None)?))
    }

    /// Sets or clears MSGFLAG_READ; returns the folders touched.
    pub async fn set_read(&self, ids: &[i64], read: bool) -> Result<Vec<i64>> {
        let mut tx = self.begin().await?;
        let mut folders = Vec::new();
        for id in ids {
            let (folder, flags): (i64, i64) = sqlx::query_as("SELECT folder_id, flags FROM messages WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::NotFound("message".into()))?;
            let was_read = flags & i64::from(MSGFLAG_READ) != 0;
            if was_read == read {
                continue;
            }
            let new_flags = if read {
                flags | i64::from(MSGFLAG_READ)
            } else {
                flags & !i64::from(MSGFLAG_READ)
            };
            sqlx::query("UPDATE messages SET flags = ? WHERE id = ?")
                .bind(new_flags)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            adjust_folder(&mut tx, folder, 0, if read { -1 } else { 1 }).await?;
            record(&mut tx, folder, *id, ChangeKind::Modified).await?;
            folders.push(folder);
        }
        tx.commit().await?;
        Ok(folders)
    }

    /// Moves messages to another folder (any store); ids stay the same. A
    /// move into another store is refused with [`StoreError::StoreFull`]
    /// when the destination's `quota` has no room; within one store nothing
    /// is charged.
    pub async fn move_messages(&self, ids: &[i64], dest: i64, quota: HardQuota) -> Result<Vec<(i64, i64)>> {
        let mut tx = self.begin().await?;
        let dest_store: i64 = sqlx::query_scalar("SELECT store_id FROM folders WHERE id = ?")
            .bind(dest)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound("destination folder".into()))?;
        let mut moved = Vec::new();
        for id in ids {
            let (store, folder, flags, size): (i64, i64, i64, i64) =
                sqlx::query_as("SELECT store_id, folder_id, flags, size FROM messages WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound("message".into()))?;
            if folder == dest {
                continue;
            }
            let unread = i64::from(flags & i64::from(MSGFLAG_READ) == 0);
            sqlx::query("UPDATE messages SET folder_id = ?, store_id = ?, modified_at = ? WHERE id = ?")
                .bind(dest)
                .bind(dest_store)
                .bind(now_micros())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            adjust_folder(&mut tx, folder, -1, -unread).await?;
            adjust_folder(&mut tx, dest, 1, unread).await?;
            if store != dest_store {
                charge_store(&mut tx, store, -1, -size, HardQuota::NONE).await?;
                charge_store(&mut tx, dest_store, 1, size, quota).await?;
            }
            record(&mut tx, folder, *id, ChangeKind::Deleted).await?;
            record(&mut tx, dest, *id, ChangeKind::Created).await?;
            moved.push((*id, folder));
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// Copies messages into a folder; returns the new ids in order. All or
    /// nothing: refused with [`StoreError::StoreFull`] when the copies do not
    /// fit the destination store's `quota`.
    pub async fn copy_messages(
        &self,
        ids: &[i64],
        dest: i64,
        owner: Option<i64>,
        quota: HardQuota,
    ) -> Result<Vec<i64>> {
        let mut tx = self.begin().await?;
        let dest_store: i64 = sqlx::query_scalar("SELECT store_id FROM folders WHERE id = ?")
            .bind(dest)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound("destination folder".into()))?;
        let mut out = Vec::new();
        for id in ids {
            let now = now_micros();
            let res = sqlx::query(
                "INSERT INTO messages (store_id, folder_id, owner_id, message_class, subject, sender_name, sender_address, \
                 received_at, sent_at, size, flags, importance, has_attach, internet_message_id, conversation_topic, \
                 raw_blob, props, created_at, modified_at) \
                 SELECT ?, ?, ?, message_class, subject, sender_name, sender_address, received_at, sent_at, size, flags, \
                 importance, has_attach, internet_message_id, conversation_topic, raw_blob, props, ?, ? \
                 FROM messages WHERE id = ?",
            )
            .bind(dest_store)
            .bind(dest)
            .bind(owner)
            .bind(now)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if res.rows_affected() == 0 {
                return Err(StoreError::NotFound("message".into()));
            }
            let new_id = last_id(&mut tx, &res).await?;
            sqlx::query(
                "INSERT INTO recipients (message_id, row_num, recipient_type, display_name, address, props) \
                 SELECT ?, row_num, recipient_type, display_name, address, props FROM recipients WHERE message_id = ?",
            )
            .bind(new_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO attachments (message_id, attach_num, filename, mime_type, size, content_id, is_inline, blob_hash, props) \
                 SELECT ?, attach_num, filename, mime_type, size, content_id, is_inline, blob_hash, props FROM attachments WHERE message_id = ?",
            )
            .bind(new_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let (flags, size, raw): (i64, i64, Option<String>) =
                sqlx::query_as("SELECT flags, size, raw_blob FROM messages WHERE id = ?")
                    .bind(new_id)
                    .fetch_one(&mut *tx)
                    .await?;
            let mut hashes: Vec<Option<String>> =
                sqlx::query_scalar("SELECT blob_hash FROM attachments WHERE message_id = ?")
                    .bind(new_id)
                    .fetch_all(&mut *tx)
                    .await?;
            hashes.push(raw);
            for h in hashes.into_iter().flatten() {
                self.blob_ref(&mut tx, &h).await?;
            }
            adjust_folder(&mut tx, dest, 1, i64::from(flags & i64::from(MSGFLAG_READ) == 0)).await?;
            charge_store(&mut tx, dest_store, 1, size, quota).await?;
            record(&mut tx, dest, new_id, ChangeKind::Created).await?;
            out.push(new_id);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Deletes messages for good; returns (id, folder) of each.
    pub async fn delete_messages(&self, ids: &[i64]) -> Result<Vec<(i64, i64)>> {
        let mut tx = self.begin().await?;
        let mut where_from = Vec::new();
        for id in ids {
            let folder: Option<i64> = sqlx::query_scalar("SELECT folder_id FROM messages WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            where_from.push((*id, folder.ok_or_else(|| StoreError::NotFound("message".into()))?));
        }
        let files = self.delete_messages_in(&mut tx, ids).await?;
        tx.commit().await?;
        remove_files(files);
        Ok(where_from)
    }

    /// Deletes messages inside a transaction; returns blob files to remove after commit.
    pub(super) async fn delete_messages_in(&self, tx: &mut Tx, ids: &[i64]) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for id in ids {
            let row: Option<(i64, i64, i64, i64, Option<String>)> =
                sqlx::query_as("SELECT store_id, folder_id, flags, size, raw_blob FROM messages WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?;
            let Some((store, folder, flags, size, raw)) = row else {
                continue;
            };
            let mut hashes: Vec<Option<String>> =
                sqlx::query_scalar("SELECT blob_hash FROM attachments WHERE message_id = ?")
                    .bind(id)
                    .fetch_all(&mut **tx)
                    .await?;
            hashes.push(raw);
            sqlx::query("DELETE FROM attachments WHERE message_id = ?")
                .bind(id)
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM recipients WHERE message_id = ?")
                .bind(id)
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM messages WHERE id = ?")
                .bind(id)
                .execute(&mut **tx)
                .await?;
            for h in hashes.into_iter().flatten() {
                files.extend(self.blob_release(tx, &h).await?);
            }
            adjust_folder(tx, folder, -1, -i64::from(flags & i64::from(MSGFLAG_READ) == 0)).await?;
            charge_store(tx, store, -1, -size, HardQuota::NONE).await?;
            record(tx, folder, *id, ChangeKind::Deleted).await?;
        }
        Ok(files)
    }

    /// Reads the bytes of one attachment.
    pub async fn attachment_data(&self, message: i64, num: i32) -> Result<(AttachmentRow, Vec<u8>)> {
        let att = self
            .attachments_of(message)
            .await?
            .into_iter()
            .find(|a| a.attach_num == num)
            .ok_or_else(|| StoreError::NotFound(format!("attachment {num}")))?;
        let data = match &att.blob_hash {
            Some(h) => self.blob_get(h).await?,
            None => Vec::new(),
        };
        Ok((att, data))
    }
}

fn clear_hot(hot: &mut Hot, tag: PropTag) {
    match tag {
        PR_SUBJECT => hot.subject.clear(),
        PR_SENDER_NAME => hot.sender_name.clear(),
        PR_SENDER_EMAIL_ADDRESS => hot.sender_address.clear(),
        PR_INTERNET_MESSAGE_ID => hot.internet_message_id.clear(),
        PR_CONVERSATION_TOPIC => hot.conversation_topic.clear(),
        PR_CLIENT_SUBMIT_TIME => hot.sent_at = 0,
        _ => {}
    }
}

async fn write_recipients(tx: &mut Tx, id: i64, rcpts: &[RecipientRow]) -> Result<()> {
    for (i, r) in rcpts.iter().enumerate() {
        let (display_name, address, props) = recipient_columns(r);
        sqlx::query(
            "INSERT INTO recipients (message_id, row_num, recipient_type, display_name, address, props) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(i as i64)
        .bind(i64::from(r.recipient_type))
        .bind(display_name)
        .bind(address)
        .bind(encode_bag(&props))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn adjust_folder(tx: &mut Tx, folder: i64, count: i64, unread: i64) -> Result<()> {
    if count == 0 && unread == 0 {
        return Ok(());
    }
    sqlx::query("UPDATE folders SET content_count = content_count + ?, unread_count = unread_count + ? WHERE id = ?")
        .bind(count)
        .bind(unread)
        .bind(folder)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
