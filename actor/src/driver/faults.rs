//! A driver that fails commits on purpose, for testing what actors and their callers do
//! when storage fails.

use std::sync::Arc;
use std::sync::Mutex;

use futures_util::future::BoxFuture;
use tokio::sync::oneshot;

use super::{ActorRecord, Alarm, Commit, Driver, Fences, Loaded, Record, SaveBatch, StorageError};
use crate::key::{ActorId, ActorKey};

/// Which commits a [`FaultyDriver`] fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FaultPlan {
    /// None: every commit goes to the wrapped driver.
    #[default]
    Healthy,
    /// The `n`th commit from when the plan was set fails (1 is the next one), once.
    Once(u64),
    /// Every `n`th commit fails, until the plan changes.
    Every(u64),
    /// Every commit fails, until the plan changes (the disk is gone).
    Always,
}

/// Wraps a driver and fails the commits its [`FaultPlan`] picks. A failed batch never
/// reaches the wrapped driver, and it is reported the way a queued commit's failure is:
/// when the caller next looks, after it may have queued more. Like every driver it fences
/// the later batches of a failed batch's actor and epoch. Reads pass through.
///
/// ```
/// use std::sync::Arc;
/// use actor::driver::{Driver, SaveBatch, faults::{FaultPlan, FaultyDriver}, memory::MemoryDriver};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let driver = FaultyDriver::new(Arc::new(MemoryDriver::new()));
/// driver.set_plan(FaultPlan::Once(2));
/// let batch = |epoch| SaveBatch::new(actor::ActorId::from("a1"), epoch);
/// assert!(driver.commit(batch(1)).await.is_ok());
/// assert!(driver.commit(batch(1)).await.is_err()); // the 2nd: injected
/// assert!(driver.commit(batch(1)).await.is_err()); // fenced: built on the failed one
/// assert!(driver.commit(batch(2)).await.is_ok()); // the actor's next instance
/// assert_eq!(driver.failed(), 1);
/// # }
/// ```
pub struct FaultyDriver {
    inner: Arc<dyn Driver>,
    state: Mutex<Faults>,
}

#[derive(Default)]
struct Faults {
    plan: FaultPlan,
    /// Commits seen since the plan was set.
    seen: u64,
    /// Commits failed on purpose, over the driver's life.
    failed: u64,
    fences: Fences,
}

impl FaultyDriver {
    /// Wraps `inner`, healthy until [`set_plan`](Self::set_plan).
    pub fn new(inner: Arc<dyn Driver>) -> Self {
        Self {
            inner,
            state: Mutex::default(),
        }
    }

    /// Chooses which commits fail from now on; counting starts again.
    pub fn set_plan(&self, plan: FaultPlan) {
        let mut state = self.lock();
        state.plan = plan;
        state.seen = 0;
    }

    /// Commits seen since the plan was last set, failed or not.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use actor::driver::faults::FaultyDriver;
    /// use actor::driver::memory::MemoryDriver;
    /// let faulty = FaultyDriver::new(Arc::new(MemoryDriver::new()));
    /// assert_eq!(faulty.commits(), 0);
    /// ```
    pub fn commits(&self) -> u64 {
        self.lock().seen
    }

    /// How many commits were failed on purpose.
    pub fn failed(&self) -> u64 {
        self.lock().failed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.state.lock().expect("fault plan lock poisoned")
    }
}

impl Driver for FaultyDriver {
    fn lookup<'a>(
        &'a self,
        kind: &'a str,
        key: &'a ActorKey,
    ) -> BoxFuture<'a, Result<Option<ActorId>, StorageError>> {
        self.inner.lookup(kind, key)
    }

    fn load<'a>(&'a self, id: &'a ActorId) -> BoxFuture<'a, Result<Option<Loaded>, StorageError>> {
        self.inner.load(id)
    }

    fn get<'a>(
        &'a self,
        id: &'a ActorId,
        key: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>> {
        self.inner.get(id, key)
    }

    fn scan<'a>(
        &'a self,
        id: &'a ActorId,
        prefix: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<Record>, StorageError>> {
        self.inner.scan(id, prefix)
    }

    fn list<'a>(
        &'a self,
        kind: &'a str,
        after: Option<&'a ActorId>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<ActorRecord>, StorageError>> {
        self.inner.list(kind, after, limit)
    }

    fn earliest_alarms(
        &self,
        until: u64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Alarm>, StorageError>> {
        self.inner.earliest_alarms(until, limit)
    }

    fn commit(&self, batch: SaveBatch) -> Commit {
        let refused = {
            let mut state = self.lock();
            state.seen += 1;
            let fail = match state.plan {
                FaultPlan::Healthy => false,
                FaultPlan::Once(n) => state.seen == n,
                FaultPlan::Every(n) => n > 0 && state.seen.is_multiple_of(n),
                FaultPlan::Always => true,
            };
            match state.fences.admit(&batch) {
                Err(err) => Some(err),
                Ok(()) if fail => {
                    state.failed += 1;
                    let err = StorageError::Backend(format!(
                        "injected failure (FaultyDriver, commit {} of plan {:?})",
                        state.seen, state.plan
                    ));
                    state.fences.record(&batch, &err);
                    Some(err)
                }
                Ok(()) => None,
            }
        };
        match refused {
            None => self.inner.commit(batch),
            Some(err) => {
                let (tx, rx) = oneshot::channel();
                let _ = tx.send(Err(err));
                Commit::Pending(rx)
            }
        }
    }
}

impl std::fmt::Debug for FaultyDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("FaultyDriver")
            .field("plan", &state.plan)
            .field("failed", &state.failed)
            .finish_non_exhaustive()
    }
}
