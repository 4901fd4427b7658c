//! MAPI-style error codes and the one error type the API speaks.
//!
//! Every failure a client can see carries a MAPI code (the numbers Zarafa and
//! Outlook clients already know) and a sentence a person can act on. The codecs
//! turn an [`ApiError`] into a SOAP Fault or a JSON error body; the HTTP status
//! is chosen here too, so the mapping lives in one place.

use std::fmt;

/// A MAPI error code, as clients of Zarafa-style servers know them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MapiCode {
    /// 0x80004005: something failed inside the server.
    CallFailed,
    /// 0x80040102: the operation or feature is not supported.
    NoSupport,
    /// 0x80040107: the entry id is malformed or forged.
    InvalidEntryId,
    /// 0x8004010F: the object does not exist (or is not visible to the caller).
    NotFound,
    /// 0x80040111: wrong user name or password.
    LogonFailed,
    /// 0x80040115: a dependency (usually the database) did not answer.
    NetworkError,
    /// 0x80040116: a property or argument has the wrong type.
    InvalidType,
    /// 0x80040117: the request was too large.
    TooBig,
    /// 0x80040301: a folder or object with that name already exists.
    Collision,
    /// 0x80040604: the sync state is not valid for this folder.
    SyncStateInvalid,
    /// 0x80040305: the request body could not be parsed.
    Corrupt,
    /// 0x8004060C: the store's hard quota does not allow this write.
    QuotaExceeded,
    /// 0x80070005: the caller lacks the rights for this.
    NoAccess,
    /// 0x80070057: an argument is missing or out of range.
    InvalidParameter,
    /// 0x80040113: the session expired or never existed.
    EndOfSession,
    /// 0x80040110: the operation timed out.
    Timeout,
    /// 0x8004010D: not enough memory or resources.
    NotEnoughResources,
    /// 0x80040103: the operation name is not known.
    UnknownOperation,
    /// 0x8004010B: the server is too busy for this now; the same request may
    /// succeed in a moment (HTTP 503 with Retry-After).
    Busy,
    /// 0x800401F0 (okapi's own): too many failed logons for this account or
    /// from this address; the password was not checked, and a logon may be
    /// tried again after the wait the error names (HTTP 429 with Retry-After).
    LogonThrottled,
}

impl MapiCode {
    /// The numeric code.
    pub fn value(self) -> u32 {
        match self {
            MapiCode::CallFailed => 0x8000_4005,
            MapiCode::NoSupport => 0x8004_0102,
            MapiCode::UnknownOperation => 0x8004_0103,
            MapiCode::InvalidEntryId => 0x8004_0107,
            MapiCode::Busy => 0x8004_010B,
            MapiCode::NotEnoughResources => 0x8004_010D,
            MapiCode::NotFound => 0x8004_010F,
            MapiCode::Timeout => 0x8004_0110,
            MapiCode::LogonFailed => 0x8004_0111,
            MapiCode::EndOfSession => 0x8004_0113,
            MapiCode::NetworkError => 0x8004_0115,
            MapiCode::InvalidType => 0x8004_0116,
            MapiCode::TooBig => 0x8004_0117,
            MapiCode::Collision => 0x8004_0301,
            MapiCode::Corrupt => 0x8004_0305,
            MapiCode::SyncStateInvalid => 0x8004_0604,
            MapiCode::QuotaExceeded => 0x8004_060C,
            MapiCode::NoAccess => 0x8007_0005,
            MapiCode::InvalidParameter => 0x8007_0057,
            MapiCode::LogonThrottled => 0x8004_01F0,
        }
    }

    /// The symbolic MAPI name, e.g. `MAPI_E_NOT_FOUND`.
    pub fn name(self) -> &'static str {
        match self {
            MapiCode::CallFailed => "MAPI_E_CALL_FAILED",
            MapiCode::NoSupport => "MAPI_E_NO_SUPPORT",
            MapiCode::UnknownOperation => "MAPI_E_UNKNOWN_OPERATION",
            MapiCode::InvalidEntryId => "MAPI_E_INVALID_ENTRYID",
            MapiCode::Busy => "MAPI_E_BUSY",
            MapiCode::NotEnoughResources => "MAPI_E_NOT_ENOUGH_RESOURCES",
            MapiCode::NotFound => "MAPI_E_NOT_FOUND",
            MapiCode::Timeout => "MAPI_E_TIMEOUT",
            MapiCode::LogonFailed => "MAPI_E_LOGON_FAILED",
            MapiCode::EndOfSession => "MAPI_E_END_OF_SESSION",
            MapiCode::NetworkError => "MAPI_E_NETWORK_ERROR",
            MapiCode::InvalidType => "MAPI_E_INVALID_TYPE",
            MapiCode::TooBig => "MAPI_E_TOO_BIG",
            MapiCode::QuotaExceeded => "MAPI_E_STORE_FULL",
            MapiCode::Collision => "MAPI_E_COLLISION",
            MapiCode::Corrupt => "MAPI_E_CORRUPT_DATA",
            MapiCode::SyncStateInvalid => "SYNC_E_INVALID_SYNC_STATE",
            MapiCode::NoAccess => "MAPI_E_NO_ACCESS",
            MapiCode::InvalidParameter => "MAPI_E_INVALID_PARAMETER",
            MapiCode::LogonThrottled => "MAPI_E_LOGON_THROTTLED",
        }
    }

    /// The HTTP status that goes with this code on the JSON encoding.
    /// (SOAP 1.1 always answers faults with 500, as the specification says.)
    pub fn http_status(self) -> u16 {
        match self {
            MapiCode::LogonFailed | MapiCode::EndOfSession => 401,
            MapiCode::NoAccess => 403,
            MapiCode::NotFound | MapiCode::UnknownOperation => 404,
            MapiCode::Collision | MapiCode::SyncStateInvalid => 409,
            MapiCode::TooBig => 413,
            MapiCode::LogonThrottled => 429,
            MapiCode::QuotaExceeded => 507,
            MapiCode::NetworkError | MapiCode::Busy => 503,
            MapiCode::Timeout => 504,
            MapiCode::CallFailed | MapiCode::NotEnoughResources => 500,
            MapiCode::NoSupport => 501,
            _ => 400,
        }
    }
}

/// An error as the API reports it: a code and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The MAPI code.
    pub code: MapiCode,
    /// What went wrong and, where possible, what to do about it.
    pub message: String,
    /// Seconds after which the same request may succeed (HTTP Retry-After).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: MapiCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }
    /// The same error, saying when the request may be sent again.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }
    /// `MAPI_E_NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(MapiCode::NotFound, message)
    }
    /// `MAPI_E_NO_ACCESS`.
    pub fn no_access(message: impl Into<String>) -> Self {
        Self::new(MapiCode::NoAccess, message)
    }
    /// `MAPI_E_INVALID_PARAMETER`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(MapiCode::InvalidParameter, message)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:08X} {})", self.message, self.code.value(), self.code.name())
    }
}

impl std::error::Error for ApiError {}

/// Errors of the store, kept apart from API errors so that the store does not
/// decide how clients see them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached or refused the query.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A blob file could not be read or written.
    #[error("blob storage error at {path}: {source}")]
    BlobIo {
        /// The file concerned.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database schema is newer than this binary understands.
    #[error(
        "the database schema is at version {found}, but this okapi-server only knows up to version {known}; \
         install the okapi version that last wrote this database (or newer)"
    )]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Newest version this binary knows.
        known: i64,
    },
    /// A row the caller asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A name or address is already taken.
    #[error("{0} already exists")]
    Collision(String),
    /// Stored data could not be decoded.
    #[error("corrupt data in the store: {0}")]
    Corrupt(String),
    /// A limit of the store was reached (named properties).
    #[error("{0}")]
    Limit(String),
    /// A write would take its store past the hard quota; nothing was written.
    #[error(
        "the store is full: it holds {used} bytes of its {hard}-byte quota and this would add {growth} more; \
         delete or archive items (emptying Deleted Items counts), or ask the administrator for a larger quota"
    )]
    StoreFull {
        /// Bytes the store holds.
        used: i64,
        /// Its hard limit.
        hard: i64,
        /// Bytes the write would have added.
        growth: i64,
    },
    /// An argument was not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The delivery's group commit failed (the cause is in the text), or
    /// the committer is gone; nothing of the message was stored.
    #[error("delivery not committed: {0}")]
    GroupCommit(String),
}

/// What a client hears when the database or the blob files failed it: the
/// detail (a table, a path, an SQL message) is the administrator's, so it
/// goes to the log only and never to a client that may be anyone.
const STORE_UNAVAILABLE: &str = "the database is not answering; the administrator's log has details; try again shortly";

/// What a client hears when the store failed in a way retrying will not mend.
const STORE_FAILED: &str =
    "the server could not complete the request because its storage failed; the administrator's log has details";

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::Database(sqlx::Error::PoolTimedOut)
            | StoreError::Database(sqlx::Error::Io(_))
            | StoreError::Database(sqlx::Error::PoolClosed) => {
                tracing::warn!(error = %e, "database not answering");
                ApiError::new(MapiCode::NetworkError, STORE_UNAVAILABLE)
            }
            StoreError::Database(_)
            | StoreError::BlobIo { .. }
            | StoreError::SchemaTooNew { .. }
            | StoreError::GroupCommit(_)
            | StoreError::Corrupt(_) => {
                tracing::error!(error = %e, "store failure");
                ApiError::new(MapiCode::CallFailed, STORE_FAILED)
            }
            StoreError::NotFound(_) => ApiError::not_found(e.to_string()),
            StoreError::Collision(_) => ApiError::new(MapiCode::Collision, e.to_string()),
            StoreError::Limit(_) => ApiError::new(MapiCode::TooBig, e.to_string()),
            StoreError::StoreFull { .. } => ApiError::new(MapiCode::QuotaExceeded, e.to_string()),
            StoreError::Invalid(_) => ApiError::invalid(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Database and file-system details stay in the log: the client gets a
    /// sentence that names neither the path nor the driver's message.
    #[test]
    fn store_failures_reach_clients_without_their_detail() {
        let failures = [
            StoreError::Database(sqlx::Error::Protocol(
                "table okapi.secret_table is marked as crashed".into(),
            )),
            StoreError::Database(sqlx::Error::PoolTimedOut),
            StoreError::BlobIo {
                path: "/var/lib/okapi/blobs/ab/cdef".into(),
                source: std::io::Error::other("Permission denied"),
            },
            StoreError::Corrupt("bag of message 17 at byte 3".into()),
            StoreError::GroupCommit("disk I/O error in /var/lib/okapi/okapi.db".into()),
        ];
        for failure in failures {
            let detail = failure.to_string();
            let api = ApiError::from(failure);
            for secret in [
                "secret_table",
                "/var/lib/okapi",
                "Permission",
                "byte 3",
                "disk I/O",
                "pool",
            ] {
                assert!(!api.message.contains(secret), "{detail:?} reached the client as {api}");
            }
            assert!(api.message.contains("administrator's log"), "{api}");
        }
    }
}
