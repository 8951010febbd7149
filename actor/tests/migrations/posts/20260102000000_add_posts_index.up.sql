CREATE INDEX posts_by_actor ON posts (actor);
