//! Running a kind's migrations in its namespace.
//!
//! The applied migrations of a namespace are rows of `__<namespace>_migrations`
//! (`version`, `description`, `checksum`, `applied_at`, `execution_ms`). When an instance
//! starts, one read of that table tells what is applied; each pending migration then runs
//! in a transaction of its own with its row, so a failing one leaves nothing of itself. An
//! applied migration whose file changed (its checksum differs) or went missing stops the
//! actor with `actor/migration_failed`, as does a failing one.

use std::collections::BTreeMap;
use std::time::Instant;

use sqlx::migrate::{Migration, MigrationType};
use sqlx::{Connection, SqliteConnection};

use crate::error::{ActorError, codes};

use super::DatabaseSpec;

/// The actor a migration runs for, as errors name it.
pub(crate) struct Who<'a> {
    pub(crate) kind: &'static str,
    pub(crate) key: &'a crate::key::ActorKey,
}

/// What went wrong, for `actor/migration_failed`.
enum Failure<'m> {
    /// An applied migration's file changed since.
    Changed(&'m Migration),
    /// An applied migration is no longer among the files.
    Missing { version: i64, description: String },
    /// A pending migration failed to run.
    Failed(&'m Migration, sqlx::Error),
    /// The journal could not be read or written.
    Journal(sqlx::Error),
}

/// Brings the database on `conn` up to date with `spec`'s migrations: reads the
/// namespace's journal (creating it on first use), checks the applied migrations against
/// the files, and runs the pending ones in order, each in its own transaction.
pub(crate) async fn run(
    conn: &mut SqliteConnection,
    spec: &DatabaseSpec,
    who: &Who<'_>,
) -> Result<(), ActorError> {
    let table = spec.journal_table();
    let applied = match applied(conn, &table).await {
        Ok(applied) => applied,
        Err(err) => return Err(failed(spec, who, Failure::Journal(err))),
    };
    let ups: Vec<&Migration> = spec
        .migrator
        .iter()
        .filter(|m| !matches!(m.migration_type, MigrationType::ReversibleDown))
        .collect();
    for (version, (description, checksum)) in &applied {
        match ups.iter().find(|m| m.version == *version) {
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                return Err(failed(spec, who, Failure::Changed(m)));
            }
            Some(_) => {}
            None => {
                return Err(failed(
                    spec,
                    who,
                    Failure::Missing {
                        version: *version,
                        description: description.clone(),
                    },
                ));
            }
        }
    }
    for m in ups.iter().filter(|m| !applied.contains_key(&m.version)) {
        apply(conn, &table, m)
            .await
            .map_err(|err| failed(spec, who, Failure::Failed(m, err)))?;
        tracing::info!(
            actor = who.kind,
            key = %who.key,
            namespace = spec.namespace,
            version = m.version,
            description = %m.description,
            "migration applied"
        );
    }
    Ok(())
}

/// The applied migrations: version → (description, checksum). One read; the table is
/// created when it does not exist yet.
async fn applied(
    conn: &mut SqliteConnection,
    table: &str,
) -> Result<BTreeMap<i64, (String, Vec<u8>)>, sqlx::Error> {
    let select = format!("SELECT version, description, checksum FROM \"{table}\"");
    match sqlx::query_as::<_, (i64, String, Vec<u8>)>(sqlx::AssertSqlSafe(select))
        .fetch_all(&mut *conn)
        .await
    {
        Ok(rows) => Ok(rows.into_iter().map(|(v, d, c)| (v, (d, c))).collect()),
        Err(sqlx::Error::Database(err)) if err.message().contains("no such table") => {
            let create = format!(
                "CREATE TABLE IF NOT EXISTS \"{table}\" (
                    version INTEGER PRIMARY KEY,
                    description TEXT NOT NULL,
                    checksum BLOB NOT NULL,
                    applied_at INTEGER NOT NULL,
                    execution_ms INTEGER NOT NULL
                )"
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                .execute(&mut *conn)
                .await?;
            Ok(BTreeMap::new())
        }
        Err(err) => Err(err),
    }
}

/// Runs migration `m` and records it, in one transaction (unless it asks for none).
async fn apply(conn: &mut SqliteConnection, table: &str, m: &Migration) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    let record = format!(
        "INSERT INTO \"{table}\" (version, description, checksum, applied_at, execution_ms) \
         VALUES (?, ?, ?, unixepoch(), ?)"
    );
    let elapsed =
        |started: Instant| i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    if m.no_tx {
        sqlx::raw_sql(m.sql.clone()).execute(&mut *conn).await?;
        sqlx::query(sqlx::AssertSqlSafe(record))
            .bind(m.version)
            .bind(m.description.as_ref())
            .bind(m.checksum.as_ref())
            .bind(elapsed(started))
            .execute(&mut *conn)
            .await?;
        return Ok(());
    }
    let mut tx = conn.begin().await?;
    sqlx::raw_sql(m.sql.clone()).execute(&mut *tx).await?;
    sqlx::query(sqlx::AssertSqlSafe(record))
        .bind(m.version)
        .bind(m.description.as_ref())
        .bind(m.checksum.as_ref())
        .bind(elapsed(started))
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// `actor/migration_failed` for `failure`: the message names the actor, the namespace,
/// the migration and the cause, and says what to do; the metadata holds each of them.
fn failed(spec: &DatabaseSpec, who: &Who<'_>, failure: Failure<'_>) -> ActorError {
    let (kind, key, ns, source) = (who.kind, who.key, spec.namespace, spec.source);
    let (version, description, cause, hint) = match failure {
        Failure::Changed(m) => (
            Some(m.version),
            m.description.to_string(),
            "it was applied, and its file has changed since (the checksum differs)".to_owned(),
            format!(
                "restore the applied migration as it was and put the change in a new one \
                 (`sqlx migrate add -r <name> --source {source}`)"
            ),
        ),
        Failure::Missing {
            version,
            description,
        } => (
            Some(version),
            description,
            format!("it was applied, and it is no longer in `{source}`"),
            "restore the migration file".to_owned(),
        ),
        Failure::Failed(m, err) => (
            Some(m.version),
            m.description.to_string(),
            format!("it failed: {err}"),
            "fix the migration (it was rolled back, nothing of it is applied) and deploy \
             again; the actor runs it on its next call"
                .to_owned(),
        ),
        Failure::Journal(err) => (
            None,
            String::new(),
            format!(
                "its journal `{}` could not be read: {err}",
                spec.journal_table()
            ),
            "check that the database file is a SQLite database this process can write".to_owned(),
        ),
    };
    let what = match version {
        Some(v) => format!("migration {v} ({description})"),
        None => "its migrations".to_owned(),
    };
    ActorError::of(
        codes::MIGRATION_FAILED,
        format!(
            "actor `{kind}` {key} could not migrate its database (namespace `{ns}`): {what}: \
             {cause}; {hint}. Its data is untouched"
        ),
    )
    .with_metadata(serde_json::json!({
        "actor": kind,
        "key": key.to_string(),
        "namespace": ns,
        "version": version,
        "description": description,
        "cause": cause,
        "hint": hint,
    }))
}
