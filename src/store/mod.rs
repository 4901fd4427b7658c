//! The mailbox store: the only module that speaks SQL.
//!
//! One code path over SQLite (the embedded default) and MySQL/MariaDB (what
//! the packages set up), through sqlx's `Any` driver with runtime queries.
//! The few places where the dialects differ go through [`Backend`].
//!
//! Layout:
//! - `migrate`: numbered migrations per backend, run at start.
//! - `accounts`: users, addresses, groups, and creating a user's store.
//! - `folders`: the folder tree of each store, with maintained counters.
//! - `messages`: messages with hot columns and a property bag, recipients,
//!   attachments, moves and copies.
//! - `query`: `queryRows`, turning restrictions and sort orders into SQL
//!   where the hot columns allow and evaluating the rest in the server.
//! - `blobs`: content-addressed, reference-counted bodies and attachments.
//! - `journal`: the per-folder change journal with tombstones.
//! - `acl`: folder permissions.
//! - `named`: the bounded named-property table.
//! - `quota`: the hard-quota rule and the one place a write adds to a
//!   store's size.
//! - `group_commit`: delivery of messages to many mailboxes, concurrent
//!   deliveries sharing one transaction and its fsync.
//! - `mailflow`: recipients as delivery sees them, out-of-office, send-as,
//!   the outgoing queue.
//! - `logons`: failed logons per account and client address, for throttling.

mod accounts;
mod acl;
mod blobs;
mod columns;
mod folders;
mod group_commit;
mod journal;
mod logons;
mod mailflow;
mod messages;
mod migrate;
mod named;
mod query;
mod quota;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

pub use accounts::{GroupRow, NewUser, UserRow, UserUpdate};
pub use acl::{AclEntry, MemberKind, rights};
pub use folders::{FolderRow, Role, StoreRow};
pub use group_commit::DeliveryTarget;
pub use journal::Changes;
pub use logons::LogonFailures;
pub use mailflow::{DeliveryRecipient, OofSettings, QueuedMessage};
pub use messages::{AttachmentRow, MessageData, NewAttachmentData, RecipientRow, StoredMessage};
pub use named::{NameCreator, PropName};
pub use query::{CmpOp, Restr, SortSpec, TableQuery, TableRow};
pub use quota::HardQuota;

use crate::error::StoreError;

/// Shorthand for store results.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, the embedded default.
    Sqlite,
    /// MySQL or MariaDB.
    MySql,
}

/// Where blob bytes are kept.
#[derive(Debug, Clone)]
pub enum BlobLocation {
    /// In the `blobs` table.
    Database,
    /// In files under this directory, named by hash.
    Files(PathBuf),
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://PATH` or `mysql://USER@HOST/DB`.
    pub url: String,
    /// Password to add to a MySQL URL that has none.
    pub password: Option<String>,
    /// Where blobs go.
    pub blobs: BlobLocation,
    /// With [`BlobLocation::Files`], blobs up to this many bytes are kept in
    /// the database all the same (0: every blob in a file).
    pub inline_blob_max: u64,
    /// How long to wait for a connection before reporting the database as down.
    pub acquire_timeout: Duration,
}

/// A handle on the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    blobs: BlobLocation,
    /// Blobs up to this size stay in the database even with files.
    inline_blob_max: u64,
    /// Delivery's group committer, started by the first delivery.
    committer: Arc<OnceLock<group_commit::GroupCommitter>>,
}

/// A write transaction.
pub type Tx = Transaction<'static, Any>;

impl Store {
    /// Connects, creating an SQLite file if needed, and runs the migrations.
    pub async fn open(opts: &StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (url, backend) = normalise_url(&opts.url, opts.password.as_deref())?;
        if let BlobLocation::Files(dir) = &opts.blobs {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::BlobIo {
                path: dir.clone(),
                source,
            })?;
        }
        if backend == Backend::Sqlite
            && let Some(parent) = sqlite_path(&url).and_then(|p| p.parent().map(PathBuf::from))
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(&parent).map_err(|source| StoreError::BlobIo {
                path: parent.clone(),
                source,
            })?;
        }
        let connect = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(opts.acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    let setup: &[&'static str] = match backend {
                        Backend::Sqlite => &[
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = FULL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 10000",
                        ],
                        Backend::MySql => &[
                            "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
                            "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
                            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
                        ],
                    };
                    for stmt in setup {
                        conn.execute(*stmt).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await?;
        let store = Store {
            pool,
            backend,
            blobs: opts.blobs.clone(),
            inline_blob_max: opts.inline_blob_max,
            committer: Arc::new(OnceLock::new()),
        };
        migrate::run(&store).await?;
        store.ensure_public_store().await?;
        Ok(store)
    }

    /// The database behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers queue instead of deadlocking.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::MySql => self.pool.begin().await?,
        })
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Answers when the database answers; used for readiness and health.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Checks the scheme, adds the password to a MySQL URL, and tells the backend.
fn normalise_url(url: &str, password: Option<&str>) -> Result<(String, Backend)> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let sep = if rest.contains('?') { '&' } else { '?' };
        let url = if rest.contains("mode=") {
            url.to_string()
        } else {
            format!("{url}{sep}mode=rwc")
        };
        return Ok((url, Backend::Sqlite));
    }
    let rest = url
        .strip_prefix("mysql://")
        .or_else(|| url.strip_prefix("mariadb://"))
        .ok_or_else(|| StoreError::Invalid(format!("database_url {url:?} must start with sqlite:// or mysql://")))?;
    let with_password = match (password, rest.split_once('@')) {
        (Some(pw), Some((userinfo, host))) if !userinfo.contains(':') => {
            format!("mysql://{userinfo}:{}@{host}", percent_encode(pw))
        }
        _ => format!("mysql://{rest}"),
    };
    Ok((with_password, Backend::MySql))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised() {
        let (u, b) = normalise_url("sqlite:///var/lib/okapi/okapi.db", None).unwrap();
        assert_eq!(b, Backend::Sqlite);
        assert_eq!(u, "sqlite:///var/lib/okapi/okapi.db?mode=rwc");
        let (u, b) = normalise_url("mysql://okapi@localhost/okapi", Some("p@ss")).unwrap();
        assert_eq!(b, Backend::MySql);
        assert_eq!(u, "mysql://okapi:p%40ss@localhost/okapi");
        assert!(normalise_url("postgres://x", None).is_err());
    }
}
