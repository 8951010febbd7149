//! Section "durable": acknowledged durable actions per second across many actors, beside
//! plain sqlx writing the same rows.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use actor::driver::sqlite::Sync;
use actor::prelude::*;
use benches::table::thousands;
use benches::{Measured, Sched, Table};
use registry::RegistryBuilder;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, QueryBuilder, Sqlite, SqliteConnection};
use tokio::task::JoinSet;

use crate::kinds::{Counter, CounterHandle, INSERT_NOTE, note};
use crate::setup::{Storage, create_many};
use crate::{BenchResult, Config, Goal, progress, runtime};

/// The driver's table layout, so the sqlx baseline writes the same kind of rows.
const RECORDS: &str = "CREATE TABLE IF NOT EXISTS records (
    actor_id TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (actor_id, key)
) WITHOUT ROWID";

const UPSERT: &str = "INSERT INTO records (actor_id, key, value) VALUES (?, ?, ?) \
     ON CONFLICT (actor_id, key) DO UPDATE SET value = excluded.value";

/// What the sqlx baselines write.
#[derive(Clone, Copy)]
pub(crate) enum Rows {
    /// Small rows upserted by `(actor_id, key)`, in the driver's table layout.
    Records,
    /// Notes inserted into the table of [`Notes`](crate::kinds::Notes)' migration, as its
    /// `add` does.
    Notes,
}

impl Rows {
    /// The table the rows go in.
    fn schema(self) -> &'static str {
        match self {
            Self::Records => RECORDS,
            Self::Notes => {
                include_str!("../../migrations/bench_notes/20260101000000_create_notes.up.sql")
            }
        }
    }
}

/// What writes the rows of one line of the table.
#[derive(Clone, Copy)]
enum Writer {
    /// Our registry on this storage.
    Ours(Storage),
    /// The plain sqlx loop, one upsert per transaction.
    SqlxLoop(SqliteSynchronous),
    /// sqlx writing this many rows in one statement per transaction.
    SqlxBatch(usize),
}

impl Writer {
    fn name(self, actors: usize) -> String {
        match self {
            Self::Ours(storage) => format!("ours: {actors} actors, {storage}"),
            Self::SqlxLoop(SqliteSynchronous::Full) => {
                "sqlx loop: 1 upsert per transaction, synchronous=FULL".into()
            }
            Self::SqlxLoop(_) => "sqlx loop: 1 upsert per transaction, synchronous=NORMAL".into(),
            Self::SqlxBatch(rows) => {
                format!("sqlx: one {rows}-row upsert per transaction, FULL")
            }
        }
    }

    fn measure(self, config: &Config) -> BenchResult<Measured> {
        match self {
            Self::Ours(storage) => ours(config, storage),
            Self::SqlxLoop(sync) => sqlx_one_per_transaction(config, sync, Rows::Records),
            Self::SqlxBatch(rows) => sqlx_multi_row(config, rows, Rows::Records),
        }
    }
}

pub fn run(config: &Config) -> BenchResult<Vec<Goal>> {
    let writers = [
        Writer::SqlxLoop(SqliteSynchronous::Full),
        Writer::Ours(Storage::Sqlite(Sync::Full)),
        Writer::Ours(Storage::Sqlite(Sync::Normal)),
        Writer::Ours(Storage::Memory),
        Writer::SqlxLoop(SqliteSynchronous::Normal),
        Writer::SqlxBatch(1_000),
        Writer::SqlxBatch(8_192),
    ];
    let mut table = Table::new([
        "what",
        "acks or rows/s",
        "vs sqlx loop",
        "mean latency",
        "worker CPU per ack",
    ]);
    let mut goals = Vec::new();
    let mut baseline = None;
    for writer in writers {
        let name = writer.name(config.actors);
        if !config.includes(&name) {
            continue;
        }
        let m = writer.measure(config)?;
        progress!("durable, {name}: {:.0}/s", m.per_second());
        let rate = m.per_second();
        let base = *baseline.get_or_insert(rate);
        let latency = match writer {
            // Little's law: every caller always has one call in flight.
            Writer::Ours(_) => format!(
                "{:.2?}",
                Duration::from_secs_f64(config.actors as f64 / rate)
            ),
            Writer::SqlxLoop(_) => format!("{:.2?}", m.elapsed / m.ops.max(1) as u32),
            Writer::SqlxBatch(rows) => format!(
                "{:.2?} per transaction",
                m.elapsed / (m.ops / rows as u64).max(1) as u32
            ),
        };
        let cpu = match writer {
            Writer::Ours(_) => format!("{:.2}µs", m.busy_ns_per_op() / 1000.0),
            _ => String::new(),
        };
        table.row([
            name,
            thousands(rate),
            format!("{:.1}x", rate / base),
            latency,
            cpu,
        ]);
        if let Writer::Ours(Storage::Sqlite(Sync::Full)) = writer {
            goals.push(Goal {
                what: format!("durable: acked actions/s, {} actors, SQLite", config.actors),
                goal: ">= 100,000/s".into(),
                figure: format!("{}/s", thousands(rate)),
                met: rate >= 100_000.0,
            });
        }
    }
    println!(
        "## durable: acknowledged actions per second ({} s window after {} s warm-up)\n\n{table}",
        config.window.as_secs_f64(),
        config.warmup.as_secs_f64()
    );
    Ok(goals)
}

/// `config.actors` callers, one per actor, each incrementing its actor in a loop.
fn ours(config: &Config, storage: Storage) -> BenchResult<Measured> {
    Ok(actions(config, storage, config.actors, 1)?.window)
}

/// `actors` counters on `storage`, each driven by `callers` tasks incrementing it in a
/// loop, counted as [`acked`] counts.
pub(crate) fn actions(
    config: &Config,
    storage: Storage,
    actors: usize,
    callers: usize,
) -> BenchResult<Acked> {
    writes::<Counter>(config, |dir| storage.builder(dir), actors, callers)
}

/// `actors` actors of kind `A` on a registry from `builder` (given the directory its
/// files go in), each driven by `callers` tasks making [`Write`]s in a loop, counted as
/// [`acked`] counts.
pub(crate) fn writes<A>(
    config: &Config,
    builder: impl FnOnce(&Path) -> RegistryBuilder,
    actors: usize,
    callers: usize,
) -> BenchResult<Acked>
where
    A: Actor,
    A::Input: Default,
    A::Handle: Write,
{
    let dir = tempfile::tempdir()?;
    runtime()?.block_on(async move {
        let registry = builder(dir.path()).build().await?;
        let handles = create_many::<A>(&registry.client(), "durable", actors).await?;
        let acked = acked(config, handles, callers).await;
        registry.shutdown().await;
        acked
    })
}

/// One durable write to an actor, answered once it is committed: what the callers of
/// [`acked`] make in a loop.
pub(crate) trait Write: Clone + Send + 'static {
    /// Makes the write and waits for its acknowledgement.
    fn write(&self) -> impl Future<Output = Result<(), ActorError>> + Send;
}

impl Write for CounterHandle {
    /// The exclusive `increment`, replied to after its commit.
    async fn write(&self) -> Result<(), ActorError> {
        self.increment(1).await.map(drop)
    }
}

/// What [`acked`] counted.
pub(crate) struct Acked {
    /// The writes acknowledged in the counted window, with its wall time and scheduling.
    pub window: Measured,
    /// The writes acknowledged in all, warm-up and the last ones after the window
    /// included: every one of them is durable when [`acked`] returns.
    pub total: u64,
}

/// `callers` tasks per handle, each making sequential [`Write`]s to it until stopped;
/// counts the acknowledgements in `config.window` after `config.warmup`, then stops the
/// tasks and waits for them.
pub(crate) async fn acked<H: Write>(
    config: &Config,
    handles: Vec<H>,
    callers: usize,
) -> BenchResult<Acked> {
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = JoinSet::new();
    for handle in handles {
        for _ in 0..callers {
            let (handle, acked, stop) = (handle.clone(), acked.clone(), stop.clone());
            tasks.spawn(async move {
                while !stop.load(Relaxed) {
                    handle.write().await?;
                    acked.fetch_add(1, Relaxed);
                }
                BenchResult::Ok(())
            });
        }
    }
    tokio::time::sleep(config.warmup).await;
    let (from, sched, started) = (acked.load(Relaxed), Sched::now(), Instant::now());
    tokio::time::sleep(config.window).await;
    let (to, elapsed) = (acked.load(Relaxed), started.elapsed());
    let sched = Sched::now().since(&sched);
    stop.store(true, Relaxed);
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    Ok(Acked {
        window: Measured {
            ops: to - from,
            elapsed,
            sched,
            ..Measured::default()
        },
        total: acked.load(Relaxed),
    })
}

async fn connect(dir: &Path, sync: SqliteSynchronous, rows: Rows) -> BenchResult<SqliteConnection> {
    let mut conn = SqliteConnectOptions::from_str("sqlite:")?
        .filename(dir.join("baseline.sqlite3"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(sync)
        .connect()
        .await?;
    sqlx::raw_sql(rows.schema()).execute(&mut conn).await?;
    Ok(conn)
}

/// A small state blob, as the runtime writes for a counter.
fn value(n: u64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "count": n })).expect("a JSON value encodes")
}

/// The plain loop: one row per transaction; records are keyed by 1,000 actor ids in turn.
pub(crate) fn sqlx_one_per_transaction(
    config: &Config,
    sync: SqliteSynchronous,
    rows: Rows,
) -> BenchResult<Measured> {
    let dir = tempfile::tempdir()?;
    let window = config.window.min(Duration::from_secs(3));
    runtime()?.block_on(async move {
        let mut conn = connect(dir.path(), sync, rows).await?;
        let ids: Vec<String> = (0..1_000).map(|i| format!("actor-{i}")).collect();
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < window {
            let mut tx = conn.begin().await?;
            let query = match rows {
                Rows::Records => sqlx::query(UPSERT)
                    .bind(&ids[n as usize % ids.len()])
                    .bind(&b"state"[..])
                    .bind(value(n)),
                Rows::Notes => sqlx::query(INSERT_NOTE).bind(note(n)),
            };
            query.execute(&mut *tx).await?;
            tx.commit().await?;
            n += 1;
        }
        Ok(Measured {
            ops: n,
            elapsed: started.elapsed(),
            ..Measured::default()
        })
    })
}

/// What a group commit could reach: `rows` rows in one multi-row statement per
/// transaction (records upserted, notes inserted).
pub(crate) fn sqlx_multi_row(config: &Config, rows: usize, what: Rows) -> BenchResult<Measured> {
    let dir = tempfile::tempdir()?;
    let window = config.window.min(Duration::from_secs(3));
    runtime()?.block_on(async move {
        let mut conn = connect(dir.path(), SqliteSynchronous::Full, what).await?;
        let ids: Vec<String> = (0..rows).map(|i| format!("actor-{i}")).collect();
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < window {
            let mut tx = conn.begin().await?;
            let mut query = match what {
                Rows::Records => {
                    let mut query =
                        QueryBuilder::<Sqlite>::new("INSERT INTO records (actor_id, key, value) ");
                    query.push_values(&ids, |mut row, id| {
                        row.push_bind(id.clone())
                            .push_bind(b"state".to_vec())
                            .push_bind(value(n));
                    });
                    query.push(" ON CONFLICT (actor_id, key) DO UPDATE SET value = excluded.value");
                    query
                }
                Rows::Notes => {
                    let mut query = QueryBuilder::<Sqlite>::new("INSERT INTO notes (text) ");
                    query.push_values(0..rows as u64, |mut row, i| {
                        row.push_bind(note(n + i));
                    });
                    query
                }
            };
            query.build().persistent(false).execute(&mut *tx).await?;
            tx.commit().await?;
            n += rows as u64;
        }
        Ok(Measured {
            ops: n,
            elapsed: started.elapsed(),
            ..Measured::default()
        })
    })
}
