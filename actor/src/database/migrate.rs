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

/// The applied migrations: version → (description, checksum).
type Applied = BTreeMap<i64, (String, Vec<u8>)>;

/// What went wrong, for `actor/migration_failed`.
enum Failure<'m> {
    /// An applied migration's file changed since; `adopt`: say that a squashed baseline
    /// can be adopted.
    Changed { m: &'m Migration, adopt: bool },
    /// An applied migration is no longer among the files.
    Missing {
        version: i64,
        description: String,
        adopt: bool,
    },
    /// The baseline cannot be adopted: the schema lacks objects it creates.
    NotAdoptable {
        baseline: &'m Migration,
        lacking: Vec<String>,
    },
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
    let mismatch = mismatch(&applied, &ups);
    let applied = match mismatch {
        None => applied,
        Some(failure) if !spec.adopt_baseline => {
            return Err(failed(spec, who, failure.suggesting_adoption()));
        }
        Some(failure) => match adopt(conn, spec, who, &table, &applied, &ups).await {
            Ok(Some(adopted)) => adopted,
            Ok(None) => return Err(failed(spec, who, failure)),
            Err(failure) => return Err(failed(spec, who, failure)),
        },
    };
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

impl Failure<'_> {
    /// The same failure, whose hint also names `adopt_baseline`.
    fn suggesting_adoption(self) -> Self {
        match self {
            Failure::Changed { m, .. } => Failure::Changed { m, adopt: true },
            Failure::Missing {
                version,
                description,
                ..
            } => Failure::Missing {
                version,
                description,
                adopt: true,
            },
            other => other,
        }
    }
}

/// The first applied migration that no longer matches the files: changed or missing.
fn mismatch<'m>(applied: &Applied, ups: &[&'m Migration]) -> Option<Failure<'m>> {
    applied
        .iter()
        .find_map(|(version, (description, checksum))| {
            match ups.iter().find(|m| m.version == *version) {
                Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                    Some(Failure::Changed { m, adopt: false })
                }
                Some(_) => None,
                None => Some(Failure::Missing {
                    version: *version,
                    description: description.clone(),
                    adopt: false,
                }),
            }
        })
}

/// Adopts the first migration, a squashed baseline, as applied: when it is not applied
/// as it is and the schema holds every table, index, view and trigger it creates, the
/// journal's entries that no longer match are replaced by the baseline's. Returns the
/// journal as it is then; `None` if the mismatch is not one a baseline explains (an
/// edited migration after it).
async fn adopt<'m>(
    conn: &mut SqliteConnection,
    spec: &DatabaseSpec,
    who: &Who<'_>,
    table: &str,
    applied: &Applied,
    ups: &[&'m Migration],
) -> Result<Option<Applied>, Failure<'m>> {
    let Some(&baseline) = ups.iter().min_by_key(|m| m.version) else {
        return Ok(None);
    };
    let matches = |m: &Migration| {
        applied
            .get(&m.version)
            .is_some_and(|(_, c)| c.as_slice() == m.checksum.as_ref())
    };
    if matches(baseline) {
        return Ok(None);
    }
    // Entries of later files that changed are not explained by a new baseline.
    let changed_later = applied
        .keys()
        .any(|v| *v != baseline.version && ups.iter().any(|m| m.version == *v && !matches(m)));
    if changed_later {
        return Ok(None);
    }
    let wanted = baseline_objects(baseline).await.map_err(Failure::Journal)?;
    let have = objects(conn).await.map_err(Failure::Journal)?;
    let lacking: Vec<String> = wanted
        .into_iter()
        .filter(|o| !have.contains(o))
        .map(|(kind, name)| format!("{kind} `{name}`"))
        .collect();
    if !lacking.is_empty() {
        return Err(Failure::NotAdoptable { baseline, lacking });
    }
    let dropped: Vec<i64> = applied
        .keys()
        .copied()
        .filter(|v| *v == baseline.version || !ups.iter().any(|m| m.version == *v))
        .collect();
    let recorded = async {
        let mut tx = conn.begin().await?;
        for version in &dropped {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM \"{table}\" WHERE version = ?"
            )))
            .bind(version)
            .execute(&mut *tx)
            .await?;
        }
        record(&mut tx, table, baseline, 0).await?;
        tx.commit().await
    };
    recorded.await.map_err(Failure::Journal)?;
    tracing::warn!(
        actor = who.kind,
        key = %who.key,
        namespace = spec.namespace,
        baseline = baseline.version,
        description = %baseline.description,
        replaced = ?dropped,
        "adopted a squashed baseline as applied: the schema already holds everything it creates"
    );
    let mut adopted: Applied = applied
        .iter()
        .filter(|(v, _)| !dropped.contains(v))
        .map(|(v, e)| (*v, e.clone()))
        .collect();
    adopted.insert(
        baseline.version,
        (baseline.description.to_string(), baseline.checksum.to_vec()),
    );
    Ok(Some(adopted))
}

/// The schema objects (kind, name) in the database on `conn`, SQLite's own left out.
async fn objects(conn: &mut SqliteConnection) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT type, name FROM sqlite_master \
         WHERE type IN ('table', 'index', 'view', 'trigger') AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '\\_\\_%' ESCAPE '\\'",
    )
    .fetch_all(conn)
    .await
}

/// The schema objects `baseline` creates: it runs in a scratch in-memory database.
async fn baseline_objects(baseline: &Migration) -> Result<Vec<(String, String)>, sqlx::Error> {
    let mut scratch = SqliteConnection::connect("sqlite::memory:").await?;
    sqlx::raw_sql(baseline.sql.clone())
        .execute(&mut scratch)
        .await?;
    let made = objects(&mut scratch).await;
    scratch.close().await?;
    made
}

/// The applied migrations. One read; the table is created when it does not exist yet.
async fn applied(conn: &mut SqliteConnection, table: &str) -> Result<Applied, sqlx::Error> {
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
    if m.no_tx {
        return run_and_record(conn, table, m).await;
    }
    let mut tx = conn.begin().await?;
    run_and_record(&mut tx, table, m).await?;
    tx.commit().await
}

/// Runs migration `m` on `conn` and records it with the time it took.
async fn run_and_record(
    conn: &mut SqliteConnection,
    table: &str,
    m: &Migration,
) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    sqlx::raw_sql(m.sql.clone()).execute(&mut *conn).await?;
    let took = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    record(conn, table, m, took).await
}

/// Records migration `m` in the journal `table` as applied, having taken `execution_ms`.
async fn record(
    conn: &mut SqliteConnection,
    table: &str,
    m: &Migration,
    execution_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO \"{table}\" (version, description, checksum, applied_at, execution_ms) \
         VALUES (?, ?, ?, unixepoch(), ?)"
    )))
    .bind(m.version)
    .bind(m.description.as_ref())
    .bind(m.checksum.as_ref())
    .bind(execution_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// `actor/migration_failed` for `failure`: the message names the actor, the namespace,
/// the migration and the cause, and says what to do; the metadata holds each of them.
fn failed(spec: &DatabaseSpec, who: &Who<'_>, failure: Failure<'_>) -> ActorError {
    let (kind, key, ns, source) = (who.kind, who.key, spec.namespace, spec.source);
    let adopt_hint = |adopt: bool| {
        if adopt {
            " (or, if the migrations were squashed into a new first migration, set \
             `#[actor(adopt_baseline = true)]` to record it as applied when the schema \
             already holds what it creates)"
        } else {
            ""
        }
    };
    let (version, description, cause, hint) = match failure {
        Failure::Changed { m, adopt } => (
            Some(m.version),
            m.description.to_string(),
            "it was applied, and its file has changed since (the checksum differs)".to_owned(),
            format!(
                "restore the applied migration as it was and put the change in a new one \
                 (`sqlx migrate add -r <name> --source {source}`){}",
                adopt_hint(adopt)
            ),
        ),
        Failure::Missing {
            version,
            description,
            adopt,
        } => (
            Some(version),
            description,
            format!("it was applied, and it is no longer in `{source}`"),
            format!("restore the migration file{}", adopt_hint(adopt)),
        ),
        Failure::NotAdoptable { baseline, lacking } => (
            Some(baseline.version),
            baseline.description.to_string(),
            format!(
                "the applied migrations do not match the files, and this first migration \
                 cannot be adopted as applied: the database lacks {}",
                lacking.join(", ")
            ),
            "migrate this actor's database with the migrations it was made with first, or \
             write a migration that brings it to the baseline's schema"
                .to_owned(),
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
