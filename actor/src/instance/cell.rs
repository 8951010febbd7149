//! The flags and counters an awake instance shares with its context, guards and mailbox.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

use super::inbox::Inbox;

use crate::mailbox::Command;

/// What travels through an instance's inbox.
pub(crate) enum Envelope {
    /// A call, boxed so an idle inbox's buffer stays small.
    Call(Box<Command>),
    /// A flag changed: look at the cell again. Flags are read before every message, so a
    /// signal queued behind calls never delays the request it announces.
    Signal,
}

/// Shared between the instance task and everything that can hold it awake or ask it to stop.
#[derive(Debug)]
pub(crate) struct InstanceCell {
    keep_awake: AtomicUsize,
    sleep_requested: AtomicBool,
    destroy_requested: AtomicBool,
    /// Calls accepted but not yet started.
    pub(crate) inbox_depth: AtomicUsize,
    /// The inbox, also used to wake the instance when a flag changes.
    pub(crate) inbox: Inbox,
    stopped: AtomicBool,
    stopped_notify: Notify,
}

impl InstanceCell {
    pub(crate) fn new() -> Self {
        Self {
            keep_awake: AtomicUsize::new(0),
            sleep_requested: AtomicBool::new(false),
            destroy_requested: AtomicBool::new(false),
            inbox_depth: AtomicUsize::new(0),
            inbox: Inbox::default(),
            stopped: AtomicBool::new(false),
            stopped_notify: Notify::new(),
        }
    }

    fn signal(&self) {
        // A closed inbox means the instance is stopping and reads the flags anyway.
        let _ = self.inbox.send(Envelope::Signal);
    }

    pub(crate) fn hold(&self) {
        self.keep_awake.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn release(&self) {
        if self.keep_awake.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.signal();
        }
    }

    pub(crate) fn held(&self) -> bool {
        self.keep_awake.load(Ordering::Acquire) > 0
    }

    pub(crate) fn request_sleep(&self) {
        self.sleep_requested.store(true, Ordering::Release);
        self.signal();
    }

    pub(crate) fn request_destroy(&self) {
        self.destroy_requested.store(true, Ordering::Release);
        self.signal();
    }

    pub(crate) fn sleep_requested(&self) -> bool {
        self.sleep_requested.load(Ordering::Acquire)
    }

    pub(crate) fn destroy_requested(&self) -> bool {
        self.destroy_requested.load(Ordering::Acquire)
    }

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
