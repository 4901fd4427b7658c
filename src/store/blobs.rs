//! Content-addressed, reference-counted blobs: message bodies, raw messages
//! and attachment bytes, stored once however many messages refer to them.
//!
//! The key is the SHA-256 of the bytes. With `attachment_storage = files` the
//! bytes of blobs larger than `attachment_inline_max` go to
//! `attachment_path/ab/cd/<hash>`; smaller ones stay in the row like with
//! `db`, because a file costs every delivery two more fsyncs (file and
//! directory) where the row rides on the commit. A file is written *before*
//! the row that counts the reference commits: a crash in between leaves an
//! unreferenced file (harmless, and found again by hash on the next store)
//! but never a reference to bytes that are not there. Files are removed only
//! after the row is gone.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{BlobLocation, Result, Store, Tx};
use crate::error::StoreError;

/// Hex SHA-256 of some bytes.
pub fn hash_of(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

impl Store {
    fn blob_file(&self, hash: &str) -> Option<PathBuf> {
        match &self.blobs {
            BlobLocation::Database => None,
            BlobLocation::Files(dir) => Some(dir.join(&hash[0..2]).join(&hash[2..4]).join(hash)),
        }
    }

    /// Stores bytes (if new) and takes one reference; returns the hash.
    ///
    /// With files, the file is written (and fsynced, on the blocking pool: an
    /// fsync must not stall a runtime worker) before the row is touched, so the
    /// transaction holds no lock while the disk works; a file that is already
    /// there is kept. One upsert then takes the reference. (A first `UPDATE`
    /// of a missing row would take a gap lock on MariaDB, and parallel
    /// deliveries inserting new blobs would then wait on each other.)
    pub(crate) async fn blob_put(&self, tx: &mut Tx, data: &[u8]) -> Result<String> {
        let hash = hash_of(data);
        let inline = self.blob_prepare(&hash, data).await?;
        // Another transaction may insert the same bytes at the same moment,
        // or they are there already: the upsert makes that one more reference.
        sqlx::query(sqlx::AssertSqlSafe(self.blob_upsert_sql(1)))
            .bind(&hash)
            .bind(data.len() as i64)
            .bind(1i64)
            .bind(inline)
            .execute(&mut **tx)
            .await?;
        Ok(hash)
    }

    /// Makes the bytes of a blob durable where they live, before any row
    /// refers to them, and returns what the blob row's `data` column gets:
    /// the bytes with `attachment_storage = db` or when the blob is small,
    /// nothing when it goes to a file (written and fsynced here, on the
    /// blocking pool, unless it is there already).
    pub(crate) async fn blob_prepare(&self, hash: &str, data: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.blob_file(hash) {
            Some(path) if data.len() as u64 > self.inline_blob_max => {
                if !path.exists() {
                    let bytes = data.to_vec();
                    tokio::task::spawn_blocking(move || write_durably(&path, &bytes))
                        .await
                        .map_err(|e| StoreError::BlobIo {
                            path: PathBuf::new(),
                            source: std::io::Error::other(e.to_string()),
                        })??;
                }
                Ok(None)
            }
            _ => Ok(Some(data.to_vec())),
        }
    }

    /// The upsert that takes references on `rows` blobs at once: each row
    /// binds hash, size, references to take, and the inline bytes (or NULL).
    /// A row that exists gets its count raised; one that does not is created.
    pub(crate) fn blob_upsert_sql(&self, rows: usize) -> String {
        let values = vec!["(?, ?, ?, ?)"; rows.max(1)].join(", ");
        match self.backend {
            super::Backend::Sqlite => format!(
                "INSERT INTO blobs (hash, size, refcount, data) VALUES {values} \
                 ON CONFLICT(hash) DO UPDATE SET refcount = refcount + excluded.refcount"
            ),
            super::Backend::MySql => format!(
                "INSERT INTO blobs (hash, size, refcount, data) VALUES {values} \
                 ON DUPLICATE KEY UPDATE refcount = refcount + VALUES(refcount)"
            ),
        }
    }

    /// Takes one more reference on an existing blob (copying a message).
    pub(crate) async fn blob_ref(&self, tx: &mut Tx, hash: &str) -> Result<()> {
        sqlx::query("UPDATE blobs SET refcount = refcount + 1 WHERE hash = ?")
            .bind(hash)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Drops one reference; returns the file to delete after commit when it
    /// was the last one.
    pub(crate) async fn blob_release(&self, tx: &mut Tx, hash: &str) -> Result<Option<PathBuf>> {
        sqlx::query("UPDATE blobs SET refcount = refcount - 1 WHERE hash = ?")
            .bind(hash)
            .execute(&mut **tx)
            .await?;
        let gone = sqlx::query("DELETE FROM blobs WHERE hash = ? AND refcount <= 0")
            .bind(hash)
            .execute(&mut **tx)
            .await?;
        Ok(if gone.rows_affected() > 0 {
            self.blob_file(hash)
        } else {
            None
        })
    }

    /// Reads a blob's bytes.
    pub async fn blob_get(&self, hash: &str) -> Result<Vec<u8>> {
        let row: Option<(Option<Vec<u8>>,)> = sqlx::query_as("SELECT data FROM blobs WHERE hash = ?")
            .bind(hash)
            .fetch_optional(self.pool())
            .await?;
        match row {
            None => Err(StoreError::NotFound(format!("blob {hash}"))),
            Some((Some(data),)) => Ok(data),
            Some((None,)) => {
                let path = self.blob_file(hash).ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "blob {hash} is kept in a file, but attachment_storage is db; set attachment_storage = files"
                    ))
                })?;
                std::fs::read(&path).map_err(|source| StoreError::BlobIo { path, source })
            }
        }
    }
}

/// Removes blob files whose last reference went away, after the commit.
pub(crate) fn remove_files(files: Vec<PathBuf>) {
    for f in files {
        if let Err(e) = std::fs::remove_file(&f)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %f.display(), error = %e, "could not remove unreferenced blob file");
        }
    }
}

fn write_durably(path: &Path, data: &[u8]) -> Result<()> {
    let io = |source, path: &Path| StoreError::BlobIo {
        path: path.to_path_buf(),
        source,
    };
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(e, dir))?;
    let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), rand::random::<u64>()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| io(e, &tmp))?;
    f.write_all(data).map_err(|e| io(e, &tmp))?;
    f.sync_all().map_err(|e| io(e, &tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| io(e, path))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
