//! Request and response types of every operation, declared once for both
//! encodings. Field docs are the API reference.

use crate::api::schema::{AnyValue, Bytes, Props};
use crate::api_struct;

api_struct! {
    /// A response with nothing to say but success.
    pub struct Empty {}
}

api_struct! {
    /// Request of `logon`.
    pub struct LogonRequest {
        /// Login name (or primary address).
        pub user: String,
        /// Password.
        pub password: String,
    }
}
api_struct! {
    /// Response of `logon`.
    pub struct LogonResponse {
        /// The session id to pass to every other operation.
        pub session: String,
        /// The user's display name.
        pub display_name: String,
        /// Seconds of inactivity after which the session expires.
        pub session_timeout: i64,
    }
}
api_struct! {
    /// A request that needs only a session.
    pub struct SessionRequest {
        /// Session id from `logon`.
        pub session: String,
    }
}
api_struct! {
    /// Request of `getStore`.
    pub struct GetStoreRequest {
        /// Session id.
        pub session: String,
        /// Another user's login to open that user's store (needs folder
        /// permissions there), or `public` for the public store; absent for
        /// one's own store.
        pub user: Option<String>,
    }
}
api_struct! {
    /// Response of `getStore`: the store and its standard folders.
    pub struct GetStoreResponse {
        /// Store entry id.
        pub store_id: String,
        /// Root folder ("Top of Information Store").
        pub root: String,
        /// Inbox (private stores only; empty otherwise, as are the others below).
        pub inbox: String,
        /// Outbox.
        pub outbox: String,
        /// Sent Items.
        pub sent_items: String,
        /// Deleted Items.
        pub deleted_items: String,
        /// Drafts.
        pub drafts: String,
        /// Junk E-mail.
        pub junk: String,
        /// Calendar.
        pub calendar: String,
        /// Contacts.
        pub contacts: String,
        /// Tasks.
        pub tasks: String,
        /// Notes.
        pub notes: String,
        /// Root folder of the public store.
        pub public_root: String,
    }
}
api_struct! {
    /// Request of `getHierarchy`.
    pub struct GetHierarchyRequest {
        /// Session id.
        pub session: String,
        /// Folder whose subfolders to list.
        pub folder: String,
        /// How many levels: 1 lists direct children (the default), 0 or less all levels.
        pub depth: Option<i32>,
    }
}
api_struct! {
    /// One folder as `getHierarchy` lists it.
    pub struct FolderRow {
        /// Entry id.
        pub entry_id: String,
        /// Parent folder's entry id.
        pub parent_entry_id: String,
        /// Display name.
        pub display_name: String,
        /// Container class, e.g. `IPF.Note`.
        pub container_class: String,
        /// Messages in the folder.
        pub content_count: i64,
        /// Unread messages in the folder.
        pub unread_count: i64,
        /// True if it has subfolders.
        pub has_subfolders: bool,
        /// Depth below the folder asked for (1 = direct child).
        pub depth: i32,
    }
}
api_struct! {
    /// Response of `getHierarchy`.
    pub struct GetHierarchyResponse {
        /// Folders, parents before their children.
        pub folders: Vec<FolderRow>,
    }
}
api_struct! {
    /// Request of `createFolder`.
    pub struct CreateFolderRequest {
        /// Session id.
        pub session: String,
        /// Parent folder.
        pub parent: String,
        /// Name of the new folder.
        pub name: String,
        /// Container class (default `IPF.Note`).
        pub container_class: Option<String>,
    }
}
api_struct! {
    /// Response of operations that create one object.
    pub struct EntryIdResponse {
        /// The entry id.
        pub entry_id: String,
    }
}
api_struct! {
    /// Request of `renameFolder`.
    pub struct RenameFolderRequest {
        /// Session id.
        pub session: String,
        /// Folder to rename.
        pub folder: String,
        /// New name.
        pub name: String,
    }
}
api_struct! {
    /// Request of `moveFolder`.
    pub struct MoveFolderRequest {
        /// Session id.
        pub session: String,
        /// Folder to move.
        pub folder: String,
        /// New parent folder.
        pub new_parent: String,
        /// New name, if it should change too.
        pub new_name: Option<String>,
    }
}
api_struct! {
    /// Request of `deleteFolder` and `emptyFolder`.
    pub struct FolderDeleteRequest {
        /// Session id.
        pub session: String,
        /// The folder.
        pub folder: String,
        /// True to delete for good; false (default) moves into Deleted Items.
        pub hard: Option<bool>,
    }
}
api_struct! {
    /// A sort key of `queryRows`.
    pub struct SortKey {
        /// Property tag or name.
        pub tag: String,
        /// True for descending order.
        pub descending: Option<bool>,
    }
}
api_struct! {
    /// A restriction (filter) on rows. Exactly one member is set.
    pub struct Restriction {
        /// All must match.
        pub and: Vec<Restriction>,
        /// At least one must match.
        pub or: Vec<Restriction>,
        /// Must not match.
        pub not: Option<Box<Restriction>>,
        /// Compare a property with a value.
        pub compare: Option<CompareRestriction>,
        /// Match a string property by substring or prefix, ignoring case.
        pub content: Option<ContentRestriction>,
        /// The property is set (tag or name).
        pub exists: Option<String>,
        /// Test bits of an integer property.
        pub bitmask: Option<BitmaskRestriction>,
    }
}
api_struct! {
    /// Comparison: `tag op value`.
    pub struct CompareRestriction {
        /// Property tag or name.
        pub tag: String,
        /// One of `=`, `<>`, `<`, `<=`, `>`, `>=`.
        pub op: String,
        /// The value, of the tag's type.
        pub value: AnyValue,
    }
}
api_struct! {
    /// Case-insensitive string match.
    pub struct ContentRestriction {
        /// Property tag or name.
        pub tag: String,
        /// The text to look for.
        pub value: String,
        /// `substring` (default) or `prefix`.
        pub mode: Option<String>,
    }
}
api_struct! {
    /// Bitmask test.
    pub struct BitmaskRestriction {
        /// Property tag or name.
        pub tag: String,
        /// The bits.
        pub mask: i64,
        /// True: matches when all masked bits are zero; false: when any is set.
        pub zero: bool,
    }
}
api_struct! {
    /// Request of `queryRows`.
    pub struct QueryRowsRequest {
        /// Session id.
        pub session: String,
        /// The folder whose contents to list.
        pub folder: String,
        /// Property tags or names to return for each row.
        pub columns: Vec<String>,
        /// Sort keys, most significant first (default: delivery time, newest first).
        pub sort: Vec<SortKey>,
        /// Filter.
        pub restriction: Option<Restriction>,
        /// Rows to skip.
        pub offset: Option<i64>,
        /// Rows to return at most (default 50, at most 5000).
        pub limit: Option<i64>,
    }
}
api_struct! {
    /// One row of `queryRows`.
    pub struct Row {
        /// Entry id of the message.
        pub entry_id: String,
        /// The requested columns that are set.
        pub props: Props,
    }
}
api_struct! {
    /// Response of `queryRows`.
    pub struct QueryRowsResponse {
        /// Rows matching the restriction, before paging.
        pub total: i64,
        /// The page of rows.
        pub rows: Vec<Row>,
    }
}
api_struct! {
    /// A recipient of a message.
    pub struct Recipient {
        /// 1 = To, 2 = Cc, 3 = Bcc (MAPI_TO, MAPI_CC, MAPI_BCC).
        pub recipient_type: i32,
        /// Display name.
        pub display_name: String,
        /// SMTP address.
        pub address: String,
        /// Further recipient properties.
        pub props: Option<Props>,
    }
}
api_struct! {
    /// An attachment as listed with its message.
    pub struct AttachmentInfo {
        /// Attachment number within the message.
        pub attach_num: i32,
        /// File name.
        pub filename: String,
        /// MIME type.
        pub mime_type: String,
        /// Size in bytes.
        pub size: i64,
        /// Content id, for inline images.
        pub content_id: String,
        /// True if shown inline.
        pub inline: bool,
    }
}
api_struct! {
    /// An attachment to add.
    pub struct NewAttachment {
        /// File name.
        pub filename: String,
        /// MIME type (default `application/octet-stream`).
        pub mime_type: Option<String>,
        /// Content id, for inline images.
        pub content_id: Option<String>,
        /// True if shown inline.
        pub inline: Option<bool>,
        /// The bytes.
        pub data: Bytes,
    }
}
api_struct! {
    /// Request of `loadObject`.
    pub struct LoadObjectRequest {
        /// Session id.
        pub session: String,
        /// The message.
        pub entry_id: String,
    }
}
api_struct! {
    /// Response of `loadObject`.
    pub struct LoadObjectResponse {
        /// Entry id.
        pub entry_id: String,
        /// Entry id of its folder.
        pub folder: String,
        /// All properties.
        pub props: Props,
        /// Recipients.
        pub recipients: Vec<Recipient>,
        /// Attachments.
        pub attachments: Vec<AttachmentInfo>,
    }
}
api_struct! {
    /// Request of `saveObject`: creates a message in `folder`, or updates `entryId`.
    pub struct SaveObjectRequest {
        /// Session id.
        pub session: String,
        /// Folder for a new message.
        pub folder: Option<String>,
        /// Message to update.
        pub entry_id: Option<String>,
        /// Properties to set.
        pub props: Props,
        /// Properties to remove (tags or names).
        pub delete_props: Vec<String>,
        /// Recipients; when present they replace the old ones.
        pub recipients: Option<Vec<Recipient>>,
        /// Attachments to add.
        pub attachments: Vec<NewAttachment>,
        /// Attachment numbers to remove.
        pub delete_attachments: Vec<i32>,
    }
}
api_struct! {
    /// Request of `getAttachment`.
    pub struct GetAttachmentRequest {
        /// Session id.
        pub session: String,
        /// The message.
        pub entry_id: String,
        /// Attachment number.
        pub attach_num: i32,
    }
}
api_struct! {
    /// Response of `getAttachment`.
    pub struct GetAttachmentResponse {
        /// File name.
        pub filename: String,
        /// MIME type.
        pub mime_type: String,
        /// Size in bytes.
        pub size: i64,
        /// The bytes.
        pub data: Bytes,
    }
}
api_struct! {
    /// Request of `deleteObjects`.
    pub struct DeleteObjectsRequest {
        /// Session id.
        pub session: String,
        /// Messages to delete.
        pub entry_ids: Vec<String>,
        /// True to delete for good; false (default) moves into Deleted Items.
        pub hard: Option<bool>,
    }
}
api_struct! {
    /// Request of `moveObjects` and `copyObjects`.
    pub struct MoveObjectsRequest {
        /// Session id.
        pub session: String,
        /// Messages.
        pub entry_ids: Vec<String>,
        /// Destination folder.
        pub dest_folder: String,
    }
}
api_struct! {
    /// Response listing entry ids, in request order.
    pub struct EntryIdsResponse {
        /// Entry ids.
        pub entry_ids: Vec<String>,
    }
}
api_struct! {
    /// Request of `setReadFlags`.
    pub struct SetReadFlagsRequest {
        /// Session id.
        pub session: String,
        /// Messages.
        pub entry_ids: Vec<String>,
        /// True marks read, false unread.
        pub read: bool,
    }
}
api_struct! {
    /// Request of `getChanges`.
    pub struct GetChangesRequest {
        /// Session id.
        pub session: String,
        /// Folder.
        pub folder: String,
        /// State from the previous call; absent for a first sync.
        pub sync_state: Option<String>,
    }
}
api_struct! {
    /// Response of `getChanges`.
    pub struct GetChangesResponse {
        /// Messages created since the state.
        pub created: Vec<String>,
        /// Messages changed since the state (and not created since).
        pub changed: Vec<String>,
        /// Messages deleted or moved away since the state.
        pub deleted: Vec<String>,
        /// State to pass next time.
        pub sync_state: String,
    }
}
api_struct! {
    /// Request of `notify`.
    pub struct NotifyRequest {
        /// Session id.
        pub session: String,
        /// Seconds to wait for an event when none is pending (default 0, at most 300).
        pub timeout_seconds: Option<i32>,
    }
}
api_struct! {
    /// An event.
    pub struct Event {
        /// `newMail`, `objectCreated`, `objectModified`, `objectDeleted`,
        /// `objectMoved`, `folderCreated`, `folderModified`, `folderDeleted`.
        pub kind: String,
        /// The object.
        pub entry_id: String,
        /// Its folder.
        pub folder: String,
        /// For moves: the folder it came from.
        pub old_folder: Option<String>,
    }
}
api_struct! {
    /// Response of `notify`.
    pub struct NotifyResponse {
        /// Events in order.
        pub events: Vec<Event>,
    }
}
api_struct! {
    /// Request of `resolveNames`.
    pub struct ResolveNamesRequest {
        /// Session id.
        pub session: String,
        /// Names, addresses or fragments to look up.
        pub names: Vec<String>,
    }
}
api_struct! {
    /// An entry of the global address list.
    pub struct AddressEntry {
        /// The name that matched.
        pub query: String,
        /// `user` or `group`.
        pub kind: String,
        /// Login or group name.
        pub account: String,
        /// Display name.
        pub display_name: String,
        /// Primary SMTP address.
        pub address: String,
    }
}
api_struct! {
    /// Response of `resolveNames`.
    pub struct ResolveNamesResponse {
        /// Matches, in the order of the names asked for.
        pub entries: Vec<AddressEntry>,
    }
}
api_struct! {
    /// A permission entry of a folder.
    pub struct Permission {
        /// A user's login, `group:NAME`, or `default` (every logged-on user).
        pub member: String,
        /// MAPI rights bits: 0x1 read, 0x2 create, 0x8 edit own, 0x10 delete own,
        /// 0x20 edit all, 0x40 delete all, 0x80 create subfolders, 0x100 folder
        /// owner, 0x400 folder visible.
        pub rights: i32,
    }
}
api_struct! {
    /// Request of `getPermissions`.
    pub struct GetPermissionsRequest {
        /// Session id.
        pub session: String,
        /// Folder.
        pub folder: String,
    }
}
api_struct! {
    /// Response of `getPermissions`.
    pub struct GetPermissionsResponse {
        /// The entries.
        pub permissions: Vec<Permission>,
    }
}
api_struct! {
    /// Request of `setPermissions`: sets or (rights 0) removes entries.
    pub struct SetPermissionsRequest {
        /// Session id.
        pub session: String,
        /// Folder.
        pub folder: String,
        /// Entries to set.
        pub permissions: Vec<Permission>,
    }
}

// ---- administration ---------------------------------------------------------
//
// Admin operations take no session when called over the local socket by a
// trusted peer (root or run_as_user); over the network they need the session
// of a user with the admin flag.

api_struct! {
    /// A user account as administrators see it.
    pub struct UserInfo {
        /// Login name.
        pub login: String,
        /// Display name.
        pub display_name: String,
        /// Primary address.
        pub address: String,
        /// Further addresses.
        pub aliases: Vec<String>,
        /// True for administrators.
        pub admin: bool,
        /// Warning quota in bytes (absent: server default).
        pub quota_warn: Option<i64>,
        /// Soft quota (no sending) in bytes.
        pub quota_soft: Option<i64>,
        /// Hard quota (no delivery) in bytes.
        pub quota_hard: Option<i64>,
        /// Bytes used by the store.
        pub store_size: i64,
        /// Groups the user is in.
        pub groups: Vec<String>,
    }
}
api_struct! {
    /// Request of `userAdd`.
    pub struct UserAddRequest {
        /// Session id (not needed on the local socket).
        pub session: Option<String>,
        /// Login name.
        pub login: String,
        /// Password.
        pub password: String,
        /// Display name (default: the login).
        pub display_name: Option<String>,
        /// Primary address.
        pub address: String,
        /// Further addresses.
        pub aliases: Vec<String>,
        /// Administrator flag.
        pub admin: Option<bool>,
    }
}
api_struct! {
    /// Request of `userSet`: changes what is given.
    pub struct UserSetRequest {
        /// Session id (not needed on the local socket).
        pub session: Option<String>,
        /// Login name of the user to change.
        pub login: String,
        /// New password.
        pub password: Option<String>,
        /// New display name.
        pub display_name: Option<String>,
        /// New primary address.
        pub address: Option<String>,
        /// New alias list (replaces the old one).
        pub aliases: Option<Vec<String>>,
        /// New administrator flag.
        pub admin: Option<bool>,
    }
}
api_struct! {
    /// A request naming one user or group.
    pub struct NameRequest {
        /// Session id (not needed on the local socket).
        pub session: Option<String>,
        /// Login or group name.
        pub name: String,
    }
}
api_struct! {
    /// An admin request with no arguments.
    pub struct AdminRequest {
        /// Session id (not needed on the local socket).
        pub session: Option<String>,
    }
}
api_struct! {
    /// Response of `userList`.
    pub struct UserListResponse {
        /// Users.
        pub users: Vec<UserInfo>,
    }
}
api_struct! {
    /// Response of `userLogoff`.
    pub struct UserLogoffResponse {
        /// How many sessions ended.
        pub sessions: i64,
    }
}
api_struct! {
    /// Response of `userShow`.
    pub struct UserShowResponse {
        /// The user.
        pub user: UserInfo,
    }
}
api_struct! {
    /// A group.
    pub struct GroupInfo {
        /// Name.
        pub name: String,
        /// Members' logins.
        pub members: Vec<String>,
    }
}
api_struct! {
    /// Response of `groupList`.
    pub struct GroupListResponse {
        /// Groups.
        pub groups: Vec<GroupInfo>,
    }
}
api_struct! {
    /// Request of `groupAddUser` and `groupDelUser`.
    pub struct GroupMemberRequest {
        /// Session id (not needed on the local socket).
        pub session: Option<String>,
        /// Group name.
        pub group: String,
        /// User login.
        pub user: String,
    }
}
api_struct! {
    /// Request of `quotaSet`; a negative value resets that limit to the server default.
    pub struct QuotaSetRequest {
        /// Session id (not needed on the local socket).
        pub session: Option<String>,
        /// User login.
        pub login: String,
        /// Warning limit in bytes.
        pub warn: Option<i64>,
        /// Soft limit in bytes.
        pub soft: Option<i64>,
        /// Hard limit in bytes.
        pub hard: Option<i64>,
    }
}
api_struct! {
    /// Quota state of a user.
    pub struct QuotaInfo {
        /// User login.
        pub login: String,
        /// Effective warning limit in bytes (0 = none).
        pub warn: i64,
        /// Effective soft limit in bytes (0 = none).
        pub soft: i64,
        /// Effective hard limit in bytes (0 = none).
        pub hard: i64,
        /// Bytes used.
        pub used: i64,
        /// `ok`, `warn`, `soft` or `hard`: the highest limit reached.
        pub state: String,
    }
}
api_struct! {
    /// A store as administrators see it.
    pub struct StoreInfo {
        /// Store entry id.
        pub store_id: String,
        /// `private` or `public`.
        pub kind: String,
        /// Owner login (empty for the public store).
        pub owner: String,
        /// Messages in the store.
        pub messages: i64,
        /// Bytes used.
        pub size: i64,
    }
}
api_struct! {
    /// Response of `storeList`.
    pub struct StoreListResponse {
        /// Stores.
        pub stores: Vec<StoreInfo>,
    }
}

// ---- mail flow ----------------------------------------------------------------

api_struct! {
    /// Request of `submitMessage`: hands a saved message to the spooler.
    pub struct SubmitMessageRequest {
        /// Session id.
        pub session: String,
        /// The message (in the caller's own store; it moves to the Outbox).
        pub entry_id: String,
    }
}
api_struct! {
    /// Out-of-office state.
    pub struct OutOfOffice {
        /// Replies are on.
        pub enabled: bool,
        /// Reply subject (empty: "Auto: " and the original subject).
        pub subject: String,
        /// Reply text.
        pub body: String,
        /// Replies start at this time (RFC 3339), if set.
        pub start: Option<String>,
        /// Replies end at this time (RFC 3339), if set.
        pub end: Option<String>,
    }
}
api_struct! {
    /// Request of `getOutOfOffice`.
    pub struct GetOutOfOfficeRequest {
        /// Session id (not needed on the local socket).
        pub session: Option<String>,
        /// Another user's login (administrators only); absent for one's own.
        pub user: Option<String>,
    }
}
api_struct! {
    /// Request of `setOutOfOffice`.
    pub struct SetOutOfOfficeRequest {
        /// Session id (not needed on the local socket).
        pub session: Option<String>,
        /// Another user's login (administrators only); absent for one's own.
        pub user: Option<String>,
        /// The new state.
        pub settings: OutOfOffice,
    }
}
api_struct! {
    /// Request of `sendAsGrant` and `sendAsRevoke`.
    pub struct SendAsRequest {
        /// Session id (not needed on the local socket).
        pub session: Option<String>,
        /// The user who may send.
        pub login: String,
        /// The address they may send as.
        pub address: String,
    }
}
api_struct! {
    /// Response of `sendAsList`.
    pub struct SendAsListResponse {
        /// Addresses the user may send as besides their own.
        pub addresses: Vec<String>,
    }
}
api_struct! {
    /// Response of `getMessageSource`.
    pub struct MessageSourceResponse {
        /// The original RFC 5322 bytes as delivered, byte-exact.
        pub data: Bytes,
    }
}
api_struct! {
    /// Request of `changePassword`.
    pub struct ChangePasswordRequest {
        /// Session id.
        pub session: String,
        /// The current password, to prove it is the user at the keyboard.
        pub old_password: String,
        /// The new password.
        pub new_password: String,
    }
}
api_struct! {
    /// A MAPI named property: a property set GUID and a numeric id or a string name.
    pub struct PropertyName {
        /// Property set GUID, e.g. `00062002-0000-0000-C000-000000000046` (PSETID_Appointment).
        pub guid: String,
        /// Numeric id (MNID_ID), e.g. 33293 (0x820D).
        pub id: Option<i64>,
        /// String name (MNID_STRING), when there is no numeric id.
        pub name: Option<String>,
        /// Property type for the tag, e.g. 64 (PT_SYSTIME) or 31 (PT_UNICODE).
        pub prop_type: i32,
    }
}
api_struct! {
    /// Request of `getIdsFromNames`.
    pub struct GetIdsFromNamesRequest {
        /// Session id.
        pub session: String,
        /// The names to map.
        pub names: Vec<PropertyName>,
    }
}
api_struct! {
    /// Response of `getIdsFromNames`: one tag per name, in request order.
    pub struct TagsResponse {
        /// Tags as `0x8001001F`.
        pub tags: Vec<String>,
    }
}
