//! The operations: what each API call does, whichever encoding it came in.
//!
//! Each file holds the handlers of one area; [`OPERATIONS`] is the table the
//! codecs dispatch through and the WSDL is generated from. Handlers take a
//! typed request and a [`Ctx`], check access, call the store, and publish
//! events; they never see XML or HTTP.

pub mod access;
mod account;
pub(crate) mod admin;
mod directory;
mod folders;
mod logon;
mod mailflow;
mod messages;
mod names;
pub(crate) mod quota;
pub(crate) use messages::{attachment_for_download, message_for_display};
pub mod notify;
pub mod session;
mod sync;
mod table;
mod throttle;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::api::Operation;
use crate::api::schema::Schema;
use crate::config::Config;
use crate::error::{ApiError, MapiCode};
use crate::store::Store;

/// Shared state of a running server.
#[derive(Debug)]
pub struct State {
    /// The store.
    pub store: Store,
    /// Configuration; replaced on reload.
    pub config: RwLock<Config>,
    /// Open sessions.
    pub sessions: session::Sessions,
    /// Wakes the spooler when a message is submitted.
    pub spooler_wake: tokio::sync::Notify,
    /// Set once the server stops: listeners close, long-polls answer, the
    /// spooler finishes the message in hand.
    pub stop: tokio::sync::watch::Sender<bool>,
    /// The TLS configuration in force; replaced when SIGHUP reloads the certificate.
    pub tls: RwLock<Option<Arc<rustls::ServerConfig>>>,
    /// The threads that hash and check passwords, sized at start (a reload
    /// does not resize them).
    pub passwords: crate::auth::PasswordPool,
    /// Room for large request bodies, in KiB (`request_memory`), sized at start.
    pub request_memory: Arc<tokio::sync::Semaphore>,
    /// When recent deliveries happened, for the status line.
    recent_deliveries: std::sync::Mutex<std::collections::VecDeque<std::time::Instant>>,
}

impl State {
    /// New state around an open store.
    pub fn new(store: Store, config: Config) -> Arc<State> {
        let passwords = crate::auth::PasswordPool::new(config.password_hash_threads, config.password_hash_queue);
        let request_kib = usize::try_from(config.request_memory / 1024).unwrap_or(usize::MAX);
        let request_memory = Arc::new(tokio::sync::Semaphore::new(
            request_kib.min(tokio::sync::Semaphore::MAX_PERMITS),
        ));
        Arc::new(State {
            store,
            passwords,
            request_memory,
            config: RwLock::new(config),
            sessions: session::Sessions::default(),
            spooler_wake: tokio::sync::Notify::new(),
            stop: tokio::sync::watch::channel(false).0,
            tls: RwLock::new(None),
            recent_deliveries: Default::default(),
        })
    }

    /// A copy of the current configuration.
    pub fn config(&self) -> Config {
        match self.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Notes a delivered message (for the status line).
    pub fn record_delivery(&self) {
        if let Ok(mut q) = self.recent_deliveries.lock() {
            let now = std::time::Instant::now();
            while q
                .front()
                .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
            {
                q.pop_front();
            }
            if q.len() < 100_000 {
                q.push_back(now);
            }
        }
    }

    /// Deliveries in the last minute.
    pub fn deliveries_last_minute(&self) -> usize {
        let now = std::time::Instant::now();
        self.recent_deliveries
            .lock()
            .map(|q| {
                q.iter()
                    .filter(|t| now.duration_since(**t) <= Duration::from_secs(60))
                    .count()
            })
            .unwrap_or(0)
    }

    /// True when a panic left state that every request needs unusable (the
    /// session table's lock poisoned), so that only a restart serves again.
    pub fn shared_state_poisoned(&self) -> bool {
        self.sessions.poisoned()
    }

    /// True once the server is stopping.
    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// The current TLS configuration.
    pub fn tls(&self) -> Option<Arc<rustls::ServerConfig>> {
        match self.tls.read() {
            Ok(t) => t.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The session timeout now in force.
    pub fn session_timeout(&self) -> Duration {
        self.config().session_timeout
    }

    /// How long sessions may live, idle and in all, now.
    pub fn session_lifetimes(&self) -> session::Lifetimes {
        let c = self.config();
        session::Lifetimes {
            idle: c.session_timeout,
            absolute: c.session_max_lifetime,
        }
    }
}

/// Where a request came from.
#[derive(Debug, Clone)]
pub enum Peer {
    /// A TCP client.
    Network(SocketAddr),
    /// A client on the local socket, with its uid from SO_PEERCRED; trusted
    /// when it is root or the server's own user.
    Local {
        /// Peer uid, if the kernel told it.
        uid: Option<u32>,
        /// True for root and the server's user.
        trusted: bool,
    },
    /// A client that a trusted reverse proxy forwarded (see
    /// [`crate::forwarded`]); never trusted for administration.
    Proxied {
        /// The client's address, from `X-Forwarded-For`.
        client: std::net::IpAddr,
        /// The proxy's own connection.
        via: Box<Peer>,
    },
}

impl Peer {
    /// The client's IP address, when it is known.
    pub fn client_ip(&self) -> Option<std::net::IpAddr> {
        match self {
            Peer::Network(a) => Some(crate::forwarded::canonical(a.ip())),
            Peer::Proxied { client, .. } => Some(*client),
            Peer::Local { .. } => None,
        }
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Network(a) => write!(f, "{a}"),
            Peer::Local { uid: Some(u), .. } => write!(f, "local uid {u}"),
            Peer::Local { uid: None, .. } => write!(f, "local"),
            Peer::Proxied { client, via } => write!(f, "{client} via {via}"),
        }
    }
}

/// What a handler gets besides its request.
pub struct Ctx {
    /// Server state.
    pub state: Arc<State>,
    /// Who is asking.
    pub peer: Peer,
}

impl Ctx {
    /// The session behind an id.
    pub fn session(&self, id: &str) -> Result<Arc<session::Session>, ApiError> {
        self.state.sessions.get(id, self.state.session_lifetimes())
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.state.store
    }
}

/// Declares an operation: the JSON-to-typed glue is generated here once.
macro_rules! op {
    ($name:literal, $doc:literal, $req:ty => $resp:ty, $handler:path) => {{
        fn call<'a>(
            ctx: &'a Ctx,
            v: serde_json::Value,
        ) -> crate::api::BoxFuture<'a, Result<serde_json::Value, ApiError>> {
            Box::pin(async move {
                let req: $req = serde::Deserialize::deserialize(&v).map_err(|e: serde_json::Error| {
                    let message = match crate::api::schema::find_misfit(&v, &<$req as Schema>::xsd()) {
                        Some((path, why)) => format!("{}/{path}: {why}", $name),
                        None => format!("{}: {e}", $name),
                    };
                    ApiError::new(MapiCode::InvalidParameter, message)
                })?;
                let resp: $resp = $handler(ctx, req).await?;
                serde_json::to_value(resp).map_err(|e| {
                    ApiError::new(
                        MapiCode::CallFailed,
                        format!("{}: could not encode the response: {e}", $name),
                    )
                })
            })
        }
        Operation {
            name: $name,
            doc: $doc,
            request: <$req as Schema>::xsd,
            response: <$resp as Schema>::xsd,
            call,
        }
    }};
}

use crate::api::types::*;

/// Every operation, in the order the WSDL lists them.
pub static OPERATIONS: &[Operation] = &[
    op!("logon", "Logs on with a user name and password; returns a session id.", LogonRequest => LogonResponse, logon::logon),
    op!("logoff", "Ends a session.", SessionRequest => Empty, logon::logoff),
    op!("getStore", "Returns a store's id and the entry ids of its standard folders.", GetStoreRequest => GetStoreResponse, logon::get_store),
    op!("getHierarchy", "Lists the subfolders of a folder.", GetHierarchyRequest => GetHierarchyResponse, folders::get_hierarchy),
    op!("createFolder", "Creates a subfolder.", CreateFolderRequest => EntryIdResponse, folders::create_folder),
    op!("renameFolder", "Renames a folder.", RenameFolderRequest => Empty, folders::rename_folder),
    op!("moveFolder", "Moves a folder under another parent.", MoveFolderRequest => Empty, folders::move_folder),
    op!("deleteFolder", "Deletes a folder: into Deleted Items, or for good with hard.", FolderDeleteRequest => Empty, folders::delete_folder),
    op!("emptyFolder", "Deletes every message and subfolder of a folder.", FolderDeleteRequest => Empty, folders::empty_folder),
    op!("getIdsFromNames", "Maps named properties (property set GUID with an id or a name) to property tags.", GetIdsFromNamesRequest => TagsResponse, names::get_ids_from_names),
    op!("getPermissions", "Lists a folder's permission entries.", GetPermissionsRequest => GetPermissionsResponse, folders::get_permissions),
    op!("setPermissions", "Sets permission entries on a folder (rights 0 removes one).", SetPermissionsRequest => Empty, folders::set_permissions),
    op!("queryRows", "Lists a folder's messages: columns, sort, restriction, paging.", QueryRowsRequest => QueryRowsResponse, table::query_rows),
    op!("loadObject", "Loads a message with its properties, recipients and attachment list.", LoadObjectRequest => LoadObjectResponse, messages::load_object),
    op!("saveObject", "Creates a message in a folder, or updates one.", SaveObjectRequest => EntryIdResponse, messages::save_object),
    op!("getMessageSource", "Returns a delivered message's original MIME bytes, byte-exact.", LoadObjectRequest => MessageSourceResponse, messages::get_message_source),
    op!("getAttachment", "Returns the bytes of an attachment.", GetAttachmentRequest => GetAttachmentResponse, messages::get_attachment),
    op!("deleteObjects", "Deletes messages: into Deleted Items, or for good with hard.", DeleteObjectsRequest => Empty, messages::delete_objects),
    op!("moveObjects", "Moves messages to another folder.", MoveObjectsRequest => EntryIdsResponse, messages::move_objects),
    op!("copyObjects", "Copies messages to another folder.", MoveObjectsRequest => EntryIdsResponse, messages::copy_objects),
    op!("setReadFlags", "Marks messages read or unread.", SetReadFlagsRequest => Empty, messages::set_read_flags),
    op!("getChanges", "Returns what was created, changed and deleted in a folder since a sync state.", GetChangesRequest => GetChangesResponse, sync::get_changes),
    op!("notify", "Returns the session's events, waiting up to timeoutSeconds for one.", NotifyRequest => NotifyResponse, sync::notify),
    op!("resolveNames", "Looks names up in the global address list.", ResolveNamesRequest => ResolveNamesResponse, directory::resolve_names),
    op!("changePassword", "Changes the caller's own password; other sessions of the user end.", ChangePasswordRequest => Empty, account::change_password),
    op!("userAdd", "Administration: creates a user with a private store.", UserAddRequest => Empty, admin::user_add),
    op!("userDel", "Administration: deletes a user and their store.", NameRequest => Empty, admin::user_del),
    op!("userList", "Administration: lists users.", AdminRequest => UserListResponse, admin::user_list),
    op!("userShow", "Administration: shows one user.", NameRequest => UserShowResponse, admin::user_show),
    op!("userSet", "Administration: changes a user.", UserSetRequest => Empty, admin::user_set),
    op!("userLogoff", "Administration: ends every session of a user.", NameRequest => UserLogoffResponse, admin::user_logoff),
    op!("groupAdd", "Administration: creates a group.", NameRequest => Empty, admin::group_add),
    op!("groupDel", "Administration: deletes a group.", NameRequest => Empty, admin::group_del),
    op!("groupList", "Administration: lists groups and members.", AdminRequest => GroupListResponse, admin::group_list),
    op!("groupAddUser", "Administration: adds a user to a group.", GroupMemberRequest => Empty, admin::group_add_user),
    op!("groupDelUser", "Administration: removes a user from a group.", GroupMemberRequest => Empty, admin::group_del_user),
    op!("quotaSet", "Administration: sets a user's quota limits.", QuotaSetRequest => Empty, admin::quota_set),
    op!("quotaShow", "Shows a user's quota limits and usage.", NameRequest => QuotaInfo, admin::quota_show),
    op!("storeList", "Administration: lists stores.", AdminRequest => StoreListResponse, admin::store_list),
    op!("submitMessage", "Hands a saved message to the spooler for sending; it moves to the Outbox.", SubmitMessageRequest => Empty, mailflow::submit_message),
    op!("getOutOfOffice", "Returns a user's out-of-office state.", GetOutOfOfficeRequest => OutOfOffice, mailflow::get_out_of_office),
    op!("setOutOfOffice", "Sets a user's out-of-office state.", SetOutOfOfficeRequest => Empty, mailflow::set_out_of_office),
    op!("sendAsGrant", "Administration: lets a user send as another address.", SendAsRequest => Empty, mailflow::send_as_grant),
    op!("sendAsRevoke", "Administration: withdraws a send-as grant.", SendAsRequest => Empty, mailflow::send_as_revoke),
    op!("sendAsList", "Lists the addresses a user may send as besides their own.", NameRequest => SendAsListResponse, mailflow::send_as_list),
];

/// Finds an operation by name.
pub fn find(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.name == name)
}

/// Runs an operation on a JSON request.
pub async fn dispatch(ctx: &Ctx, op: &Operation, request: serde_json::Value) -> Result<serde_json::Value, ApiError> {
    crate::fault::point("operation", op.name);
    (op.call)(ctx, request).await
}
