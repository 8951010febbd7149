ALTER TABLE notes ADD COLUMN tag TEXT NOT NULL DEFAULT '';
CREATE INDEX notes_by_tag ON no_such_table (tag);
