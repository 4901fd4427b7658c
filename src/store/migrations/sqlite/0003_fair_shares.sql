-- okapi schema version 3 (SQLite): fair shares of what all users share.

-- The public store's top level: users may see and read it; creating there
-- is granted by an administrator. Changed only where the grant is still the
-- one okapi set at first start (0x49B: visible, read, create, edit and
-- delete own, create subfolders), never an administrator's own choice.
UPDATE acls SET rights = 1025
 WHERE member_kind = 'default' AND member_id = 0 AND rights = 1179
   AND folder_id IN (SELECT root_folder_id FROM stores WHERE kind = 'public');
