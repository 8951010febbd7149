//! A notebook per user that keeps its whole history in SQL. The state holds what every
//! call needs (how many notes are open); the history of every note added or done is rows
//! in the notebook's own SQLite database, queried by tag. Each turn's rows commit with its
//! state, or neither does. Data lives in `./data-notes` (or the directory given as the
//! first argument): run it again, and the notebook goes on where it stopped, with its
//! migrations already applied.
//!
//! ```text
//! cargo run -p notes-example
//! ```

use actor::prelude::*;

/// One entry of a notebook's history.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub kind: String,
    pub text: String,
    pub tag: String,
}

#[actor(migrations = "migrations")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Notebook {
    /// Notes added and not done yet.
    open: u32,
}

#[actor]
impl Notebook {
    /// Adds a note under `tag`; returns how many are open.
    #[action]
    async fn add(&mut self, ctx: &Ctx<Self>, text: String, tag: String) -> Result<u32, ActorError> {
        let mut db = ctx.db().await?;
        record(&mut db, "added", &text, &tag).await?;
        self.open += 1;
        Ok(self.open)
    }

    /// Marks the open note `text` done; `user/not_found` if there is none.
    #[action]
    async fn done(&mut self, ctx: &Ctx<Self>, text: String) -> Result<u32, ActorError> {
        let mut db = ctx.db().await?;
        let open: Option<(String,)> = sqlx::query_as(
            "SELECT tag FROM entries e WHERE kind = 'added' AND text = ?1 \
             AND NOT EXISTS (SELECT 1 FROM entries d WHERE d.kind = 'done' AND d.text = e.text AND d.id > e.id)",
        )
        .bind(&text)
        .fetch_optional(&mut *db)
        .await?;
        let Some((tag,)) = open else {
            return Err(ActorError::user(
                "not_found",
                format!("no open note `{text}`"),
            ));
        };
        record(&mut db, "done", &text, &tag).await?;
        self.open -= 1;
        Ok(self.open)
    }

    /// The history of notes tagged `tag`, oldest first: a query, on a shared action.
    #[action]
    async fn history(&self, ctx: &Ctx<Self>, tag: String) -> Result<Vec<Entry>, ActorError> {
        let mut db = ctx.db().await?;
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT kind, text, tag FROM entries WHERE tag = ? ORDER BY id")
                .bind(tag)
                .fetch_all(&mut *db)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(kind, text, tag)| Entry { kind, text, tag })
            .collect())
    }

    #[action]
    async fn open(&self) -> u32 {
        self.open
    }
}

/// Appends one entry to the history.
async fn record(
    db: &mut actor::database::Db<'_>,
    kind: &str,
    text: &str,
    tag: &str,
) -> Result<(), ActorError> {
    sqlx::query("INSERT INTO entries (at, kind, text, tag) VALUES (unixepoch(), ?, ?, ?)")
        .bind(kind)
        .bind(text)
        .bind(tag)
        .execute(&mut **db)
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), ActorError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "data-notes".into());
    let registry = registry::Registry::builder().sqlite(&dir).build().await?;
    let notebook = Notebook::get_or_create(&registry.client(), ["ada"]).await?;

    let run = notebook.open().await?;
    notebook
        .add(format!("buy milk #{run}"), "home".into())
        .await?;
    notebook
        .add(format!("review PR #{run}"), "work".into())
        .await?;
    let open = notebook.done(format!("buy milk #{run}")).await?;
    println!("open notes: {open}");
    match notebook.done("never added".into()).await {
        Err(err) => println!("refused: {err}"),
        Ok(_) => unreachable!("no such note"),
    }
    for entry in notebook.history("home".into()).await? {
        println!("home: {} {}", entry.kind, entry.text);
    }
    println!(
        "databases: {}/databases/notebook/ (run again to continue)",
        dir
    );
    registry.shutdown().await;
    Ok(())
}
