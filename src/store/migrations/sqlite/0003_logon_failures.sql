-- okapi schema version 3 (SQLite): failed logons per account and per client
-- address, so that throttling survives a restart and every front end shares it.

CREATE TABLE logon_failures (
    -- "account:" or "address:" and a SHA-256 of the login or the address.
    subject TEXT NOT NULL PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX logon_failures_last ON logon_failures (last_failure_at);
