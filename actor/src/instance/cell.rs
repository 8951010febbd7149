//! The flags and counters an awake instance shares with its context, guards and mailbox.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::sync::Notify;

use super::inbox::Inbox;

/// Shared between the instance task and everything that can hold it awake or ask it to stop.
#[derive(Debug)]
pub(crate) struct InstanceCell {
    keep_awake: AtomicU32,
    sleep_requested: AtomicBool,
    destroy_requested: AtomicBool,
    /// Calls accepted but not yet started.
    pub(crate) inbox_depth: AtomicUsize,
    /// Calls waiting for the task.
    pub(crate) inbox: Inbox,
    /// The task is working through calls from its inbox: callers queue behind them
    /// instead of running in place, so a run of turns shares one commit.
    draining: AtomicBool,
    /// Something besides the inbox changed (a flag, a hand-over, a commit): look again.
    /// A nudge wakes the task through the inbox's waker, the task's only one.
    nudged: AtomicBool,
    /// The instance has no task: the number of its dormancy (0 while it has a task).
    /// Only that dormancy's resumer may start the task again, and the first to swap the
    /// number back to 0 does (see `dormant.rs`).
    pub(crate) dormant: AtomicU32,
    stopped: AtomicBool,
    /// What callers waiting for the stop wait on: made by the first of them (few
    /// instances ever have one), and notified under the lock that sets `stopped`.
    stop_waiters: Mutex<Option<Arc<Notify>>>,
}

impl InstanceCell {
    pub(crate) fn new() -> Self {
        Self {
            keep_awake: AtomicU32::new(0),
            sleep_requested: AtomicBool::new(false),
            destroy_requested: AtomicBool::new(false),
            inbox_depth: AtomicUsize::new(0),
            inbox: Inbox::default(),
            draining: AtomicBool::new(false),
            nudged: AtomicBool::new(false),
            dormant: AtomicU32::new(0),
            stopped: AtomicBool::new(false),
            stop_waiters: Mutex::new(None),
        }
    }

    /// Wakes the instance task so it reads the flags and the shared core again.
    pub(crate) fn nudge(&self) {
        self.nudged.store(true, Ordering::Release);
        self.inbox.wake();
    }

    /// Ready once after every [`nudge`](Self::nudge).
    pub(crate) fn poll_nudged(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.nudged.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        self.inbox.register(cx.waker());
        // A nudge between the check and the registration must not be missed.
        if self.nudged.swap(false, Ordering::AcqRel) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Whether something waits for the task: a queued call, a nudge, a stop request.
    pub(crate) fn has_work(&self) -> bool {
        !self.inbox.is_empty() || self.nudged.load(Ordering::Acquire) || self.stop_requested()
    }

    pub(crate) fn hold(&self) {
        self.keep_awake.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn release(&self) {
        if self.keep_awake.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.nudge();
        }
    }

    pub(crate) fn held(&self) -> bool {
        self.keep_awake.load(Ordering::Acquire) > 0
    }

    pub(crate) fn request_sleep(&self) {
        self.sleep_requested.store(true, Ordering::Release);
        self.nudge();
    }

    pub(crate) fn request_destroy(&self) {
        self.destroy_requested.store(true, Ordering::Release);
        self.nudge();
    }

    pub(crate) fn sleep_requested(&self) -> bool {
        self.sleep_requested.load(Ordering::Acquire)
    }

    pub(crate) fn destroy_requested(&self) -> bool {
        self.destroy_requested.load(Ordering::Acquire)
    }

    /// Whether the actor was asked to sleep or to be destroyed.
    pub(crate) fn stop_requested(&self) -> bool {
        self.sleep_requested() || self.destroy_requested()
    }

    /// Calls waiting for the task, queued or taken but not started.
    pub(crate) fn depth(&self) -> usize {
        self.inbox_depth.load(Ordering::Acquire)
    }

    /// Marks whether the task is working through queued calls (see `draining`).
    pub(crate) fn set_draining(&self, draining: bool) {
        if self.draining.load(Ordering::Relaxed) != draining {
            self.draining.store(draining, Ordering::Release);
        }
    }

    /// Whether the task is working through queued calls.
    pub(crate) fn draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    fn stop_waiters(&self) -> std::sync::MutexGuard<'_, Option<Arc<Notify>>> {
        // Nothing panics under this lock.
        self.stop_waiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn mark_stopped(&self) {
        let waiters = self.stop_waiters();
        self.stopped.store(true, Ordering::Release);
        if let Some(notify) = &*waiters {
            notify.notify_waiters();
        }
    }

    pub(crate) async fn stopped(&self) {
        let notified = {
            let mut waiters = self.stop_waiters();
            if self.stopped.load(Ordering::Acquire) {
                return;
            }
            // Registered before the lock is let go (a `Notified` receives
            // `notify_waiters` from its creation on), so the stop cannot slip between
            // the look at the flag and the wait.
            waiters.get_or_insert_default().clone().notified_owned()
        };
        notified.await;
    }
}
