//! Delivery's group commit: many messages in one transaction, one fsync.
//!
//! A recipient may hear `250` only once its message is durably committed, and
//! with durable settings (MariaDB's `innodb_flush_log_at_trx_commit = 1`,
//! SQLite's `synchronous = FULL`) every commit waits for the disk. Deliveries
//! to one user also write the same rows (the folder's counters and change
//! number, the store's size), so with one transaction per message concurrent
//! deliveries queue on those row locks, each for the length of the one
//! before it plus its fsync, and every message pays a dozen round trips.
//!
//! So [`Store::deliver`] does the per-message work in the caller's task
//! (hot columns, the property bag, hashing, blob files written and fsynced
//! before any row names them) and hands the prepared message to a committer
//! task. A committer takes every message waiting, writes them all in one
//! transaction with few statements (multi-row inserts; one `UPDATE` for the
//! counters and change numbers of all folders concerned and one for the
//! stores, taken last and in id order, so the hot rows are locked only
//! around the commit and never in an order that could deadlock), commits
//! once, and only then answers each caller. A failed transaction rolls back
//! as a whole; unless the database is out of reach, its messages are then
//! committed one by one, so one message that cannot be stored (its folder
//! deleted a moment ago, say) or a transient lock conflict fails no other.
//!
//! Groups form by themselves: while one transaction commits, the next
//! messages queue up. No timer waits for company, so a lone delivery is
//! committed at once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::{Mutex, mpsc, oneshot};

use super::blobs::hash_of;
use super::columns::{attachment_columns, recipient_columns};
use super::messages::{Hot, MessageRow, insert_message_row, new_message_columns};
use super::{Backend, FolderRow, MessageData, Result, Store, Tx};
use crate::error::StoreError;
use crate::props::{MSGFLAG_READ, encode_bag, now_micros};

/// Most messages in one group. It bounds the time the folder rows stay
/// locked and the size of a transaction; more parallel LMTP connections than
/// this are rare (Postfix opens 20 per destination by default).
const MAX_GROUP_MESSAGES: usize = 64;

/// Most blob bytes kept in the database (`attachment_storage = db`) that one
/// group carries; past it the group is closed. A single larger message still
/// goes, alone.
const MAX_GROUP_INLINE_BYTES: usize = 8 << 20;

/// Most rows in one multi-row statement: well under SQLite's limit on bound
/// parameters, and a statement the server parses quickly.
const MAX_ROWS_PER_STATEMENT: usize = 100;

/// Most blob bytes in one multi-row blob statement, to stay under MariaDB's
/// default `max_allowed_packet` (16 MiB); a larger blob goes in a statement
/// of its own.
const MAX_BYTES_PER_STATEMENT: usize = 4 << 20;

/// Prepared messages waiting for a committer. Senders wait when it is full,
/// which slows the LMTP sessions down instead of buffering without bound.
const QUEUE_DEPTH: usize = 1024;

/// Where one copy of a delivered message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryTarget {
    /// The folder (Inbox, or Junk E-mail for spam).
    pub folder_id: i64,
    /// The folder's store.
    pub store_id: i64,
    /// The store's owner, who owns the copy.
    pub owner_id: Option<i64>,
}

impl From<&FolderRow> for DeliveryTarget {
    fn from(f: &FolderRow) -> Self {
        DeliveryTarget {
            folder_id: f.id,
            store_id: f.store_id,
            owner_id: f.owner_id,
        }
    }
}

/// A blob one message needs: its bytes are durable already (a file), or
/// travel in the row (`inline`).
#[derive(Debug)]
struct BlobNeed {
    hash: String,
    size: i64,
    inline: Option<Vec<u8>>,
    /// References to take: one per use in the message, per copy.
    refs: i64,
}

#[derive(Debug)]
struct RecipientValues {
    kind: i64,
    display_name: String,
    address: String,
    props: Vec<u8>,
}

#[derive(Debug)]
struct AttachmentValues {
    filename: String,
    mime_type: String,
    size: i64,
    content_id: String,
    inline: i64,
    hash: String,
    props: Vec<u8>,
}

/// One message with everything computed that does not need the database:
/// the committer only binds values.
#[derive(Debug)]
pub(crate) struct PreparedMessage {
    targets: Vec<DeliveryTarget>,
    hot: Hot,
    bag: Vec<u8>,
    size: i64,
    has_attach: i64,
    unread: i64,
    raw_blob: Option<String>,
    blobs: Vec<BlobNeed>,
    recipients: Vec<RecipientValues>,
    attachments: Vec<AttachmentValues>,
    inline_bytes: usize,
}

/// A prepared message and where its caller waits for the outcome.
#[derive(Debug)]
struct Job {
    message: PreparedMessage,
    done: oneshot::Sender<Result<Vec<i64>>>,
}

/// The queue in front of the committer tasks, started with the first delivery.
#[derive(Debug)]
pub(crate) struct GroupCommitter {
    queue: mpsc::Sender<Job>,
    /// Transactions committed so far; tests read it to see that messages
    /// were grouped.
    commits: Arc<AtomicU64>,
}

/// The receiving end, until the committer tasks are spawned.
pub(crate) struct Committers {
    store: Store,
    queue: mpsc::Receiver<Job>,
    commits: Arc<AtomicU64>,
}

impl GroupCommitter {
    /// A queue and its receiving end; nothing runs until [`Committers::spawn`].
    pub(crate) fn new(store: &Store) -> (GroupCommitter, Committers) {
        let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
        let commits = Arc::new(AtomicU64::new(0));
        // The tasks get a handle without this committer: a handle with it
        // would keep the queue open, and the tasks alive, for ever.
        let store = Store {
            committer: Arc::new(OnceLock::new()),
            ..store.clone()
        };
        (
            GroupCommitter {
                queue,
                commits: commits.clone(),
            },
            Committers {
                store,
                queue: receiver,
                commits,
            },
        )
    }

    /// Queues a prepared message; the receiver yields its ids once committed.
    async fn submit(&self, message: PreparedMessage) -> Result<oneshot::Receiver<Result<Vec<i64>>>> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Job { message, done })
            .await
            .map_err(|_| StoreError::GroupCommit("the delivery committer has stopped".into()))?;
        Ok(answer)
    }

    /// Transactions committed so far.
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }
}

impl Committers {
    /// Starts the committer tasks. On MariaDB two take turns: while one
    /// commits (and waits for the disk), the next writes its inserts and then
    /// waits only for the hot rows. SQLite has one writer at a time, so one
    /// task is all it can use.
    pub(crate) fn spawn(self) {
        let tasks = match self.store.backend {
            Backend::Sqlite => 1,
            Backend::MySql => 2,
        };
        let queue = Arc::new(Mutex::new(self.queue));
        for _ in 0..tasks {
            tokio::spawn(run(self.store.clone(), queue.clone(), self.commits.clone()));
        }
    }
}

/// One committer: takes whatever is waiting, commits it, answers, again.
async fn run(store: Store, queue: Arc<Mutex<mpsc::Receiver<Job>>>, commits: Arc<AtomicU64>) {
    loop {
        let group = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut inline = first.message.inline_bytes;
            let mut group = vec![first];
            while group.len() < MAX_GROUP_MESSAGES && inline < MAX_GROUP_INLINE_BYTES {
                match queue.try_recv() {
                    Ok(job) => {
                        inline += job.message.inline_bytes;
                        group.push(job);
                    }
                    Err(_) => break,
                }
            }
            group
        };
        let messages: Vec<&PreparedMessage> = group.iter().map(|j| &j.message).collect();
        match commit_guarded(&store, &messages).await {
            Ok(ids) => {
                commits.fetch_add(1, Ordering::Relaxed);
                for (job, ids) in group.into_iter().zip(ids) {
                    answer(job, Ok(ids));
                }
            }
            Err(e) if group.len() > 1 && worth_retrying_alone(&e) => {
                tracing::warn!(error = %e, messages = group.len(), "group commit failed; committing its messages one by one");
                for job in group {
                    let result = commit_guarded(&store, &[&job.message]).await.and_then(|mut ids| {
                        ids.pop()
                            .ok_or_else(|| StoreError::GroupCommit("the commit returned no ids for the message".into()))
                    });
                    if result.is_ok() {
                        commits.fetch_add(1, Ordering::Relaxed);
                    }
                    answer(job, result);
                }
            }
            Err(e) if group.len() == 1 => {
                if let Some(job) = group.into_iter().next() {
                    answer(job, Err(e));
                }
            }
            Err(e) => {
                let why = e.to_string();
                for job in group {
                    answer(job, Err(StoreError::GroupCommit(why.clone())));
                }
            }
        }
    }
}

/// Commits one group as one unit of work (see [`crate::panics`]). A panic
/// inside it becomes an error for this group's messages alone, and the
/// committer goes on: the transaction rolls back when it is dropped, as on
/// any error, so nothing of the group is stored, and the committer's only
/// other state is the queue, which the panic never touched. Restarting the
/// task would gain nothing over going on; letting it die (or aborting) would
/// fail every later delivery of every user. The error is worth retrying
/// alone, so a message that trips a bug fails only itself, with `451 4.3.0`.
async fn commit_guarded(store: &Store, messages: &[&PreparedMessage]) -> Result<Vec<Vec<i64>>> {
    match crate::panics::guard(store.commit_group(messages)).await {
        Ok(result) => result,
        Err(panic) => {
            panic.log(crate::panics::Unit {
                operation: "group commit",
                ..Default::default()
            });
            Err(StoreError::GroupCommit(format!(
                "internal error while committing {} message(s): {}",
                messages.len(),
                panic.message()
            )))
        }
    }
}

/// Whether the messages of a failed group should be tried again alone: yes,
/// unless the database is out of reach, where each retry would only wait for
/// it again and the MTA's own retry serves better.
fn worth_retrying_alone(e: &StoreError) -> bool {
    !matches!(
        e,
        StoreError::Database(
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_)
        )
    )
}

/// Tells a caller its outcome. A caller that has gone (its connection
/// closed) is not told; its message is stored all the same, as it would be
/// had the connection dropped a moment after the commit.
fn answer(job: Job, result: Result<Vec<i64>>) {
    let _gone = job.done.send(result);
}

impl Store {
    /// Stores one message into several folders, its raw bytes and
    /// attachments once however many copies; returns the new ids in target
    /// order, once they are durably committed.
    ///
    /// Concurrent calls share transactions (see the module documentation):
    /// an `Ok` always means committed, an `Err` means nothing of this message
    /// was stored.
    pub async fn deliver(&self, targets: &[DeliveryTarget], data: &MessageData) -> Result<Vec<i64>> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let message = self.prepare_message(targets, data).await?;
        let committer = self.committer.get_or_init(|| {
            let (committer, tasks) = GroupCommitter::new(self);
            tasks.spawn();
            committer
        });
        committer
            .submit(message)
            .await?
            .await
            .map_err(|_| StoreError::GroupCommit("the delivery committer stopped before answering".into()))?
    }

    /// Stores several messages in one transaction, as one group commit
    /// would: all of them, or (on an error) none. Each item is a message and
    /// its targets; returns the ids per item, in target order.
    pub async fn deliver_group(&self, items: &[(Vec<DeliveryTarget>, MessageData)]) -> Result<Vec<Vec<i64>>> {
        let mut prepared = Vec::with_capacity(items.len());
        for (targets, data) in items {
            prepared.push(self.prepare_message(targets, data).await?);
        }
        self.commit_group(&prepared.iter().collect::<Vec<_>>()).await
    }

    /// Transactions the delivery committer has committed (0 before the
    /// first delivery).
    pub fn delivery_commits(&self) -> u64 {
        self.committer.get().map_or(0, GroupCommitter::commits)
    }

    /// Does everything for a message that needs no transaction: the hot
    /// columns and the bag, the size, and the blobs, whose files (with
    /// `attachment_storage = files`) are written and fsynced here, before
    /// any row refers to them.
    pub(crate) async fn prepare_message(
        &self,
        targets: &[DeliveryTarget],
        data: &MessageData,
    ) -> Result<PreparedMessage> {
        let (hot, bag) = new_message_columns(&data.props);
        let bag = encode_bag(&bag);
        // As create_message_in: the raw bytes' size, else bag and attachments.
        let raw_size = data.raw.as_ref().map_or(0, Vec::len) as i64;
        let size = if raw_size > 0 {
            raw_size
        } else {
            bag.len() as i64 + data.new_attachments.iter().map(|a| a.data.len() as i64).sum::<i64>()
        };
        let copies = targets.len() as i64;
        let mut blobs: Vec<BlobNeed> = Vec::new();
        let mut inline_bytes = 0;
        let mut need = async |bytes: &[u8]| -> Result<String> {
            let hash = hash_of(bytes);
            if let Some(b) = blobs.iter_mut().find(|b| b.hash == hash) {
                b.refs += copies;
            } else {
                let inline = self.blob_prepare(&hash, bytes).await?;
                inline_bytes += inline.as_ref().map_or(0, Vec::len);
                blobs.push(BlobNeed {
                    hash: hash.clone(),
                    size: bytes.len() as i64,
                    inline,
                    refs: copies,
                });
            }
            Ok(hash)
        };
        let raw_blob = match &data.raw {
            Some(raw) => Some(need(raw).await?),
            None => None,
        };
        let mut attachments = Vec::with_capacity(data.new_attachments.len());
        for a in &data.new_attachments {
            let cols = attachment_columns(a);
            attachments.push(AttachmentValues {
                filename: cols.filename,
                mime_type: cols.mime_type,
                size: a.data.len() as i64,
                content_id: cols.content_id,
                inline: i64::from(a.inline),
                hash: need(&a.data).await?,
                props: encode_bag(&cols.bag),
            });
        }
        let recipients = data
            .recipients
            .iter()
            .flatten()
            .map(|r| {
                let (display_name, address, bag) = recipient_columns(r);
                RecipientValues {
                    kind: i64::from(r.recipient_type),
                    display_name,
                    address,
                    props: encode_bag(&bag),
                }
            })
            .collect();
        Ok(PreparedMessage {
            targets: targets.to_vec(),
            unread: i64::from(hot.flags & i64::from(MSGFLAG_READ) == 0),
            has_attach: i64::from(!attachments.is_empty()),
            hot,
            bag,
            size,
            raw_blob,
            blobs,
            recipients,
            attachments,
            inline_bytes,
        })
    }

    /// Writes a group of prepared messages in one transaction; returns the
    /// ids per message, in target order.
    pub(crate) async fn commit_group(&self, group: &[&PreparedMessage]) -> Result<Vec<Vec<i64>>> {
        let mut tx = self.begin().await?;
        self.put_blobs(&mut tx, group).await?;

        // The message rows, one statement each: each needs its id back, and
        // only a single-row insert reports it on both backends.
        let now = now_micros();
        let mut ids = Vec::with_capacity(group.len());
        // Per folder: copies, unread copies, ids in insert order; per store: copies, bytes.
        let mut folders: BTreeMap<i64, (i64, i64, Vec<i64>)> = BTreeMap::new();
        let mut stores: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        for m in group {
            let mut mine = Vec::with_capacity(m.targets.len());
            for t in &m.targets {
                let id = insert_message_row(
                    &mut tx,
                    &MessageRow {
                        store_id: t.store_id,
                        folder_id: t.folder_id,
                        owner_id: t.owner_id,
                        hot: &m.hot,
                        size: m.size,
                        has_attach: m.has_attach,
                        raw_blob: m.raw_blob.as_deref(),
                        bag: &m.bag,
                        now,
                    },
                )
                .await?;
                let f = folders.entry(t.folder_id).or_default();
                f.0 += 1;
                f.1 += m.unread;
                f.2.push(id);
                let s = stores.entry(t.store_id).or_default();
                s.0 += 1;
                s.1 += m.size;
                mine.push(id);
            }
            ids.push(mine);
        }
        self.put_recipients_and_attachments(&mut tx, group, &ids).await?;
        // The hot rows last, so they stay locked for as short a time as can be.
        update_folders(&mut tx, &folders).await?;
        self.journal_created(&mut tx, &folders).await?;
        update_stores(&mut tx, &stores).await?;
        crate::fault::point("group_commit", "commit");
        tx.commit().await?;
        Ok(ids)
    }

    /// Takes the group's blob references, a few statements for all of them,
    /// in hash order (two groups needing the same blobs lock them in the
    /// same order, so they wait for each other rather than deadlock).
    async fn put_blobs(&self, tx: &mut Tx, group: &[&PreparedMessage]) -> Result<()> {
        let mut blobs: BTreeMap<&str, (i64, Option<&[u8]>, i64)> = BTreeMap::new();
        // A message without targets takes no references (and must not leave
        // a row with none).
        for b in group.iter().flat_map(|m| &m.blobs).filter(|b| b.refs > 0) {
            let e = blobs.entry(&b.hash).or_insert((b.size, None, 0));
            e.2 += b.refs;
            if e.1.is_none() {
                e.1 = b.inline.as_deref();
            }
        }
        let rows: Vec<_> = blobs.into_iter().collect();
        let mut start = 0;
        while start < rows.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < rows.len() && end - start < MAX_ROWS_PER_STATEMENT {
                let len = rows[end].1.1.map_or(0, <[u8]>::len);
                if end > start && bytes + len > MAX_BYTES_PER_STATEMENT {
                    break;
                }
                bytes += len;
                end += 1;
            }
            let chunk = &rows[start..end];
            let mut q = sqlx::query(sqlx::AssertSqlSafe(self.blob_upsert_sql(chunk.len())));
            for (hash, (size, inline, refs)) in chunk {
                q = q.bind(*hash).bind(*size).bind(*refs).bind(inline.map(<[u8]>::to_vec));
            }
            q.execute(&mut **tx).await?;
            start = end;
        }
        Ok(())
    }

    /// Recipient and attachment rows of every copy, in multi-row inserts.
    async fn put_recipients_and_attachments(
        &self,
        tx: &mut Tx,
        group: &[&PreparedMessage],
        ids: &[Vec<i64>],
    ) -> Result<()> {
        let mut recipients = Vec::new();
        let mut attachments = Vec::new();
        for (m, mine) in group.iter().zip(ids) {
            for id in mine {
                recipients.extend(m.recipients.iter().enumerate().map(|(n, r)| (*id, n as i64, r)));
                attachments.extend(m.attachments.iter().enumerate().map(|(n, a)| (*id, n as i64, a)));
            }
        }
        for chunk in recipients.chunks(MAX_ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO recipients (message_id, row_num, recipient_type, display_name, address, props) VALUES {}",
                vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, n, r) in chunk {
                q = q
                    .bind(*id)
                    .bind(*n)
                    .bind(r.kind)
                    .bind(&r.display_name)
                    .bind(&r.address)
                    .bind(&r.props);
            }
            q.execute(&mut **tx).await?;
        }
        for chunk in attachments.chunks(MAX_ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO attachments (message_id, attach_num, filename, mime_type, size, content_id, is_inline, \
                 blob_hash, props) VALUES {}",
                vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, n, a) in chunk {
                q = q
                    .bind(*id)
                    .bind(*n)
                    .bind(&a.filename)
                    .bind(&a.mime_type)
                    .bind(a.size)
                    .bind(&a.content_id)
                    .bind(a.inline)
                    .bind(&a.hash)
                    .bind(&a.props);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Journal rows for the new messages. Each folder's last change number
    /// was raised by its number of new messages in [`update_folders`]; they
    /// take the numbers up to it in insert order, read from the row inside
    /// the statement (the row is locked by this transaction).
    async fn journal_created(&self, tx: &mut Tx, folders: &BTreeMap<i64, (i64, i64, Vec<i64>)>) -> Result<()> {
        let rows: Vec<(i64, i64, i64)> = folders
            .iter()
            .flat_map(|(folder, (_, _, ids))| {
                let k = ids.len() as i64;
                ids.iter()
                    .enumerate()
                    .map(move |(i, id)| (*folder, *id, k - 1 - i as i64))
            })
            .collect();
        // A new id has no journal row, but should one be there (an id used
        // again), it is replaced, as journal::record does for a creation.
        let upsert = match self.backend {
            Backend::Sqlite => {
                "ON CONFLICT(folder_id, object_id) DO UPDATE SET change_num = excluded.change_num, \
                 created_num = excluded.created_num, deleted = 0"
            }
            Backend::MySql => {
                "ON DUPLICATE KEY UPDATE change_num = VALUES(change_num), created_num = VALUES(created_num), deleted = 0"
            }
        };
        for chunk in rows.chunks(MAX_ROWS_PER_STATEMENT) {
            let value = "(?, ?, (SELECT last_change_num FROM folders WHERE id = ?) - ?, \
                         (SELECT last_change_num FROM folders WHERE id = ?) - ?, 0)";
            let sql = format!(
                "INSERT INTO changes (folder_id, object_id, change_num, created_num, deleted) VALUES {} {upsert}",
                vec![value; chunk.len()].join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (folder, id, back) in chunk {
                q = q
                    .bind(*folder)
                    .bind(*id)
                    .bind(*folder)
                    .bind(*back)
                    .bind(*folder)
                    .bind(*back);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// `CASE id WHEN ? THEN ? ... ELSE 0 END` for `n` ids.
fn case_by_id(n: usize) -> String {
    format!("CASE id {} ELSE 0 END", "WHEN ? THEN ? ".repeat(n))
}

/// Raises the counters and the last change number of every folder of the
/// group, one statement per hundred folders, in id order. A folder that is
/// gone (deleted since the recipient was looked up) fails the group.
async fn update_folders(tx: &mut Tx, folders: &BTreeMap<i64, (i64, i64, Vec<i64>)>) -> Result<()> {
    let rows: Vec<_> = folders.iter().collect();
    for chunk in rows.chunks(MAX_ROWS_PER_STATEMENT) {
        let case = case_by_id(chunk.len());
        let sql = format!(
            "UPDATE folders SET content_count = content_count + {case}, unread_count = unread_count + {case}, \
             last_change_num = last_change_num + {case} WHERE id IN ({})",
            vec!["?"; chunk.len()].join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, (count, _, _)) in chunk {
            q = q.bind(**id).bind(*count);
        }
        for (id, (_, unread, _)) in chunk {
            q = q.bind(**id).bind(*unread);
        }
        for (id, (count, _, _)) in chunk {
            q = q.bind(**id).bind(*count);
        }
        for (id, _) in chunk {
            q = q.bind(**id);
        }
        let res = q.execute(&mut **tx).await?;
        if res.rows_affected() != chunk.len() as u64 {
            return Err(StoreError::NotFound("a delivery's target folder".into()));
        }
    }
    Ok(())
}

/// Raises message count and size of every store of the group, in id order.
async fn update_stores(tx: &mut Tx, stores: &BTreeMap<i64, (i64, i64)>) -> Result<()> {
    let rows: Vec<_> = stores.iter().collect();
    for chunk in rows.chunks(MAX_ROWS_PER_STATEMENT) {
        let case = case_by_id(chunk.len());
        let sql = format!(
            "UPDATE stores SET message_count = message_count + {case}, size_bytes = size_bytes + {case} \
             WHERE id IN ({})",
            vec!["?"; chunk.len()].join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, (count, _)) in chunk {
            q = q.bind(**id).bind(*count);
        }
        for (id, (_, size)) in chunk {
            q = q.bind(**id).bind(*size);
        }
        for (id, _) in chunk {
            q = q.bind(**id);
        }
        let res = q.execute(&mut **tx).await?;
        if res.rows_affected() != chunk.len() as u64 {
            return Err(StoreError::NotFound("a delivery's target store".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::props::{PR_SUBJECT, PropMap, PropValue};
    use crate::store::{BlobLocation, NewUser, Role, StoreOptions};

    async fn open(dir: &std::path::Path) -> (Store, DeliveryTarget) {
        let store = Store::open(&StoreOptions {
            url: format!("sqlite://{}/okapi.db", dir.display()),
            password: None,
            blobs: BlobLocation::Files(dir.join("blobs")),
            inline_blob_max: 0,
            acquire_timeout: std::time::Duration::from_secs(5),
        })
        .await
        .unwrap();
        let uid = store
            .create_user(&NewUser {
                login: "gc".into(),
                display_name: "gc".into(),
                password_hash: "x".into(),
                address: "gc@example.test".into(),
                aliases: vec![],
                is_admin: false,
            })
            .await
            .unwrap();
        let st = store.store_of_user(uid).await.unwrap();
        let inbox = store.folder_by_role(st.id, Role::Inbox).await.unwrap();
        (store, DeliveryTarget::from(&inbox))
    }

    fn message(i: usize) -> MessageData {
        let mut props = PropMap::new();
        props.insert(PR_SUBJECT, PropValue::Str(format!("m{i}")));
        MessageData {
            props,
            raw: Some(format!("Subject: m{i}\r\n\r\nbody {i}\r\n").into_bytes()),
            ..MessageData::default()
        }
    }

    /// Messages waiting when a committer starts go into one transaction, and
    /// every caller gets the ids of its own message.
    #[tokio::test]
    async fn waiting_messages_share_one_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (store, target) = open(dir.path()).await;
        let (committer, tasks) = GroupCommitter::new(&store);
        let mut answers = Vec::new();
        for i in 0..5 {
            let m = store.prepare_message(&[target], &message(i)).await.unwrap();
            answers.push(committer.submit(m).await.unwrap());
        }
        tasks.spawn();
        for (i, answer) in answers.into_iter().enumerate() {
            let ids = answer.await.unwrap().unwrap();
            assert_eq!(ids.len(), 1);
            let m = store.load_message(ids[0]).await.unwrap();
            assert_eq!(m.props.get(&PR_SUBJECT), Some(&PropValue::Str(format!("m{i}"))));
        }
        assert_eq!(committer.commits(), 1, "five messages, one transaction");
        let f = store.folder(target.folder_id).await.unwrap();
        assert_eq!((f.content_count, f.unread_count, f.last_change_num), (5, 5, 5));
    }

    /// A message that cannot be stored fails alone: the group is rolled
    /// back, then its messages are committed one by one, so the others in it
    /// still arrive.
    #[tokio::test]
    async fn a_bad_message_fails_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let (store, target) = open(dir.path()).await;
        let gone = DeliveryTarget {
            folder_id: 999_999,
            ..target
        };
        let (committer, tasks) = GroupCommitter::new(&store);
        let mut answers = Vec::new();
        for (i, t) in [target, gone, target].into_iter().enumerate() {
            let m = store.prepare_message(&[t], &message(i)).await.unwrap();
            answers.push(committer.submit(m).await.unwrap());
        }
        tasks.spawn();
        let mut outcomes = Vec::new();
        for answer in answers {
            outcomes.push(answer.await.unwrap().is_ok());
        }
        assert_eq!(outcomes, [true, false, true]);
        assert_eq!(committer.commits(), 2, "the group failed, then two messages went alone");
        let f = store.folder(target.folder_id).await.unwrap();
        assert_eq!((f.content_count, f.last_change_num), (2, 2));
        let st = store.store_of_user(target.owner_id.unwrap()).await.unwrap();
        assert_eq!(st.message_count, 2);
    }
}
