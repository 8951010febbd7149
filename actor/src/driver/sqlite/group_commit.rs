//! The single writer: every batch queued while the last transaction ran goes into the
//! next one, as a handful of multi-row statements.

use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use super::{backend, prefix_end};
use crate::driver::{SaveBatch, SaveOp, StorageError};

/// One batch waiting for the writer, with where to say it is durable.
pub(super) struct Job {
    pub(super) batch: SaveBatch,
    pub(super) ack: oneshot::Sender<Result<(), StorageError>>,
}

/// Batches taken into one transaction at most.
const MAX_JOBS: usize = 8192;
/// Rows in one `INSERT` at most: 3 parameters each, under SQLite's 32,766 limit.
const MAX_ROWS_PER_STATEMENT: usize = 4096;

/// Runs until every driver handle is dropped and the queue is drained.
pub(super) async fn run(mut conn: SqliteConnection, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut jobs = Vec::with_capacity(64);
    while rx.recv_many(&mut jobs, MAX_JOBS).await > 0 {
        let batches: Vec<&SaveBatch> = jobs.iter().map(|j| &j.batch).collect();
        match write(&mut conn, &batches).await {
            Ok(()) => {
                for job in jobs.drain(..) {
                    let _ = job.ack.send(Ok(()));
                }
            }
            // One batch's failure (a taken key, say) must not fail the others: retry each
            // alone so only the faulty one reports an error.
            Err(group_err) => {
                tracing::debug!(batches = jobs.len(), error = %group_err, "group commit failed; committing batches one by one");
                for job in jobs.drain(..) {
                    let result = write(&mut conn, &[&job.batch]).await;
                    if let Err(err) = &result {
                        tracing::warn!(actor = %job.batch.actor, error = %err, "commit failed");
                    }
                    let _ = job.ack.send(result);
                }
            }
        }
    }
    let _ = conn.close().await;
}

/// Writes `batches` in one transaction, in order.
async fn write(conn: &mut SqliteConnection, batches: &[&SaveBatch]) -> Result<(), StorageError> {
    let mut tx = conn.begin().await.map_err(backend)?;
    // Consecutive puts become one multi-row upsert; any other op flushes them first so
    // the order of a batch's ops is kept.
    let mut puts: Vec<(&str, &[u8], &[u8])> = Vec::new();
    for batch in batches {
        let actor = batch.actor.as_str();
        for op in &batch.ops {
            if let SaveOp::Put { key, value } = op {
                puts.push((actor, key, value));
                if puts.len() == MAX_ROWS_PER_STATEMENT {
                    upsert(&mut tx, &mut puts).await?;
                }
                continue;
            }
            upsert(&mut tx, &mut puts).await?;
            match op {
                SaveOp::CreateActor { kind, key } => {
                    let inserted = sqlx::query(
                        "INSERT INTO actors (id, kind, key) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO NOTHING",
                    )
                    .bind(actor)
                    .bind(kind.as_str())
                    .bind(key.to_json())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    if inserted.rows_affected() == 0 {
                        return Err(StorageError::AlreadyExists {
                            kind: kind.clone(),
                            key: key.clone(),
                        });
                    }
                }
                SaveOp::Delete { key } => {
                    sqlx::query("DELETE FROM records WHERE actor_id = ? AND key = ?")
                        .bind(actor)
                        .bind(key.as_slice())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
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
                    query.execute(&mut *tx).await.map_err(backend)?;
                }
                SaveOp::DestroyActor => {
                    sqlx::query("DELETE FROM records WHERE actor_id = ?")
                        .bind(actor)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    sqlx::query("DELETE FROM actors WHERE id = ?")
                        .bind(actor)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                SaveOp::Put { .. } => unreachable!("puts are handled above"),
            }
        }
    }
    upsert(&mut tx, &mut puts).await?;
    tx.commit().await.map_err(backend)
}

/// Writes the collected puts as one statement and clears them.
async fn upsert(
    conn: &mut SqliteConnection,
    puts: &mut Vec<(&str, &[u8], &[u8])>,
) -> Result<(), StorageError> {
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
    query
        .build()
        .persistent(false)
        .execute(conn)
        .await
        .map_err(backend)?;
    Ok(())
}
