//! Section "database": what a per-actor SQL database (`#[actor(migrations = "…")]`)
//! costs, each figure beside the same kind without one or beside plain sqlx.
//!
//! - The first call to a sleeping actor whose database has its one migration applied
//!   (the wake opens the file and checks the migrations), beside a counter's.
//! - `INSERT`s per second through `ctx.db()` inside exclusive actions, many actors each
//!   with its own file, beside one sqlx connection to one file inserting one row per
//!   transaction and many rows per transaction.
//! - The OS threads and heap of awake actors whose databases were used once: an open
//!   database is one thread, and idle ones are closed.

use std::ops::Deref;
use std::time::{Duration, Instant};

use actor::database::DatabaseOptions;
use actor::driver::sqlite::Sync;
use actor::prelude::*;
use benches::table::thousands;
use benches::{Measured, Table};
use sqlx::sqlite::SqliteSynchronous;
use tokio::task::JoinSet;

use crate::durable::{Rows, Write, sqlx_multi_row, sqlx_one_per_transaction, writes};
use crate::idle::{per_actor, settle};
use crate::kinds::{Counter, Notes, NotesHandle};
use crate::setup::{Storage, create_many};
use crate::wake::{Call, Wake, wakes};
use crate::{ALLOC, BenchResult, Config, progress, runtime};

/// Where every row runs: SQLite with `synchronous=FULL`, the default.
const STORAGE: Storage = Storage::Sqlite(Sync::Full);

/// How long a database nothing uses stays open in the threads and memory table.
const IDLE: Duration = Duration::from_millis(200);

impl Wake for NotesHandle {
    /// `Get` is the shared `get`, which reads the state alone; `Increment` is `add`.
    async fn call(&self, call: Call) -> Result<(), ActorError> {
        match call {
            Call::Get => self.get().await.map(drop),
            Call::Increment => self.add().await.map(drop),
            Call::ReadRecord | Call::ReadState => unreachable!("only calls wake an actor"),
        }
    }
}

impl Write for NotesHandle {
    /// The exclusive `add`: one `INSERT` and the new count, replied to once committed.
    async fn write(&self) -> Result<(), ActorError> {
        self.add().await.map(drop)
    }
}

pub fn run(config: &Config) -> BenchResult<()> {
    wake(config)?;
    inserts(config)?;
    footprints(config)
}

/// The first call after sleep to a [`Notes`] actor and to a [`Counter`], with the same
/// call: a shared one that reads the state, and an exclusive one that writes.
fn wake(config: &Config) -> BenchResult<()> {
    let mut table = Table::new([
        "kind",
        "first call after sleep",
        "median",
        "p99",
        "max",
        "median vs no database",
        "awake call (median)",
    ]);
    for (call, plain, with_database) in [
        (Call::Get, "get (shared)", "get (shared, database not read)"),
        (
            Call::Increment,
            "increment (exclusive, durable)",
            "add (exclusive: 1 INSERT, durable)",
        ),
    ] {
        let mut baseline = None;
        for (kind, what, database) in [
            ("benchCounter, no database", plain, false),
            ("benchNotes, 1 migration applied", with_database, true),
        ] {
            if !config.includes(&format!("{kind}: {what}")) {
                continue;
            }
            let (woken, awake) = if database {
                wakes::<Notes>(STORAGE, call, config.wakes)?
            } else {
                wakes::<Counter>(STORAGE, call, config.wakes)?
            };
            let median = woken.median();
            if !database {
                baseline = Some(median);
            }
            progress!(
                "database, wake, {kind}, {what}: median {median:.1?}, p99 {:.1?}",
                woken.percentile(99.0)
            );
            table.row([
                kind.to_string(),
                what.to_string(),
                format!("{median:.1?}"),
                format!("{:.1?}", woken.percentile(99.0)),
                format!("{:.1?}", woken.max()),
                baseline.map_or("-".into(), |base| {
                    format!("{:.2}x", median.as_secs_f64() / base.as_secs_f64())
                }),
                awake.map_or("-".into(), |awake| format!("{:.1?}", awake.median())),
            ]);
        }
    }
    println!(
        "## database: first call to a sleeping actor, {STORAGE} ({} wakes each)\n\n{table}",
        config.wakes
    );
    Ok(())
}

/// What makes the rows of one line of the inserts table.
#[derive(Clone, Copy)]
enum Inserter {
    /// `config.actors` [`Notes`] actors, one caller each, at most `max_open` databases
    /// kept open.
    Ours { max_open: usize },
    /// One sqlx connection to one file, one insert per transaction.
    SqlxLoop,
    /// One sqlx connection to one file, `config.actors` rows in one insert per
    /// transaction.
    SqlxBatch,
}

impl Inserter {
    fn name(self, actors: usize) -> String {
        match self {
            Self::Ours { max_open } => {
                let open = if max_open == DatabaseOptions::default().max_open {
                    "default"
                } else {
                    "every database stays open"
                };
                format!(
                    "ours: {actors} actors, 1 INSERT per exclusive action, max_open {max_open} ({open})"
                )
            }
            Self::SqlxLoop => "sqlx loop: 1 INSERT per transaction, one file, FULL".into(),
            Self::SqlxBatch => {
                format!("sqlx: one {actors}-row INSERT per transaction, one file, FULL")
            }
        }
    }

    fn measure(self, config: &Config) -> BenchResult<Measured> {
        match self {
            Self::Ours { max_open } => {
                let options = DatabaseOptions {
                    max_open,
                    ..DatabaseOptions::default()
                };
                let acked = writes::<Notes>(
                    config,
                    |dir| STORAGE.builder(dir).database_options(options),
                    config.actors,
                    1,
                )?;
                Ok(acked.window)
            }
            Self::SqlxLoop => {
                sqlx_one_per_transaction(config, SqliteSynchronous::Full, Rows::Notes)
            }
            Self::SqlxBatch => sqlx_multi_row(config, config.actors, Rows::Notes),
        }
    }
}

/// `INSERT`s per second inside exclusive actions, beside one sqlx connection inserting
/// the same rows.
fn inserts(config: &Config) -> BenchResult<()> {
    let n = config.actors;
    let inserters = [
        Inserter::SqlxLoop,
        Inserter::SqlxBatch,
        Inserter::Ours { max_open: n },
        Inserter::Ours {
            max_open: DatabaseOptions::default().max_open,
        },
    ];
    let mut table = Table::new([
        "what".to_string(),
        "inserts/s".into(),
        "vs sqlx loop".into(),
        format!("vs sqlx {n}-row transactions"),
    ]);
    let (mut one, mut batched) = (None, None);
    for inserter in inserters {
        let name = inserter.name(n);
        if !config.includes(&name) {
            continue;
        }
        let rate = inserter.measure(config)?.per_second();
        progress!("database, {name}: {rate:.0}/s");
        match inserter {
            Inserter::SqlxLoop => one = Some(rate),
            Inserter::SqlxBatch => batched = Some(rate),
            Inserter::Ours { .. } => {}
        }
        let versus = |base: Option<f64>| base.map_or("-".into(), |b| format!("{:.2}x", rate / b));
        table.row([name, thousands(rate), versus(one), versus(batched)]);
    }
    println!(
        "## database: INSERTs per second, {STORAGE} ({} s window after {} s warm-up)\n\n{table}",
        config.window.as_secs_f64(),
        config.warmup.as_secs_f64()
    );
    Ok(())
}

/// What the awake actors of one kind cost once each was called once.
struct Footprint {
    /// OS threads of the process: before the actors, right after the calls, and once
    /// idle databases were closed.
    threads: [usize; 3],
    /// Live heap bytes per actor: right after the calls, and once idle databases were
    /// closed.
    heap: [f64; 2],
}

/// The OS threads of this process now: the entries of `/proc/self/task` (Linux).
fn os_threads() -> BenchResult<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// OS threads and heap of `config.actors` awake [`Notes`] actors whose databases were
/// used once, beside as many [`Counter`]s.
fn footprints(config: &Config) -> BenchResult<()> {
    let n = config.actors;
    let mut table = Table::new([
        "kind",
        "OS threads before",
        "after 1 call each",
        "after idle close",
        "heap B per actor after the calls",
        "after idle close",
        "vs no database",
    ]);
    let mut baseline = None;
    for (kind, database) in [
        ("benchCounter, no database", false),
        ("benchNotes, database used once", true),
    ] {
        if !config.includes(kind) {
            continue;
        }
        let Footprint { threads, heap } = if database {
            footprint::<Notes>(n)?
        } else {
            footprint::<Counter>(n)?
        };
        if !database {
            baseline = Some(heap[1]);
        }
        progress!(
            "database, {kind}: threads {threads:?}, {:.0} B per actor after idle close",
            heap[1]
        );
        table.row([
            kind.to_string(),
            threads[0].to_string(),
            threads[1].to_string(),
            threads[2].to_string(),
            format!("{:.0}", heap[0]),
            format!("{:.0}", heap[1]),
            baseline.map_or("-".into(), |base| format!("{:.2}x", heap[1] / base)),
        ]);
    }
    println!(
        "## database: OS threads and live heap of {n} awake actors, one call each \
         ({STORAGE}, max_open {open} and as many calls in flight, idle {IDLE:?})\n\n{table}",
        open = DatabaseOptions::default().max_open,
    );
    Ok(())
}

/// Creates `n` actors of kind `A`, makes one [`Write`] to each (as many in flight as
/// databases may stay open), then waits for idle databases to be closed; counts threads
/// and live heap along the way.
fn footprint<A>(n: usize) -> BenchResult<Footprint>
where
    A: Actor,
    A::Input: Default,
    A::Handle: Write + Deref<Target = ActorHandle>,
{
    let dir = tempfile::tempdir()?;
    let options = DatabaseOptions {
        idle: IDLE,
        ..DatabaseOptions::default()
    };
    let in_flight = options.max_open;
    ALLOC.start();
    let footprint = runtime()?.block_on(async move {
        let registry = STORAGE
            .builder(dir.path())
            .database_options(options)
            .build()
            .await?;
        let client = registry.client();
        // One actor first, so one-time allocations and threads are not charged to the
        // measured ones.
        for warm in create_many::<A>(&client, "warm", 1).await? {
            warm.write().await?;
            warm.sleep().await?;
        }
        settle().await;
        let (before, threads_before) = (ALLOC.snapshot(), os_threads()?);

        let handles = create_many::<A>(&client, "awake", n).await?;
        let (mut calling, mut calls) = (handles.iter().cloned(), JoinSet::new());
        loop {
            for handle in calling.by_ref().take(in_flight) {
                calls.spawn(async move { handle.write().await });
            }
            if calls.is_empty() {
                break;
            }
            while let Some(called) = calls.join_next().await.transpose()? {
                called?;
            }
        }
        settle().await;
        let (after_calls, threads_after_calls) = (ALLOC.snapshot(), os_threads()?);

        // Closed once idle for `IDLE`, by a sweep every `IDLE / 2`; a closed database's
        // thread ends soon after.
        tokio::time::sleep(IDLE * 2).await;
        let deadline = Instant::now() + Duration::from_secs(2);
        while os_threads()? > threads_before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (after_idle, threads_after_idle) = (ALLOC.snapshot(), os_threads()?);
        if registry.awake() != n {
            return Err(format!("{} actors awake, expected {n}", registry.awake()).into());
        }
        drop(handles);
        registry.shutdown().await;
        BenchResult::Ok(Footprint {
            threads: [threads_before, threads_after_calls, threads_after_idle],
            heap: [
                per_actor(after_calls, before, n),
                per_actor(after_idle, before, n),
            ],
        })
    });
    ALLOC.stop();
    footprint
}
