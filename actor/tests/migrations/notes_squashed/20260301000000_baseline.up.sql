-- The schema of `notes_v2`, squashed into one migration.
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    tag TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notes_by_tag ON notes (tag);
