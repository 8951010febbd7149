//! One task per registry that wakes dormant instances when their sleep timeout may be
//! due. A dormant instance has no task of its own (see `run.rs`), so the deadline it would
//! have slept on lives here, with the waker that starts its task again.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Waker;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Deadlines and the wakers to call at them.
#[derive(Default)]
pub struct Timers {
    /// By deadline; the number keeps two equal deadlines apart.
    due: Mutex<BTreeMap<(Instant, u64), Waker>>,
    next: AtomicU64,
    /// An earlier deadline than the one the task sleeps on was added.
    earlier: Arc<Notify>,
}

impl std::fmt::Debug for Timers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timers")
            .field("pending", &self.lock().len())
            .finish()
    }
}

impl Timers {
    /// A set of timers and the task that fires them, spawned on the current runtime; the
    /// task ends once the set is dropped.
    pub fn start() -> Arc<Self> {
        let timers = Arc::new(Self::default());
        tokio::spawn(fire(Arc::downgrade(&timers)));
        timers
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Instant, u64), Waker>> {
        // Nothing panics under this lock: a poisoned one holds consistent data.
        self.due
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wakes `waker` at `at` (or soon after).
    pub(crate) fn wake_at(&self, at: Instant, waker: Waker) {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let earliest = {
            let mut due = self.lock();
            due.insert((at, seq), waker);
            due.first_key_value()
                .is_some_and(|((first, s), _)| *first == at && *s == seq)
        };
        if earliest {
            self.earlier.notify_one();
        }
    }

    /// Takes every waker due by `now`, and says when the next one is.
    fn take_due(&self, now: Instant) -> (Vec<Waker>, Option<Instant>) {
        let mut due = self.lock();
        let later = due.split_off(&(now, u64::MAX));
        let wakers = std::mem::replace(&mut *due, later).into_values().collect();
        (wakers, due.first_key_value().map(|((at, _), _)| *at))
    }
}

/// Fires the timers of `timers` as they come due, until the set is dropped.
async fn fire(timers: Weak<Timers>) {
    loop {
        let Some(set) = timers.upgrade() else { return };
        let (wakers, next) = set.take_due(Instant::now());
        // Owned, so the task does not keep the set alive while it waits.
        let earlier = set.earlier.clone().notified_owned();
        drop(set);
        for waker in wakers {
            waker.wake();
        }
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = earlier => {}
                }
            }
            None => earlier.await,
        }
    }
}
