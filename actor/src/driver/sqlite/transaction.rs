//! One write transaction: `BEGIN IMMEDIATE`, the batches' ops as few statements as
//! possible, `COMMIT`. The writer owns the transaction's boundaries itself (no
//! `sqlx::Transaction`); see `docs/internals.md` for why.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::prefix_end;
use crate::driver::{SaveBatch, SaveOp, StorageError};

/// Rows in one statement at most: at most 3 parameters each, under SQLite's 32,766 limit.
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

/// What a transaction's batches come to, per record and per alarm: each key's last write
/// (or its deletion) wins, as it would if the ops ran one by one in order. Ops that act on
/// whole actors (create, destroy, delete by prefix) keep their statements, and run before
/// the per-key writes, which the plan has already cleared of anything they undo.
#[derive(Default)]
struct Plan<'a> {
    /// Actors to register, with the index of their batch, in order.
    creates: Vec<(usize, &'a str, &'a String, &'a crate::key::ActorKey)>,
    /// Actors to remove entirely.
    destroys: Vec<&'a str>,
    /// Records to delete by prefix.
    prefixes: Vec<(&'a str, &'a [u8])>,
    /// Each record's final value, or `None` to delete it.
    records: HashMap<(&'a str, &'a [u8]), Option<&'a [u8]>>,
    /// Each actor's final alarm, or `None` to clear it.
    alarms: HashMap<&'a str, Option<u64>>,
}

impl<'a> Plan<'a> {
    fn of(batches: &[&'a SaveBatch]) -> Self {
        let mut plan = Self::default();
        for (index, batch) in batches.iter().enumerate() {
            let actor = batch.actor.as_str();
            for op in batch.ops() {
                match op {
                    SaveOp::CreateActor { kind, key } => {
                        plan.creates.push((index, actor, kind, key))
                    }
                    SaveOp::Put { key, value } => {
                        plan.records.insert((actor, key), Some(value));
                    }
                    SaveOp::Delete { key } => {
                        plan.records.insert((actor, key), None);
                    }
                    SaveOp::DeletePrefix { prefix } => {
                        plan.records
                            .retain(|(a, k), _| *a != actor || !k.starts_with(prefix));
                        plan.prefixes.push((actor, prefix));
                    }
                    SaveOp::SetAlarm { at } => {
                        plan.alarms.insert(actor, *at);
                    }
                    SaveOp::DestroyActor => {
                        plan.records.retain(|(a, _), _| *a != actor);
                        plan.prefixes.retain(|(a, _)| *a != actor);
                        plan.alarms.remove(actor);
                        plan.destroys.push(actor);
                    }
                }
            }
        }
        plan
    }
}

/// Writes `batches` inside the open transaction, with the effect of running their ops in
/// order ([`Plan`]) in a few statements: the creates (one each, so a taken key refuses
/// its batch before anything is written), the destroys and prefix deletes, then one
/// multi-row statement each for deleted records, written records, set and cleared alarms.
/// `explain` turns SQLite's errors into what the callers are told.
pub(super) async fn write(
    conn: &mut SqliteConnection,
    batches: &[&SaveBatch],
    explain: impl Fn(sqlx::Error) -> StorageError,
) -> Result<(), Failure> {
    let failed = |err| Failure::Failed(explain(err));
    let plan = Plan::of(batches);
    for (index, actor, kind, key) in plan.creates {
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
    for actor in plan.destroys {
        for statement in [
            "DELETE FROM alarms WHERE actor_id = ?",
            "DELETE FROM records WHERE actor_id = ?",
            "DELETE FROM actors WHERE id = ?",
        ] {
            sqlx::query(statement)
                .bind(actor)
                .execute(&mut *conn)
                .await
                .map_err(failed)?;
        }
    }
    for (actor, prefix) in plan.prefixes {
        let query = match prefix_end(prefix) {
            Some(end) => {
                sqlx::query("DELETE FROM records WHERE actor_id = ? AND key >= ? AND key < ?")
                    .bind(actor)
                    .bind(prefix)
                    .bind(end)
            }
            None => sqlx::query("DELETE FROM records WHERE actor_id = ? AND key >= ?")
                .bind(actor)
                .bind(prefix),
        };
        query.execute(&mut *conn).await.map_err(failed)?;
    }
    let (puts, deletes): (Vec<_>, Vec<_>) =
        plan.records.into_iter().partition(|(_, v)| v.is_some());
    in_chunks(conn, &deletes, |rows| {
        let mut query = QueryBuilder::new("DELETE FROM records WHERE (actor_id, key) IN (VALUES ");
        let mut list = query.separated(", ");
        for ((actor, key), _) in rows {
            list.push("(")
                .push_bind_unseparated(actor.to_string())
                .push_unseparated(", ")
                .push_bind_unseparated(key.to_vec())
                .push_unseparated(")");
        }
        query.push(")");
        query
    })
    .await
    .map_err(failed)?;
    in_chunks(conn, &puts, |rows| {
        let mut query = QueryBuilder::new("INSERT INTO records (actor_id, key, value) ");
        query.push_values(rows, |mut row, ((actor, key), value)| {
            row.push_bind(actor.to_string())
                .push_bind(key.to_vec())
                .push_bind(value.unwrap_or_default().to_vec());
        });
        query.push(" ON CONFLICT (actor_id, key) DO UPDATE SET value = excluded.value");
        query
    })
    .await
    .map_err(failed)?;
    let (set, cleared): (Vec<_>, Vec<_>) =
        plan.alarms.into_iter().partition(|(_, at)| at.is_some());
    in_chunks(conn, &set, |rows| {
        let mut query = QueryBuilder::new("INSERT INTO alarms (actor_id, at) ");
        query.push_values(rows, |mut row, (actor, at)| {
            let at = at.map_or(i64::MAX, |at| i64::try_from(at).unwrap_or(i64::MAX));
            row.push_bind(actor.to_string()).push_bind(at);
        });
        query.push(" ON CONFLICT (actor_id) DO UPDATE SET at = excluded.at");
        query
    })
    .await
    .map_err(failed)?;
    in_chunks(conn, &cleared, |rows| {
        let mut query = QueryBuilder::new("DELETE FROM alarms WHERE actor_id IN (");
        let mut list = query.separated(", ");
        for (actor, _) in rows {
            list.push_bind(actor.to_string());
        }
        query.push(")");
        query
    })
    .await
    .map_err(failed)
}

/// Runs the statement `build` makes for each chunk of at most `MAX_ROWS_PER_STATEMENT`
/// of `rows`.
async fn in_chunks<T>(
    conn: &mut SqliteConnection,
    rows: &[T],
    build: impl Fn(&[T]) -> QueryBuilder<Sqlite>,
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(MAX_ROWS_PER_STATEMENT) {
        let mut query = build(chunk);
        query.build().persistent(false).execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::ActorId;

    fn batch(actor: &str, ops: Vec<SaveOp>) -> SaveBatch {
        let mut batch = SaveBatch::new(ActorId::from(actor), 1);
        batch.extend(ops);
        batch
    }

    fn put(key: &str, value: &str) -> SaveOp {
        SaveOp::Put {
            key: key.as_bytes().to_vec().into(),
            value: value.as_bytes().into(),
        }
    }

    fn delete(key: &str) -> SaveOp {
        SaveOp::Delete {
            key: key.as_bytes().to_vec(),
        }
    }

    fn record<'p>(plan: &Plan<'p>, actor: &str, key: &str) -> Option<Option<&'p [u8]>> {
        plan.records.get(&(actor, key.as_bytes())).copied()
    }

    #[test]
    fn the_last_write_of_each_key_wins_across_batches() {
        let batches = [
            batch(
                "a",
                vec![
                    put("q/1", "x"),
                    put("state", "1"),
                    SaveOp::SetAlarm { at: Some(5) },
                ],
            ),
            batch("b", vec![put("state", "b")]),
            batch(
                "a",
                vec![
                    delete("q/1"),
                    put("state", "2"),
                    SaveOp::SetAlarm { at: None },
                ],
            ),
            batch("a", vec![delete("q/2"), put("q/2", "y")]),
        ];
        let refs: Vec<&SaveBatch> = batches.iter().collect();
        let plan = Plan::of(&refs);
        assert_eq!(record(&plan, "a", "q/1"), Some(None), "put, then deleted");
        assert_eq!(
            record(&plan, "a", "q/2"),
            Some(Some(&b"y"[..])),
            "deleted, then put"
        );
        assert_eq!(record(&plan, "a", "state"), Some(Some(&b"2"[..])));
        assert_eq!(record(&plan, "b", "state"), Some(Some(&b"b"[..])));
        assert_eq!(plan.alarms.get("a"), Some(&None), "set, then cleared");
    }

    #[test]
    fn whole_actor_ops_clear_what_came_before_them_and_not_after() {
        let batches = [
            batch("a", vec![put("q/1", "x"), put("s/1", "keep")]),
            batch(
                "a",
                vec![
                    SaveOp::DeletePrefix {
                        prefix: b"q/".to_vec(),
                    },
                    put("q/2", "new"),
                ],
            ),
            batch(
                "b",
                vec![put("state", "b"), SaveOp::SetAlarm { at: Some(1) }],
            ),
            batch("b", vec![SaveOp::DestroyActor]),
        ];
        let refs: Vec<&SaveBatch> = batches.iter().collect();
        let plan = Plan::of(&refs);
        assert_eq!(record(&plan, "a", "q/1"), None, "left to the prefix delete");
        assert_eq!(record(&plan, "a", "q/2"), Some(Some(&b"new"[..])));
        assert_eq!(record(&plan, "a", "s/1"), Some(Some(&b"keep"[..])));
        assert_eq!(plan.prefixes, [("a", &b"q/"[..])]);
        assert_eq!(record(&plan, "b", "state"), None, "destroyed");
        assert!(!plan.alarms.contains_key("b"));
        assert_eq!(plan.destroys, ["b"]);
    }
}
