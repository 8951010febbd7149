//! An idle instance without a task. When the loop has nothing to do (no turn, no shared
//! action, no held reply, no debounced save pending, nothing queued, no stop requested, no
//! keep-awake guard), the task ends and the instance stays awake without it: its state
//! and mailbox stay in the directory, and calls to it run in place as before. A
//! [`Resumer`] stands in for the task's waker on the inbox and the nudge, and on the
//! registry's [`Timers`](super::Timers) at the sleep deadline; whichever wakes it first
//! starts the task again, on the actor's runtime.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::task::{Wake, Waker};

use tokio::time::Instant;
use tracing::Instrument;

use crate::definition::Actor;

use super::live::Live;
use super::run::live_on;

/// Starts a dormant instance's task again when woken.
struct Resumer<A: Actor> {
    live: Weak<Live<A>>,
}

impl<A: Actor> Wake for Resumer<A> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let Some(live) = self.live.upgrade() else {
            return;
        };
        // The first waker to clear the flag starts the task; the others find it clear.
        if live.cell().dormant.swap(false, Ordering::AcqRel) {
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
    let cell = &live.cell();
    live.idle_from(idle_since);
    live.compact();
    let waker = Waker::from(Arc::new(Resumer {
        live: Arc::downgrade(live),
    }));
    // The resumer takes the task's place on its waker (the inbox's, which nudges share)
    // before the flag says the task is gone: a resumer that fires once the flag is set
    // starts a task whose own registration must not be overwritten by this one's
    // afterwards (that lost every later nudge). A wake before the flag is set leaves its
    // work for the check below.
    cell.inbox.register(&waker);
    cell.dormant.store(true, Ordering::SeqCst);
    if cell.has_work() {
        // It came before the wakers were the resumer's: serve it here, unless a waker
        // already started a task for it.
        return !cell.dormant.swap(false, Ordering::SeqCst);
    }
    if let Some(at) = deadline {
        live.host().timers().wake_at(at, waker);
    }
    true
}
