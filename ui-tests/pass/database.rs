//! A kind with a database: migrations embedded from a folder (relative to the crate's
//! Cargo.toml, here `ui-tests/`), a namespace of its own, and `ctx.db()` in
//! exclusive and shared actions and hooks.
use actor::prelude::*;

#[actor(
    migrations = "migrations/notes",
    namespace = "pass_notes",
    adopt_baseline = true
)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Notes {
    added: u32,
}

#[actor]
impl Notes {
    #[on_create]
    async fn seed(&mut self, ctx: &Ctx<Self>) -> Result<(), ActorError> {
        let mut db = ctx.db().await?;
        sqlx::query("INSERT INTO notes (text) VALUES ('hello')")
            .execute(&mut *db)
            .await?;
        Ok(())
    }

    #[action]
    async fn add(&mut self, ctx: &Ctx<Self>, text: String) -> Result<u32, ActorError> {
        let mut db = ctx.db().await?;
        let mut tx = sqlx::Connection::begin(&mut *db).await?;
        sqlx::query("INSERT INTO notes (text) VALUES (?)")
            .bind(text)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.added += 1;
        Ok(self.added)
    }

    #[action]
    async fn count(&self, ctx: &Ctx<Self>) -> Result<i64, ActorError> {
        let mut db = ctx.db().await?;
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM notes")
            .fetch_one(&mut *db)
            .await?;
        Ok(n)
    }
}

/// Another kind in a file shared with others.
#[actor(
    migrations = "migrations/notes",
    namespace = "pass_shared_notes",
    shared_database = "pass_app"
)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct SharedNotes {}

#[actor]
impl SharedNotes {}

fn main() {
    assert_eq!(
        <SharedNotes as ActorOptions>::DATABASE.unwrap().shared,
        Some("pass_app")
    );
    let spec = <Notes as ActorOptions>::DATABASE.unwrap();
    assert_eq!(spec.namespace, "pass_notes");
    assert!(spec.adopt_baseline);
    assert_eq!(
        spec.migrator.iter().count(),
        2,
        "the up and the down script"
    );
}
