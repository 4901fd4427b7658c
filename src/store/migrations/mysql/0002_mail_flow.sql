-- okapi schema version 2 (MySQL / MariaDB): out-of-office, send-as grants,
-- and what the spooler needs to resume a partly sent message.

CREATE TABLE oof_settings (
    user_id BIGINT NOT NULL PRIMARY KEY,
    enabled BIGINT NOT NULL DEFAULT 0,
    subject VARCHAR(1000) NOT NULL DEFAULT '',
    body MEDIUMTEXT NOT NULL,
    starts_at BIGINT NULL,
    ends_at BIGINT NULL,
    CONSTRAINT fk_oof_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE oof_replies (
    user_id BIGINT NOT NULL,
    sender VARCHAR(255) NOT NULL,
    replied_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, sender),
    CONSTRAINT fk_oofr_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE send_as (
    user_id BIGINT NOT NULL,
    address VARCHAR(255) NOT NULL,
    PRIMARY KEY (user_id, address),
    CONSTRAINT fk_sendas_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE outgoing_queue ADD COLUMN envelope_from VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE outgoing_queue ADD COLUMN recipients MEDIUMTEXT NOT NULL;
