//! The `actors` benchmark: what this runtime costs next to raw tokio, plain sqlx, and
//! (with `--features peers`) kameo, ractor and actix. Results and their reading are in
//! `docs/benchmarks.md`.
//!
//! ```text
//! cargo bench -p benches --features peers                  # everything, about 12 minutes
//! cargo bench -p benches -- ask wake                       # some sections, no peers
//! ACTORS_BENCH_ONLY="current-thread" cargo bench -p benches -- ask   # some rows
//! ACTORS_BENCH_ASKS=100000 cargo bench -p benches          # shorter runs
//! ```
//!
//! Ten sections, each printed as a Markdown table when it finishes, then a table of
//! goals. Progress goes to stderr, tables to stdout.
//!
//! - **ask**: the in-process round trip of one call. Each row runs on a fresh tokio
//!   runtime: multi-thread with one worker per core (what servers use) unless the row
//!   says current-thread (no hand-offs between threads, so the figure is CPU work alone).
//!   Actix runs on its own `System`, single-threaded as actix is used, and once more with
//!   the caller on a tokio runtime. The caller is a spawned task making
//!   `ACTORS_BENCH_ASKS` (1,000,000) sequential asks after a warm-up, each waiting for its
//!   reply; the figure is wall time / asks, the median of `ACTORS_BENCH_ROUNDS` (3)
//!   rounds run round-robin. Ours is an exclusive action on the memory driver in the
//!   default, durable mode (state serialized and committed before the reply); variants
//!   isolate parts of its cost (debounced save, shared action, 4 KiB of state). The
//!   baseline is a spawned task reading a tokio `mpsc` channel and answering on a
//!   `oneshot`; a calibration row adds 600 ns of busy work per message to it. Tokio's
//!   metrics give worker CPU and parks per call; a second pass of 20,000 asks with the
//!   counting allocator on gives allocations per call, by size.
//! - **callers**: many callers asking one actor. 2, 8 and 64 spawned tasks share
//!   `ACTORS_BENCH_ASKS` asks to one actor, all released at once after a warm-up; the
//!   figure is the batch's wall time / asks (a throughput, not one call's latency),
//!   median of the rounds. Ours exclusive (durable `increment`) and shared (`get`) beside
//!   raw tokio (bounded mpsc + oneshot, one receiving task) with the same callers, and
//!   kameo and ractor at 64.
//! - **durable**: acknowledged exclusive actions per second on SQLite in a temporary
//!   directory. `ACTORS_BENCH_ACTORS` (1,000) actors, each driven by its own task making
//!   sequential increments; counted over `ACTORS_BENCH_SECS` (5) seconds after one second
//!   of warm-up, with `Sync::Full` (default) and `Sync::Normal`, and on the memory driver
//!   for reference. Beside them, a plain sqlx loop upserting one small row keyed by
//!   `(actor_id, key)` per transaction into a fresh file (the same table layout), and, to
//!   show the ceiling of a group commit, one multi-row upsert of 1,000 and 8,192 rows per
//!   transaction.
//! - **queues**: acknowledged durable sends per second on SQLite (`Sync::Full`) to one
//!   actor from 64 sender tasks, and to `ACTORS_BENCH_ACTORS` actors with one sender task
//!   each, every task awaiting each send's acknowledgement (the message committed, its
//!   handler still to run) before the next; counted like the durable section, with how
//!   many messages the handlers had handled once the senders stopped. Beside each, the
//!   durable action (`increment`) in the same shape, and the ratio sends / actions; each
//!   of the two runs `ACTORS_BENCH_ROUNDS` (3) times, alternating, and its median round
//!   is reported. Then
//!   the latency from a send to its handler's durable result (`push(1).wait(timeout)`,
//!   one sender, one actor, one send after another for `ACTORS_BENCH_SECS` after the
//!   warm-up): mean, median, p99 and max, on the memory driver and on SQLite.
//! - **schedules**: `ACTORS_BENCH_PLANNERS` (10,000) actors on SQLite each make 10
//!   one-time schedules (100,000 in all) due at random over a 20 s window that starts
//!   once all are planned and asleep: the live heap per actor awake right after planning
//!   and asleep with handles dropped, then how late each schedule fires (the alarm loop
//!   wakes each actor for its first one, its own timers fire the rest): median, p99, max.
//! - **wake**: latency of the first call to an actor just put to sleep with
//!   `handle.sleep().await` (re-resolving the handle, loading and decoding the state,
//!   starting the task, answering), `ACTORS_BENCH_WAKES` (1,000) times, median and p99,
//!   on the memory driver and on SQLite; the call is the shared `get`, and on SQLite also
//!   the durable `increment`.
//! - **database**: kinds with a per-actor SQLite database (`#[actor(migrations = …)]`),
//!   on SQLite (`Sync::Full`). The first call after `handle.sleep().await` to an actor
//!   whose database has one migration applied and none pending (the wake opens the file
//!   and checks the migrations), `ACTORS_BENCH_WAKES` times, beside the same call to a
//!   counter without a database: median, p99, max and the ratio of medians, for the
//!   shared `get` and an exclusive call (`add`, one `INSERT` with the count, beside
//!   `increment`). Then `INSERT`s per second through `ctx.db()` in exclusive actions,
//!   `ACTORS_BENCH_ACTORS` actors with one caller task each, counted like the durable
//!   section, with `max_open` as large as the actors and at its default (64, so
//!   databases are closed and opened again all the time), beside one sqlx connection
//!   to one file (WAL, `synchronous=FULL`) inserting one row per transaction, and
//!   `ACTORS_BENCH_ACTORS` rows per transaction. Last, the OS threads of the process
//!   (`/proc/self/task`) before `ACTORS_BENCH_ACTORS` actors are created, after one
//!   call each, and once their databases were closed as idle (`idle` 200 ms), with the
//!   live heap per awake actor measured as in the memory section, beside a counter
//!   without a database.
//! - **workflows**: durable workflows (`#[workflow]`), on SQLite (`Sync::Full`). Steps
//!   per second: one workflow running `ACTORS_BENCH_STEPS` (5,000) steps one after
//!   another, each a `wf.turn` adding 1 to the state (an exclusive turn whose commit
//!   saves the state with the step's record), and again as `wf.step`s returning `()` (the
//!   record alone), beside as many sequential durable `increment`s to one actor from one
//!   task; then `ACTORS_BENCH_ACTORS` workflows at once, one per actor, of
//!   `ACTORS_BENCH_STEPS_EACH` (50) steps each, beside as many tasks making as many
//!   increments each to its own actor. Each row is timed from its first operation to the
//!   last one's answer, after a warm-up of 5 operations per actor: operations per second,
//!   the ratio to the actions, the mean time of one actor's operation (actors / rate)
//!   with its difference to the actions', worker CPU and the bytes the process wrote
//!   (`wchar` of `/proc/self/io`: SQLite's WAL and checkpoints) per operation. Then
//!   replay on wake: a workflow that recorded `ACTORS_BENCH_HISTORY` (1,000) `()` steps
//!   waits for a message on a queue without a handler; the actor is put to sleep with
//!   `handle.sleep().await`, and the time from the send that wakes it to `run.wait()`
//!   returning (the wake, the history read and replayed, the message taken, the end
//!   recorded) is the median of `ACTORS_BENCH_REPLAYS` (5) rounds on fresh actors, after
//!   one more as a warm-up, beside the same with no step recorded, the first `get` to a
//!   sleeping actor of the kind without a workflow, and `driver.scan` of the history
//!   alone (the read the wake makes), with the differences and the cost per recorded
//!   step. Last, on the memory driver, the bytes of a finished workflow's history records
//!   (`wh/<id>\0<seq>`, keys and values, scanned from the driver) per step, for `()` and
//!   small-struct outputs and for `wf.turn` steps, with the size of the workflow's own
//!   record (`wf/<id>`).
//! - **memory**: a counting `#[global_allocator]` around `System`. `ACTORS_BENCH_IDLE`
//!   (10,000) idle actors are created and their handles kept; the growth in live heap
//!   bytes divided by their number is the cost of an awake idle actor. Ours are then put
//!   to sleep and their handles dropped: what remains per actor is the cost of a sleeping
//!   one. The same for a raw tokio task with its channel and for the peers' idle actors.
//!   Bytes are the sizes asked of the allocator (no malloc overhead); SQLite's own page
//!   cache is allocated by C code and not counted. For ours, the blocks an awake actor
//!   keeps alive are listed by size.
//! - **network**: remote action round trips over HTTP and over one WebSocket on loopback,
//!   and the memory an open connection holds. The registry serves RivetKit's client
//!   protocol (`Registry::serve` on `127.0.0.1:0`) on the memory driver; this crate's
//!   remote client (`Client::remote_with`: reqwest, and tokio-tungstenite for
//!   `connect()`) calls the durable exclusive `increment(1)` and the shared `get()` of
//!   counters over HTTP, in BARE and JSON, `ACTORS_BENCH_REQUESTS` (20,000) requests per
//!   row after a warm-up: one task making them one after another, and 64 tasks sharing
//!   them (one request in flight each), each on its own actor or all on one; then
//!   `increment(1)` over one `connect()` that every task of the row shares, sequential
//!   and 64 in flight. The baselines are a minimal axum echo in the same process, served
//!   the same way: `POST /echo` answering the body, posted to by a `reqwest::Client` built
//!   as the remote client builds its own, and `GET /ws`, a WebSocket sending each message
//!   back, spoken to over one socket by one task that owns it (as our connection's does),
//!   sequential and 64 in flight. Then the official npm client (`rivetkit` in
//!   `conformance/node_modules`) calls `increment(1)` from `benches/node/http-bench.mjs`,
//!   a child `node` process: over HTTP sequentially and 64 in flight on 64 actors, over
//!   one `connect()` sequentially and 64 in flight, beside Node's `fetch` posting to the
//!   same echo and the `ws` package on its `/ws`, a quarter as many requests per row
//!   (left out, with a message, when Node or the npm client is missing). Every row runs
//!   `ACTORS_BENCH_ROUNDS` (3) times, round-robin with its echo, and the median round is
//!   reported. The figure is requests per second (wall time of the timed requests), its
//!   ratio to the echo of the
//!   same client over the same transport at the same concurrency (our rate / echo rate:
//!   the issue's goal is at least 0.5x), the mean latency (wall / requests sequential,
//!   64 / rate in flight) and the runtime's worker CPU per request (client and server
//!   together, Rust rows only). The memory table holds `ACTORS_BENCH_CONNECTIONS`
//!   (1,000) connections open to one actor (after a first one, not counted) and divides
//!   the growth of the live heap by their number: raw tokio-tungstenite sockets to the
//!   echo's `/ws` and to our `/connect`, our remote client's `connect()` (both ends in
//!   this process for those three), and in-process `connect()` (the actor's side alone).
//!
//! `ACTORS_BENCH_ONLY=text` runs only the rows whose name contains `text`. Run without
//! `--bench` (as `cargo test --benches` does), every count is tiny: a smoke test that the
//! benchmark still works, whose figures mean nothing. Nothing here asserts a speed; the
//! goals table only reports.

mod ask;
mod callers;
mod database;
mod durable;
mod idle;
mod kinds;
mod network;
#[cfg(feature = "peers")]
mod peers;
mod queues;
mod schedules;
mod setup;
mod wake;
mod workflows;

use std::time::Duration;

use benches::CountingAlloc;

pub use setup::runtime;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// Errors end the run with a message; a benchmark has no one to recover for.
type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Sizes of the run, from the environment (`ACTORS_BENCH_*`) and the command line.
#[derive(Debug, Clone)]
pub struct Config {
    /// Sequential asks per contestant and round.
    pub asks: u64,
    /// Rounds of the ask section.
    pub rounds: usize,
    /// Asks in the allocation-counting pass.
    pub alloc_asks: u64,
    /// Concurrent actors in the durable and queues sections.
    pub actors: usize,
    /// Warm-up before counting in the durable and queues sections.
    pub warmup: Duration,
    /// Counted window of the durable and queues sections.
    pub window: Duration,
    /// Wakes per storage in the wake section.
    pub wakes: usize,
    /// Idle actors per contestant in the memory section.
    pub idle: usize,
    /// Actors holding schedules in the schedules section (10 each).
    pub planners: usize,
    /// The window the schedules section's schedules are due in.
    pub schedule_window: Duration,
    /// Steps of the one workflow of the workflows section's one-actor rows (and
    /// increments beside it).
    pub steps: u32,
    /// Steps of each of the `actors` workflows of the workflows section's many-actor rows
    /// (and increments of each actor beside them).
    pub steps_each: u32,
    /// Steps recorded before the wake in the workflows section's replay rows, and in its
    /// bytes table.
    pub history: u32,
    /// Measured rounds of the workflows section's replay rows.
    pub replays: usize,
    /// Requests per row of the network section.
    pub requests: u64,
    /// Connections held open at once in the network section's memory table.
    pub connections: usize,
    /// Sections to run: those whose name contains one of these (all when empty).
    pub filters: Vec<String>,
    /// Rows to run: those whose name contains this (`ACTORS_BENCH_ONLY`; all when unset).
    pub only: Option<String>,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> BenchResult<T> {
    match std::env::var(name) {
        Ok(text) => text
            .replace('_', "")
            .parse()
            .map_err(|_| format!("{name}={text} is not a valid number").into()),
        Err(_) => Ok(default),
    }
}

impl Config {
    fn load() -> BenchResult<Self> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        // `cargo bench` passes `--bench`; `cargo test --benches` does not: then smoke-test.
        let bench = args.iter().any(|a| a == "--bench");
        let filters = args.into_iter().filter(|a| !a.starts_with('-')).collect();
        let (asks, rounds, secs, warmup, wakes, idle) = if bench {
            (1_000_000, 3, 5.0, 1.0, 1_000, 10_000)
        } else {
            (2_000, 1, 0.2, 0.1, 5, 100)
        };
        Ok(Self {
            asks: env_or("ACTORS_BENCH_ASKS", asks)?,
            rounds: env_or("ACTORS_BENCH_ROUNDS", rounds)?.max(1),
            alloc_asks: if bench { 20_000 } else { 1_000 },
            actors: env_or("ACTORS_BENCH_ACTORS", if bench { 1_000 } else { 20 })?,
            warmup: Duration::from_secs_f64(warmup),
            window: Duration::from_secs_f64(env_or("ACTORS_BENCH_SECS", secs)?),
            wakes: env_or("ACTORS_BENCH_WAKES", wakes)?,
            idle: env_or("ACTORS_BENCH_IDLE", idle)?,
            planners: env_or("ACTORS_BENCH_PLANNERS", if bench { 10_000 } else { 20 })?,
            schedule_window: Duration::from_secs(if bench { 20 } else { 1 }),
            steps: env_or("ACTORS_BENCH_STEPS", if bench { 5_000 } else { 20 })?,
            steps_each: env_or("ACTORS_BENCH_STEPS_EACH", if bench { 50 } else { 5 })?,
            history: env_or("ACTORS_BENCH_HISTORY", if bench { 1_000 } else { 20 })?,
            replays: env_or("ACTORS_BENCH_REPLAYS", if bench { 5 } else { 1 })?.max(1),
            requests: env_or("ACTORS_BENCH_REQUESTS", if bench { 20_000 } else { 50 })?,
            connections: env_or("ACTORS_BENCH_CONNECTIONS", if bench { 1_000 } else { 10 })?,
            filters,
            only: std::env::var("ACTORS_BENCH_ONLY").ok(),
        })
    }

    /// Whether the row named `row` is to be run.
    pub fn includes(&self, row: &str) -> bool {
        self.only.as_deref().is_none_or(|only| row.contains(only))
    }

    fn wants(&self, section: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| section.contains(f.as_str()))
    }
}

/// Progress on stderr, so stdout holds only the tables.
macro_rules! progress {
    ($($arg:tt)*) => { eprintln!("[actors bench] {}", format_args!($($arg)*)) };
}
pub(crate) use progress;

/// One line of the goals table.
pub struct Goal {
    /// What is measured.
    pub what: String,
    /// The goal, in words.
    pub goal: String,
    /// The figure reached.
    pub figure: String,
    /// Whether the goal is met.
    pub met: bool,
}

fn main() -> BenchResult<()> {
    let config = Config::load()?;
    println!(
        "# actors benchmark\n\n{} logical CPUs, peers {}, {} asks x {} rounds\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if cfg!(feature = "peers") {
            "on"
        } else {
            "off (--features peers)"
        },
        config.asks,
        config.rounds,
    );
    let mut goals = Vec::new();
    if config.wants("ask") {
        goals.extend(ask::run(&config)?);
    }
    if config.wants("callers") {
        goals.extend(callers::run(&config)?);
    }
    if config.wants("durable") {
        goals.extend(durable::run(&config)?);
    }
    if config.wants("queues") {
        goals.extend(queues::run(&config)?);
    }
    if config.wants("schedules") {
        goals.extend(schedules::run(&config)?);
    }
    if config.wants("wake") {
        wake::run(&config)?;
    }
    if config.wants("database") {
        database::run(&config)?;
    }
    if config.wants("workflows") {
        workflows::run(&config)?;
    }
    if config.wants("memory") {
        goals.extend(idle::run(&config)?);
    }
    if config.wants("network") {
        goals.extend(network::run(&config)?);
    }
    if !goals.is_empty() {
        let mut table = benches::Table::new(["goal", "target", "measured", "met"]);
        for g in goals {
            table.row([
                g.what,
                g.goal,
                g.figure,
                if g.met { "yes" } else { "no" }.to_string(),
            ]);
        }
        println!("## Goals\n\n{table}");
    }
    Ok(())
}
