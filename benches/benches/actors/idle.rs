//! Section "memory": heap bytes per awake idle actor and per sleeping actor.

use std::time::Duration;

use actor::driver::sqlite::Sync;
use benches::alloc::SIZE_CLASSES;
use benches::{AllocSnapshot, Table};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::kinds::Counter;
use crate::setup::{Storage, create_many};
use crate::{ALLOC, BenchResult, Config, Goal, progress, runtime};

/// What one idle actor costs, in bytes.
#[derive(Clone, Debug, Default)]
pub struct IdleCost {
    /// Awake and idle, its handle or reference kept by the caller.
    pub awake: f64,
    /// Asleep, its handle dropped (only actors that sleep have this).
    pub asleep: Option<f64>,
    /// The blocks an awake actor keeps alive: (requested size, blocks per actor).
    pub blocks: Vec<(usize, f64)>,
}

/// The block sizes that grew by at least half a block per actor between two readings of
/// [`CountingAlloc::live_blocks`](benches::CountingAlloc::live_blocks).
fn blocks_per_actor(after: &[i64], before: &[i64], n: usize) -> Vec<(usize, f64)> {
    after
        .iter()
        .zip(before)
        .enumerate()
        .map(|(size, (a, b))| (size, (a - b) as f64 / n.max(1) as f64))
        .filter(|&(_, per)| per >= 0.5)
        .collect()
}

/// Creates `n` idle actors of one contestant and measures them.
pub type Measure = fn(usize) -> BenchResult<IdleCost>;

/// Lets every task spawned so far run to its first wait.
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Live bytes per actor between two snapshots.
pub fn per_actor(after: AllocSnapshot, before: AllocSnapshot, n: usize) -> f64 {
    after.since(&before).live as f64 / n.max(1) as f64
}

pub fn run(config: &Config) -> BenchResult<Vec<Goal>> {
    let n = config.idle;
    #[allow(unused_mut)]
    let mut contestants: Vec<(&str, Measure)> = vec![
        ("raw tokio: task + bounded mpsc", raw),
        ("ours: memory driver", |n| ours(Storage::Memory, n)),
        ("ours: SQLite", |n| ours(Storage::Sqlite(Sync::Full), n)),
    ];
    #[cfg(feature = "peers")]
    contestants.extend(crate::peers::idle_contestants());
    let mut rows = Vec::new();
    for (name, measure) in contestants {
        if config.includes(name) {
            rows.push((name.to_string(), measure(n)?));
        }
    }

    let raw_awake = rows.first().map_or(1.0, |(_, cost)| cost.awake);
    let mut table = Table::new([
        "actor",
        "bytes per awake idle actor",
        "vs raw",
        "bytes per sleeping actor",
        "awake minus asleep",
    ]);
    for (name, cost) in &rows {
        progress!("memory, {name}: {:.0} B awake", cost.awake);
        table.row([
            name.clone(),
            format!("{:.0}", cost.awake),
            format!("{:.2}x", cost.awake / raw_awake),
            cost.asleep.map_or("-".into(), |b| format!("{b:.0}")),
            cost.asleep
                .map_or("-".into(), |b| format!("{:.0}", cost.awake - b)),
        ]);
    }
    println!("## memory: live heap bytes per idle actor ({n} actors)\n\n{table}");
    for (name, cost) in rows.iter().filter(|(_, c)| !c.blocks.is_empty()) {
        let mut blocks = Table::new(["block size (B)", "blocks per actor", "bytes per actor"]);
        for &(size, per) in &cost.blocks {
            let size_label = if size == SIZE_CLASSES - 1 {
                format!(">= {}", SIZE_CLASSES - 1)
            } else {
                size.to_string()
            };
            blocks.row([
                size_label,
                format!("{per:.2}"),
                format!("{:.0}", size as f64 * per),
            ]);
        }
        println!("### What an awake idle actor keeps alive: {name}\n\n{blocks}");
    }

    // The memory driver keeps every actor's records on the heap, asleep or not; on
    // SQLite they are on disk, so its figures are the runtime's own.
    let mut goals = Vec::new();
    if let Some((_, cost)) = rows.iter().find(|(name, _)| name == "ours: SQLite") {
        goals.push(Goal {
            what: "memory: awake idle actor (SQLite)".into(),
            goal: "<= 1 KiB".into(),
            figure: format!("{:.0} B", cost.awake),
            met: cost.awake <= 1024.0,
        });
        if let Some(asleep) = cost.asleep {
            goals.push(Goal {
                what: "memory: sleeping actor (SQLite)".into(),
                goal: "~0 B (< 64 B)".into(),
                figure: format!("{asleep:.0} B"),
                met: asleep < 64.0,
            });
        }
    }
    Ok(goals)
}

/// `n` spawned tasks, each waiting on its own bounded channel, senders kept.
fn raw(n: usize) -> BenchResult<IdleCost> {
    struct Ask {
        by: i64,
        reply: oneshot::Sender<i64>,
    }
    ALLOC.start();
    let awake = runtime()?.block_on(async move {
        settle().await;
        let before = ALLOC.snapshot();
        let mut senders = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, mut rx) = mpsc::channel::<Ask>(1024);
            tokio::spawn(async move {
                let mut count = 0i64;
                while let Some(Ask { by, reply }) = rx.recv().await {
                    count += by;
                    let _ = reply.send(count);
                }
            });
            senders.push(tx);
        }
        settle().await;
        per_actor(ALLOC.snapshot(), before, n)
    });
    ALLOC.stop();
    Ok(IdleCost {
        awake,
        ..IdleCost::default()
    })
}

/// `n` of our actors awake with their handles kept, then asleep with their handles dropped.
fn ours(storage: Storage, n: usize) -> BenchResult<IdleCost> {
    let dir = tempfile::tempdir()?;
    ALLOC.start();
    let cost = runtime()?.block_on(async move {
        let registry = storage.registry(dir.path()).await?;
        let client = registry.client();
        // One actor first, so one-time allocations (lazy statics, first map buckets) are
        // not charged to the measured ones.
        for warm in create_many::<Counter>(&client, "warm", 1).await? {
            warm.sleep().await?;
        }
        settle().await;
        let (before, blocks_before) = (ALLOC.snapshot(), ALLOC.live_blocks());

        let handles = create_many::<Counter>(&client, "idle", n).await?;
        settle().await;
        let awake = per_actor(ALLOC.snapshot(), before, n);
        let blocks = blocks_per_actor(&ALLOC.live_blocks(), &blocks_before, n);
        if registry.awake() != n {
            return Err(format!("{} actors awake, expected {n}", registry.awake()).into());
        }

        // Put them to sleep 256 at a time; each handle is dropped once its actor sleeps.
        let (mut handles, mut sleeping) = (handles.into_iter(), JoinSet::new());
        loop {
            for handle in handles.by_ref().take(256) {
                sleeping.spawn(async move { handle.sleep().await });
            }
            if sleeping.is_empty() {
                break;
            }
            while let Some(slept) = sleeping.join_next().await.transpose()? {
                slept?;
            }
        }
        settle().await;
        let asleep = per_actor(ALLOC.snapshot(), before, n);
        if registry.awake() != 0 {
            return Err(format!("{} actors still awake after sleep()", registry.awake()).into());
        }
        registry.shutdown().await;
        BenchResult::Ok(IdleCost {
            awake,
            asleep: Some(asleep),
            blocks,
        })
    });
    ALLOC.stop();
    cost
}
