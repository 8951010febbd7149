//! Several kinds sharing one database file (`shared_database = "blog"`): each keeps its
//! migrations in its own namespace, queries can join across kinds, a turn's SQL still
//! commits with its state, and destroying an actor removes the rows its kind scoped to it.

use actor::prelude::*;
use registry::Registry;

/// An author's profile: rows scoped by the actor's id, deleted when it is destroyed.
#[actor(
    migrations = "tests/migrations/authors",
    shared_database = "blog",
    namespace = "authors"
)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Author {
    names: u32,
}

#[actor]
impl Author {
    #[action]
    async fn rename(
        &mut self,
        ctx: &Ctx<Self>,
        name: String,
        fail: bool,
    ) -> Result<u32, ActorError> {
        let mut db = ctx.db().await?;
        sqlx::query("INSERT INTO authors (actor, name) VALUES (?, ?)")
            .bind(ctx.id().as_str())
            .bind(name)
            .execute(&mut *db)
            .await?;
        self.names += 1;
        if fail {
            panic!("the turn fails after writing");
        }
        Ok(self.names)
    }

    #[action]
    async fn names(&self, ctx: &Ctx<Self>) -> Result<(u32, i64), ActorError> {
        let mut db = ctx.db().await?;
        let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM authors WHERE actor = ?")
            .bind(ctx.id().as_str())
            .fetch_one(&mut *db)
            .await?;
        Ok((self.names, rows))
    }

    #[on_destroy]
    async fn forget(&mut self, ctx: &Ctx<Self>) -> Result<(), ActorError> {
        let mut db = ctx.db().await?;
        sqlx::query("DELETE FROM authors WHERE actor = ?")
            .bind(ctx.id().as_str())
            .execute(&mut *db)
            .await?;
        Ok(())
    }
}

/// A post, in the same file: it can count every author's rows (a cross-kind query).
#[actor(migrations = "tests/migrations/posts", shared_database = "blog")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Post {}

#[actor]
impl Post {
    #[action]
    async fn publish(&mut self, ctx: &Ctx<Self>, title: String) -> Result<(), ActorError> {
        let mut db = ctx.db().await?;
        sqlx::query("INSERT INTO posts (actor, title) VALUES (?, ?)")
            .bind(ctx.id().as_str())
            .bind(title)
            .execute(&mut *db)
            .await?;
        Ok(())
    }

    /// Rows of both kinds, and each namespace's applied migrations.
    #[action]
    async fn overview(
        &self,
        ctx: &Ctx<Self>,
    ) -> Result<(i64, i64, Vec<i64>, Vec<i64>), ActorError> {
        let mut db = ctx.db().await?;
        let (authors,): (i64,) = sqlx::query_as("SELECT count(*) FROM authors")
            .fetch_one(&mut *db)
            .await?;
        let (posts,): (i64,) = sqlx::query_as("SELECT count(*) FROM posts")
            .fetch_one(&mut *db)
            .await?;
        let versions =
            |table: &'static str| format!("SELECT version FROM {table} ORDER BY version");
        let authors_applied: Vec<(i64,)> =
            sqlx::query_as(sqlx::AssertSqlSafe(versions("__authors_migrations")))
                .fetch_all(&mut *db)
                .await?;
        let posts_applied: Vec<(i64,)> =
            sqlx::query_as(sqlx::AssertSqlSafe(versions("__post_migrations")))
                .fetch_all(&mut *db)
                .await?;
        Ok((
            authors,
            posts,
            authors_applied.into_iter().map(|(v,)| v).collect(),
            posts_applied.into_iter().map(|(v,)| v).collect(),
        ))
    }
}

/// Two kinds in one file keep separate migration journals (each its own namespace),
/// and a query sees both kinds' tables; the file is `databases/shared/blog.sqlite`.
#[tokio::test]
async fn kinds_sharing_a_file_keep_their_own_migrations_and_query_across() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::builder()
        .sqlite(dir.path())
        .build()
        .await
        .unwrap();
    let client = registry.client();
    // Woken at once, many instances migrate the file once.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let author = Author::get_or_create(&client, [format!("a{i}")])
                .await
                .unwrap();
            author.rename(format!("name {i}"), false).await.unwrap()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 1);
    }
    let post = Post::get_or_create(&client, ["p"]).await.unwrap();
    post.publish("hello".into()).await.unwrap();
    let (authors, posts, authors_applied, posts_applied) = post.overview().await.unwrap();
    assert_eq!((authors, posts), (8, 1));
    assert_eq!(authors_applied, [20260101000000]);
    assert_eq!(posts_applied, [20260101000000, 20260102000000]);
    assert!(dir.path().join("databases/shared/blog.sqlite").is_file());
    registry.shutdown().await;

    // Woken again by a new registry: nothing is applied twice.
    let registry = Registry::builder()
        .sqlite(dir.path())
        .build()
        .await
        .unwrap();
    let post = Post::get(&registry.client(), ["p"]).await.unwrap();
    assert_eq!(post.overview().await.unwrap().0, 8);
    registry.shutdown().await;
}

/// In a shared file too, a turn's SQL commits with its state or not at all; destroying an
/// actor removes the rows its kind scoped to it (in `on_destroy`) and its journal entry,
/// and nothing of the others.
#[tokio::test]
async fn a_shared_file_keeps_turns_atomic_and_destroy_removes_only_that_actors_rows() {
    let registry = Registry::builder().memory().build().await.unwrap();
    let client = registry.client();
    let (a, b) = (
        Author::get_or_create(&client, ["a"]).await.unwrap(),
        Author::get_or_create(&client, ["b"]).await.unwrap(),
    );
    assert_eq!(a.rename("ada".into(), false).await.unwrap(), 1);
    let err = a.rename("lost".into(), true).await.unwrap_err();
    assert!(err.is(actor::codes::INTERNAL), "{err}");
    assert_eq!(
        a.names().await.unwrap(),
        (1, 1),
        "the panicking turn left neither"
    );
    b.rename("bob".into(), false).await.unwrap();
    b.rename("bobby".into(), false).await.unwrap();

    a.destroy().await.unwrap();
    assert_eq!(
        b.names().await.unwrap(),
        (2, 2),
        "the other actor keeps its rows"
    );
    let post = Post::get_or_create(&client, ["p"]).await.unwrap();
    assert_eq!(
        post.overview().await.unwrap().0,
        2,
        "only b's rows are left"
    );
    let a = Author::get_or_create(&client, ["a"]).await.unwrap();
    assert_eq!(
        a.names().await.unwrap(),
        (0, 0),
        "a new actor under the key starts empty"
    );
    registry.shutdown().await;
}
