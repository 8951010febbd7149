//! The SQLite driver: the embedded default, one database file in a data directory.
//!
//! Reads go through a small sqlx pool. Writes go through one writer task that takes every
//! batch queued since its last commit and writes them in one transaction with few, multi-row
//! statements (group commit): sqlx pays a thread hand-off per statement, so the number of
//! statements, not rows, sets the cost.
//!
//! | file | what it holds |
//! |---|---|
//! | `writer.rs` | the writer task: grouping, failures, its connection, fences |
//! | `transaction.rs` | one transaction: `BEGIN IMMEDIATE`, the ops, `COMMIT` |
//! | `schema.rs` | the tables, created on first open |

mod schema;
mod transaction;
mod writer;

#[doc(hidden)]
pub use writer::WriterFault;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot};

use super::{ActorRecord, Alarm, Commit, Driver, Loaded, Record, SaveBatch, StorageError, keys};
use crate::key::{ActorId, ActorKey};

/// The file inside the data directory that holds every actor.
pub const DATABASE_FILE: &str = "actors.sqlite3";

/// How hard a commit pushes data to disk.
///
/// ```
/// assert_eq!(actor::driver::sqlite::Sync::default(), actor::driver::sqlite::Sync::Full);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sync {
    /// `fsync` on every commit: an acknowledged write survives a power cut.
    #[default]
    Full,
    /// No `fsync` on commit (WAL, `synchronous=NORMAL`): an acknowledged write survives a
    /// process crash, not a power cut.
    Normal,
}

/// Settings for [`SqliteDriver::open_with`].
///
/// ```
/// let opts = actor::driver::sqlite::SqliteOptions::default();
/// assert_eq!(opts.read_connections, 4);
/// ```
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// Durability of each commit.
    pub sync: Sync,
    /// Connections in the read pool.
    pub read_connections: u32,
    /// How long a statement waits for a lock held by another process. A write that waits
    /// longer fails with `actor/storage_error` ("database is locked").
    pub busy_timeout: Duration,
    /// The most bytes the database file may grow to (`PRAGMA max_page_count`), or no
    /// limit. A write that would grow it further fails with `actor/storage_error`
    /// ("database or disk is full") and changes nothing; writes succeed again once
    /// destroyed actors or smaller states free space.
    ///
    /// ```
    /// let opts = actor::driver::sqlite::SqliteOptions {
    ///     max_size: Some(256 << 20), // 256 MiB
    ///     ..Default::default()
    /// };
    /// # let _ = opts;
    /// ```
    pub max_size: Option<u64>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            sync: Sync::Full,
            read_connections: 4,
            busy_timeout: Duration::from_secs(5),
            max_size: None,
        }
    }
}

/// Keeps actors in a SQLite database inside a data directory.
///
/// ```
/// use actor::driver::{Driver, sqlite::SqliteDriver};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let dir = tempfile::tempdir().unwrap();
/// let driver = SqliteDriver::open(dir.path()).await.unwrap();
/// assert_eq!(driver.lookup("counter", &"k".into()).await.unwrap(), None);
/// # }
/// ```
#[derive(Debug)]
pub struct SqliteDriver {
    reads: SqlitePool,
    writes: mpsc::UnboundedSender<writer::Request>,
    path: PathBuf,
}

fn backend(err: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(err.to_string())
}

impl SqliteDriver {
    /// Opens (creating if needed) the database in `dir` with default settings.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self, StorageError> {
        Self::open_with(dir, SqliteOptions::default()).await
    }

    /// Opens (creating if needed) the database in `dir`.
    pub async fn open_with(
        dir: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<Self, StorageError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| {
            backend(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(DATABASE_FILE);
        let connect = SqliteConnectOptions::from_str("sqlite:")
            .map_err(backend)?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match options.sync {
                Sync::Full => SqliteSynchronous::Full,
                Sync::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(options.busy_timeout);
        let opener = writer::Opener {
            options: connect.clone().create_if_missing(false),
            max_size: options.max_size,
            busy_timeout: options.busy_timeout,
        };
        let mut first = writer::Opener {
            options: connect.clone(),
            ..opener.clone()
        }
        .open()
        .await?;
        schema::ensure(&mut first).await?;
        let reads = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .connect_with(connect)
            .await
            .map_err(backend)?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer::Writer::new(opener, first).run(rx));
        Ok(Self {
            reads,
            writes: tx,
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stages a failure in the writer's next transaction (fault-injection tests only).
    #[doc(hidden)]
    pub fn inject(&self, fault: WriterFault) {
        let _ = self.writes.send(writer::Request::Inject(fault));
    }
}

impl Driver for SqliteDriver {
    fn lookup<'a>(
        &'a self,
        kind: &'a str,
        key: &'a ActorKey,
    ) -> BoxFuture<'a, Result<Option<ActorId>, StorageError>> {
        async move {
            let row = sqlx::query("SELECT id FROM actors WHERE kind = ? AND key = ?")
                .bind(kind)
                .bind(key.to_json())
                .fetch_optional(&self.reads)
                .await
                .map_err(backend)?;
            Ok(row.map(|r| ActorId::from(r.get::<String, _>(0))))
        }
        .boxed()
    }

    fn load<'a>(&'a self, id: &'a ActorId) -> BoxFuture<'a, Result<Option<Loaded>, StorageError>> {
        async move {
            let row = sqlx::query(
                "SELECT a.kind, a.key, r.value, al.at FROM actors a \
                 LEFT JOIN records r ON r.actor_id = a.id AND r.key = ? \
                 LEFT JOIN alarms al ON al.actor_id = a.id WHERE a.id = ?",
            )
            .bind(keys::STATE)
            .bind(id.as_str())
            .fetch_optional(&self.reads)
            .await
            .map_err(backend)?;
            row.map(|r| {
                let key: String = r.get(1);
                Ok(Loaded {
                    record: ActorRecord {
                        id: id.clone(),
                        kind: r.get(0),
                        key: ActorKey::from_json(&key)
                            .map_err(|e| backend(format!("stored key {key} is corrupt: {e}")))?,
                    },
                    state: r.get(2),
                    alarm: r
                        .get::<Option<i64>, _>(3)
                        .map(|at| u64::try_from(at).unwrap_or(0)),
                })
            })
            .transpose()
        }
        .boxed()
    }

    fn get<'a>(
        &'a self,
        id: &'a ActorId,
        key: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>> {
        async move {
            let row = sqlx::query("SELECT value FROM records WHERE actor_id = ? AND key = ?")
                .bind(id.as_str())
                .bind(key)
                .fetch_optional(&self.reads)
                .await
                .map_err(backend)?;
            Ok(row.map(|r| r.get::<Vec<u8>, _>(0)))
        }
        .boxed()
    }

    fn scan<'a>(
        &'a self,
        id: &'a ActorId,
        prefix: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<Record>, StorageError>> {
        async move {
            let rows = match prefix_end(prefix) {
                Some(end) => sqlx::query(
                    "SELECT key, value FROM records WHERE actor_id = ? AND key >= ? AND key < ? ORDER BY key",
                )
                .bind(id.as_str())
                .bind(prefix)
                .bind(end),
                None => sqlx::query(
                    "SELECT key, value FROM records WHERE actor_id = ? AND key >= ? ORDER BY key",
                )
                .bind(id.as_str())
                .bind(prefix),
            }
            .fetch_all(&self.reads)
            .await
            .map_err(backend)?;
            Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
        }
        .boxed()
    }

    fn list<'a>(
        &'a self,
        kind: &'a str,
        after: Option<&'a ActorId>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<ActorRecord>, StorageError>> {
        async move {
            let rows = sqlx::query(
                "SELECT id, key FROM actors WHERE kind = ? AND id > ? ORDER BY id LIMIT ?",
            )
            .bind(kind)
            .bind(after.map_or("", ActorId::as_str))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.reads)
            .await
            .map_err(backend)?;
            rows.into_iter()
                .map(|r| {
                    let key: String = r.get(1);
                    Ok(ActorRecord {
                        id: ActorId::from(r.get::<String, _>(0)),
                        kind: kind.to_string(),
                        key: ActorKey::from_json(&key)
                            .map_err(|e| backend(format!("stored key {key} is corrupt: {e}")))?,
                    })
                })
                .collect()
        }
        .boxed()
    }

    fn earliest_alarms(
        &self,
        until: u64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Alarm>, StorageError>> {
        async move {
            let rows = sqlx::query(
                "SELECT al.actor_id, a.kind, al.at FROM alarms al JOIN actors a ON a.id = al.actor_id \
                 WHERE al.at <= ? ORDER BY al.at, al.actor_id LIMIT ?",
            )
            .bind(i64::try_from(until).unwrap_or(i64::MAX))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.reads)
            .await
            .map_err(backend)?;
            Ok(rows
                .into_iter()
                .map(|r| Alarm {
                    id: ActorId::from(r.get::<String, _>(0)),
                    kind: r.get(1),
                    at: u64::try_from(r.get::<i64, _>(2)).unwrap_or(0),
                })
                .collect())
        }
        .boxed()
    }

    fn commit(&self, batch: SaveBatch) -> Commit {
        let (ack, rx) = oneshot::channel();
        match self
            .writes
            .send(writer::Request::Commit(writer::Job { batch, ack }))
        {
            Ok(()) => Commit::Pending(rx),
            Err(_) => Commit::Done(Err(backend("the SQLite writer has stopped"))),
        }
    }
}

/// The smallest key greater than every key starting with `prefix`, or `None` when no
/// such key exists (an empty or all-`0xff` prefix).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_increments_the_last_byte_below_ff() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(b""), None);
    }
}
