//! Section "schedules": pending schedules held by sleeping actors on SQLite, and how late
//! they fire.
//!
//! `ACTORS_BENCH_PLANNERS` (10,000) actors each make 10 one-time schedules of their own
//! `fire` action (100,000 in all) at times spread at random over a 20 s window that
//! begins once they are all planned and asleep. The heap they hold is read twice with
//! the counting allocator: awake right after planning, and asleep with their handles
//! dropped. Then nothing calls them: the registry's alarm loop wakes each actor when its
//! first schedule is due, and the awake actor fires the rest from its own timers. Each
//! firing notes the wall-clock time it ran; lateness is that minus the time it was due.

use std::time::Duration;

use actor::driver::sqlite::Sync;
use benches::table::thousands;
use benches::{Latencies, Table};
use tokio::task::JoinSet;

use crate::idle::{per_actor, settle};
use crate::kinds::{FIRINGS, Planner, unix_ms};
use crate::setup::{Storage, create_many};
use crate::{ALLOC, BenchResult, Config, Goal, progress, runtime};

const STORAGE: Storage = Storage::Sqlite(Sync::Full);
/// Schedules per actor.
const EACH: usize = 10;

pub fn run(config: &Config) -> BenchResult<Vec<Goal>> {
    let n = config.planners;
    let window = config.schedule_window;
    let dir = tempfile::tempdir()?;
    FIRINGS.lock().map_err(|_| "poisoned")?.clear();
    ALLOC.start();
    let measured = runtime()?.block_on(async move {
        let registry = STORAGE.registry(dir.path()).await?;
        let client = registry.client();
        // One actor first, so one-time allocations are not charged to the measured ones.
        for warm in create_many::<Planner>(&client, "warm", 1).await? {
            warm.sleep().await?;
        }
        settle().await;
        let before = ALLOC.snapshot();
        let started = std::time::Instant::now();
        let planners = create_many::<Planner>(&client, "planner", n).await?;
        // Due times fixed before planning, from a start late enough that planning and
        // sleeping are over by then (checked below).
        let lead = Duration::from_secs_f64((n as f64 / 1_000.0).max(1.0) * 1.5);
        let start = unix_ms() + u64::try_from(lead.as_millis())?;
        let span = u64::try_from(window.as_millis())?.max(1);
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            // xorshift64: the same spread every run.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            start + seed % span
        };
        let mut set = JoinSet::new();
        for chunk in planners.chunks(256) {
            for planner in chunk {
                let (planner, dues) = (planner.clone(), (0..EACH).map(|_| next()).collect());
                set.spawn(async move { planner.plan(dues).await });
            }
            while let Some(planned) = set.join_next().await {
                planned??;
            }
        }
        settle().await;
        let awake = per_actor(ALLOC.snapshot(), before, n);
        let mut sleeping = JoinSet::new();
        for chunk in planners.chunks(256) {
            for planner in chunk {
                let planner = planner.clone();
                sleeping.spawn(async move { planner.sleep().await });
            }
            while let Some(slept) = sleeping.join_next().await {
                slept??;
            }
        }
        drop(planners);
        settle().await;
        let asleep = per_actor(ALLOC.snapshot(), before, n);
        let setup = started.elapsed();
        let early = FIRINGS.lock().map_err(|_| "poisoned")?.len();
        if registry.awake() != 0 || early != 0 {
            return Err(format!(
                "setup took {setup:.1?}, past the lead of {lead:?}: {early} fired early, {} awake",
                registry.awake()
            )
            .into());
        }
        progress!(
            "schedules: {} planned and asleep in {setup:.1?}: {awake:.0} B per actor awake, {asleep:.0} B asleep",
            n * EACH
        );
        // Wait for every firing, up to the window and a generous margin.
        let total = n * EACH;
        let deadline = start + span + 120_000;
        while FIRINGS.lock().map_err(|_| "poisoned")?.len() < total && unix_ms() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let firings = std::mem::take(&mut *FIRINGS.lock().map_err(|_| "poisoned")?);
        registry.shutdown().await;
        BenchResult::Ok((awake, asleep, setup, firings))
    });
    ALLOC.stop();
    let (awake, asleep, setup, firings) = measured?;
    let total = n * EACH;
    let mut late = Latencies::default();
    let mut early = 0;
    for &(due, fired) in &firings {
        early += usize::from(fired < due);
        late.push(Duration::from_millis(fired.saturating_sub(due)));
    }
    let ms = |d: Duration| format!("{:.0}", d.as_secs_f64() * 1e3);
    let mut table = Table::new(["what", "figure"]);
    table
        .row([
            "pending schedules".into(),
            format!(
                "{} on {} sleeping actors",
                thousands(total as f64),
                thousands(n as f64)
            ),
        ])
        .row([
            "created, planned and put to sleep in".into(),
            format!("{setup:.1?}"),
        ])
        .row([
            format!("heap per awake actor holding {EACH} schedules"),
            format!("{awake:.0} B"),
        ])
        .row([
            format!("heap per sleeping actor holding {EACH} schedules"),
            format!("{asleep:.0} B"),
        ])
        .row([
            "fired".into(),
            format!(
                "{} of {} ({early} before their time)",
                thousands(firings.len() as f64),
                thousands(total as f64)
            ),
        ]);
    if !late.is_empty() {
        table
            .row(["late, median (ms)".into(), ms(late.median())])
            .row(["late, p99 (ms)".into(), ms(late.percentile(99.0))])
            .row(["late, max (ms)".into(), ms(late.max())]);
    }
    println!(
        "## schedules: {} one-time schedules due over {} s on {STORAGE}\n\n{table}",
        thousands(total as f64),
        window.as_secs_f64()
    );
    Ok(vec![Goal {
        what: format!(
            "schedules: {} pending across {} sleeping actors",
            thousands(total as f64),
            thousands(n as f64)
        ),
        goal: "all fire; sleeping actors hold ~0 B (< 64 B)".into(),
        figure: format!(
            "{} fired, p99 {} ms late; {asleep:.0} B per sleeping actor",
            thousands(firings.len() as f64),
            if late.is_empty() {
                "-".into()
            } else {
                ms(late.percentile(99.0))
            }
        ),
        met: firings.len() == total && asleep < 64.0,
    }])
}
