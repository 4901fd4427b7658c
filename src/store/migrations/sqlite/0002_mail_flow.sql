-- okapi schema version 2 (SQLite): out-of-office, send-as grants, and what
-- the spooler needs to resume a partly sent message.

CREATE TABLE oof_settings (
    user_id INTEGER NOT NULL PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL DEFAULT 0,
    subject TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    starts_at INTEGER,
    ends_at INTEGER
);

-- When each sender last got an out-of-office reply from each user.
CREATE TABLE oof_replies (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sender TEXT NOT NULL,
    replied_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, sender)
);

-- Addresses a user may send as besides their own.
CREATE TABLE send_as (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    PRIMARY KEY (user_id, address)
);

ALTER TABLE outgoing_queue ADD COLUMN envelope_from TEXT NOT NULL DEFAULT '';
ALTER TABLE outgoing_queue ADD COLUMN recipients TEXT NOT NULL DEFAULT '';
