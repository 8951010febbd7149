//! An idle instance without a task. When the loop has nothing to do (no turn, no shared
//! action, no held reply, no debounced save pending, nothing queued, no stop requested, no
//! keep-awake guard), the task ends and the instance stays awake without it: its state
//! and mailbox stay in the directory, and calls to it run in place as before. A
//! [`Resumer`] stands in for the task's waker (the inbox's, which nudges share), and on
//! the registry's [`Timers`](super::Timers) at the sleep deadline; whichever wakes it
//! first starts the task again, on the actor's runtime.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Wake, Waker};

use tokio::time::Instant;
use tracing::Instrument;

use crate::definition::Actor;

use super::live::Live;
use super::run::live_on;

/// Numbers dormancies, so a resumer from an earlier one (a timer that outlived it) can
/// never start a task. Never 0, which means "has a task".
static DORMANCY: AtomicU32 = AtomicU32::new(1);

/// Starts a dormant instance's task again when woken, if its dormancy is still the one.
struct Resumer<A: Actor> {
    live: Weak<Live<A>>,
    dormancy: u32,
}

impl<A: Actor> Wake for Resumer<A> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let Some(live) = self.live.upgrade() else {
            return;
        };
        // The first waker of this dormancy to end it starts the task; the others, and
        // any of an earlier dormancy, find it over.
        if live
            .cell()
            .dormant
            .compare_exchange(self.dormancy, 0, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let runtime = live.runtime.clone();
            match live.span.as_deref().cloned() {
                None => runtime.spawn(live_on(live, true)),
                Some(span) => runtime.spawn(live_on(live, true).instrument(span)),
            };
        }
    }
}

/// Makes the instance dormant, idle since `idle_since`, to be woken at `deadline` if
/// nothing wakes it before. Returns whether the calling task must end: `false` when work
/// came in meanwhile and this task goes on serving it.
pub(super) fn go_dormant<A: Actor>(
    live: &Arc<Live<A>>,
    idle_since: Instant,
    deadline: Option<Instant>,
) -> bool {
    let cell = live.cell();
    live.idle_from(idle_since);
    live.compact();
    let dormancy = match DORMANCY.fetch_add(1, Ordering::Relaxed) {
        0 => DORMANCY.fetch_add(1, Ordering::Relaxed),
        n => n,
    };
    let waker = Waker::from(Arc::new(Resumer {
        live: Arc::downgrade(live),
        dormancy,
    }));
    // The flag first, then the resumer in the task's place, then a look for work. The
    // waker may be woken inside `register` itself (a wake on another thread was under
    // way, perhaps for work this task already took): with the flag set, that starts a
    // task, so no wake is ever dropped. Only this dormancy's resumer can start one, and
    // it exists only from here on, so nothing registers over the new task's waker.
    cell.dormant.store(dormancy, Ordering::SeqCst);
    cell.inbox.register(&waker);
    if cell.has_work() {
        // Serve it here, unless the resumer already started a task for it.
        return cell
            .dormant
            .compare_exchange(dormancy, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_err();
    }
    if let Some(at) = deadline {
        live.host().timers().wake_at(owner(live), at, waker);
    }
    true
}

/// The instance's key in the registry's [`Timers`](super::Timers).
pub(super) fn owner<A: Actor>(live: &Arc<Live<A>>) -> usize {
    Arc::as_ptr(live) as *const () as usize
}
