-- A later deploy: entries get a tag, and a tag is looked up by index.
ALTER TABLE entries ADD COLUMN tag TEXT NOT NULL DEFAULT '';
CREATE INDEX entries_by_tag ON entries (tag);
