//! The tables every actor lives in, created on first open.

use sqlx::SqliteConnection;

use super::backend;
use crate::driver::StorageError;

/// Bumped when the layout changes; older files are upgraded in [`ensure`] (2: the
/// `alarms` table, created on a version-1 file like on a new one).
const VERSION: i64 = 2;

const CREATE: &str = "
CREATE TABLE IF NOT EXISTS actors (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (unixepoch()),
    UNIQUE (kind, key)
);
CREATE TABLE IF NOT EXISTS records (
    actor_id TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (actor_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alarms (
    actor_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alarms_by_time ON alarms (at, actor_id);
";

/// Creates the tables if the file is new; refuses files from a newer version.
pub(super) async fn ensure(conn: &mut SqliteConnection) -> Result<(), StorageError> {
    let found: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)?;
    if found > VERSION {
        return Err(backend(format!(
            "the data directory was written by a newer version (schema {found}, this build knows {VERSION}); upgrade this binary"
        )));
    }
    sqlx::raw_sql(CREATE)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "PRAGMA user_version = {VERSION}"
    )))
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}
