//! One task per registry that wakes dormant instances when their sleep timeout may be
//! due. A dormant instance has no task of its own (see `run.rs`), so the deadline it would
//! have slept on lives here, with the waker that starts its task again.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Waker;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Deadlines and the wakers to call at them: at most one per owner (an instance), so an
/// actor that goes dormant again and again keeps one entry, not one per dormancy.
#[derive(Default)]
pub struct Timers {
    due: Mutex<Due>,
    next: AtomicU64,
    /// An earlier deadline than the one the task sleeps on was added, or the set is gone.
    earlier: Arc<Notify>,
}

#[derive(Default)]
struct Due {
    /// By deadline; the number keeps two equal deadlines apart.
    by_time: BTreeMap<(Instant, u64), (usize, Waker)>,
    /// Each owner's entry in `by_time`.
    by_owner: HashMap<usize, (Instant, u64)>,
}

impl Due {
    /// Gives back the owner map's room once most of it is empty: after many instances
    /// went dormant at once and stopped, it would keep room for all of them.
    fn compact(&mut self) {
        give_back_room(&mut self.by_owner);
    }
}

/// Shrinks a map of per-instance entries once fewer than a quarter of its slots are used,
/// to twice what it holds: a map that held every instance of a burst would otherwise
/// keep room for all of them after they stopped. Halving at most each time keeps the
/// cost of the rehash amortized over the removals that led to it.
///
/// ```
/// let mut map: std::collections::HashMap<u64, u64> = (0..1_000).map(|i| (i, i)).collect();
/// map.retain(|&k, _| k < 10);
/// actor::__runtime::give_back_room(&mut map);
/// assert!(map.capacity() < 100);
/// ```
#[doc(hidden)]
pub fn give_back_room<K, V, S>(map: &mut HashMap<K, V, S>)
where
    K: Eq + std::hash::Hash,
    S: std::hash::BuildHasher,
{
    let (len, room) = (map.len(), map.capacity());
    if room > 64 && len < room / 4 {
        map.shrink_to(len * 2);
    }
}

impl std::fmt::Debug for Timers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timers")
            .field("pending", &self.lock().by_time.len())
            .finish()
    }
}

impl Drop for Timers {
    fn drop(&mut self) {
        // The task waits on this when nothing is due: let it see the set is gone.
        self.earlier.notify_one();
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Due> {
        // Nothing panics under this lock: a poisoned one holds consistent data.
        self.due
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wakes `waker` at `at` (or soon after), in place of `owner`'s earlier timer if it
    /// has one (`owner` is any number unique to it while it lives, its address).
    pub(crate) fn wake_at(&self, owner: usize, at: Instant, waker: Waker) {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let earliest = {
            let mut due = self.lock();
            if let Some(old) = due.by_owner.insert(owner, (at, seq)) {
                due.by_time.remove(&old);
            }
            due.by_time.insert((at, seq), (owner, waker));
            due.by_time
                .first_key_value()
                .is_some_and(|((first, s), _)| *first == at && *s == seq)
        };
        if earliest {
            self.earlier.notify_one();
        }
    }

    /// Takes every waker due by `now`, and says when the next one is.
    /// Drops `owner`'s timer, if it has one: the instance stopped, and the timer's waker
    /// (which holds a weak reference to it) must not keep its memory until the time.
    pub(crate) fn cancel(&self, owner: usize) {
        let mut due = self.lock();
        if let Some(key) = due.by_owner.remove(&owner) {
            due.by_time.remove(&key);
        }
        due.compact();
    }

    fn take_due(&self, now: Instant) -> (Vec<Waker>, Option<Instant>) {
        let mut due = self.lock();
        let later = due.by_time.split_off(&(now, u64::MAX));
        let taken = std::mem::replace(&mut due.by_time, later);
        let mut wakers = Vec::with_capacity(taken.len());
        for (key, (owner, waker)) in taken {
            if due.by_owner.get(&owner) == Some(&key) {
                due.by_owner.remove(&owner);
            }
            wakers.push(waker);
        }
        let next = due.by_time.first_key_value().map(|((at, _), _)| *at);
        due.compact();
        (wakers, next)
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use futures_util::task::{ArcWake, waker};
    use tokio::time::sleep;

    use super::*;

    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl ArcWake for Wakes {
        fn wake_by_ref(this: &Arc<Self>) {
            this.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn woken(wakes: &Arc<Wakes>) -> usize {
        wakes.0.load(Ordering::SeqCst)
    }

    #[tokio::test(start_paused = true)]
    async fn an_owner_keeps_one_timer_the_last_it_set() {
        let timers = Timers::start();
        let (one, two) = (Arc::new(Wakes::default()), Arc::new(Wakes::default()));
        let now = Instant::now();
        timers.wake_at(1, now + Duration::from_secs(10), waker(one.clone()));
        timers.wake_at(1, now + Duration::from_secs(20), waker(one.clone()));
        timers.wake_at(2, now + Duration::from_secs(15), waker(two.clone()));
        assert_eq!(
            timers.lock().by_time.len(),
            2,
            "owner 1's first timer was replaced"
        );
        sleep(Duration::from_secs(12)).await;
        assert_eq!((woken(&one), woken(&two)), (0, 0));
        sleep(Duration::from_secs(4)).await;
        assert_eq!((woken(&one), woken(&two)), (0, 1));
        sleep(Duration::from_secs(5)).await;
        assert_eq!((woken(&one), woken(&two)), (1, 1));
        let due = timers.lock();
        assert!(due.by_time.is_empty() && due.by_owner.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_task_ends_with_the_set() {
        let alive = || {
            tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks()
        };
        let timers = Timers::start();
        tokio::task::yield_now().await;
        assert_eq!(alive(), 1);
        drop(timers);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            alive(),
            0,
            "nothing was due, and the task still saw the set go"
        );
    }
}
