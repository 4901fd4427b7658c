-- okapi schema version 4 (MySQL / MariaDB): fair shares of what all users share.

-- Who created each named property and when (microseconds), so that new
-- names can be counted per user per day; names from before stay NULL/0.
ALTER TABLE named_props ADD COLUMN created_by BIGINT NULL, ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX named_props_creator ON named_props (created_by, created_at);

-- The public store's top level: users may see and read it; creating there
-- is granted by an administrator. Changed only where the grant is still the
-- one okapi set at first start (0x49B: visible, read, create, edit and
-- delete own, create subfolders), never an administrator's own choice.
UPDATE acls SET rights = 1025
 WHERE member_kind = 'default' AND member_id = 0 AND rights = 1179
   AND folder_id IN (SELECT root_folder_id FROM stores WHERE kind = 'public');
