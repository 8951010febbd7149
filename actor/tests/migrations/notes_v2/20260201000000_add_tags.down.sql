DROP INDEX notes_by_tag;
ALTER TABLE notes DROP COLUMN tag;
