-- okapi schema version 3 (MySQL / MariaDB): failed logons per account and per
-- client address, so that throttling survives a restart and every front end
-- shares it.

CREATE TABLE logon_failures (
    subject VARCHAR(80) NOT NULL PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL DEFAULT 0,
    INDEX logon_failures_last (last_failure_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;
