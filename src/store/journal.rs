//! The per-folder change journal: every folder counts its changes, and keeps
//! for each object the number of its latest change, when it was created, and
//! a tombstone once it is gone. Incremental sync (`getChanges`, ActiveSync,
//! the web app's refresh) reads only what changed after a given number.

use super::{Result, Store, Tx};

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    /// It appeared in the folder (created, delivered, moved or copied in).
    Created,
    /// Its properties, flags, recipients or attachments changed.
    Modified,
    /// It left the folder (deleted or moved away).
    Deleted,
}

/// Changes of a folder after a change number.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// Objects created after the number (and still there).
    pub created: Vec<i64>,
    /// Objects that existed before and changed after.
    pub changed: Vec<i64>,
    /// Objects that existed before and are gone now.
    pub deleted: Vec<i64>,
    /// The folder's latest change number: the next state.
    pub last: i64,
}

/// Records a change inside the caller's transaction and returns its number.
pub(crate) async fn record(tx: &mut Tx, folder: i64, object: i64, kind: ChangeKind) -> Result<i64> {
    sqlx::query("UPDATE folders SET last_change_num = last_change_num + 1 WHERE id = ?")
        .bind(folder)
        .execute(&mut **tx)
        .await?;
    let cn: i64 = sqlx::query_scalar("SELECT last_change_num FROM folders WHERE id = ?")
        .bind(folder)
        .fetch_one(&mut **tx)
        .await?;
    match kind {
        ChangeKind::Created => {
            sqlx::query("DELETE FROM changes WHERE folder_id = ? AND object_id = ?")
                .bind(folder)
                .bind(object)
                .execute(&mut **tx)
                .await?;
            insert(tx, folder, object, cn, cn, false).await?;
        }
        ChangeKind::Modified | ChangeKind::Deleted => {
            let deleted = kind == ChangeKind::Deleted;
            let res =
                sqlx::query("UPDATE changes SET change_num = ?, deleted = ? WHERE folder_id = ? AND object_id = ?")
                    .bind(cn)
                    .bind(i64::from(deleted))
                    .bind(folder)
                    .bind(object)
                    .execute(&mut **tx)
                    .await?;
            if res.rows_affected() == 0 {
                insert(tx, folder, object, cn, 0, deleted).await?;
            }
        }
    }
    Ok(cn)
}

async fn insert(tx: &mut Tx, folder: i64, object: i64, cn: i64, created: i64, deleted: bool) -> Result<()> {
    sqlx::query("INSERT INTO changes (folder_id, object_id, change_num, created_num, deleted) VALUES (?, ?, ?, ?, ?)")
        .bind(folder)
        .bind(object)
        .bind(cn)
        .bind(created)
        .bind(i64::from(deleted))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Changes of a folder after change number `since` (0 for everything).
    pub async fn changes_since(&self, folder: i64, since: i64) -> Result<Changes> {
        let last: i64 = sqlx::query_scalar("SELECT last_change_num FROM folders WHERE id = ?")
            .bind(folder)
            .fetch_one(self.pool())
            .await?;
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT object_id, created_num, deleted FROM changes \
             WHERE folder_id = ? AND change_num > ? AND change_num <= ? ORDER BY change_num",
        )
        .bind(folder)
        .bind(since)
        .bind(last)
        .fetch_all(self.pool())
        .await?;
        let mut out = Changes {
            last,
            ..Changes::default()
        };
        for (object, created, deleted) in rows {
            let new = created > since;
            match (deleted != 0, new) {
                (true, true) => {} // came and went in between: the client never saw it
                (true, false) => out.deleted.push(object),
                (false, true) => out.created.push(object),
                (false, false) => out.changed.push(object),
            }
        }
        Ok(out)
    }
}
