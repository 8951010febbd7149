//! Section "wake": how long the first call to a sleeping actor takes.

use std::ops::Deref;
use std::time::Instant;

use actor::driver::keys::STATE;
use actor::driver::sqlite::Sync;
use actor::prelude::*;
use benches::{Latencies, Table};

use crate::kinds::{Counter, CounterHandle};
use crate::setup::Storage;
use crate::{BenchResult, Config, progress, runtime};

/// Which call wakes the actor, or which driver read is timed alone.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// The shared `get`: wake and read.
    Get,
    /// The exclusive `increment`: wake, write, commit.
    Increment,
    /// For reference, no wake: `driver.load(id)`, the one read a wake makes (the actor's
    /// kind and key, and its state).
    ReadRecord,
    /// For reference, no wake: `driver.get(id, "state")`, a single-record read.
    ReadState,
}

impl Call {
    fn describe(self) -> &'static str {
        match self {
            Self::Get => "get (shared)",
            Self::Increment => "increment (exclusive, durable)",
            Self::ReadRecord => "no wake: driver.load(id) alone",
            Self::ReadState => "no wake: driver.get(id, state) alone",
        }
    }
}

/// A handle [`wakes`] puts to sleep and wakes with a call.
pub(crate) trait Wake: Deref<Target = ActorHandle> {
    /// Makes `call` ([`Call::Get`] or [`Call::Increment`]) and waits for its answer.
    fn call(&self, call: Call) -> impl Future<Output = Result<(), ActorError>> + Send;
}

impl Wake for CounterHandle {
    /// `Get` is `get`, `Increment` is `increment(1)`.
    async fn call(&self, call: Call) -> Result<(), ActorError> {
        match call {
            Call::Get => self.get().await.map(drop),
            Call::Increment => self.increment(1).await.map(drop),
            Call::ReadRecord | Call::ReadState => unreachable!("reads() times these"),
        }
    }
}

pub fn run(config: &Config) -> BenchResult<()> {
    let mut table = Table::new([
        "storage",
        "first call after sleep",
        "median",
        "p99",
        "max",
        "awake call (median)",
    ]);
    for (storage, call) in [
        (Storage::Memory, Call::Get),
        (Storage::Sqlite(Sync::Full), Call::Get),
        (Storage::Sqlite(Sync::Full), Call::Increment),
        (Storage::Sqlite(Sync::Full), Call::ReadRecord),
        (Storage::Sqlite(Sync::Full), Call::ReadState),
    ] {
        let what = call.describe();
        if !config.includes(&format!("{storage}: {what}")) {
            continue;
        }
        let (woken, awake) = match call {
            Call::Get | Call::Increment => wakes::<Counter>(storage, call, config.wakes)?,
            Call::ReadRecord | Call::ReadState => (reads(storage, call, config.wakes)?, None),
        };
        progress!(
            "wake, {storage}: median {:.1?}, p99 {:.1?}",
            woken.median(),
            woken.percentile(99.0)
        );
        table.row([
            storage.to_string(),
            what.to_string(),
            format!("{:.1?}", woken.median()),
            format!("{:.1?}", woken.percentile(99.0)),
            format!("{:.1?}", woken.max()),
            awake.map_or("-".into(), |awake| format!("{:.1?}", awake.median())),
        ]);
    }
    println!(
        "## wake: first call to a sleeping actor ({} wakes each)\n\n{table}",
        config.wakes
    );
    Ok(())
}

/// Puts one actor of kind `A` to sleep `count` times and times the call that wakes it,
/// and the same call once more while it is awake.
pub(crate) fn wakes<A>(
    storage: Storage,
    call: Call,
    count: usize,
) -> BenchResult<(Latencies, Option<Latencies>)>
where
    A: Actor,
    A::Input: Default,
    A::Handle: Wake,
{
    let dir = tempfile::tempdir()?;
    runtime()?.block_on(async move {
        let registry = storage.registry(dir.path()).await?;
        let directory = registry.clone();
        let measured = tokio::spawn(async move {
            let counter = A::get_or_create(&directory.client(), ["wake"]).await?;
            let (mut woken, mut awake) = (Latencies::default(), Latencies::default());
            let warmup = (count / 10).max(3);
            for i in 0..warmup + count {
                counter.sleep().await?;
                if directory.awake() != 0 {
                    return Err("the actor is still awake after `sleep()`".into());
                }
                for latencies in [&mut woken, &mut awake] {
                    let started = Instant::now();
                    counter.call(call).await?;
                    if i >= warmup {
                        latencies.push(started.elapsed());
                    }
                }
            }
            BenchResult::Ok((woken, Some(awake)))
        });
        let measured = measured.await??;
        registry.shutdown().await;
        Ok(measured)
    })
}

/// Times one driver read `count` times against an actor's stored records.
fn reads(storage: Storage, call: Call, count: usize) -> BenchResult<Latencies> {
    let dir = tempfile::tempdir()?;
    runtime()?.block_on(async move {
        let registry = storage.registry(dir.path()).await?;
        let (directory, driver) = (registry.clone(), registry.driver().clone());
        let measured = tokio::spawn(async move {
            let counter = Counter::get_or_create(&directory.client(), ["read"]).await?;
            counter.increment(1).await?;
            let id = counter.id();
            let mut latencies = Latencies::default();
            for i in 0..count + (count / 10).max(3) {
                let started = Instant::now();
                let found = match call {
                    Call::ReadRecord => driver.load(&id).await?.is_some_and(|l| l.state.is_some()),
                    _ => driver.get(&id, STATE).await?.is_some(),
                };
                if !found {
                    return Err("the driver lost a record".into());
                }
                if i >= (count / 10).max(3) {
                    latencies.push(started.elapsed());
                }
            }
            BenchResult::Ok(latencies)
        });
        let measured = measured.await??;
        registry.shutdown().await;
        Ok(measured)
    })
}
