//! One write transaction: `BEGIN IMMEDIATE`, the batches' ops as few statements as
//! possible, `COMMIT`. The writer owns the transaction's boundaries itself (no
//! `sqlx::Transaction`); see `docs/internals.md` for why.

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::prefix_end;
use crate::driver::{SaveBatch, SaveOp, StorageError};

/// Rows in one `INSERT` at most: 3 parameters each, under SQLite's 32,766 limit.
const MAX_ROWS_PER_STATEMENT: usize = 4096;

/// Why a transaction did not commit. In every case nothing of it is in the database.
#[derive(Debug)]
pub(super) enum Failure {
    /// Nothing ran: the store would not start a transaction (locked by another process
    /// past the busy timeout, unreachable, or the writer has no connection).
    Unavailable(StorageError),
    /// The batch at `index` was refused (it creates an actor under a taken key); the
    /// others may commit without it.
    Refused { index: usize, err: StorageError },
    /// A statement or the commit failed.
    Failed(StorageError),
}

/// Starts a transaction that holds the write lock. SQLite refuses `BEGIN` inside a
/// transaction, so a transaction that begins here is never nested in one left open.
pub(super) async fn begin(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query("BEGIN IMMEDIATE").execute(conn).await.map(drop)
}

/// Ends the transaction; `Ok` means it is in the database (durable with `Sync::Full`).
pub(super) async fn commit(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query("COMMIT").execute(conn).await.map(drop)
}

/// Rolls the transaction back. `Ok` also when SQLite had already rolled it back itself,
/// as it does on some errors (`SQLITE_FULL`, `SQLITE_IOERR`, an interrupt): either way the
/// connection is outside any transaction.
pub(super) async fn roll_back(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    match sqlx::query("ROLLBACK").execute(conn).await {
        Err(sqlx::Error::Database(err)) if err.message().contains("no transaction is active") => {
            Ok(())
        }
        other => other.map(drop),
    }
}

/// Writes `batches` inside the open transaction, in order; `explain` turns SQLite's
/// errors into what the callers are told.
pub(super) async fn write(
    conn: &mut SqliteConnection,
    batches: &[&SaveBatch],
    explain: impl Fn(sqlx::Error) -> StorageError,
) -> Result<(), Failure> {
    let failed = |err| Failure::Failed(explain(err));
    // Consecutive puts become one multi-row upsert; any other op flushes them first so
    // the order of a batch's ops is kept.
    let mut puts: Vec<(&str, &[u8], &[u8])> = Vec::new();
    for (index, batch) in batches.iter().enumerate() {
        let actor = batch.actor.as_str();
        for op in batch.ops() {
            if let SaveOp::Put { key, value } = op {
                puts.push((actor, key, value));
                if puts.len() == MAX_ROWS_PER_STATEMENT {
                    upsert(conn, &mut puts).await.map_err(failed)?;
                }
                continue;
            }
            upsert(conn, &mut puts).await.map_err(failed)?;
            match op {
                SaveOp::CreateActor { kind, key } => {
                    let inserted = sqlx::query(
                        "INSERT INTO actors (id, kind, key) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO NOTHING",
                    )
                    .bind(actor)
                    .bind(kind.as_str())
                    .bind(key.to_json())
                    .execute(&mut *conn)
                    .await
                    .map_err(failed)?;
                    if inserted.rows_affected() == 0 {
                        return Err(Failure::Refused {
                            index,
                            err: StorageError::AlreadyExists {
                                kind: kind.clone(),
                                key: key.clone(),
                            },
                        });
                    }
                }
                SaveOp::Delete { key } => {
                    sqlx::query("DELETE FROM records WHERE actor_id = ? AND key = ?")
                        .bind(actor)
                        .bind(key.as_slice())
                        .execute(&mut *conn)
                        .await
                        .map_err(failed)?;
                }
                SaveOp::DeletePrefix { prefix } => {
                    let query = match prefix_end(prefix) {
                        Some(end) => sqlx::query(
                            "DELETE FROM records WHERE actor_id = ? AND key >= ? AND key < ?",
                        )
                        .bind(actor)
                        .bind(prefix.as_slice())
                        .bind(end),
                        None => sqlx::query("DELETE FROM records WHERE actor_id = ? AND key >= ?")
                            .bind(actor)
                            .bind(prefix.as_slice()),
                    };
                    query.execute(&mut *conn).await.map_err(failed)?;
                }
                SaveOp::SetAlarm { at: Some(at) } => {
                    sqlx::query(
                        "INSERT INTO alarms (actor_id, at) VALUES (?, ?) \
                         ON CONFLICT (actor_id) DO UPDATE SET at = excluded.at",
                    )
                    .bind(actor)
                    .bind(i64::try_from(*at).unwrap_or(i64::MAX))
                    .execute(&mut *conn)
                    .await
                    .map_err(failed)?;
                }
                SaveOp::SetAlarm { at: None } => {
                    sqlx::query("DELETE FROM alarms WHERE actor_id = ?")
                        .bind(actor)
                        .execute(&mut *conn)
                        .await
                        .map_err(failed)?;
                }
                SaveOp::DestroyActor => {
                    sqlx::query("DELETE FROM alarms WHERE actor_id = ?")
                        .bind(actor)
                        .execute(&mut *conn)
                        .await
                        .map_err(failed)?;
                    sqlx::query("DELETE FROM records WHERE actor_id = ?")
                        .bind(actor)
                        .execute(&mut *conn)
                        .await
                        .map_err(failed)?;
                    sqlx::query("DELETE FROM actors WHERE id = ?")
                        .bind(actor)
                        .execute(&mut *conn)
                        .await
                        .map_err(failed)?;
                }
                SaveOp::Put { .. } => unreachable!("puts are handled above"),
            }
        }
    }
    upsert(conn, &mut puts).await.map_err(failed)
}

/// Writes the collected puts as one statement and clears them.
async fn upsert(
    conn: &mut SqliteConnection,
    puts: &mut Vec<(&str, &[u8], &[u8])>,
) -> Result<(), sqlx::Error> {
    if puts.is_empty() {
        return Ok(());
    }
    let mut query = QueryBuilder::<Sqlite>::new("INSERT INTO records (actor_id, key, value) ");
    query.push_values(puts.drain(..), |mut row, (actor, key, value)| {
        row.push_bind(actor.to_owned())
            .push_bind(key.to_vec())
            .push_bind(value.to_vec());
    });
    query.push(" ON CONFLICT (actor_id, key) DO UPDATE SET value = excluded.value");
    query.build().persistent(false).execute(conn).await?;
    Ok(())
}
