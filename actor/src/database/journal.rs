//! How a turn's SQL writes and its state commit together, across two files.
//!
//! SQLite makes a transaction atomic in one file; the state lives in the registry's
//! storage and the SQL in the actor's database. So a turn that changed both writes, in
//! its database transaction, a row of `__actor_turns` holding the turn's number (`seq`) and
//! the state it produced, and commits that transaction first; then the state and the same
//! number (`keys::DATABASE_SEQ`) go to storage in the turn's batch. If the process dies
//! between the two commits, the database is ahead: at the next wake its row's number is
//! larger than the stored one, and the instance starts from the state in the row (and
//! stores it). A turn is thus in both or in neither.

use sqlx::SqliteConnection;

use crate::key::ActorId;

const CREATE: &str = "CREATE TABLE IF NOT EXISTS __actor_turns (
    actor TEXT PRIMARY KEY NOT NULL,
    seq INTEGER NOT NULL,
    state BLOB NOT NULL
)";

/// The last turn recorded for `id`: its number and the state it produced. Creates the
/// table on first use.
pub(super) async fn read(
    conn: &mut SqliteConnection,
    id: &ActorId,
) -> Result<Option<(u64, Vec<u8>)>, sqlx::Error> {
    let select = "SELECT seq, state FROM __actor_turns WHERE actor = ?";
    let row = match sqlx::query_as::<_, (i64, Vec<u8>)>(select)
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await
    {
        Err(sqlx::Error::Database(err)) if err.message().contains("no such table") => {
            sqlx::raw_sql(CREATE).execute(&mut *conn).await?;
            None
        }
        row => row?,
    };
    Ok(row.map(|(seq, state)| (u64::try_from(seq).unwrap_or(0), state)))
}

/// Forgets `id`: it was destroyed. (A table not made yet holds nothing to forget.)
pub(super) async fn forget(conn: &mut SqliteConnection, id: &ActorId) -> Result<(), sqlx::Error> {
    match sqlx::query("DELETE FROM __actor_turns WHERE actor = ?")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await
    {
        Err(sqlx::Error::Database(err)) if err.message().contains("no such table") => Ok(()),
        done => done.map(drop),
    }
}

/// Records turn `seq` of `id` and the state it produced, in the turn's transaction.
pub(super) async fn write(
    conn: &mut SqliteConnection,
    id: &ActorId,
    seq: u64,
    state: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO __actor_turns (actor, seq, state) VALUES (?, ?, ?) \
         ON CONFLICT (actor) DO UPDATE SET seq = excluded.seq, state = excluded.state",
    )
    .bind(id.as_str())
    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
    .bind(state)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
