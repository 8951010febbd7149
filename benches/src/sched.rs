//! What the tokio scheduler did during a measured region, from the runtime's metrics.

use std::time::Duration;

use tokio::runtime::Handle;

/// Scheduler counters summed over the workers of the current runtime.
///
/// Tokio updates these when a worker parks or finishes a batch of polls, so they are
/// meaningful over many operations, not one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let before = benches::Sched::now();
/// let after = benches::Sched::now();
/// assert_eq!(after.since(&before).parks, 0);
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sched {
    /// Times a worker parked its thread for lack of work.
    pub parks: u64,
    /// Time the workers spent running tasks (not parked).
    pub busy: Duration,
}

impl Sched {
    /// The counters now; zero outside a runtime.
    pub fn now() -> Self {
        let Ok(handle) = Handle::try_current() else {
            return Self::default();
        };
        let metrics = handle.metrics();
        let mut sched = Self::default();
        for worker in 0..metrics.num_workers() {
            sched.parks += metrics.worker_park_count(worker);
            sched.busy += metrics.worker_total_busy_duration(worker);
        }
        sched
    }

    /// What happened between `earlier` and this reading.
    pub fn since(&self, earlier: &Sched) -> Sched {
        Sched {
            parks: self.parks - earlier.parks,
            busy: self.busy.saturating_sub(earlier.busy),
        }
    }
}
