DROP INDEX posts_by_actor;
