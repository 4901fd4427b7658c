//! Configuration of okapi-server: `/etc/okapi/server.cfg`, its `!include`s and its drop-ins.
//!
//! Why this module exists: an administrator edits one text file (plus the drop-ins a package or a
//! configuration tool puts in `server.cfg.d/`), and every mistake in it must be reported before the
//! server refuses to start — all of them at once, each with file, line and key, and with the
//! nearest valid key for a typo. The rest of the crate only ever sees a typed [`Config`].
//!
//! Every key is defined once, in the table `KEYS` below: name, default (as the text an administrator
//! would write), documentation and value kind. Parsing, validation, `--print-config`
//! ([`Config::print_effective`]) and the packaged sample file ([`sample_config`], shipped as
//! `config/server.cfg`) are all generated from that table, so they cannot drift apart.
//!
//! # File format
//!
//! ```text
//! # a whole-line comment
//! key = value            # a trailing comment, only after whitespace
//! !include other.cfg     # relative to the including file's directory
//! ```
//!
//! After the main file, every `*.cfg` in `<main file>.d/` is read in byte-wise name order (a
//! missing directory is fine). A later assignment overrides an earlier one.
//!
//! Secrets: the database password is not a key of its own; see [`Config::database_password`].

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::net::{Ipv6Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The configuration of okapi-server, with every key parsed into its type.
///
/// Build it with [`Config::load`], [`Config::load_or_default`] or [`Config::from_text`];
/// [`Config::default`] holds the packaged defaults. Equality compares the settings only, not
/// where each one came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Plain HTTP listeners (SOAP, JSON, ActiveSync, web app) as `host:port`; may be empty.
    pub server_listen: Vec<String>,
    /// TLS listeners as `host:port`; only bound when [`Config::tls_enabled`].
    pub server_listen_tls: Vec<String>,
    /// Unix socket for okapi-admin and Apache (HTTP, trusted by peer credentials).
    pub local_socket: PathBuf,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    /// LMTP listeners for the MTA as `host:port`; may be empty.
    pub lmtp_listen: Vec<String>,
    /// Unix socket speaking LMTP, for okapi-dagent and a local MTA.
    pub lmtp_socket: PathBuf,
    /// Directory of the web app's files, served at `/webapp/`; empty serves none.
    pub webapp_dir: Option<PathBuf>,
    /// Database URL, `sqlite://PATH` or `mysql://...` (`mariadb://` is normalised to `mysql://`).
    pub database_url: String,
    /// File whose first line is the database password; see [`Config::database_password`].
    pub database_password_file: Option<PathBuf>,
    /// Where attachment and body blobs are kept.
    pub attachment_storage: AttachmentStorage,
    /// Directory for blobs when `attachment_storage = files`.
    pub attachment_path: PathBuf,
    /// With `attachment_storage = files`, blobs up to this many bytes stay in the database.
    pub attachment_inline_max: u64,
    /// User database plugin; only `db` exists so far.
    pub user_plugin: String,
    /// User the server switches to when started as root.
    pub run_as_user: String,
    /// Group the server switches to when started as root.
    pub run_as_group: String,
    /// Log verbosity.
    pub log_level: LogLevel,
    /// Idle time after which a client session ends; never zero.
    pub session_timeout: Duration,
    /// Time after logon at which a session ends however busy it is; never zero.
    pub session_max_lifetime: Duration,
    /// The period over which failed logons are counted.
    pub logon_failure_window: Duration,
    /// Failed logons for one account within the window before further attempts are throttled.
    pub logon_failures_per_account: usize,
    /// Failed logons from one client address within the window before it is throttled.
    pub logon_failures_per_address: usize,
    /// Longest wait a throttled account or address is made to keep.
    pub logon_backoff_max: Duration,
    /// Largest accepted request body in bytes; never zero.
    pub max_request_size: u64,
    /// Most bytes of large request bodies held at once, over all requests.
    pub request_memory: u64,
    /// Most open connections per listener.
    pub max_connections: usize,
    /// Time a client has to send a request's line and headers.
    pub request_header_timeout: Duration,
    /// Time a client has to send a request's whole body.
    pub request_body_timeout: Duration,
    /// How long a connection may wait, between requests, for the next one.
    pub keepalive_timeout: Duration,
    /// Threads that hash and check passwords (0: one per core, at most 4).
    pub password_hash_threads: usize,
    /// Password checks that may wait for a thread before logons are refused as busy.
    pub password_hash_queue: usize,
    /// Default store size (bytes) at which a user is warned; 0 means no limit.
    pub quota_warn: u64,
    /// Default store size (bytes) above which a user may not send; 0 means no limit.
    pub quota_soft: u64,
    /// Default store size (bytes) above which delivery is refused; 0 means no limit.
    pub quota_hard: u64,
    /// Hard limit (bytes) of the public store; 0 means no limit.
    pub public_store_quota: u64,
    /// New named properties one user may create in 24 hours; 0 means no limit.
    pub named_props_per_day: usize,
    /// PEM certificate chain for the TLS listeners.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key for the TLS listeners.
    pub tls_key_file: Option<PathBuf>,
    /// Oldest TLS protocol version accepted.
    pub tls_min_protocol: TlsVersion,
    /// Host of the MTA that the spooler hands outgoing mail to.
    pub smtp_server: String,
    /// SMTP port of that MTA.
    pub smtp_port: u16,
    /// A sendmail-compatible command used instead of SMTP, if set.
    pub sendmail_command: Option<String>,
    /// How long the spooler retries a temporarily failing message.
    pub queue_lifetime: Duration,
    /// This server's mail name (empty: /etc/mailname or the host name).
    pub hostname: Option<String>,
    /// Sender of non-delivery reports (empty: postmaster@hostname).
    pub postmaster_address: Option<String>,
    /// Largest message accepted over LMTP.
    pub max_message_size: u64,
    /// Header marking spam, as "Name: value".
    pub spam_header: Option<String>,
    /// Minimum time between two out-of-office replies to one sender.
    pub oof_interval: Duration,
    /// Where each key was last set; ignored by `==`.
    origins: Origins,
}

/// Where blobs (bodies and attachments) are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttachmentStorage {
    /// In the database, next to the messages.
    Db,
    /// As files under `attachment_path`.
    #[default]
    Files,
}

/// Log verbosity, from least to most verbose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// Normal operation messages.
    #[default]
    Info,
    /// Detail for troubleshooting.
    Debug,
    /// Everything, including protocol traces.
    Trace,
}

/// Oldest TLS protocol version the TLS listeners accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3.
    #[default]
    V1_2,
    /// TLS 1.3 only.
    V1_3,
}

/// A closed set of named values for an `enum` key: the names are the config-file spelling.
trait Choice: Sized + Copy + 'static {
    /// Every value, in the order the documentation lists them.
    const ALL: &'static [Self];
    /// The config-file spelling.
    fn name(self) -> &'static str;
    /// The value spelled `name` (exactly; the parser has already canonicalised case).
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == name)
    }
}

impl Choice for AttachmentStorage {
    const ALL: &'static [Self] = &[AttachmentStorage::Db, AttachmentStorage::Files];
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Choice for LogLevel {
    const ALL: &'static [Self] = &[
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Choice for TlsVersion {
    const ALL: &'static [Self] = &[TlsVersion::V1_2, TlsVersion::V1_3];
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl AttachmentStorage {
    /// The config-file spelling: `db` or `files`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentStorage::Db => "db",
            AttachmentStorage::Files => "files",
        }
    }
}

impl LogLevel {
    /// The config-file spelling, which is also a valid `tracing` filter directive.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    /// The matching `tracing` level.
    pub fn to_tracing(self) -> tracing::Level {
        match self {
            LogLevel::Error => tracing::Level::ERROR,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Trace => tracing::Level::TRACE,
        }
    }
}

impl TlsVersion {
    /// The config-file spelling: `1.2` or `1.3`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// One problem in the configuration, located by file, line and key.
///
/// `line` is 0 when the problem is not tied to a line (a missing file, a check across keys of
/// default values); `key` is empty when it is not tied to a key (a line without `=`, an include).
/// `message` says what is wrong and, where possible, how to fix it. Display gives
/// `FILE:LINE: key "KEY": MESSAGE`; the key part is left out when `key` is empty or the message
/// already quotes the key (as in `unknown key "sever_listen"; did you mean "server_listen"?`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file (or the origin given to [`Config::from_text`]) the problem is in.
    pub file: String,
    /// 1-based line number, or 0 when the problem has no single line.
    pub line: usize,
    /// The key concerned, or empty.
    pub key: String,
    /// What is wrong, and the fix where one is known.
    pub message: String,
}

impl ConfigError {
    fn new(file: &str, line: usize, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: file.to_string(),
            line,
            key: key.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.file.is_empty(), self.line) {
            (true, _) => {}
            (false, 0) => write!(f, "{}: ", self.file)?,
            (false, line) => write!(f, "{}:{}: ", self.file, line)?,
        }
        if !self.key.is_empty() && !self.message.contains(&format!("\"{}\"", self.key)) {
            write!(f, "key \"{}\": ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found while reading the configuration, in the order found.
///
/// Display prints one problem per line, so the server can log them all before it refuses to
/// start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> ConfigErrors {
        ConfigErrors(vec![e])
    }
}

// ---------------------------------------------------------------------------------------------
// The key table
// ---------------------------------------------------------------------------------------------

/// What values a key takes; decides parsing, rendering and the "Type:" line of the sample.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Free text, not empty.
    Str,
    /// A file system path, not empty.
    Path,
    /// A file system path, or empty for none.
    OptPath,
    /// Free text, or empty for none.
    OptStr,
    /// `host:port` entries separated by commas and/or whitespace; may be empty.
    HostPortList,
    /// IP addresses separated by commas and/or whitespace; may be empty.
    AddressList,
    /// yes/no.
    #[allow(dead_code, reason = "no key is boolean yet; the kind is ready for the first one")]
    Bool,
    /// Bytes, with optional K/M/G/T suffix (powers of 1024).
    Size { nonzero: bool },
    /// Seconds, with optional s/m/h/d suffix; never zero.
    Duration,
    /// One of a fixed set of names (case-insensitive on input).
    Enum(&'static [&'static str]),
    /// A whole number in a range.
    Integer { min: i64, max: i64 },
    /// A URL with one of the given schemes; `aliases` maps an accepted scheme to its canonical one.
    Url {
        schemes: &'static [&'static str],
        aliases: &'static [(&'static str, &'static str)],
    },
}

/// A parsed value, before it is stored in its `Config` field.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Path(PathBuf),
    OptPath(Option<PathBuf>),
    OptStr(Option<String>),
    List(Vec<String>),
    #[allow(dead_code, reason = "no key is boolean yet; the kind is ready for the first one")]
    Bool(bool),
    Size(u64),
    Duration(Duration),
    Enum(&'static str),
    Int(i64),
}

/// One configuration key: the single definition everything else is generated from.
struct KeyDef {
    name: &'static str,
    /// Heading the key is listed under in the sample file.
    section: &'static str,
    /// The default, as text in config syntax (parsed by `kind` like any other value).
    default: &'static str,
    kind: Kind,
    /// One paragraph for the sample file; wrapped when printed.
    doc: &'static str,
    /// Stores a value parsed by `kind` in its field.
    set: fn(&mut Config, Value) -> Result<(), String>,
    /// Reads the field back as a value, for rendering.
    get: fn(&Config) -> Value,
}

/// Conversion between a `Config` field type and a parsed [`Value`].
trait Setting: Sized {
    fn from_value(v: Value) -> Option<Self>;
    fn to_value(&self) -> Value;
}

impl Setting for String {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Str(s) => Some(s),
            Value::Enum(s) => Some(s.to_string()),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        Value::Str(self.clone())
    }
}

impl Setting for PathBuf {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Path(p) => Some(p),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        Value::Path(self.clone())
    }
}

impl Setting for Option<PathBuf> {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::OptPath(p) => Some(p),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        Value::OptPath(self.clone())
    }
}

impl Setting for Option<String> {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::OptStr(s) => Some(s),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        Value::OptStr(self.clone())
    }
}

impl Setting for Vec<String> {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::List(l) => Some(l),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        Value::List(self.clone())
    }
}

impl Setting for u64 {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Size(n) => Some(n),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        Value::Size(*self)
    }
}

impl Setting for u16 {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Int(n) => u16::try_from(n).ok(),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}

impl Setting for usize {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Int(n) => usize::try_from(n).ok(),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl Setting for Duration {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Duration(d) => Some(d),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        Value::Duration(*self)
    }
}

impl<T: Choice> Setting for T {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Enum(s) => T::from_name(s),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        Value::Enum(self.name())
    }
}

/// Builds a [`KeyDef`] whose name is the `Config` field it sets.
macro_rules! key {
    ($field:ident, $section:expr, $default:expr, $kind:expr, $doc:expr $(,)?) => {
        KeyDef {
            name: stringify!($field),
            section: $section,
            default: $default,
            kind: $kind,
            doc: $doc,
            set: |c, v| {
                c.$field = Setting::from_value(v)
                    .ok_or_else(|| format!("internal error: value kind does not fit key \"{}\"", stringify!($field)))?;
                Ok(())
            },
            get: |c| c.$field.to_value(),
        }
    };
}

const LISTENERS: &str = "Listeners";
const STORAGE: &str = "Database and storage";
const PROCESS: &str = "Process and logging";
const LIMITS: &str = "Sessions, limits and quotas";
const TLS: &str = "TLS";
const MAIL: &str = "Outgoing mail";
const DELIVERY: &str = "Delivery";

/// Every configuration key, in the order `--print-config` and the sample file list them.
static KEYS: &[KeyDef] = &[
    key!(
        server_listen,
        LISTENERS,
        "[::]:236",
        Kind::HostPortList,
        "Addresses on which okapi-server accepts plain HTTP connections for SOAP, JSON, \
         ActiveSync and the web app, as host:port entries separated by commas or spaces \
         ([::]:236 means every address, IPv6 and IPv4; 127.0.0.1:236 only this host). \
         Leave empty to open no plain HTTP listener. Under systemd socket activation the \
         sockets come from okapi-server.socket instead and this key is not used.",
    ),
    key!(
        server_listen_tls,
        LISTENERS,
        "[::]:237",
        Kind::HostPortList,
        "Addresses for the same service over TLS, as host:port entries. These listeners are \
         only opened when both tls_cert_file and tls_key_file are set. Leave empty for none.",
    ),
    key!(
        local_socket,
        LISTENERS,
        "/run/okapi/server.sock",
        Kind::Path,
        "Unix socket speaking HTTP for okapi-admin and Apache's mod_proxy. Clients on it are \
         trusted by their peer credentials: root and the okapi user may administer the server.",
    ),
    key!(
        trusted_proxies,
        LISTENERS,
        "",
        Kind::AddressList,
        "IP addresses of reverse proxies whose X-Forwarded-For header okapi believes, separated \
         by commas or spaces. Requests on local_socket (Apache's mod_proxy) are always believed. \
         For such a request the client is the last address in the header that is not itself a \
         trusted proxy: that address is what logon throttling counts and what every log line \
         shows as OKAPI_REMOTE. From anyone else the header is ignored.",
    ),
    key!(
        lmtp_listen,
        LISTENERS,
        "127.0.0.1:2003",
        Kind::HostPortList,
        "Addresses on which the MTA delivers mail over LMTP, as host:port entries. Keep this \
         on a loopback address unless the MTA runs on another host. Leave empty for none.",
    ),
    key!(
        lmtp_socket,
        LISTENERS,
        "/run/okapi/lmtp.sock",
        Kind::Path,
        "Unix socket speaking LMTP, used by okapi-dagent and by an MTA on the same host \
         (Postfix: mailbox_transport = lmtp:unix:/run/okapi/lmtp.sock).",
    ),
    key!(
        webapp_dir,
        LISTENERS,
        "/usr/share/okapi/webapp",
        Kind::OptPath,
        "Directory of the web app's files, which okapi-server serves at /webapp/ on its HTTP \
         listeners. Where Apache serves the web app from this directory itself (the \
         okapi-webapp package), the server's copy is simply not used. Empty serves no web app.",
    ),
    key!(
        database_url,
        STORAGE,
        "sqlite:///var/lib/okapi/okapi.db",
        Kind::Url {
            schemes: &["sqlite", "mysql"],
            aliases: &[("mariadb", "mysql")],
        },
        "Database holding the store: sqlite://PATH for the embedded SQLite database, or \
         mysql://USER@HOST/DATABASE for MySQL or MariaDB (mariadb:// is accepted as well). \
         Keep the password out of the URL: put it in database_password_file, or pass it as \
         the systemd credential database-password.",
    ),
    key!(
        database_password_file,
        STORAGE,
        "",
        Kind::OptPath,
        "File whose first line is the database password. It must not be readable by others \
         (mode 0600 or 0640, owner root, group okapi). A systemd credential named \
         database-password (LoadCredential=) takes precedence. Empty means no password file.",
    ),
    key!(
        attachment_storage,
        STORAGE,
        "files",
        Kind::Enum(&["db", "files"]),
        "Where message bodies and attachments are stored: db keeps them in the database, \
         files keeps them as files under attachment_path. Each blob is stored once, however \
         many messages refer to it.",
    ),
    key!(
        attachment_path,
        STORAGE,
        "/var/lib/okapi/blobs",
        Kind::Path,
        "Directory for blobs when attachment_storage is files. It must be writable by \
         run_as_user and is part of what a backup must include.",
    ),
    key!(
        attachment_inline_max,
        STORAGE,
        "64K",
        Kind::Size { nonzero: false },
        "With attachment_storage = files, blobs up to this size (most plain messages, small \
         attachments) are kept in the database all the same: a file costs a delivery two more \
         disk flushes (the file and its directory), a row in the database none beyond the \
         commit it is part of anyway. Larger blobs go to files. 0 puts every blob in a file. \
         No effect with attachment_storage = db.",
    ),
    key!(
        user_plugin,
        STORAGE,
        "db",
        Kind::Enum(&["db"]),
        "Where users and groups are defined: db keeps them in okapi's own database, managed \
         with okapi-admin.",
    ),
    key!(
        run_as_user,
        PROCESS,
        "okapi",
        Kind::Str,
        "User okapi-server switches to after binding its sockets when started as root. Not \
         used under systemd, where the unit's User= decides.",
    ),
    key!(
        run_as_group,
        PROCESS,
        "okapi",
        Kind::Str,
        "Group okapi-server switches to after binding its sockets when started as root.",
    ),
    key!(
        log_level,
        PROCESS,
        "info",
        Kind::Enum(&["error", "warn", "info", "debug", "trace"]),
        "How much okapi-server logs (to the journal under systemd, to standard error \
         otherwise): error, warn, info, debug or trace, from least to most.",
    ),
    key!(
        session_timeout,
        LIMITS,
        "30m",
        Kind::Duration,
        "How long a client session may stay idle before it ends and the client must log on \
         again.",
    ),
    key!(
        session_max_lifetime,
        LIMITS,
        "7d",
        Kind::Duration,
        "How long a session may last from its logon, however busy it is kept (a notify \
         long-poll included); then it ends and the client must log on again.",
    ),
    key!(
        logon_failure_window,
        LIMITS,
        "1m",
        Kind::Duration,
        "The period over which failed logons are counted for logon_failures_per_account and \
         logon_failures_per_address. The counts are kept in the database, so a restart does \
         not reset them, and are shared by SOAP, JSON and the web app.",
    ),
    key!(
        logon_failures_per_account,
        LIMITS,
        "10",
        Kind::Integer { min: 1, max: 1_000_000 },
        "Failed logons for one account within logon_failure_window that cost nothing more. \
         Each further failure makes the account wait before the next attempt is checked: 1 \
         second, then twice as long each time, up to logon_backoff_max. An attempt during the \
         wait is answered at once with MAPI_E_LOGON_THROTTLED (HTTP 429 with Retry-After), \
         without checking the password. A successful logon resets the count.",
    ),
    key!(
        logon_failures_per_address,
        LIMITS,
        "50",
        Kind::Integer { min: 1, max: 1_000_000 },
        "Failed logons from one client address (whatever the account) within \
         logon_failure_window before that address is throttled the same way.",
    ),
    key!(
        logon_backoff_max,
        LIMITS,
        "15m",
        Kind::Duration,
        "The longest a throttled account or client address is made to wait.",
    ),
    key!(
        max_request_size,
        LIMITS,
        "64M",
        Kind::Size { nonzero: true },
        "Largest request body the server accepts; a bigger request is refused before it is \
         read. This bounds the size of a message or attachment uploaded in one request. \
         Whatever the size, a SOAP or JSON body is refused before it is parsed when it holds \
         more than 200,000 elements or values or nests them deeper than 64 levels, so a \
         request costs the server at most a small multiple of its size. The limit is the \
         same before logon: a SOAP request names its operation and session inside the body, \
         so a logon cannot be told from an upload before the body is read; what a client \
         without a session can hold is bounded by this size, request_body_timeout and \
         max_connections.",
    ),
    key!(
        request_memory,
        LIMITS,
        "512M",
        Kind::Size { nonzero: true },
        "Most bytes of request bodies the server holds at once, over all clients; bodies of \
         1 MiB or less do not count, so ordinary requests never wait for it. A large \
         request that would pass it is answered at once with MAPI_E_BUSY (HTTP 503 with \
         Retry-After) and may be sent again in a moment, so many large uploads at once, \
         with or without a session, cannot take the server's memory. Keep it at least \
         max_request_size. Read at start only.",
    ),
    key!(
        max_connections,
        LIMITS,
        "10000",
        Kind::Integer { min: 1, max: 1_000_000 },
        "Most connections each listener keeps open at once (each HTTP, HTTPS and LMTP \
         listener and each local socket counts on its own, so a flood on one never locks \
         out another). When an HTTP listener is full, a new connection closes the \
         connection that has waited longest without a request in progress (one that never \
         sent a request goes first), so idle connections cannot lock real clients out; only \
         when every connection is in the middle of a request is the new one refused. Long \
         polls (notify) are requests in progress. One log line a minute says when a \
         listener is full. The process also needs as many file descriptors \
         (LimitNOFILE= in the unit). Read at start only.",
    ),
    key!(
        request_header_timeout,
        LIMITS,
        "30s",
        Kind::Duration,
        "Time a client has to send a request's line and headers, from its first byte (or \
         from connecting, for a new connection). A client that is slower is disconnected, \
         so half-sent requests cannot hold connections open.",
    ),
    key!(
        request_body_timeout,
        LIMITS,
        "5m",
        Kind::Duration,
        "Time a client has to send a request's whole body once the headers arrived; a \
         slower one gets MAPI_E_TIMEOUT and is disconnected. Allow for the largest upload \
         (max_request_size) over the slowest link clients use.",
    ),
    key!(
        keepalive_timeout,
        LIMITS,
        "2m",
        Kind::Duration,
        "How long an HTTP connection may stay open between requests waiting for the next \
         one. A request in progress, a notify long poll included, is never cut by this.",
    ),
    key!(
        password_hash_threads,
        LIMITS,
        "0",
        Kind::Integer { min: 0, max: 256 },
        "Threads that hash and check passwords (logon, web log-on, password changes). Each \
         keeps a 19 MiB work buffer for as long as the server runs. 0 means one per CPU \
         core, at most 4. Read at start only.",
    ),
    key!(
        password_hash_queue,
        LIMITS,
        "64",
        Kind::Integer { min: 1, max: 100_000 },
        "Password checks that may wait for a free thread. When this many are waiting, a \
         further logon is answered at once with MAPI_E_BUSY (HTTP 503 with Retry-After) and \
         the client may try again in a moment. Read at start only.",
    ),
    key!(
        quota_warn,
        LIMITS,
        "0",
        Kind::Size { nonzero: false },
        "Default store size at which a user gets a warning, for users without a quota of \
         their own. 0 means no limit.",
    ),
    key!(
        quota_soft,
        LIMITS,
        "0",
        Kind::Size { nonzero: false },
        "Default store size above which a user may no longer send mail. 0 means no limit.",
    ),
    key!(
        quota_hard,
        LIMITS,
        "0",
        Kind::Size { nonzero: false },
        "Default store size at which delivery to the user is refused (552 5.2.2 to the \
         MTA), and above which no write may take the store: creating, copying or moving a \
         message into it, or growing one, is answered MAPI_E_STORE_FULL. Deleting, marking \
         read and shrinking stay possible. 0 means no limit.",
    ),
    key!(
        public_store_quota,
        LIMITS,
        "0",
        Kind::Size { nonzero: false },
        "Hard limit of the public store: no write may take it above this size \
         (MAPI_E_STORE_FULL), as quota_hard does for a user's store. Who may create in the \
         public store at all is up to its folders' permissions; by default users may only \
         read there, and an administrator grants the right to create. 0 means no limit.",
    ),
    key!(
        named_props_per_day,
        LIMITS,
        "1000",
        Kind::Integer { min: 0, max: 32_767 },
        "New named properties (getIdsFromNames) one user may create in any 24 hours. All \
         users share one table of 32,767 names, so this keeps one user from filling it; \
         names that exist already are always answered, and the last 1,024 ids are kept for \
         the property sets MAPI defines (calendar, contacts, tasks, notes) and okapi's own \
         names, whatever users did. A refused request gets MAPI_E_TOO_BIG with a sentence. 0 means no limit.",
    ),
    key!(
        tls_cert_file,
        TLS,
        "",
        Kind::OptPath,
        "PEM file with the server certificate followed by its intermediate certificates, for \
         the server_listen_tls listeners. Empty means no TLS.",
    ),
    key!(
        tls_key_file,
        TLS,
        "",
        Kind::OptPath,
        "PEM file with the private key of tls_cert_file. It must not be readable by others \
         (root:okapi 0640, say; a key others may read is refused at start and at reload), or \
         it is passed as a systemd credential. Empty means no TLS.",
    ),
    key!(
        tls_min_protocol,
        TLS,
        "1.2",
        Kind::Enum(&["1.2", "1.3"]),
        "Oldest TLS version accepted: 1.2 or 1.3.",
    ),
    key!(
        smtp_server,
        MAIL,
        "localhost",
        Kind::Str,
        "Host name or address of the MTA that okapi's spooler hands outgoing mail to.",
    ),
    key!(
        smtp_port,
        MAIL,
        "25",
        Kind::Integer { min: 1, max: 65535 },
        "SMTP port of that MTA.",
    ),
    key!(
        sendmail_command,
        MAIL,
        "",
        Kind::OptStr,
        "A sendmail-compatible command to hand outgoing mail to instead of SMTP, e.g. \
         /usr/sbin/sendmail. It is run as COMMAND -i -f SENDER -- RECIPIENTS with the message on \
         standard input. Empty means SMTP to smtp_server.",
    ),
    key!(
        queue_lifetime,
        MAIL,
        "5d",
        Kind::Duration,
        "How long the spooler retries a message that fails temporarily before it gives up and \
         puts a non-delivery report in the sender's Inbox.",
    ),
    key!(
        hostname,
        MAIL,
        "",
        Kind::OptStr,
        "This server's mail name, used in the LMTP greeting, generated Message-IDs and reports. \
         Empty means the first line of /etc/mailname, or the system host name.",
    ),
    key!(
        postmaster_address,
        MAIL,
        "",
        Kind::OptStr,
        "Sender address of non-delivery reports. Empty means postmaster@ followed by the mail name.",
    ),
    key!(
        max_message_size,
        DELIVERY,
        "64M",
        Kind::Size { nonzero: true },
        "Largest message accepted over LMTP (announced as SIZE); larger ones are refused with \
         552 5.3.4.",
    ),
    key!(
        spam_header,
        DELIVERY,
        "X-Spam-Flag: YES",
        Kind::OptStr,
        "A header that marks spam, as \"Name: value\" (the value is matched case-insensitively at \
         the start). Mail carrying it is filed into the recipient's Junk E-mail folder. Empty \
         turns filing off.",
    ),
    key!(
        oof_interval,
        DELIVERY,
        "7d",
        Kind::Duration,
        "An out-of-office reply goes to the same sender at most once in this time.",
    ),
];

fn key_def(name: &str) -> Option<&'static KeyDef> {
    KEYS.iter().find(|k| k.name == name)
}

/// The names of every configuration key, in table order.
pub fn key_names() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|k| k.name)
}

// ---------------------------------------------------------------------------------------------
// Parsing values
// ---------------------------------------------------------------------------------------------

impl Kind {
    /// Parses `text` (already trimmed) into a value of this kind, or says what is wrong.
    fn parse(self, text: &str) -> Result<Value, String> {
        match self {
            Kind::Str => {
                if text.is_empty() {
                    Err("must not be empty".into())
                } else {
                    Ok(Value::Str(text.to_string()))
                }
            }
            Kind::Path => {
                if text.is_empty() {
                    Err("must not be empty; give a path".into())
                } else {
                    Ok(Value::Path(PathBuf::from(text)))
                }
            }
            Kind::OptPath => Ok(Value::OptPath((!text.is_empty()).then(|| PathBuf::from(text)))),
            Kind::OptStr => Ok(Value::OptStr((!text.is_empty()).then(|| text.to_string()))),
            Kind::HostPortList => {
                let items: Vec<String> = split_list(text).map(str::to_string).collect();
                for item in &items {
                    check_host_port(item)?;
                }
                Ok(Value::List(items))
            }
            Kind::AddressList => {
                let items: Vec<String> = split_list(text).map(str::to_string).collect();
                if let Some(bad) = items.iter().find(|i| i.parse::<std::net::IpAddr>().is_err()) {
                    return Err(format!("\"{bad}\" is not an IP address like 127.0.0.1 or ::1"));
                }
                Ok(Value::List(items))
            }
            Kind::Bool => parse_bool(text).map(Value::Bool),
            Kind::Size { nonzero } => {
                let n = parse_size(text)?;
                if nonzero && n == 0 {
                    return Err("must be greater than 0".into());
                }
                Ok(Value::Size(n))
            }
            Kind::Duration => {
                let d = parse_duration(text)?;
                if d.is_zero() {
                    return Err("must be greater than 0".into());
                }
                Ok(Value::Duration(d))
            }
            Kind::Enum(names) => match names.iter().find(|n| n.eq_ignore_ascii_case(text)) {
                Some(n) => Ok(Value::Enum(n)),
                None => {
                    let mut msg = format!("invalid value \"{text}\"; allowed values: {}", names.join(", "));
                    if let Some(near) = nearest(text, names.iter().copied()) {
                        msg.push_str(&format!("; did you mean \"{near}\"?"));
                    }
                    Err(msg)
                }
            },
            Kind::Integer { min, max } => {
                let n: i64 = text
                    .parse()
                    .map_err(|_| format!("\"{text}\" is not a whole number; expected {min} to {max}"))?;
                if n < min || n > max {
                    return Err(format!("{n} is out of range; expected {min} to {max}"));
                }
                Ok(Value::Int(n))
            }
            Kind::Url { schemes, aliases } => parse_url(text, schemes, aliases).map(Value::Str),
        }
    }

    /// One line for the sample file saying what values are accepted.
    fn describe(self) -> String {
        match self {
            Kind::Str => "text".into(),
            Kind::Path => "path".into(),
            Kind::OptPath => "path, or empty for none".into(),
            Kind::OptStr => "text, or empty for none".into(),
            Kind::HostPortList => "list of host:port, separated by commas or spaces".into(),
            Kind::AddressList => "list of IP addresses, separated by commas or spaces".into(),
            Kind::Bool => "yes or no".into(),
            Kind::Size { .. } => "size in bytes, or with a K, M, G or T suffix (powers of 1024)".into(),
            Kind::Duration => "duration in seconds, or with an s, m, h or d suffix".into(),
            Kind::Enum([only]) => format!("{only} (the only value so far)"),
            Kind::Enum(names) => format!("one of {}", names.join(", ")),
            Kind::Integer { min, max } => format!("whole number from {min} to {max}"),
            Kind::Url { schemes, aliases } => {
                let mut s: Vec<String> = schemes.iter().map(|s| format!("{s}://")).collect();
                s.extend(aliases.iter().map(|(a, _)| format!("{a}://")));
                format!("URL starting with {}", s.join(", "))
            }
        }
    }
}

impl Value {
    /// The value in config syntax, so that the output of `--print-config` reads back.
    fn render(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Path(p) => p.display().to_string(),
            Value::OptPath(p) => p.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            Value::OptStr(s) => s.clone().unwrap_or_default(),
            Value::List(l) => l.join(", "),
            Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
            Value::Size(n) => render_size(*n),
            Value::Duration(d) => render_duration(*d),
            Value::Enum(s) => (*s).to_string(),
            Value::Int(n) => n.to_string(),
        }
    }
}

fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
}

/// Accepts `ip:port`, `[ipv6]:port` and `hostname:port`.
fn check_host_port(item: &str) -> Result<(), String> {
    if item.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let Some((host, port)) = item.rsplit_once(':') else {
        return Err(format!(
            "\"{item}\" is not host:port (examples: [::]:236, 127.0.0.1:236, localhost:236)"
        ));
    };
    if port.parse::<u16>().is_err() {
        return Err(format!(
            "invalid port \"{port}\" in \"{item}\"; a port is a number from 0 to 65535"
        ));
    }
    if host.is_empty() {
        return Err(format!("missing host in \"{item}\"; use [::]:{port} for every address"));
    }
    if let Some(inner) = host.strip_prefix('[') {
        return match inner.strip_suffix(']').map(str::parse::<Ipv6Addr>) {
            Some(Ok(_)) => Ok(()),
            _ => Err(format!("invalid IPv6 address \"{host}\" in \"{item}\"")),
        };
    }
    if host.contains(':') {
        return Err(format!("IPv6 address in \"{item}\" needs brackets: [{host}]:{port}"));
    }
    let valid_name = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if !valid_name {
        return Err(format!("invalid host name \"{host}\" in \"{item}\""));
    }
    Ok(())
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("invalid value \"{text}\"; expected yes or no")),
    }
}

/// Splits `12 M` into (12, "m"): the leading digits and the lower-cased rest, trimmed.
fn split_number(text: &str) -> Option<(u64, String)> {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let n = text[..end].parse().ok()?;
    Some((n, text[end..].trim().to_ascii_lowercase()))
}

const KIB: u64 = 1024;
const SIZE_UNITS: [(&str, u64); 4] = [
    ("t", KIB * KIB * KIB * KIB),
    ("g", KIB * KIB * KIB),
    ("m", KIB * KIB),
    ("k", KIB),
];

fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "invalid size \"{text}\"; expected bytes or a number with K, M, G or T \
             (e.g. 65536, 64K, 64M, 1G)"
        )
    };
    let (n, unit) = split_number(text).ok_or_else(bad)?;
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let factor = match unit {
        "" => 1,
        u => SIZE_UNITS
            .iter()
            .find(|(name, _)| *name == u)
            .map(|(_, f)| *f)
            .ok_or_else(bad)?,
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("size \"{text}\" is too large"))
}

fn render_size(n: u64) -> String {
    if n == 0 {
        return "0".into();
    }
    for (name, factor) in SIZE_UNITS {
        if n.is_multiple_of(factor) {
            return format!("{}{}", n / factor, name.to_ascii_uppercase());
        }
    }
    n.to_string()
}

const DURATION_UNITS: [(&str, u64); 4] = [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)];

fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "invalid duration \"{text}\"; expected seconds or a number with s, m, h or d \
             (e.g. 1800, 30m, 12h)"
        )
    };
    let (n, unit) = split_number(text).ok_or_else(bad)?;
    let factor = match unit.as_str() {
        "" => 1,
        u => DURATION_UNITS
            .iter()
            .find(|(name, _)| *name == u)
            .map(|(_, f)| *f)
            .ok_or_else(bad)?,
    };
    n.checked_mul(factor)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("duration \"{text}\" is too long"))
}

fn render_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    for (name, factor) in DURATION_UNITS {
        if secs.is_multiple_of(factor) {
            return format!("{}{name}", secs / factor);
        }
    }
    format!("{secs}s")
}

fn parse_url(text: &str, schemes: &[&str], aliases: &[(&str, &str)]) -> Result<String, String> {
    let allowed = || {
        let mut s: Vec<String> = schemes.iter().map(|s| format!("{s}://")).collect();
        s.extend(aliases.iter().map(|(a, c)| format!("{a}:// (same as {c}://)")));
        s.join(", ")
    };
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(format!("\"{text}\" is not a URL; allowed schemes: {}", allowed()));
    };
    let lower = scheme.to_ascii_lowercase();
    let canonical = aliases
        .iter()
        .find(|(a, _)| *a == lower)
        .map(|(_, c)| *c)
        .or_else(|| schemes.iter().copied().find(|s| *s == lower));
    let Some(canonical) = canonical else {
        return Err(format!(
            "unsupported URL scheme \"{scheme}://\"; allowed schemes: {}",
            allowed()
        ));
    };
    if rest.is_empty() {
        return Err(format!("\"{text}\" names no database after {canonical}://"));
    }
    Ok(format!("{canonical}://{rest}"))
}

/// Hides the password in `scheme://user:password@host/...`, for printing.
fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:********@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .map(|c| (edit_distance(&word, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 3 && *d * 2 <= c.len().max(word.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let v = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            cur.push(v);
        }
        prev = cur;
    }
    prev[b.len()]
}

// ---------------------------------------------------------------------------------------------
// Origins
// ---------------------------------------------------------------------------------------------

/// Where a key's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    /// A line of a configuration file (or of text given to `from_text`).
    File { file: String, line: usize },
    /// [`Config::apply`], e.g. a `--dev` override.
    Override,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { file, line } => write!(f, "set in {file}:{line}"),
            Origin::Override => f.write_str("set by override"),
        }
    }
}

/// Origin of each key set explicitly. Always equal to another, so that two configurations with
/// the same settings compare equal however they were made.
#[derive(Debug, Clone, Default)]
struct Origins(BTreeMap<&'static str, Origin>);

impl PartialEq for Origins {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

/// Deepest `!include` nesting accepted, as a guard besides loop detection.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Name of the systemd credential holding the database password.
pub const DATABASE_PASSWORD_CREDENTIAL: &str = "database-password";

impl Default for Config {
    /// The defaults from the key table (the packaged layout).
    fn default() -> Config {
        match Config::defaults() {
            Ok(c) => c,
            Err(errors) => {
                // Only reachable if the table itself is wrong; a unit test guards against it.
                tracing::error!("built-in configuration defaults are invalid:\n{errors}");
                Config::blank()
            }
        }
    }
}

/// Outcome of setting one key, before it is given a location.
enum SetError {
    Unknown { suggestion: Option<&'static str> },
    Invalid(String),
}

impl SetError {
    fn message(&self, key: &str) -> String {
        match self {
            SetError::Unknown { suggestion: Some(s) } => format!("unknown key \"{key}\"; did you mean \"{s}\"?"),
            SetError::Unknown { suggestion: None } => {
                format!("unknown key \"{key}\"; see okapi-server --print-config for the valid keys")
            }
            SetError::Invalid(m) => m.clone(),
        }
    }
}

impl Config {
    /// A configuration with empty fields, before the defaults are applied.
    fn blank() -> Config {
        Config {
            server_listen: Vec::new(),
            server_listen_tls: Vec::new(),
            local_socket: PathBuf::new(),
            trusted_proxies: Vec::new(),
            lmtp_listen: Vec::new(),
            lmtp_socket: PathBuf::new(),
            database_url: String::new(),
            database_password_file: None,
            attachment_storage: AttachmentStorage::default(),
            attachment_path: PathBuf::new(),
            attachment_inline_max: 0,
            webapp_dir: None,
            user_plugin: String::new(),
            run_as_user: String::new(),
            run_as_group: String::new(),
            log_level: LogLevel::default(),
            session_timeout: Duration::ZERO,
            session_max_lifetime: Duration::ZERO,
            logon_failure_window: Duration::ZERO,
            logon_failures_per_account: 0,
            logon_failures_per_address: 0,
            logon_backoff_max: Duration::ZERO,
            max_request_size: 0,
            request_memory: 0,
            max_connections: 0,
            request_header_timeout: Duration::ZERO,
            request_body_timeout: Duration::ZERO,
            keepalive_timeout: Duration::ZERO,
            password_hash_threads: 0,
            password_hash_queue: 0,
            quota_warn: 0,
            quota_soft: 0,
            quota_hard: 0,
            public_store_quota: 0,
            named_props_per_day: 0,
            tls_cert_file: None,
            tls_key_file: None,
            tls_min_protocol: TlsVersion::default(),
            smtp_server: String::new(),
            smtp_port: 0,
            sendmail_command: None,
            queue_lifetime: Duration::ZERO,
            hostname: None,
            postmaster_address: None,
            max_message_size: 0,
            spam_header: None,
            oof_interval: Duration::ZERO,
            origins: Origins::default(),
        }
    }

    /// Applies every default of the key table to a blank configuration.
    fn defaults() -> Result<Config, ConfigErrors> {
        let mut c = Config::blank();
        let mut errors = Vec::new();
        for k in KEYS {
            if let Err(e) = c.set(k.name, k.default) {
                errors.push(ConfigError::new("(built-in defaults)", 0, k.name, e.message(k.name)));
            }
        }
        c.origins = Origins::default();
        if errors.is_empty() {
            Ok(c)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Reads the configuration file at `path`, its includes and its drop-ins
    /// (`<path>.d/*.cfg`), on top of the defaults.
    ///
    /// The file must exist: a missing file is an error that says so and suggests `--config`.
    /// Every problem in every file is returned together.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Config::load_inner(path, true)
    }

    /// Like [`Config::load`], but a missing main file means "all defaults" (drop-ins are still
    /// read when `<path>.d/` exists). For a first run without a packaged configuration.
    pub fn load_or_default(path: &Path) -> Result<Config, ConfigErrors> {
        Config::load_inner(path, false)
    }

    fn load_inner(path: &Path, must_exist: bool) -> Result<Config, ConfigErrors> {
        let mut loader = Loader::new();
        let shown = path.display().to_string();
        match fs::metadata(path) {
            Ok(_) => loader.read_file(path, None),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !must_exist => {
                tracing::debug!("no configuration file at {shown}; using the defaults");
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                loader.errors.push(ConfigError::new(
                    &shown,
                    0,
                    "",
                    format!(
                        "configuration file not found; create it (the package ships a \
                         commented sample) or name another one with --config PATH ({e})"
                    ),
                ));
            }
            Err(e) => loader.errors.push(ConfigError::new(
                &shown,
                0,
                "",
                format!("cannot read configuration file: {e}"),
            )),
        }
        loader.read_drop_ins(path);
        loader.finish(&shown)
    }

    /// Parses configuration text. `origin` names the text in errors and in
    /// [`Config::print_effective`]; relative `!include` paths resolve against the current
    /// directory. No drop-ins are read.
    pub fn from_text(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
        let mut loader = Loader::new();
        loader.read_text(text, origin, None);
        loader.finish(origin)
    }

    /// Sets one key from its text form, as if it were a line of the file, e.g. for `--dev`
    /// overrides. On failure the message names the problem (and the nearest key for a typo);
    /// the configuration is unchanged. Checks across keys are left to [`Config::validate`].
    pub fn apply(&mut self, key: &str, value: &str) -> Result<(), String> {
        match self.set(key, value.trim()) {
            Ok(name) => {
                self.origins.0.insert(name, Origin::Override);
                Ok(())
            }
            Err(e @ SetError::Unknown { .. }) => Err(e.message(key)),
            Err(e) => Err(format!("key \"{key}\": {}", e.message(key))),
        }
    }

    /// Parses `value` for `key` and stores it; returns the key's static name.
    fn set(&mut self, key: &str, value: &str) -> Result<&'static str, SetError> {
        let Some(def) = key_def(key) else {
            return Err(SetError::Unknown {
                suggestion: nearest(key, key_names()),
            });
        };
        let v = def.kind.parse(value).map_err(SetError::Invalid)?;
        (def.set)(self, v).map_err(SetError::Invalid)?;
        Ok(def.name)
    }

    /// Checks that need several keys: TLS certificate and key come as a pair, and the quota
    /// limits that are set grow from warn to soft to hard. Run by the loaders; call it again
    /// after [`Config::apply`].
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        self.validate_into("(configuration)", &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }

    fn validate_into(&self, fallback_file: &str, errors: &mut Vec<ConfigError>) {
        let at = |key: &'static str, message: String| match self.origins.0.get(key) {
            Some(Origin::File { file, line }) => ConfigError::new(file, *line, key, message),
            _ => ConfigError::new(fallback_file, 0, key, message),
        };
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(_), None) => errors.push(at(
                "tls_cert_file",
                "is set but tls_key_file is not; set both to enable TLS, or neither".into(),
            )),
            (None, Some(_)) => errors.push(at(
                "tls_key_file",
                "is set but tls_cert_file is not; set both to enable TLS, or neither".into(),
            )),
            _ => {}
        }
        let quotas = [
            ("quota_warn", self.quota_warn),
            ("quota_soft", self.quota_soft),
            ("quota_hard", self.quota_hard),
        ];
        for (i, (lower_key, lower)) in quotas.iter().enumerate() {
            for (upper_key, upper) in &quotas[i + 1..] {
                if *lower != 0 && *upper != 0 && lower > upper {
                    errors.push(at(
                        upper_key,
                        format!(
                            "{} is below {lower_key} ({}); limits must grow from \
                             quota_warn to quota_soft to quota_hard",
                            render_size(*upper),
                            render_size(*lower)
                        ),
                    ));
                }
            }
        }
        if self.request_memory < self.max_request_size {
            errors.push(at(
                "request_memory",
                format!(
                    "{} is below max_request_size ({}), so the largest request would always be refused \
                     as busy; raise request_memory or lower max_request_size",
                    render_size(self.request_memory),
                    render_size(self.max_request_size)
                ),
            ));
        }
    }

    /// True when both TLS files are set, i.e. when the `server_listen_tls` listeners are opened.
    pub fn tls_enabled(&self) -> bool {
        self.tls_cert_file.is_some() && self.tls_key_file.is_some()
    }

    /// Where `key` was last set, as `FILE:LINE` or `override`; `None` for a default or an
    /// unknown key.
    pub fn origin_of(&self, key: &str) -> Option<String> {
        self.origins.0.get(key).map(|o| match o {
            Origin::File { file, line } => format!("{file}:{line}"),
            Origin::Override => "override".into(),
        })
    }

    /// The configuration in effect, for `--print-config`: every key in table order as
    /// `key = value`, followed by a comment with the default and, when the key was set
    /// explicitly, where. A password inside `database_url` is masked. The output is valid
    /// configuration syntax.
    pub fn print_effective(&self) -> String {
        let lines: Vec<(String, String)> = KEYS
            .iter()
            .map(|k| {
                let mut value = (k.get)(self).render();
                if matches!(k.kind, Kind::Url { .. }) {
                    value = mask_url_password(&value);
                }
                let shown_default = if k.default.is_empty() { "(empty)" } else { k.default };
                let mut comment = format!("# default: {shown_default}");
                if let Some(origin) = self.origins.0.get(k.name) {
                    comment.push_str(&format!("; {origin}"));
                }
                let assignment = if value.is_empty() {
                    format!("{} =", k.name)
                } else {
                    format!("{} = {value}", k.name)
                };
                (assignment, comment)
            })
            .collect();
        let width = lines.iter().map(|(a, _)| a.len()).max().unwrap_or(0);
        let mut out = String::from("# okapi-server configuration in effect\n");
        for (assignment, comment) in lines {
            out.push_str(&format!("{assignment:<width$}  {comment}\n"));
        }
        out
    }

    /// The database password, if one is configured.
    ///
    /// Looked up in this order: the systemd credential `database-password` in
    /// `$CREDENTIALS_DIRECTORY` (from `LoadCredential=`), then `database_password_file`. A
    /// password file that others may read or write is refused, with its mode and the `chmod`
    /// that fixes it. The password is the first line, without its line ending.
    pub fn database_password(&self) -> Result<Option<String>, ConfigError> {
        let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
        self.database_password_from(credentials.as_deref())
    }

    /// [`Config::database_password`] with the credentials directory given, for tests and for
    /// callers that already looked it up.
    pub fn database_password_from(&self, credentials_dir: Option<&Path>) -> Result<Option<String>, ConfigError> {
        if let Some(dir) = credentials_dir {
            let path = dir.join(DATABASE_PASSWORD_CREDENTIAL);
            if path.exists() {
                tracing::debug!("database password from systemd credential {}", path.display());
                return read_first_line(&path, "").map(Some);
            }
        }
        let Some(path) = &self.database_password_file else {
            return Ok(None);
        };
        const KEY: &str = "database_password_file";
        let shown = path.display().to_string();
        let meta = fs::metadata(path)
            .map_err(|e| ConfigError::new(&shown, 0, KEY, format!("cannot read database password file: {e}")))?;
        if let Some(mode) = open_to_others(&meta) {
            return Err(ConfigError::new(
                &shown,
                0,
                KEY,
                format!(
                    "refusing database password file {shown}: others may read or write it \
                     (mode {mode:04o}; expected 0600 or 0640); fix it with: chmod 0640 {shown}"
                ),
            ));
        }
        read_first_line(path, KEY).map(Some)
    }
}

/// The file's mode when users other than its owner and group may read or
/// write it: a secret kept there is no secret (the database password file,
/// the TLS key).
pub fn open_to_others(meta: &fs::Metadata) -> Option<u32> {
    let mode = meta.permissions().mode() & 0o7777;
    (mode & 0o007 != 0).then_some(mode)
}

fn read_first_line(path: &Path, key: &str) -> Result<String, ConfigError> {
    let shown = path.display().to_string();
    let text = fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&shown, 0, key, format!("cannot read database password: {e}")))?;
    let line = text.lines().next().unwrap_or("").to_string();
    if line.is_empty() {
        tracing::warn!("database password in {shown} is empty");
    }
    Ok(line)
}

// ---------------------------------------------------------------------------------------------
// Reading files
// ---------------------------------------------------------------------------------------------

/// State while reading the main file, its includes and drop-ins.
struct Loader {
    config: Config,
    errors: Vec<ConfigError>,
    /// Canonical paths of the files being read, outermost first, for loop detection.
    stack: Vec<PathBuf>,
}

impl Loader {
    fn new() -> Loader {
        let (config, errors) = match Config::defaults() {
            Ok(c) => (c, Vec::new()),
            Err(e) => (Config::blank(), e.0),
        };
        Loader {
            config,
            errors,
            stack: Vec::new(),
        }
    }

    fn finish(mut self, fallback_file: &str) -> Result<Config, ConfigErrors> {
        self.config.validate_into(fallback_file, &mut self.errors);
        if self.errors.is_empty() {
            Ok(self.config)
        } else {
            Err(ConfigErrors(self.errors))
        }
    }

    /// Reads one file. `from` is the `!include` line that named it, where errors opening it
    /// are reported.
    fn read_file(&mut self, path: &Path, from: Option<(&str, usize)>) {
        let shown = path.display().to_string();
        let (err_file, err_line) = from.unwrap_or((&shown, 0));
        let canonical = match fs::canonicalize(path) {
            Ok(p) => p,
            Err(e) => {
                let what = if from.is_some() {
                    "cannot read included file"
                } else {
                    "cannot read configuration file"
                };
                self.errors
                    .push(ConfigError::new(err_file, err_line, "", format!("{what} {shown}: {e}")));
                return;
            }
        };
        if self.stack.contains(&canonical) {
            let chain: Vec<String> = self
                .stack
                .iter()
                .chain(std::iter::once(&canonical))
                .map(|p| p.display().to_string())
                .collect();
            self.errors.push(ConfigError::new(
                err_file,
                err_line,
                "",
                format!("include loop: {}", chain.join(" -> ")),
            ));
            return;
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.errors.push(ConfigError::new(
                err_file,
                err_line,
                "",
                format!("includes nested deeper than {MAX_INCLUDE_DEPTH} levels at {shown}"),
            ));
            return;
        }
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                self.errors.push(ConfigError::new(
                    err_file,
                    err_line,
                    "",
                    format!("cannot read {shown}: {e}"),
                ));
                return;
            }
        };
        tracing::debug!("reading configuration file {shown}");
        self.stack.push(canonical);
        self.read_text(&text, &shown, path.parent());
        self.stack.pop();
    }

    /// Reads configuration text. `dir` is where relative includes resolve (None: current
    /// directory).
    fn read_text(&mut self, text: &str, origin: &str, dir: Option<&Path>) {
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            if let Some(directive) = line.strip_prefix('!') {
                self.directive(directive, origin, line_no, dir);
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                self.errors.push(ConfigError::new(
                    origin,
                    line_no,
                    "",
                    format!("expected \"key = value\", found \"{line}\""),
                ));
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() {
                self.errors.push(ConfigError::new(
                    origin,
                    line_no,
                    "",
                    format!("missing key before \"=\" in \"{line}\""),
                ));
                continue;
            }
            match self.config.set(key, value) {
                Ok(name) => {
                    let origin = Origin::File {
                        file: origin.to_string(),
                        line: line_no,
                    };
                    self.config.origins.0.insert(name, origin);
                }
                Err(e) => {
                    self.errors.push(ConfigError::new(origin, line_no, key, e.message(key)));
                }
            }
        }
    }

    fn directive(&mut self, directive: &str, origin: &str, line_no: usize, dir: Option<&Path>) {
        let (name, arg) = directive
            .split_once(char::is_whitespace)
            .map_or((directive, ""), |(n, a)| (n, a.trim()));
        if name != "include" {
            self.errors.push(ConfigError::new(
                origin,
                line_no,
                "",
                format!("unknown directive \"!{name}\"; the only directive is !include FILE"),
            ));
            return;
        }
        if arg.is_empty() {
            self.errors
                .push(ConfigError::new(origin, line_no, "", "!include needs a file name"));
            return;
        }
        let target = Path::new(arg);
        let path = match dir {
            Some(d) if target.is_relative() => d.join(target),
            _ => target.to_path_buf(),
        };
        self.read_file(&path, Some((origin, line_no)));
    }

    /// Reads `<main>.d/*.cfg` in byte-wise name order; a missing directory is fine.
    fn read_drop_ins(&mut self, main: &Path) {
        let mut dir = main.as_os_str().to_owned();
        dir.push(".d");
        let dir = PathBuf::from(dir);
        let shown = dir.display().to_string();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) => {
                self.errors.push(ConfigError::new(
                    &shown,
                    0,
                    "",
                    format!("cannot read drop-in directory: {e}"),
                ));
                return;
            }
        };
        let mut files = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => {
                    let name = entry.file_name();
                    let bytes = name.as_encoded_bytes();
                    if bytes.ends_with(b".cfg") && !bytes.starts_with(b".") {
                        files.push(entry.path());
                    }
                }
                Err(e) => self.errors.push(ConfigError::new(
                    &shown,
                    0,
                    "",
                    format!("cannot list drop-in directory: {e}"),
                )),
            }
        }
        // OsStr ordering on Unix compares bytes, which is the documented order.
        files.sort();
        for file in files {
            if file.is_file() {
                self.read_file(&file, None);
            }
        }
    }
}

/// Removes a comment: a line starting with `#`, or ` # ...` after whitespace.
fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    let mut prev_space = false;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_space {
            return &line[..i];
        }
        prev_space = c.is_whitespace();
    }
    line
}

// ---------------------------------------------------------------------------------------------
// Sample file
// ---------------------------------------------------------------------------------------------

/// The commented sample `server.cfg` shipped in the packages: each key's documentation as
/// comments, then `#key = default`. Generated from the key table; `config/server.cfg` in the
/// source tree must equal it (a unit test checks, and rewrites it with `OKAPI_BLESS=1`).
pub fn sample_config() -> String {
    let mut out = String::new();
    out.push_str(
        "# okapi-server configuration\n\
         #\n\
         # Format: \"key = value\" lines; \"#\" starts a comment (at the start of a line, or\n\
         # after whitespace). \"!include FILE\" reads another file (relative to this one).\n\
         # After this file, every *.cfg in server.cfg.d/ is read in name order; a later\n\
         # setting overrides an earlier one. Each commented line below shows the default.\n\
         # \"okapi-server --print-config\" shows the configuration in effect.\n\
         #\n\
         # Generated from okapi's key table; do not edit the copy in the source tree by hand.\n",
    );
    let mut section = "";
    for k in KEYS {
        if k.section != section {
            section = k.section;
            out.push_str(&format!("\n##### {section} #####\n"));
        }
        out.push('\n');
        for line in wrap(k.doc, 76) {
            out.push_str(&format!("# {line}\n"));
        }
        out.push_str(&format!("# Type: {}.\n", k.kind.describe()));
        if k.default.is_empty() {
            out.push_str(&format!("#{} =\n", k.name));
        } else {
            out.push_str(&format!("#{} = {}\n", k.name, k.default));
        }
    }
    out
}

/// Splits `text` into lines of at most `width` characters at spaces (longer words stand alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed unwrap is a failed test"
)]
mod tests {
    use super::*;

    /// A fresh temporary directory for one test.
    fn tempdir() -> tempfile::TempDir {
        tempfile::Builder::new().prefix("okapi-config-test").tempdir().unwrap()
    }

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(path, text).unwrap();
    }

    fn errors_of(text: &str) -> Vec<ConfigError> {
        Config::from_text(text, "test.cfg").unwrap_err().0
    }

    fn one_error(text: &str) -> ConfigError {
        let mut errors = errors_of(text);
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.remove(0)
    }

    /// The table's defaults all parse, and give the packaged layout.
    #[test]
    fn defaults() {
        let c = Config::defaults().unwrap();
        assert_eq!(c.server_listen, vec!["[::]:236"]);
        assert_eq!(c.server_listen_tls, vec!["[::]:237"]);
        assert_eq!(c.local_socket, Path::new("/run/okapi/server.sock"));
        assert_eq!(c.lmtp_listen, vec!["127.0.0.1:2003"]);
        assert_eq!(c.lmtp_socket, Path::new("/run/okapi/lmtp.sock"));
        assert_eq!(c.database_url, "sqlite:///var/lib/okapi/okapi.db");
        assert_eq!(c.database_password_file, None);
        assert_eq!(c.attachment_storage, AttachmentStorage::Files);
        assert_eq!(c.attachment_path, Path::new("/var/lib/okapi/blobs"));
        assert_eq!(c.user_plugin, "db");
        assert_eq!(c.run_as_user, "okapi");
        assert_eq!(c.run_as_group, "okapi");
        assert_eq!(c.log_level, LogLevel::Info);
        assert_eq!(c.log_level.as_str(), "info");
        assert_eq!(c.session_timeout, Duration::from_secs(1800));
        assert_eq!(c.max_request_size, 64 * 1024 * 1024);
        assert_eq!((c.quota_warn, c.quota_soft, c.quota_hard), (0, 0, 0));
        assert_eq!(c.tls_cert_file, None);
        assert_eq!(c.tls_key_file, None);
        assert_eq!(c.tls_min_protocol, TlsVersion::V1_2);
        assert_eq!(c.smtp_server, "localhost");
        assert_eq!(c.smtp_port, 25);
        assert!(!c.tls_enabled());
        assert_eq!(c, Config::default());
        assert_eq!(Config::from_text("", "empty").unwrap(), c);
    }

    /// Every key is a field name once, and every default reads back through the renderer.
    #[test]
    fn table_is_consistent() {
        let mut names: Vec<&str> = key_names().collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KEYS.len());
        let c = Config::default();
        for k in KEYS {
            let rendered = (k.get)(&c).render();
            assert_eq!(k.kind.parse(&rendered).unwrap(), k.kind.parse(k.default).unwrap());
        }
    }

    /// Comments, blank lines and whitespace are ignored; later lines override earlier ones.
    #[test]
    fn syntax() {
        let c = Config::from_text(
            "# comment\n\n   run_as_user   =  mail   # trailing\nrun_as_group=a#b\n\
             smtp_server = x\nsmtp_server = y\r\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.run_as_user, "mail");
        assert_eq!(c.run_as_group, "a#b");
        assert_eq!(c.smtp_server, "y");
        assert_eq!(c.origin_of("smtp_server").as_deref(), Some("t:6"));
    }

    /// Lists split on commas and spaces, accept host names and brackets, and may be empty.
    #[test]
    fn lists() {
        let c = Config::from_text(
            "server_listen = 127.0.0.1:236, [::1]:236 localhost:8080,,\nlmtp_listen =\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.server_listen, vec!["127.0.0.1:236", "[::1]:236", "localhost:8080"]);
        assert!(c.lmtp_listen.is_empty());
        for bad in ["localhost", "host:99999", ":236", "::1:236", "[zz]:1", "a/b:1"] {
            let e = one_error(&format!("server_listen = {bad}"));
            assert_eq!(e.key, "server_listen", "{bad}");
        }
        assert!(one_error("server_listen = ::1:236").message.contains("[::1]:236"));
    }

    /// Sizes take K/M/G/T suffixes in any case, with optional B.
    #[test]
    fn sizes() {
        for (text, want) in [
            ("0", 0),
            ("1000", 1000),
            ("64k", 64 << 10),
            ("64MB", 64 << 20),
            ("2 GiB", 2 << 30),
            ("1t", 1 << 40),
            ("12b", 12),
        ] {
            assert_eq!(parse_size(text), Ok(want), "{text}");
        }
        for bad in ["", "M", "-1", "1.5M", "12X", "99999999999999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        let c = Config::from_text("quota_hard = 1G\nmax_request_size = 10m", "t").unwrap();
        assert_eq!(c.quota_hard, 1 << 30);
        assert_eq!(c.max_request_size, 10 << 20);
        let e = one_error("max_request_size = 0");
        assert!(e.message.contains("greater than 0"));
        assert_eq!(render_size(64 << 20), "64M");
        assert_eq!(render_size(1025), "1025");
    }

    /// Durations take plain seconds or s/m/h/d, and must not be zero.
    #[test]
    fn durations() {
        for (text, secs) in [("1800", 1800), ("45s", 45), ("30m", 1800), ("2h", 7200), ("1D", 86400)] {
            let c = Config::from_text(&format!("session_timeout = {text}"), "t").unwrap();
            assert_eq!(c.session_timeout, Duration::from_secs(secs), "{text}");
        }
        for bad in ["0", "0m", "abc", "10w", "-5", ""] {
            let e = one_error(&format!("session_timeout = {bad}"));
            assert_eq!(e.key, "session_timeout", "{bad}");
        }
        assert_eq!(render_duration(Duration::from_secs(5400)), "90m");
    }

    /// Enums are case-insensitive on input, and a bad one lists the allowed values.
    #[test]
    fn enums() {
        let c = Config::from_text(
            "attachment_storage = DB\nlog_level = Debug\ntls_min_protocol = 1.3",
            "t",
        )
        .unwrap();
        assert_eq!(c.attachment_storage, AttachmentStorage::Db);
        assert_eq!(c.log_level, LogLevel::Debug);
        assert_eq!(c.tls_min_protocol, TlsVersion::V1_3);
        let e = one_error("log_level = warning");
        assert!(e.message.contains("error, warn, info, debug, trace"), "{e}");
        assert!(e.message.contains("did you mean \"warn\""), "{e}");
        assert!(one_error("user_plugin = ldap").message.contains("allowed values: db"));
        assert!(errors_of("tls_min_protocol = 1.1").len() == 1);
    }

    /// Integers are range-checked.
    #[test]
    fn integers() {
        assert_eq!(Config::from_text("smtp_port = 587", "t").unwrap().smtp_port, 587);
        for bad in ["0", "65536", "x", "-1", ""] {
            let e = one_error(&format!("smtp_port = {bad}"));
            assert_eq!(e.key, "smtp_port", "{bad}");
        }
    }

    /// The database URL accepts sqlite and mysql, normalises mariadb, and refuses the rest.
    #[test]
    fn database_url() {
        let c = Config::from_text("database_url = mariadb://okapi@localhost/okapi", "t").unwrap();
        assert_eq!(c.database_url, "mysql://okapi@localhost/okapi");
        let c = Config::from_text("database_url = MYSQL://okapi@db/okapi", "t").unwrap();
        assert_eq!(c.database_url, "mysql://okapi@db/okapi");
        let e = one_error("database_url = postgres://x/y");
        assert!(e.message.contains("sqlite://"), "{e}");
        assert!(e.message.contains("mysql://"), "{e}");
        assert!(
            one_error("database_url = /var/lib/okapi.db")
                .message
                .contains("not a URL")
        );
        assert!(errors_of("database_url = sqlite://").len() == 1);
    }

    /// Paths must not be empty; optional paths may be.
    #[test]
    fn paths() {
        let c = Config::from_text("tls_cert_file = /c.pem\ntls_key_file = /k.pem", "t").unwrap();
        assert_eq!(c.tls_cert_file.as_deref(), Some(Path::new("/c.pem")));
        assert!(c.tls_enabled());
        assert_eq!(one_error("local_socket =").key, "local_socket");
        assert_eq!(one_error("run_as_user =").key, "run_as_user");
        let c = Config::from_text("database_password_file =", "t").unwrap();
        assert_eq!(c.database_password_file, None);
    }

    /// Checks across keys: TLS files come in pairs, quotas grow.
    #[test]
    fn cross_key_checks() {
        let e = one_error("\ntls_cert_file = /c.pem");
        assert_eq!((e.line, e.key.as_str()), (2, "tls_cert_file"));
        let e = one_error("quota_warn = 2G\nquota_soft = 1G\nquota_hard = 0");
        assert_eq!((e.line, e.key.as_str()), (2, "quota_soft"));
        assert!(Config::from_text("quota_warn = 1G\nquota_soft = 0\nquota_hard = 2G", "t").is_ok());
        let e = one_error("max_request_size = 1G");
        assert_eq!(e.key, "request_memory");
        assert!(e.message.contains("below max_request_size"), "{e}");
        assert!(Config::from_text("max_request_size = 1G\nrequest_memory = 2G", "t").is_ok());
    }

    /// An unknown key names file, line and the nearest key.
    #[test]
    fn unknown_key_suggests() {
        let e = one_error("# x\nsever_listen = [::]:236");
        assert_eq!(e.line, 2);
        assert_eq!(e.key, "sever_listen");
        assert_eq!(
            e.to_string(),
            "test.cfg:2: unknown key \"sever_listen\"; did you mean \"server_listen\"?"
        );
        let e = one_error("completely_unrelated = 1");
        assert!(!e.message.contains("did you mean"), "{e}");
        assert!(one_error("Log-Level = info").message.contains("\"log_level\""));
    }

    /// Every problem is reported, each with its line, in order.
    #[test]
    fn all_errors_at_once() {
        let errors = Config::from_text(
            "sever_listen = x\nsession_timeout = soon\nno equals sign\nsmtp_port = 0\n!frobnicate\n",
            "/etc/okapi/server.cfg",
        )
        .unwrap_err();
        let lines: Vec<usize> = errors.0.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5]);
        let text = errors.to_string();
        assert_eq!(text.lines().count(), 5);
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .starts_with("/etc/okapi/server.cfg:2: key \"session_timeout\": invalid duration"),
            "{text}"
        );
    }

    /// `!include` resolves relative to the including file; a missing one names the include line.
    #[test]
    fn include_relative() {
        let dir = tempdir();
        let main = dir.path().join("server.cfg");
        write(&main, "smtp_port = 2525\n!include sub/extra.cfg\n");
        write(
            &dir.path().join("sub/extra.cfg"),
            "smtp_server = mx\n!include more.cfg\n",
        );
        write(&dir.path().join("sub/more.cfg"), "smtp_port = 26\n");
        let c = Config::load(&main).unwrap();
        assert_eq!(c.smtp_server, "mx");
        assert_eq!(c.smtp_port, 26);
        let more = dir.path().join("sub/more.cfg");
        assert_eq!(c.origin_of("smtp_port"), Some(format!("{}:1", more.display())));

        write(&main, "\n\n!include missing.cfg\n");
        let errors = Config::load(&main).unwrap_err().0;
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].file, main.display().to_string());
        assert_eq!(errors[0].line, 3);
        assert!(errors[0].message.contains("missing.cfg"), "{}", errors[0]);
    }

    /// An include loop is reported instead of recursing forever.
    #[test]
    fn include_loop() {
        let dir = tempdir();
        let a = dir.path().join("a.cfg");
        write(&a, "!include b.cfg\n");
        write(&dir.path().join("b.cfg"), "smtp_port = 30\n!include a.cfg\n");
        let errors = Config::load(&a).unwrap_err().0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("include loop"), "{}", errors[0]);
        assert_eq!(errors[0].line, 2);
        assert!(errors[0].file.ends_with("b.cfg"));
    }

    /// Drop-ins are read after the main file, in byte-wise name order, only `*.cfg`.
    #[test]
    fn drop_ins_in_order() {
        let dir = tempdir();
        let main = dir.path().join("server.cfg");
        let d = dir.path().join("server.cfg.d");
        write(&main, "smtp_port = 1\nsmtp_server = main\nrun_as_user = main\n");
        write(&d.join("20-b.cfg"), "smtp_port = 20\n");
        write(&d.join("10-a.cfg"), "smtp_port = 10\nsmtp_server = a\n");
        write(&d.join("Z-upper.cfg"), "run_as_user = upper\n");
        write(&d.join("99-ignored.conf"), "smtp_port = 99\n");
        write(&d.join(".hidden.cfg"), "smtp_port = 98\n");
        let c = Config::load(&main).unwrap();
        assert_eq!(c.smtp_port, 20);
        assert_eq!(c.smtp_server, "a");
        assert_eq!(c.run_as_user, "upper");
        assert!(c.origin_of("smtp_port").unwrap().ends_with("20-b.cfg:1"));
    }

    /// A missing main file is an error for `load`, and defaults (plus drop-ins) for
    /// `load_or_default`.
    #[test]
    fn missing_main_file() {
        let dir = tempdir();
        let main = dir.path().join("server.cfg");
        let e = Config::load(&main).unwrap_err().to_string();
        assert!(e.contains("not found") && e.contains("--config"), "{e}");
        assert_eq!(Config::load_or_default(&main).unwrap(), Config::default());
        write(&dir.path().join("server.cfg.d/a.cfg"), "smtp_port = 7\n");
        assert_eq!(Config::load_or_default(&main).unwrap().smtp_port, 7);
    }

    /// `--print-config` lists every key with value, default and origin, and reads back.
    #[test]
    fn print_effective() {
        let dir = tempdir();
        let main = dir.path().join("server.cfg");
        write(
            &main,
            "\nsession_timeout = 2h\ndatabase_url = mysql://okapi:secret@db/okapi\n",
        );
        let mut c = Config::load(&main).unwrap();
        c.apply("smtp_port", "2525").unwrap();
        let out = c.print_effective();
        for k in KEYS {
            assert!(
                out.lines().any(|l| l.starts_with(&format!("{} =", k.name))),
                "{}",
                k.name
            );
        }
        let line = out.lines().find(|l| l.starts_with("session_timeout")).unwrap();
        assert!(line.contains("= 2h"), "{line}");
        assert!(line.contains("# default: 30m"), "{line}");
        assert!(line.contains(&format!("set in {}:2", main.display())), "{line}");
        let line = out.lines().find(|l| l.starts_with("smtp_port")).unwrap();
        assert!(line.contains("set by override"), "{line}");
        let line = out.lines().find(|l| l.starts_with("tls_cert_file")).unwrap();
        assert!(line.contains("# default: (empty)"), "{line}");
        assert!(!out.contains("secret"));
        let back = Config::from_text(&out, "printed").unwrap();
        assert_eq!(back.session_timeout, c.session_timeout);
        assert_eq!(back.smtp_port, 2525);
        assert_eq!(
            Config::from_text(&Config::default().print_effective(), "p").unwrap(),
            Config::default()
        );
    }

    /// `apply` sets one key, and explains a bad key or value without changing anything.
    #[test]
    fn apply() {
        let mut c = Config::default();
        c.apply("attachment_storage", " db ").unwrap();
        assert_eq!(c.attachment_storage, AttachmentStorage::Db);
        let e = c.apply("attachement_storage", "db").unwrap_err();
        assert!(e.contains("did you mean \"attachment_storage\""), "{e}");
        let e = c.apply("smtp_port", "70000").unwrap_err();
        assert!(e.starts_with("key \"smtp_port\":"), "{e}");
        assert_eq!(c.smtp_port, 25);
    }

    fn set_mode(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A password file others can read is refused with mode and fix; a safe one gives its
    /// first line.
    #[test]
    fn password_file_permissions() {
        let dir = tempdir();
        let file = dir.path().join("db.pass");
        write(&file, "s3cret\nsecond line\n");
        let mut c = Config::default();
        assert_eq!(c.database_password_from(None).unwrap(), None);
        c.apply("database_password_file", file.to_str().unwrap()).unwrap();

        set_mode(&file, 0o644);
        let e = c.database_password_from(None).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("0644"), "{text}");
        assert!(text.contains("0600 or 0640"), "{text}");
        assert!(text.contains(&format!("chmod 0640 {}", file.display())), "{text}");
        assert_eq!(e.key, "database_password_file");

        set_mode(&file, 0o640);
        assert_eq!(c.database_password_from(None).unwrap().as_deref(), Some("s3cret"));

        c.apply("database_password_file", "/nonexistent/okapi.pass").unwrap();
        assert!(c.database_password_from(None).is_err());
    }

    /// The systemd credential wins over the password file.
    #[test]
    fn credentials_directory_preferred() {
        let dir = tempdir();
        let creds = dir.path().join("creds");
        write(&creds.join(DATABASE_PASSWORD_CREDENTIAL), "from-systemd\r\n");
        let file = dir.path().join("db.pass");
        write(&file, "from-file\n");
        set_mode(&file, 0o600);
        let mut c = Config::default();
        c.apply("database_password_file", file.to_str().unwrap()).unwrap();
        assert_eq!(
            c.database_password_from(Some(&creds)).unwrap().as_deref(),
            Some("from-systemd")
        );
        let empty = dir.path().join("empty-creds");
        fs::create_dir_all(&empty).unwrap();
        assert_eq!(
            c.database_password_from(Some(&empty)).unwrap().as_deref(),
            Some("from-file")
        );
    }

    /// The sample, with every `#key = ...` line uncommented, gives exactly the defaults.
    #[test]
    fn sample_parses_back_to_defaults() {
        let sample = sample_config();
        let uncommented: String = sample
            .lines()
            .map(|l| match l.strip_prefix('#') {
                Some(rest) if key_names().any(|k| rest.starts_with(&format!("{k} ="))) => rest,
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let assignments = uncommented
            .lines()
            .filter(|l| l.contains(" ="))
            .filter(|l| !l.starts_with('#'))
            .count();
        assert_eq!(assignments, KEYS.len());
        let c = Config::from_text(&uncommented, "sample").unwrap();
        assert_eq!(c, Config::default());
        for k in KEYS {
            assert!(c.origin_of(k.name).is_some(), "{} not in the sample", k.name);
        }
    }

    /// `config/server.cfg` is the generated sample; `OKAPI_BLESS=1` rewrites it.
    #[test]
    fn shipped_sample_is_current() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/server.cfg"));
        let want = sample_config();
        if std::env::var_os("OKAPI_BLESS").is_some_and(|v| v == "1") {
            fs::write(path, &want).unwrap();
            return;
        }
        let have = fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "{} differs from sample_config(); regenerate it with OKAPI_BLESS=1 cargo test",
            path.display()
        );
    }
}
