-- okapi schema version 1 (SQLite).
-- Hot columns for what tables sort and filter on; every other property in
-- one encoded bag per object (the `props` column).

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    quota_warn INTEGER,
    quota_soft INTEGER,
    quota_hard INTEGER,
    created_at INTEGER NOT NULL
);

-- Primary address (is_primary = 1) and aliases, lower-cased.
CREATE TABLE user_addresses (
    address TEXT NOT NULL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    is_primary INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX user_addresses_user ON user_addresses(user_id);

CREATE TABLE groups_ (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups_(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);

-- A private store per user (owner_id set) and one public store (owner_id NULL).
CREATE TABLE stores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    guid TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    owner_id INTEGER UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    root_folder_id INTEGER,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    message_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE folders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES folders(id),
    name TEXT NOT NULL,
    container_class TEXT NOT NULL DEFAULT '',
    role TEXT,
    content_count INTEGER NOT NULL DEFAULT 0,
    unread_count INTEGER NOT NULL DEFAULT 0,
    last_change_num INTEGER NOT NULL DEFAULT 0,
    props BLOB,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
);
CREATE INDEX folders_parent ON folders(parent_id, name);
CREATE UNIQUE INDEX folders_role ON folders(store_id, role);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id INTEGER NOT NULL,
    folder_id INTEGER NOT NULL,
    owner_id INTEGER,
    message_class TEXT NOT NULL DEFAULT 'IPM.Note',
    subject TEXT NOT NULL DEFAULT '',
    sender_name TEXT NOT NULL DEFAULT '',
    sender_address TEXT NOT NULL DEFAULT '',
    received_at INTEGER NOT NULL DEFAULT 0,
    sent_at INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0,
    flags INTEGER NOT NULL DEFAULT 0,
    importance INTEGER NOT NULL DEFAULT 1,
    has_attach INTEGER NOT NULL DEFAULT 0,
    internet_message_id TEXT NOT NULL DEFAULT '',
    conversation_topic TEXT NOT NULL DEFAULT '',
    change_num INTEGER NOT NULL DEFAULT 0,
    deleted_at INTEGER,
    raw_blob TEXT,
    props BLOB,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
);
CREATE INDEX messages_folder_received ON messages(folder_id, received_at);
CREATE INDEX messages_folder_sent ON messages(folder_id, sent_at);
CREATE INDEX messages_folder_subject ON messages(folder_id, subject);
CREATE INDEX messages_msgid ON messages(internet_message_id);

CREATE TABLE recipients (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    row_num INTEGER NOT NULL,
    recipient_type INTEGER NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    props BLOB,
    PRIMARY KEY (message_id, row_num)
);

CREATE TABLE attachments (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    attach_num INTEGER NOT NULL,
    filename TEXT NOT NULL DEFAULT '',
    mime_type TEXT NOT NULL DEFAULT 'application/octet-stream',
    size INTEGER NOT NULL DEFAULT 0,
    content_id TEXT NOT NULL DEFAULT '',
    is_inline INTEGER NOT NULL DEFAULT 0,
    blob_hash TEXT,
    props BLOB,
    PRIMARY KEY (message_id, attach_num)
);

-- Content-addressed, reference-counted. data is NULL when the bytes live in
-- a file under attachment_path.
CREATE TABLE blobs (
    hash TEXT NOT NULL PRIMARY KEY,
    size INTEGER NOT NULL,
    refcount INTEGER NOT NULL,
    data BLOB
);

-- Per-folder change journal: the latest change of each object, with
-- tombstones (deleted = 1). created_num tells creation from modification.
CREATE TABLE changes (
    folder_id INTEGER NOT NULL,
    object_id INTEGER NOT NULL,
    change_num INTEGER NOT NULL,
    created_num INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (folder_id, object_id)
);
CREATE INDEX changes_folder_num ON changes(folder_id, change_num);

-- Named properties: ids 0x8000..0xFFFE, at most 32767 names in all.
CREATE TABLE named_props (
    id INTEGER PRIMARY KEY,
    guid TEXT NOT NULL,
    kind INTEGER NOT NULL,
    lid INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL DEFAULT '',
    UNIQUE (guid, kind, lid, name)
);

-- Folder permissions. member_kind: 'user', 'group', 'default'.
CREATE TABLE acls (
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    member_kind TEXT NOT NULL,
    member_id INTEGER NOT NULL,
    rights INTEGER NOT NULL,
    PRIMARY KEY (folder_id, member_kind, member_id)
);

-- Messages submitted for sending, worked off by the spooler.
CREATE TABLE outgoing_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    submitted_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'queued',
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outgoing_queue_due ON outgoing_queue(state, next_attempt_at);
