CREATE TABLE authors (
    actor TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE INDEX authors_by_actor ON authors (actor);
