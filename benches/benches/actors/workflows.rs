//! Section "workflows": what a durable workflow (`#[workflow]`, `docs/workflows.md`)
//! costs, each figure beside a baseline measured in the same run.
//!
//! - Steps per second: one workflow running its steps one after another, as `wf.turn`
//!   (an exclusive turn whose commit saves the state with the step's record) and as
//!   `wf.step` (the record alone), beside as many sequential exclusive actions on one
//!   actor from one task; then many workflows at once, one per actor, beside as many
//!   tasks each incrementing its own actor, the same number of operations. With the
//!   bytes the process wrote (SQLite's WAL and checkpoints) per operation.
//! - Replay: a send that wakes a sleeping actor whose workflow recorded its steps and
//!   waits for that message, until the workflow's output (the wake reads the history,
//!   replays it, takes the message and records the end), beside the same with no step
//!   recorded, the first call to a sleeping actor of the same kind, and the driver's read
//!   of the history alone.
//! - Bytes: what a workflow's history entries take in the actor's keyspace, per step.

use std::time::{Duration, Instant};

use actor::driver::keys::{WORKFLOW_HISTORY, WORKFLOWS};
use actor::driver::sqlite::Sync;
use actor::prelude::*;
use actor::workflow::WorkflowRun;
use benches::table::thousands;
use benches::{Latencies, Measured, Sched, Table};
use registry::Registry;
use tokio::task::JoinSet;

use crate::kinds::{Flow, FlowHandle, Receipt};
use crate::setup::{Storage, create_many};
use crate::{BenchResult, Config, progress, runtime};

/// Where the steps and replay rows run: SQLite with `synchronous=FULL`, the default.
const STORAGE: Storage = Storage::Sqlite(Sync::Full);

/// How long `run.wait` waits for a workflow's output before `workflow/timed_out`.
const WAIT: Duration = Duration::from_secs(600);

/// Operations of each actor before the counted ones (a workflow of this many steps, or
/// this many actions), so files, caches and tasks exist.
const WARMUP: u32 = 5;

/// What the rows of the steps table make, one after another, on each actor.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    /// The exclusive `increment`, replied to once committed: the baseline.
    Action,
    /// One workflow whose steps are `wf.turn`s adding 1 to the count.
    Turn,
    /// One workflow whose steps are `wf.step`s returning `()`, no state change.
    Step,
}

impl Op {
    fn name(self, actors: usize, each: u32) -> String {
        let each = thousands(f64::from(each));
        match (self, actors) {
            (Self::Action, 1) => {
                format!("actions: 1 actor, 1 task, {each} sequential `increment`s")
            }
            (Self::Action, n) => {
                format!("actions: {n} actors, 1 task each, {each} sequential `increment`s each")
            }
            (Self::Turn, 1) => format!("wf.turn steps: 1 workflow of {each} (state change each)"),
            (Self::Turn, n) => {
                format!("wf.turn steps: {n} workflows of {each}, one per actor (state change each)")
            }
            (Self::Step, 1) => format!("wf.step steps: 1 workflow of {each} (`()`, no state)"),
            (Self::Step, n) => {
                format!("wf.step steps: {n} workflows of {each}, one per actor (`()`, no state)")
            }
        }
    }

    /// Makes `count` operations on `flow`, one after another; a workflow runs under `id`.
    async fn make(self, flow: &FlowHandle, count: u32, id: &str) -> BenchResult<()> {
        let ran = match self {
            Self::Action => {
                for _ in 0..count {
                    flow.increment(1).await?;
                }
                return Ok(());
            }
            Self::Turn => flow.turns(count).id(id).await?.wait(WAIT).await?,
            Self::Step => flow.steps(count).id(id).await?.wait(WAIT).await?,
        };
        if ran != count {
            return Err(format!("workflow {id} ran {ran} steps, not {count}").into());
        }
        Ok(())
    }
}

pub fn run(config: &Config) -> BenchResult<()> {
    steps(config)?;
    replay(config)?;
    bytes(config)
}

/// Steps per second beside actions per second: one actor, then `config.actors`.
fn steps(config: &Config) -> BenchResult<()> {
    let mut table = Table::new([
        "what",
        "operations",
        "ops/s",
        "vs actions",
        "mean time per op (each actor)",
        "overhead per op vs actions",
        "worker CPU per op",
        "bytes written per op",
    ]);
    for (actors, each) in [(1, config.steps), (config.actors, config.steps_each)] {
        let mut baseline = None;
        for op in [Op::Action, Op::Turn, Op::Step] {
            let name = op.name(actors, each);
            if !config.includes(&name) {
                continue;
            }
            let (m, written) = operations(op, actors, each)?;
            let rate = m.per_second();
            progress!("workflows, {name}: {rate:.0}/s");
            // Each actor makes its operations one after another, all actors at once: one
            // operation of one actor takes, on average, actors / rate.
            let each_op = actors as f64 / rate;
            if op == Op::Action {
                baseline = Some((rate, each_op));
            }
            table.row([
                name,
                thousands(m.ops as f64),
                thousands(rate),
                baseline.map_or("-".into(), |(base, _)| format!("{:.2}x", rate / base)),
                format!("{:.1}µs", each_op * 1e6),
                match (op, baseline) {
                    (Op::Action, _) | (_, None) => "-".into(),
                    (_, Some((_, base))) => format!("{:+.1}µs", (each_op - base) * 1e6),
                },
                format!("{:.2}µs", m.busy_ns_per_op() / 1000.0),
                thousands(written as f64 / m.ops.max(1) as f64),
            ]);
        }
    }
    println!(
        "## workflows: durable steps per second beside exclusive actions, {STORAGE}\n\n{table}"
    );
    Ok(())
}

/// `actors` [`Flow`]s on [`STORAGE`], each making `each` operations `op` one after
/// another, all actors at once, after a warm-up of [`WARMUP`] operations each; timed from
/// the first operation to the last one's answer. With the bytes the process wrote
/// meanwhile ([`written`]).
fn operations(op: Op, actors: usize, each: u32) -> BenchResult<(Measured, u64)> {
    let dir = tempfile::tempdir()?;
    runtime()?.block_on(async move {
        let registry = STORAGE.registry(dir.path()).await?;
        let client = registry.client();
        let measured = tokio::spawn(async move {
            let flows = create_many::<Flow>(&client, "flow", actors).await?;
            let all = |count: u32, id: &'static str| {
                let mut tasks = JoinSet::new();
                for flow in &flows {
                    let flow = flow.clone();
                    tasks.spawn(async move { op.make(&flow, count, id).await });
                }
                tasks.join_all()
            };
            for made in all(WARMUP, "warm-up").await {
                made?;
            }
            let (before, sched, started) = (written()?, Sched::now(), Instant::now());
            for made in all(each, "measured").await {
                made?;
            }
            let (elapsed, sched) = (started.elapsed(), Sched::now().since(&sched));
            let written = written()? - before;
            // Every operation but `wf.step` added 1 to the count.
            let expected = if op == Op::Step { 0 } else { WARMUP + each };
            for flow in &flows {
                let count = flow.get().await?;
                if count != i64::from(expected) {
                    return Err(format!("a count of {count}, expected {expected}").into());
                }
            }
            let measured = Measured {
                ops: actors as u64 * u64::from(each),
                elapsed,
                sched,
                ..Measured::default()
            };
            BenchResult::Ok((measured, written))
        });
        let measured = measured.await??;
        registry.shutdown().await;
        Ok(measured)
    })
}

/// The bytes this process has handed to `write(2)` and kin so far (`wchar` in
/// `/proc/self/io`, Linux): SQLite's writes to its WAL and database files, the page
/// cache's to the disk not counted.
fn written() -> BenchResult<u64> {
    let io = std::fs::read_to_string("/proc/self/io")?;
    let wchar = io
        .lines()
        .find_map(|line| line.strip_prefix("wchar:"))
        .ok_or("no `wchar` in /proc/self/io")?;
    Ok(wchar.trim().parse()?)
}

/// Until workflow `run` waits (for its message): `waiting` is set in its status.
async fn until_waiting(run: &WorkflowRun<u32>) -> BenchResult<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = run.status().await?;
        if !status.waiting.is_empty() {
            return Ok(());
        }
        if status.state.is_finished() || Instant::now() > deadline {
            return Err(format!("workflow {} does not wait: {status:?}", run.id()).into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Puts each flow to sleep, then waits until none is awake. An actor may be awake again
/// just after its sleep returned: while its workflow runs, its alarm in the driver's index
/// stays at the workflow's start (passed), and only the batch its sleep commits clears
/// it, so the registry's alarm loop, reading due alarms while the actors go to sleep one
/// after another, can find it due and wake it once it left. A handle whose actor woke that
/// way no longer reaches it, so such an actor is called (which re-resolves the handle),
/// left to replay until its workflow waits again, and put to sleep again. Returns how
/// many were found awake again.
async fn put_to_sleep<'a>(
    directory: &Registry,
    flows: impl Iterator<Item = &'a (FlowHandle, Option<WorkflowRun<u32>>)> + Clone,
) -> BenchResult<usize> {
    let mut rewoken = 0;
    for again in 0..10 {
        for (flow, run) in flows.clone() {
            if again > 0 {
                flow.get().await?;
                if let Some(run) = run {
                    until_waiting(run).await?;
                }
            }
            flow.sleep().await?;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        match directory.awake() {
            0 => return Ok(rewoken),
            awake => rewoken += awake,
        }
    }
    Err("actors are still awake after `sleep()`".into())
}

/// A row of the replay table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Replayed {
    /// The first `get` to a sleeping [`Flow`] without a workflow.
    Plain,
    /// `go(())` to a sleeping [`Flow`] whose `gated` workflow recorded this many steps
    /// and waits for it, then `run.wait()`.
    Workflow(u32),
    /// For reference, no wake: `driver.scan` of the history of a `gated` workflow of this
    /// many steps (and its message wait), the read its wake makes.
    Scan(u32),
}

impl Replayed {
    /// The rows, in order: the workflow row of `history` steps is the third.
    fn rows(history: u32) -> [Self; 4] {
        [
            Self::Plain,
            Self::Workflow(0),
            Self::Workflow(history),
            Self::Scan(history),
        ]
    }

    fn name(self) -> String {
        let steps = |n: u32| thousands(f64::from(n));
        match self {
            Self::Plain => "first `get` to a sleeping actor, no workflow".into(),
            Self::Workflow(n) => format!(
                "workflow waiting, {} steps recorded: `go(())`, then `run.wait()`",
                steps(n)
            ),
            Self::Scan(n) => format!(
                "no wake: `driver.scan` of the {}-step history alone",
                steps(n)
            ),
        }
    }
}

/// The time from a send that wakes a sleeping [`Flow`] whose `gated` workflow waits for
/// it until the workflow's output, with `config.history` steps recorded and with none,
/// beside the first `get` to a sleeping `Flow` without a workflow, and the driver's read
/// of the history alone: `config.replays` rounds (after one more as a warm-up), each on
/// fresh actors, the rows round-robin.
fn replay(config: &Config) -> BenchResult<()> {
    let rows = Replayed::rows(config.history);
    let wanted = rows.map(|row| config.includes(&row.name()));
    if !wanted.contains(&true) {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let rounds = config.replays + 1;
    let samples = runtime()?.block_on(async move {
        let registry = STORAGE.registry(dir.path()).await?;
        let (directory, driver) = (registry.clone(), registry.driver().clone());
        let measured = tokio::spawn(async move {
            let client = directory.client();
            // Per row that wakes an actor, one actor per round with its waiting workflow.
            let mut actors = Vec::new();
            for (row, replayed) in rows.into_iter().enumerate() {
                let history = match replayed {
                    Replayed::Plain => None,
                    Replayed::Workflow(steps) => Some(steps),
                    // It reads the histories of the row before.
                    Replayed::Scan(_) => continue,
                };
                let prefix = format!("replay-{row}");
                let flows = create_many::<Flow>(&client, &prefix, rounds).await?;
                let starting = flows.iter().cloned().map(|flow| async move {
                    let Some(steps) = history else {
                        // A state record, as the workflow rows' actors have.
                        flow.increment(1).await?;
                        return BenchResult::Ok((flow, None));
                    };
                    let run = flow.gated(steps).id("gated").await?;
                    until_waiting(&run).await?;
                    Ok((flow, Some(run)))
                });
                let mut started = JoinSet::new();
                for start in starting {
                    started.spawn(start);
                }
                let mut started: Vec<_> = started
                    .join_all()
                    .await
                    .into_iter()
                    .collect::<Result<_, _>>()?;
                // In round order.
                started.sort_by_key(|(flow, _)| flows.iter().position(|f| f.id() == flow.id()));
                actors.push(started);
            }
            let rewoken = put_to_sleep(&directory, actors.iter().flatten()).await?;
            if rewoken > 0 {
                progress!(
                    "workflows, replay: {rewoken} actors were found awake again after \
                     `sleep()` returned, and were put to sleep again"
                );
            }
            let history_prefix = [WORKFLOW_HISTORY, b"gated\0"].concat();
            // By round, then by row.
            let by_round: Vec<Vec<_>> = (0..rounds)
                .map(|round| actors.iter().map(|row| row[round].clone()).collect())
                .collect();
            let mut samples = vec![Latencies::default(); rows.len()];
            for (round, actors) in by_round.iter().enumerate() {
                for (row, replayed) in rows.into_iter().enumerate() {
                    if !wanted[row] {
                        continue;
                    }
                    let started = Instant::now();
                    match replayed {
                        Replayed::Plain => drop(actors[row].0.get().await?),
                        Replayed::Workflow(steps) => {
                            let (flow, run) = &actors[row];
                            let run = run.as_ref().ok_or("a workflow row without a run")?;
                            flow.go(()).await?;
                            let ran = run.wait(WAIT).await?;
                            if ran != steps {
                                return Err(
                                    format!("the workflow ran {ran} steps, not {steps}").into()
                                );
                            }
                        }
                        Replayed::Scan(steps) => {
                            let flow = &actors[row - 1].0;
                            let entries = driver.scan(&flow.id(), &history_prefix).await?;
                            if entries.len() < steps as usize {
                                return Err(
                                    format!("a history of {} entries", entries.len()).into()
                                );
                            }
                        }
                    }
                    // The first round warms up.
                    if round > 0 {
                        samples[row].push(started.elapsed());
                    }
                }
            }
            BenchResult::Ok(samples)
        });
        let samples = measured.await??;
        registry.shutdown().await;
        BenchResult::Ok(samples)
    })?;

    let mut table = Table::new([
        "what wakes the actor, until what",
        "median",
        "min",
        "max",
        "vs first get",
        "vs 0 steps recorded",
        "per recorded step",
    ]);
    let median = |row: usize| wanted[row].then(|| samples[row].median().as_secs_f64());
    let micros = |seconds: f64| format!("{:+.1}µs", seconds * 1e6);
    let (plain, empty) = (median(0), median(1));
    for (row, replayed) in rows.into_iter().enumerate() {
        let Some(this) = median(row) else {
            continue;
        };
        let name = replayed.name();
        let latencies = &samples[row];
        progress!(
            "workflows, replay, {name}: median {:.1?}",
            latencies.median()
        );
        let (versus_plain, versus_empty, per_step) = match replayed {
            Replayed::Plain => (None, None, None),
            Replayed::Workflow(0) => (plain.map(|p| this - p), None, None),
            Replayed::Workflow(steps) => {
                let replay = empty.map(|e| this - e);
                let per_step = replay.map(|r| r / f64::from(steps));
                (plain.map(|p| this - p), replay, per_step)
            }
            Replayed::Scan(steps) => (None, None, Some(this / f64::from(steps.max(1)))),
        };
        table.row([
            name,
            format!("{:.1?}", latencies.median()),
            format!("{:.1?}", latencies.percentile(0.0)),
            format!("{:.1?}", latencies.max()),
            versus_plain.map_or("-".into(), micros),
            versus_empty.map_or("-".into(), micros),
            per_step.map_or("-".into(), |s| format!("{:.2}µs", s * 1e6)),
        ]);
    }
    println!(
        "## workflows: replay on wake, {STORAGE} (median of {} round{}, each on fresh actors put to sleep with `handle.sleep()`)\n\n{table}",
        config.replays,
        if config.replays == 1 { "" } else { "s" }
    );
    Ok(())
}

/// What the bytes table's rows run: `config.history` steps of one kind.
#[derive(Clone, Copy)]
enum Recorded {
    /// `wf.step`s returning `()`.
    Unit,
    /// `wf.step`s returning a [`Receipt`].
    Receipt,
    /// `wf.turn`s returning `()` after a state change.
    Turn,
}

impl Recorded {
    fn name(self) -> &'static str {
        match self {
            Self::Unit => "wf.step, `()` output",
            Self::Receipt => "wf.step, `Receipt { id, sandbox, ok }` output",
            Self::Turn => "wf.turn, `()` output (state change)",
        }
    }

    /// The mean length of step `0..steps`' result as JSON, as the history records it.
    fn result_bytes(self, steps: u32) -> BenchResult<f64> {
        let mut total = 0;
        for i in 0..steps {
            total += match self {
                Self::Unit | Self::Turn => serde_json::to_vec(&())?.len(),
                Self::Receipt => serde_json::to_vec(&Receipt::of(u64::from(i)))?.len(),
            };
        }
        Ok(total as f64 / f64::from(steps.max(1)))
    }
}

/// Bytes of the history records of one workflow of `config.history` steps, on the memory
/// driver: its `wh/` records' keys and values, per step.
fn bytes(config: &Config) -> BenchResult<()> {
    let steps = config.history;
    let mut table = Table::new([
        "what",
        "steps",
        "history records",
        "key B per step",
        "value B per step",
        "of which the result (JSON)",
        "key + value B per step",
        "`wf/<id>` record B",
    ]);
    for recorded in [Recorded::Unit, Recorded::Receipt, Recorded::Turn] {
        let name = recorded.name();
        if !config.includes(name) {
            continue;
        }
        let dir = tempfile::tempdir()?;
        let (records, keys, values, workflow) = runtime()?.block_on(async move {
            let registry = Storage::Memory.registry(dir.path()).await?;
            let (client, driver) = (registry.client(), registry.driver().clone());
            let counted = tokio::spawn(async move {
                let flow = Flow::get_or_create(&client, ["bytes"]).await?;
                let ran = match recorded {
                    Recorded::Unit => flow.steps(steps).id("bytes").await?.wait(WAIT).await?,
                    Recorded::Receipt => flow.receipts(steps).id("bytes").await?.wait(WAIT).await?,
                    Recorded::Turn => flow.turns(steps).id("bytes").await?.wait(WAIT).await?,
                };
                if ran != steps {
                    return Err(format!("the workflow ran {ran} steps, not {steps}").into());
                }
                let id = flow.id();
                let history = driver.scan(&id, WORKFLOW_HISTORY).await?;
                let workflow = driver
                    .get(&id, &[WORKFLOWS, b"bytes"].concat())
                    .await?
                    .ok_or("the workflow's record is missing")?;
                let keys: usize = history.iter().map(|(key, _)| key.len()).sum();
                let values: usize = history.iter().map(|(_, value)| value.len()).sum();
                BenchResult::Ok((history.len(), keys, values, workflow.len()))
            });
            let counted = counted.await??;
            registry.shutdown().await;
            BenchResult::Ok(counted)
        })?;
        let per_step = |bytes: usize| bytes as f64 / f64::from(steps.max(1));
        progress!(
            "workflows, bytes, {name}: {:.1} B per step",
            per_step(keys + values)
        );
        table.row([
            name.to_string(),
            thousands(f64::from(steps)),
            thousands(records as f64),
            format!("{:.1}", per_step(keys)),
            format!("{:.1}", per_step(values)),
            format!("{:.1}", recorded.result_bytes(steps)?),
            format!("{:.1}", per_step(keys + values)),
            workflow.to_string(),
        ]);
    }
    println!(
        "## workflows: bytes of the history per step (memory driver; workflow id `bytes`, steps `s0`, `s1`, … or `t0`, …)\n\n{table}"
    );
    Ok(())
}
