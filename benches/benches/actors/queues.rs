//! Section "queues": durable sends acknowledged per second on SQLite, beside durable
//! actions of the same shape, and how long a message takes from its send to its
//! handler's durable result.
//!
//! A send is acknowledged once the message is committed; its handler runs later, as an
//! exclusive turn whose commit saves the state and removes the message. So a send costs
//! one write before its acknowledgement and its handler another after it, where an
//! exclusive action costs one before its reply.

use std::time::{Duration, Instant};

use actor::driver::sqlite::Sync;
use actor::prelude::*;
use benches::table::thousands;
use benches::{Latencies, Table};

use crate::durable::{Acked, Write, acked, actions};
use crate::kinds::{Inbox, InboxHandle};
use crate::setup::{Storage, create_many};
use crate::{BenchResult, Config, Goal, progress, runtime};

/// Where the throughput rows run: SQLite with `synchronous=FULL`, the default.
const STORAGE: Storage = Storage::Sqlite(Sync::Full);

/// Concurrent senders (or callers) of the one-actor rows: one sequential sender would
/// only measure the latency of a commit.
const SENDERS: usize = 64;

/// How long a waiting sender waits for its handler's result before `queue/timed_out`.
const WAIT: Duration = Duration::from_secs(10);

impl Write for InboxHandle {
    /// A send to `push`, acknowledged once the message is committed.
    async fn write(&self) -> Result<(), ActorError> {
        self.push(1).await.map(drop)
    }
}

/// The load of a pair of rows: how many actors, and how many tasks write to each.
#[derive(Clone, Copy)]
struct Shape {
    /// Actors written to.
    actors: usize,
    /// Tasks writing to each actor, each one write at a time.
    writers: usize,
}

impl Shape {
    /// The row's name: `what` ("sends" or "actions") made by `who` ("sender" or
    /// "caller") tasks in this shape.
    fn name(self, what: &str, who: &str) -> String {
        let plural = if self.writers == 1 { "" } else { "s" };
        let (actors, each) = match self.actors {
            1 => ("1 actor".to_string(), ""),
            actors => (format!("{actors} actors"), " each"),
        };
        format!(
            "{what}: {actors}, {} {who}{plural}{each}, {STORAGE}",
            self.writers
        )
    }

    /// The mean latency of a write acknowledged at `rate` per second, by Little's law:
    /// every writer always has one write in flight. `-` when nothing was acknowledged.
    fn latency(self, rate: f64) -> String {
        let writers = (self.actors * self.writers) as f64;
        Duration::try_from_secs_f64(writers / rate).map_or("-".into(), |d| format!("{d:.2?}"))
    }
}

pub fn run(config: &Config) -> BenchResult<Vec<Goal>> {
    let mut table = Table::new([
        "what",
        "acks/s",
        "sends / actions",
        "mean latency",
        "worker CPU per ack",
        "handled by the end",
    ]);
    let mut goals = Vec::new();
    let shapes = [
        Shape {
            actors: 1,
            writers: SENDERS,
        },
        Shape {
            actors: config.actors,
            writers: 1,
        },
    ];
    for shape in shapes {
        let send_name = shape.name("sends", "sender");
        let action_name = shape.name("actions", "caller");
        // `rounds` of each, alternating, and the median round of each: this machine's
        // speed drifts more within a run than the two differ.
        let (mut action_rounds, mut send_rounds) = (Vec::new(), Vec::new());
        for round in 1..=config.rounds {
            if config.includes(&action_name) {
                let acked = actions(config, STORAGE, shape.actors, shape.writers)?;
                let rate = acked.window.per_second();
                progress!("queues, round {round}, {action_name}: {rate:.0}/s");
                action_rounds.push(acked);
            }
            if config.includes(&send_name) {
                let (acked, handled) = sends(config, shape)?;
                let rate = acked.window.per_second();
                progress!(
                    "queues, round {round}, {send_name}: {rate:.0}/s, {handled} of {} sent handled",
                    acked.total
                );
                send_rounds.push((acked, handled));
            }
        }
        let action = median_round(action_rounds, |acked| acked);
        let send = median_round(send_rounds, |(acked, _)| acked);
        let action_rate = action.as_ref().map(|acked| acked.window.per_second());
        if let Some((acked, handled)) = &send {
            let rate = acked.window.per_second();
            table.row([
                send_name,
                thousands(rate),
                action_rate.map_or("-".into(), |action| format!("{:.2}x", rate / action)),
                shape.latency(rate),
                format!("{:.2}µs", acked.window.busy_ns_per_op() / 1000.0),
                format!(
                    "{} of {} sent ({:.0}%)",
                    thousands(*handled as f64),
                    thousands(acked.total as f64),
                    100.0 * *handled as f64 / acked.total.max(1) as f64
                ),
            ]);
            if let Some(action) = action_rate {
                let to = match shape.actors {
                    1 => format!("1 actor ({} senders)", shape.writers),
                    actors => format!("{} actors", thousands(actors as f64)),
                };
                goals.push(Goal {
                    what: format!("queues: durable sends/s to {to}"),
                    goal: format!(">= durable actions/s ({}/s)", thousands(action)),
                    figure: format!("{}/s ({:.2}x)", thousands(rate), rate / action),
                    met: rate >= action,
                });
            }
        }
        if let Some(acked) = &action {
            let rate = acked.window.per_second();
            table.row([
                action_name,
                thousands(rate),
                String::new(),
                shape.latency(rate),
                format!("{:.2}µs", acked.window.busy_ns_per_op() / 1000.0),
                "-".into(),
            ]);
        }
    }
    println!(
        "## queues: durable sends acknowledged per second, beside durable actions ({} s window after {} s warm-up; median of {} rounds, alternating)\n\n{table}",
        config.window.as_secs_f64(),
        config.warmup.as_secs_f64(),
        config.rounds
    );

    let mut table = Table::new([
        "storage",
        "sends",
        "mean (µs)",
        "p50 (µs)",
        "p99 (µs)",
        "max (µs)",
    ]);
    for storage in [Storage::Memory, STORAGE] {
        if !config.includes(&format!("send to handled: {storage}")) {
            continue;
        }
        let latencies = send_to_handled(config, storage)?;
        progress!(
            "queues, send to handled, {storage}: mean {:.1?}, p99 {:.1?}",
            latencies.mean(),
            latencies.percentile(99.0)
        );
        let micros = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e6);
        table.row([
            storage.to_string(),
            thousands(latencies.len() as f64),
            micros(latencies.mean()),
            micros(latencies.median()),
            micros(latencies.percentile(99.0)),
            micros(latencies.max()),
        ]);
    }
    if !table.is_empty() {
        println!(
            "### Send to handled: one sender, one actor, `push(1).wait(timeout)` one after another for {} s\n\n{table}",
            config.window.as_secs_f64()
        );
    }
    Ok(goals)
}

/// The round of median rate among `rounds` (`acked` finds its counts), if any ran.
fn median_round<T>(mut rounds: Vec<T>, acked: impl Fn(&T) -> &Acked) -> Option<T> {
    rounds.sort_by(|a, b| {
        let rate = |r: &T| acked(r).window.per_second();
        rate(a).total_cmp(&rate(b))
    });
    let middle = rounds.len().checked_sub(1)? / 2;
    Some(rounds.swap_remove(middle))
}

/// `shape.actors` inboxes on [`STORAGE`], each sent to by `shape.writers` tasks in a
/// loop, counted as [`acked`] counts; with the messages handled by the time the senders
/// stopped, summed over the inboxes.
fn sends(config: &Config, shape: Shape) -> BenchResult<(Acked, u64)> {
    let dir = tempfile::tempdir()?;
    runtime()?.block_on(async move {
        let registry = STORAGE.registry(dir.path()).await?;
        let inboxes = create_many::<Inbox>(&registry.client(), "queues", shape.actors).await?;
        let acked = acked(config, inboxes.clone(), shape.writers).await?;
        let mut handled = 0;
        for inbox in &inboxes {
            handled += inbox.count().await?;
        }
        registry.shutdown().await;
        Ok((acked, u64::try_from(handled)?))
    })
}

/// One task sending `push(1)` to one inbox on `storage` and waiting for each handler's
/// result before the next send, for `config.warmup` and then `config.window`: the times
/// of the sends in the window, from the send to the durable result.
fn send_to_handled(config: &Config, storage: Storage) -> BenchResult<Latencies> {
    let dir = tempfile::tempdir()?;
    let (warmup, window) = (config.warmup, config.window);
    runtime()?.block_on(async move {
        let registry = storage.registry(dir.path()).await?;
        let client = registry.client();
        let measured = tokio::spawn(async move {
            let inbox = Inbox::get_or_create(&client, ["send-to-handled"]).await?;
            let mut latencies = Latencies::default();
            let (mut count, started) = (0, Instant::now());
            while started.elapsed() < warmup + window {
                let sent = Instant::now();
                let handled = inbox.push(1).wait(WAIT).await?;
                let took = sent.elapsed();
                count += 1;
                if handled != count {
                    return Err(format!("message {count} was handled as number {handled}").into());
                }
                if sent >= started + warmup {
                    latencies.push(took);
                }
            }
            BenchResult::Ok(latencies)
        });
        let measured = measured.await??;
        registry.shutdown().await;
        Ok(measured)
    })
}
