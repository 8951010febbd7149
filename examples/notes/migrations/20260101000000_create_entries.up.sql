-- Every change to a notebook, in order: what a notebook's history is.
CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('added', 'done')),
    text TEXT NOT NULL
);
