CREATE TABLE posts (
    actor TEXT NOT NULL,
    title TEXT NOT NULL
);
