//! The flags and counters an awake instance shares with its context, guards and mailbox.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Shared between the instance task and everything that can hold it awake or ask it to stop.
#[derive(Debug, Default)]
pub(crate) struct InstanceCell {
    keep_awake: AtomicUsize,
    sleep_requested: AtomicBool,
    destroy_requested: AtomicBool,
    /// Calls accepted but not yet started.
    pub(crate) inbox_depth: AtomicUsize,
    /// Wakes the instance task when a flag or the keep-awake count changes.
    pub(crate) changed: Notify,
    stopped: AtomicBool,
    stopped_notify: Notify,
}

impl InstanceCell {
    pub(crate) fn hold(&self) {
        self.keep_awake.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn release(&self) {
        if self.keep_awake.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.changed.notify_one();
        }
    }

    pub(crate) fn held(&self) -> bool {
        self.keep_awake.load(Ordering::Acquire) > 0
    }

    pub(crate) fn request_sleep(&self) {
        self.sleep_requested.store(true, Ordering::Release);
        self.changed.notify_one();
    }

    pub(crate) fn request_destroy(&self) {
        self.destroy_requested.store(true, Ordering::Release);
        self.changed.notify_one();
    }

    pub(crate) fn sleep_requested(&self) -> bool {
        self.sleep_requested.load(Ordering::Acquire)
    }

    pub(crate) fn destroy_requested(&self) -> bool {
        self.destroy_requested.load(Ordering::Acquire)
    }
}

impl InstanceCell {
    pub(crate) fn mark_stopped(&self) {
        self.stopped.store(true, Ordering::Release);
        self.stopped_notify.notify_waiters();
    }

    pub(crate) async fn stopped(&self) {
        loop {
            let notified = self.stopped_notify.notified();
            if self.stopped.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}
