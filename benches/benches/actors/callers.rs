//! Section "callers": many callers asking one actor at once.
//!
//! The ask section makes one call at a time; here 2, 8 or 64 tasks each make their share
//! of the asks concurrently, all to the same actor, and the figure is the wall time per
//! ask (the whole batch's time divided by its asks). Each count is compared with raw
//! tokio (a bounded mpsc + oneshot with the same callers), and at 64 with kameo and
//! ractor.

use std::hint::black_box;
use std::sync::Arc;

use actor::prelude::*;
use benches::{Measured, Probe, Table};
use tokio::sync::{Barrier, mpsc};

use crate::ask::{Ask, RawChannel, warmup};
use crate::kinds::Counter;
use crate::{ALLOC, BenchResult, Config, Goal, progress, runtime};

/// The caller counts measured.
pub const COUNTS: [usize; 3] = [2, 8, 64];

/// Who answers the asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Raw tokio: the baseline of its count.
    Raw,
    /// Ours, an exclusive action (`increment`, durable on the memory driver).
    Exclusive,
    /// Ours, a shared action (`get`).
    Shared,
    /// Another actor crate.
    #[cfg_attr(not(feature = "peers"), allow(dead_code))]
    Peer,
}

/// One row: `callers` tasks sharing `n` asks.
pub struct Contestant {
    pub name: String,
    pub side: Side,
    pub callers: usize,
    pub run: fn(usize, u64) -> BenchResult<Measured>,
}

/// Runs `ask` from `callers` tasks, `n` asks in all, after each made its share of the
/// warm-up; the clock runs from the moment all are released until the last finishes.
pub async fn many<F, Fut>(callers: usize, n: u64, ask: F) -> BenchResult<Measured>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = BenchResult<i64>> + Send,
{
    let each = (n / callers as u64).max(1);
    let (ready, go) = (
        Arc::new(Barrier::new(callers + 1)),
        Arc::new(Barrier::new(callers + 1)),
    );
    let mut tasks = Vec::with_capacity(callers);
    for _ in 0..callers {
        let (ask, ready, go) = (ask.clone(), ready.clone(), go.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..warmup(each) {
                ask().await?;
            }
            ready.wait().await;
            go.wait().await;
            for _ in 0..each {
                black_box(ask().await?);
            }
            BenchResult::Ok(())
        }));
    }
    ready.wait().await;
    let probe = Probe::start(&ALLOC);
    go.wait().await;
    for task in tasks {
        task.await??;
    }
    Ok(probe.finish(each * callers as u64))
}

/// Raw tokio: one receiving task answering every caller.
fn raw(callers: usize, n: u64) -> BenchResult<Measured> {
    runtime()?.block_on(async move {
        let (inbox, mut rx) = <mpsc::Sender<Ask> as RawChannel>::open();
        tokio::spawn(async move {
            let mut count = 0i64;
            while let Some(Ask { by, reply }) = rx.recv().await {
                count += by;
                let _ = reply.send(count);
            }
        });
        many(callers, n, move || {
            let inbox = inbox.clone();
            async move { inbox.ask(1).await.ok_or_else(|| "raw actor stopped".into()) }
        })
        .await
    })
}

/// Ours: one counter on a memory registry.
fn ours(callers: usize, n: u64, shared: bool) -> BenchResult<Measured> {
    runtime()?.block_on(async move {
        let registry = registry::Registry::builder().memory().build().await?;
        let counter = Counter::get_or_create(&registry.client(), ["callers"]).await?;
        let measured = many(callers, n, move || {
            let counter = counter.clone();
            async move {
                Ok(if shared {
                    counter.get().await?
                } else {
                    counter.increment(1).await?
                })
            }
        })
        .await;
        registry.shutdown().await;
        measured
    })
}

fn contestants() -> Vec<Contestant> {
    let mut all = Vec::new();
    for callers in COUNTS {
        all.push(Contestant {
            name: format!("{callers} callers: raw tokio, bounded mpsc + oneshot"),
            side: Side::Raw,
            callers,
            run: raw,
        });
        all.push(Contestant {
            name: format!("{callers} callers: ours, exclusive, durable"),
            side: Side::Exclusive,
            callers,
            run: |callers, n| ours(callers, n, false),
        });
        all.push(Contestant {
            name: format!("{callers} callers: ours, shared"),
            side: Side::Shared,
            callers,
            run: |callers, n| ours(callers, n, true),
        });
    }
    #[cfg(feature = "peers")]
    all.extend(crate::peers::callers_contestants());
    all
}

/// Runs every contestant `rounds` times, round-robin, and prints the median of each.
pub fn run(config: &Config) -> BenchResult<Vec<Goal>> {
    let contestants: Vec<Contestant> = contestants()
        .into_iter()
        .filter(|c| config.includes(&c.name))
        .collect();
    let mut rounds: Vec<Vec<Measured>> = contestants.iter().map(|_| Vec::new()).collect();
    for round in 0..config.rounds {
        for (c, contestant) in contestants.iter().enumerate() {
            let m = (contestant.run)(contestant.callers, config.asks)?;
            progress!(
                "callers round {}: {:<48} {:>7.1} ns/op",
                round + 1,
                contestant.name,
                m.ns_per_op()
            );
            rounds[c].push(m);
        }
    }
    let median: Vec<f64> = rounds
        .iter_mut()
        .map(|r| Measured::median_of(r).ns_per_op())
        .collect();
    let raw_at = |callers: usize| {
        contestants
            .iter()
            .position(|c| c.side == Side::Raw && c.callers == callers)
            .map(|c| median[c])
    };
    let mut table = Table::new(["contestant", "ns per ask (median)", "min", "max", "vs raw"]);
    for (c, contestant) in contestants.iter().enumerate() {
        let (min, max) = (&rounds[c][0], &rounds[c][rounds[c].len() - 1]);
        table.row([
            contestant.name.clone(),
            format!("{:.0}", median[c]),
            format!("{:.0}", min.ns_per_op()),
            format!("{:.0}", max.ns_per_op()),
            raw_at(contestant.callers).map_or("-".into(), |raw| format!("{:.2}x", median[c] / raw)),
        ]);
    }
    println!(
        "## callers: many callers asking one actor ({} asks shared among the callers, median of {} rounds)\n\n{table}",
        config.asks, config.rounds
    );

    let mut goals = Vec::new();
    for (c, contestant) in contestants.iter().enumerate() {
        let Some(raw) = raw_at(contestant.callers) else {
            continue;
        };
        if matches!(contestant.side, Side::Exclusive | Side::Shared) {
            goals.push(Goal {
                what: format!("callers: {}", contestant.name),
                goal: format!("<= 1.5x raw tokio ({:.0} ns)", 1.5 * raw),
                figure: format!("{:.0} ns ({:.2}x)", median[c], median[c] / raw),
                met: median[c] <= 1.5 * raw,
            });
        }
    }
    for (p, peer) in contestants.iter().enumerate() {
        if peer.side != Side::Peer {
            continue;
        }
        for (c, ours) in contestants.iter().enumerate() {
            if matches!(ours.side, Side::Exclusive | Side::Shared) && ours.callers == peer.callers {
                goals.push(Goal {
                    what: format!("callers: {} faster than {}", ours.name, peer.name),
                    goal: format!("< {:.0} ns", median[p]),
                    figure: format!("{:.0} ns", median[c]),
                    met: median[c] < median[p],
                });
            }
        }
    }
    Ok(goals)
}
