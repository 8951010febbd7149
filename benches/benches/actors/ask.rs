//! Section "ask": the in-process round trip of one call.

use std::hint::black_box;
use std::time::{Duration, Instant};

use actor::prelude::*;
use benches::alloc::SIZE_CLASSES;
use benches::{Measured, Probe, Table};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

use crate::kinds::{Counter, DebouncedCounter, Document, Inbox};
use crate::setup::current_thread;
use crate::{ALLOC, BenchResult, Config, Goal, progress, runtime};

/// What a row stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The raw tokio baseline every ratio divides by.
    Baseline,
    /// Another raw tokio variant.
    Raw,
    /// Ours, the figure the goal is about.
    Ours,
    /// Ours, the same call on a current-thread runtime: what single-threaded peers
    /// compare with.
    OursCurrentThread,
    /// Ours, a variant that isolates part of the cost.
    OursVariant,
    /// Another actor crate, on a runtime of this flavor.
    #[cfg_attr(not(feature = "peers"), allow(dead_code))]
    Peer(Flavor),
}

/// One contestant: runs `n` sequential asks after a warm-up and measures them.
pub struct Contestant {
    pub name: &'static str,
    pub role: Role,
    pub run: fn(u64) -> BenchResult<Measured>,
}

/// Asks made before the clock starts: fills caches, grows buffers, settles the scheduler.
pub fn warmup(n: u64) -> u64 {
    (n / 10).clamp(100, 50_000)
}

/// A table of the sizes each raw or ours contestant on the multi-thread runtime
/// allocates per call, from the allocation-counting pass.
fn allocation_sizes(contestants: &[Contestant], allocs: &[Measured]) -> String {
    let columns: Vec<usize> = (0..contestants.len())
        .filter(|&c| {
            matches!(
                contestants[c].role,
                Role::Baseline | Role::Ours | Role::OursVariant
            ) && !contestants[c].name.starts_with("current-thread")
        })
        .collect();
    let mut sizes: Vec<usize> = columns
        .iter()
        .flat_map(|&c| {
            allocs[c]
                .sizes_per_op(0.5)
                .into_iter()
                .map(|(size, _)| size)
        })
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut header = vec!["block size (B)".to_string()];
    header.extend(columns.iter().map(|&c| contestants[c].name.to_string()));
    let mut table = Table::new(header);
    for size in sizes {
        let mut row = vec![if size == SIZE_CLASSES - 1 {
            format!(">= {}", SIZE_CLASSES - 1)
        } else {
            size.to_string()
        }];
        row.extend(columns.iter().map(|&c| {
            let per = allocs[c].sizes.get(size).copied().unwrap_or(0) as f64
                / allocs[c].ops.max(1) as f64;
            if per < 0.05 {
                String::new()
            } else {
                format!("{per:.1}")
            }
        }));
        table.row(row);
    }
    format!("### Allocations per call, by requested size\n\n{table}")
}

/// Which tokio runtime a contestant runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `new_multi_thread()`, one worker per core: what servers use.
    MultiThread,
    /// `new_current_thread()`: no hand-offs between threads, so the figure is CPU work.
    CurrentThread,
}

impl Flavor {
    fn runtime(self) -> BenchResult<Runtime> {
        match self {
            Self::MultiThread => runtime(),
            Self::CurrentThread => current_thread(),
        }
    }
}

/// Which of our calls a contestant makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    /// `increment` on the default, durable counter: serialize, commit, then reply.
    Durable,
    /// `increment` on the debounced counter: serialize, reply (no commit).
    Debounced,
    /// `get`: a shared action on a snapshot (no serialization, no commit).
    Shared,
    /// `increment` on a durable actor with about 4 KiB of state.
    Document,
    /// `Durable` with the caller in `tokio::task::unconstrained`: the same work without
    /// the yield every 128 calls answered in place (tokio's cooperative budget), so the
    /// row shows what fairness costs a caller that never waits.
    Unconstrained,
    /// A durable send to the `push` queue, handled in place: store the message, run its
    /// handler, commit the state (the message never written), reply with its id.
    Send,
}

fn contestants() -> Vec<Contestant> {
    use Flavor::{CurrentThread, MultiThread};
    #[allow(unused_mut)]
    let mut all = vec![
        Contestant {
            name: "raw tokio: bounded mpsc + oneshot",
            role: Role::Baseline,
            run: |n| raw::<mpsc::Sender<Ask>>(n, MultiThread, 0),
        },
        Contestant {
            name: "raw tokio: unbounded mpsc + oneshot",
            role: Role::Raw,
            run: |n| raw::<mpsc::UnboundedSender<Ask>>(n, MultiThread, 0),
        },
        Contestant {
            name: "raw tokio: + 600 ns of work per message",
            role: Role::Raw,
            run: |n| raw::<mpsc::Sender<Ask>>(n, MultiThread, 600),
        },
        Contestant {
            name: "ours: exclusive action, durable (default)",
            role: Role::Ours,
            run: |n| ours(n, MultiThread, Call::Durable),
        },
        Contestant {
            name: "ours: exclusive action, debounced save",
            role: Role::OursVariant,
            run: |n| ours(n, MultiThread, Call::Debounced),
        },
        Contestant {
            name: "ours: shared action",
            role: Role::OursVariant,
            run: |n| ours(n, MultiThread, Call::Shared),
        },
        Contestant {
            name: "ours: exclusive, durable, 4 KiB state",
            role: Role::OursVariant,
            run: |n| ours(n, MultiThread, Call::Document),
        },
        Contestant {
            name: "ours: exclusive, durable, caller unconstrained",
            role: Role::OursVariant,
            run: |n| ours(n, MultiThread, Call::Unconstrained),
        },
        Contestant {
            name: "ours: queue send, durable, handled in place",
            role: Role::OursVariant,
            run: |n| ours(n, MultiThread, Call::Send),
        },
        Contestant {
            name: "two threads: raw tokio, bounded",
            role: Role::Raw,
            run: raw_two_threads,
        },
        Contestant {
            name: "two threads: ours, exclusive, via the actor's task",
            role: Role::OursVariant,
            run: ours_via_task,
        },
        Contestant {
            name: "current-thread: raw tokio, bounded",
            role: Role::Raw,
            run: |n| raw::<mpsc::Sender<Ask>>(n, CurrentThread, 0),
        },
        Contestant {
            name: "current-thread: raw tokio + 600 ns of work",
            role: Role::Raw,
            run: |n| raw::<mpsc::Sender<Ask>>(n, CurrentThread, 600),
        },
        Contestant {
            name: "current-thread: ours, exclusive, durable",
            role: Role::OursCurrentThread,
            run: |n| ours(n, CurrentThread, Call::Durable),
        },
        Contestant {
            name: "current-thread: ours, exclusive, debounced",
            role: Role::OursVariant,
            run: |n| ours(n, CurrentThread, Call::Debounced),
        },
        Contestant {
            name: "current-thread: ours, shared",
            role: Role::OursVariant,
            run: |n| ours(n, CurrentThread, Call::Shared),
        },
        Contestant {
            name: "current-thread: ours, durable, 4 KiB state",
            role: Role::OursVariant,
            run: |n| ours(n, CurrentThread, Call::Document),
        },
    ];
    #[cfg(feature = "peers")]
    all.extend(crate::peers::ask_contestants());
    all
}

/// Ours when the caller cannot run the turn in place, so every call goes through the
/// inbox to the actor's task: the actor lives on a current-thread runtime on one thread,
/// the caller is a task on another current-thread runtime on another thread (a caller on
/// another runtime always uses the inbox). This is the path calls take when an actor is
/// busy, and what every call cost before calls ran in place.
fn ours_via_task(n: u64) -> BenchResult<Measured> {
    let n = n.min(TWO_THREAD_ASKS);
    let (client_tx, client_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let actor_thread = std::thread::spawn(move || -> BenchResult<()> {
        current_thread()?.block_on(async move {
            let registry = registry::Registry::builder().memory().build().await?;
            let client = registry.client();
            // Created here, so its task runs on this runtime.
            Counter::get_or_create(&client, ["via-task"]).await?;
            client_tx
                .send(client)
                .map_err(|_| "the caller thread is gone")?;
            let _ = stop_rx.await;
            registry.shutdown().await;
            BenchResult::Ok(())
        })
    });
    let client = client_rx.recv()?;
    let measured = current_thread()?.block_on(async move {
        tokio::spawn(async move {
            let counter = Counter::get_or_create(&client, ["via-task"]).await?;
            for _ in 0..warmup(n) {
                counter.increment(1).await?;
            }
            let probe = Probe::start(&ALLOC);
            for _ in 0..n {
                black_box(counter.increment(1).await?);
            }
            BenchResult::Ok(probe.finish(n))
        })
        .await?
    });
    let _ = stop_tx.send(());
    actor_thread
        .join()
        .map_err(|_| "the actor thread panicked")??;
    measured
}

/// Asks per round for the two-thread rows: each ask parks and wakes a thread, so a full
/// round would take minutes and measure the same thing.
const TWO_THREAD_ASKS: u64 = 100_000;

/// The raw baseline in the topology of [`ours_via_task`]: the receiver on a
/// current-thread runtime on one thread, the caller on another, so every ask crosses
/// threads both ways.
fn raw_two_threads(n: u64) -> BenchResult<Measured> {
    let n = n.min(TWO_THREAD_ASKS);
    let (tx, mut rx) = <mpsc::Sender<Ask> as RawChannel>::open();
    let receiver = std::thread::spawn(move || -> BenchResult<()> {
        current_thread()?.block_on(async move {
            let mut count = 0i64;
            while let Some(ask) = rx.recv().await {
                count += ask.by;
                let _ = ask.reply.send(count);
            }
        });
        Ok(())
    });
    let measured = current_thread()?.block_on(async move {
        tokio::spawn(async move {
            for _ in 0..warmup(n) {
                tx.ask(1).await.ok_or("the receiver stopped")?;
            }
            let probe = Probe::start(&ALLOC);
            for _ in 0..n {
                black_box(tx.ask(1).await.ok_or("the receiver stopped")?);
            }
            BenchResult::Ok(probe.finish(n))
        })
        .await?
    });
    receiver
        .join()
        .map_err(|_| "the receiver thread panicked")??;
    measured
}

/// Runs every contestant `rounds` times, round-robin, then once more counting allocations.
pub fn run(config: &Config) -> BenchResult<Vec<Goal>> {
    let contestants: Vec<Contestant> = contestants()
        .into_iter()
        .filter(|c| config.includes(c.name))
        .collect();
    let mut rounds: Vec<Vec<Measured>> = contestants.iter().map(|_| Vec::new()).collect();
    for round in 0..config.rounds {
        for (c, contestant) in contestants.iter().enumerate() {
            let m = (contestant.run)(config.asks)?;
            progress!(
                "ask round {}: {:<48} {:>7.1} ns/op",
                round + 1,
                contestant.name,
                m.ns_per_op()
            );
            rounds[c].push(m);
        }
    }
    let mut allocs = Vec::new();
    for contestant in &contestants {
        ALLOC.start();
        let m = (contestant.run)(config.alloc_asks);
        ALLOC.stop();
        allocs.push(m?);
    }

    // The round with the median time stands for each contestant.
    let median: Vec<Measured> = rounds
        .iter_mut()
        .map(|r| Measured::median_of(r).clone())
        .collect();
    let ns = |c: usize| median[c].ns_per_op();
    // Without the baseline row (filtered out), ratios are against 1 ns.
    let baseline = contestants
        .iter()
        .position(|c| c.role == Role::Baseline)
        .map_or(1.0, ns);
    let mut table = Table::new([
        "contestant",
        "ns/op (median)",
        "min",
        "max",
        "vs raw",
        "allocs/op",
        "bytes/op",
        "worker CPU ns/op",
        "parks/op",
    ]);
    for (c, contestant) in contestants.iter().enumerate() {
        let (min, max) = (&rounds[c][0], &rounds[c][rounds[c].len() - 1]);
        let m = &median[c];
        table.row([
            contestant.name.to_string(),
            format!("{:.0}", m.ns_per_op()),
            format!("{:.0}", min.ns_per_op()),
            format!("{:.0}", max.ns_per_op()),
            format!("{:.2}x", m.ns_per_op() / baseline),
            format!("{:.1}", allocs[c].allocs_per_op()),
            format!("{:.0}", allocs[c].bytes_per_op()),
            format!("{:.0}", m.busy_ns_per_op()),
            format!("{:.3}", m.parks_per_op()),
        ]);
    }
    println!(
        "## ask: in-process round trip ({} sequential asks, median of {} rounds)\n\n{table}",
        config.asks, config.rounds
    );
    println!("{}", allocation_sizes(&contestants, &allocs));

    let figure = |role: Role| contestants.iter().position(|c| c.role == role).map(ns);
    let mut goals = Vec::new();
    if let (Some(ours), Some(raw)) = (figure(Role::Ours), figure(Role::Baseline)) {
        goals.push(Goal {
            what: "ask: exclusive round trip, memory driver".into(),
            goal: format!("<= 1.5x raw tokio ({:.0} ns)", 1.5 * raw),
            figure: format!("{ours:.0} ns ({:.2}x)", ours / raw),
            met: ours <= 1.5 * raw,
        });
    }
    // Each peer is compared with ours on the same kind of runtime.
    for (c, peer) in contestants.iter().enumerate() {
        let Role::Peer(flavor) = peer.role else {
            continue;
        };
        let ours = match flavor {
            Flavor::MultiThread => figure(Role::Ours),
            Flavor::CurrentThread => figure(Role::OursCurrentThread),
        };
        if let Some(ours) = ours {
            goals.push(Goal {
                what: format!("ask: faster than {}", peer.name),
                goal: format!("< {:.0} ns ({flavor:?})", ns(c)),
                figure: format!("{ours:.0} ns"),
                met: ours < ns(c),
            });
        }
    }
    Ok(goals)
}

/// One ask of the raw baseline: the increment and where to answer.
pub struct Ask {
    pub by: i64,
    pub reply: oneshot::Sender<i64>,
}

/// A tokio channel of [`Ask`]s, bounded or not.
pub trait RawChannel: Send + Sized + 'static {
    /// Its receiving half.
    type Rx: Send + 'static;
    /// A new channel; bounded ones get the capacity of our inbox.
    fn open() -> (Self, Self::Rx);
    /// Sends one ask and waits for its answer; `None` if the actor is gone.
    fn ask(&self, by: i64) -> impl Future<Output = Option<i64>> + Send;
    /// Receives the next ask.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<Ask>> + Send;
}

impl RawChannel for mpsc::Sender<Ask> {
    type Rx = mpsc::Receiver<Ask>;

    fn open() -> (Self, Self::Rx) {
        mpsc::channel(1024)
    }

    async fn ask(&self, by: i64) -> Option<i64> {
        let (reply, answer) = oneshot::channel();
        self.send(Ask { by, reply }).await.ok()?;
        answer.await.ok()
    }

    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<Ask>> + Send {
        rx.recv()
    }
}

impl RawChannel for mpsc::UnboundedSender<Ask> {
    type Rx = mpsc::UnboundedReceiver<Ask>;

    fn open() -> (Self, Self::Rx) {
        mpsc::unbounded_channel()
    }

    async fn ask(&self, by: i64) -> Option<i64> {
        let (reply, answer) = oneshot::channel();
        self.send(Ask { by, reply }).ok()?;
        answer.await.ok()
    }

    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<Ask>> + Send {
        rx.recv()
    }
}

/// Spins for `ns` nanoseconds: CPU work standing in for a runtime's own per-message cost.
fn busy(ns: u64) {
    if ns == 0 {
        return;
    }
    let until = Instant::now() + Duration::from_nanos(ns);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// The raw baseline: a spawned task that adds (after `work_ns` of busy work) and answers
/// on the oneshot, and a spawned caller making `n` timed asks after a warm-up.
fn raw<C: RawChannel>(n: u64, flavor: Flavor, work_ns: u64) -> BenchResult<Measured> {
    flavor.runtime()?.block_on(async move {
        let (inbox, mut rx) = C::open();
        tokio::spawn(async move {
            let mut count = 0i64;
            while let Some(Ask { by, reply }) = C::recv(&mut rx).await {
                count += by;
                busy(work_ns);
                let _ = reply.send(count);
            }
        });
        let caller = tokio::spawn(async move {
            for _ in 0..warmup(n) {
                inbox.ask(1).await.ok_or("raw actor stopped")?;
            }
            let probe = Probe::start(&ALLOC);
            for _ in 0..n {
                black_box(inbox.ask(1).await.ok_or("raw actor stopped")?);
            }
            BenchResult::Ok(probe.finish(n))
        });
        caller.await?
    })
}

/// Ours: a memory registry, one counter, a spawned caller making `n` timed calls.
fn ours(n: u64, flavor: Flavor, call: Call) -> BenchResult<Measured> {
    flavor.runtime()?.block_on(async move {
        let registry = registry::Registry::builder().memory().build().await?;
        let client = registry.client();
        let caller = tokio::spawn(async move {
            let counter = Counter::get_or_create(&client, ["ask"]).await?;
            let debounced = DebouncedCounter::get_or_create(&client, ["ask"]).await?;
            let document = Document::get_or_create(&client, ["ask"]).await?;
            let inbox = Inbox::get_or_create(&client, ["ask"]).await?;
            let once = async || -> Result<i64, ActorError> {
                match call {
                    Call::Durable => counter.increment(1).await,
                    Call::Debounced => debounced.increment(1).await,
                    Call::Shared => counter.get().await,
                    Call::Document => document.increment(1).await,
                    Call::Unconstrained => tokio::task::unconstrained(counter.increment(1)).await,
                    Call::Send => inbox.push(1).await.map(|id| id.get().cast_signed()),
                }
            };
            for _ in 0..warmup(n) {
                once().await?;
            }
            let probe = Probe::start(&ALLOC);
            for _ in 0..n {
                black_box(once().await?);
            }
            BenchResult::Ok(probe.finish(n))
        });
        let measured = caller.await?;
        registry.shutdown().await;
        measured
    })
}
