-- okapi schema version 1 (MySQL / MariaDB). utf8mb4 everywhere, InnoDB.
-- Hot columns for what tables sort and filter on; every other property in
-- one encoded bag per object (the `props` column).

CREATE TABLE users (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    login VARCHAR(255) NOT NULL,
    display_name VARCHAR(255) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    is_admin BIGINT NOT NULL DEFAULT 0,
    quota_warn BIGINT NULL,
    quota_soft BIGINT NULL,
    quota_hard BIGINT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY users_login (login)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE user_addresses (
    address VARCHAR(255) NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    is_primary BIGINT NOT NULL DEFAULT 0,
    KEY user_addresses_user (user_id),
    CONSTRAINT fk_addr_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE groups_ (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY groups_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE group_members (
    group_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id),
    KEY group_members_user (user_id),
    CONSTRAINT fk_gm_group FOREIGN KEY (group_id) REFERENCES groups_(id) ON DELETE CASCADE,
    CONSTRAINT fk_gm_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE stores (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    guid VARCHAR(64) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    owner_id BIGINT NULL,
    root_folder_id BIGINT NULL,
    size_bytes BIGINT NOT NULL DEFAULT 0,
    message_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE KEY stores_guid (guid),
    UNIQUE KEY stores_owner (owner_id),
    CONSTRAINT fk_store_owner FOREIGN KEY (owner_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE folders (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    store_id BIGINT NOT NULL,
    parent_id BIGINT NULL,
    name VARCHAR(255) NOT NULL,
    container_class VARCHAR(255) NOT NULL DEFAULT '',
    role VARCHAR(32) NULL,
    content_count BIGINT NOT NULL DEFAULT 0,
    unread_count BIGINT NOT NULL DEFAULT 0,
    last_change_num BIGINT NOT NULL DEFAULT 0,
    props LONGBLOB NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    KEY folders_parent (parent_id, name),
    UNIQUE KEY folders_role (store_id, role),
    CONSTRAINT fk_folder_store FOREIGN KEY (store_id) REFERENCES stores(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE messages (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    store_id BIGINT NOT NULL,
    folder_id BIGINT NOT NULL,
    owner_id BIGINT NULL,
    message_class VARCHAR(255) NOT NULL DEFAULT 'IPM.Note',
    subject VARCHAR(1000) NOT NULL DEFAULT '',
    sender_name VARCHAR(255) NOT NULL DEFAULT '',
    sender_address VARCHAR(255) NOT NULL DEFAULT '',
    received_at BIGINT NOT NULL DEFAULT 0,
    sent_at BIGINT NOT NULL DEFAULT 0,
    size BIGINT NOT NULL DEFAULT 0,
    flags BIGINT NOT NULL DEFAULT 0,
    importance BIGINT NOT NULL DEFAULT 1,
    has_attach BIGINT NOT NULL DEFAULT 0,
    internet_message_id VARCHAR(255) NOT NULL DEFAULT '',
    conversation_topic VARCHAR(1000) NOT NULL DEFAULT '',
    change_num BIGINT NOT NULL DEFAULT 0,
    deleted_at BIGINT NULL,
    raw_blob VARCHAR(64) NULL,
    props LONGBLOB NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    KEY messages_folder_received (folder_id, received_at),
    KEY messages_folder_sent (folder_id, sent_at),
    KEY messages_folder_subject (folder_id, subject(191)),
    KEY messages_msgid (internet_message_id(191))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE recipients (
    message_id BIGINT NOT NULL,
    row_num BIGINT NOT NULL,
    recipient_type BIGINT NOT NULL,
    display_name VARCHAR(255) NOT NULL DEFAULT '',
    address VARCHAR(255) NOT NULL DEFAULT '',
    props LONGBLOB NULL,
    PRIMARY KEY (message_id, row_num),
    CONSTRAINT fk_rcpt_msg FOREIGN KEY (message_id) REFERENCES messages(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE attachments (
    message_id BIGINT NOT NULL,
    attach_num BIGINT NOT NULL,
    filename VARCHAR(1000) NOT NULL DEFAULT '',
    mime_type VARCHAR(255) NOT NULL DEFAULT 'application/octet-stream',
    size BIGINT NOT NULL DEFAULT 0,
    content_id VARCHAR(255) NOT NULL DEFAULT '',
    is_inline BIGINT NOT NULL DEFAULT 0,
    blob_hash VARCHAR(64) NULL,
    props LONGBLOB NULL,
    PRIMARY KEY (message_id, attach_num),
    CONSTRAINT fk_att_msg FOREIGN KEY (message_id) REFERENCES messages(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE blobs (
    hash VARCHAR(64) NOT NULL PRIMARY KEY,
    size BIGINT NOT NULL,
    refcount BIGINT NOT NULL,
    data LONGBLOB NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE changes (
    folder_id BIGINT NOT NULL,
    object_id BIGINT NOT NULL,
    change_num BIGINT NOT NULL,
    created_num BIGINT NOT NULL,
    deleted BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (folder_id, object_id),
    KEY changes_folder_num (folder_id, change_num)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE named_props (
    id BIGINT NOT NULL PRIMARY KEY,
    guid VARCHAR(64) NOT NULL,
    kind BIGINT NOT NULL,
    lid BIGINT NOT NULL DEFAULT 0,
    name VARCHAR(255) NOT NULL DEFAULT '',
    UNIQUE KEY named_props_key (guid, kind, lid, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE acls (
    folder_id BIGINT NOT NULL,
    member_kind VARCHAR(16) NOT NULL,
    member_id BIGINT NOT NULL,
    rights BIGINT NOT NULL,
    PRIMARY KEY (folder_id, member_kind, member_id),
    CONSTRAINT fk_acl_folder FOREIGN KEY (folder_id) REFERENCES folders(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE outgoing_queue (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    message_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    submitted_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    state VARCHAR(16) NOT NULL DEFAULT 'queued',
    last_error TEXT NOT NULL,
    KEY outgoing_queue_due (state, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
