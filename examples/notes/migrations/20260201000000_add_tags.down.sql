DROP INDEX entries_by_tag;
ALTER TABLE entries DROP COLUMN tag;
