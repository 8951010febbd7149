//! An awake instance's inbox: a locked queue of calls and the task's one waker.
//!
//! Smaller than a tokio channel (an idle inbox is a few dozen bytes, not a block of
//! slots), and it never makes a producer wait: capacity is enforced by the mailbox's
//! counter before a message is pushed.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

use crate::mailbox::Command;

/// A call, held by value: the queue's buffer is given back when the instance goes dormant
/// (see `compact`), so an idle actor keeps none, and a queued call costs no allocation.
pub(crate) type Envelope = Command;

/// Messages waiting for the instance task.
#[derive(Default)]
pub(crate) struct Inbox {
    queue: Mutex<Queue>,
    waker: AtomicWaker,
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Envelope>,
    closed: bool,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queue = self.lock();
        f.debug_struct("Inbox")
            .field("queued", &queue.items.len())
            .field("closed", &queue.closed)
            .finish()
    }
}

/// A queue that grew in a burst gives its memory back once drained.
const KEEP_CAPACITY: usize = 16;

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().expect("inbox lock poisoned")
    }

    /// Queues `envelope`, or hands it back if the inbox is closed (boxed: a command is
    /// large, and only a call racing a stop comes back).
    ///
    /// Only a message that finds the inbox empty wakes the task: the task waits (registers
    /// its waker) only after finding it empty, so while messages are queued it is awake
    /// or already woken, and it takes every one before it waits again.
    pub(crate) fn send(&self, envelope: Envelope) -> Result<(), Box<Envelope>> {
        let was_empty = {
            let mut queue = self.lock();
            if queue.closed {
                return Err(Box::new(envelope));
            }
            queue.items.push_back(envelope);
            queue.items.len() == 1
        };
        if was_empty {
            self.waker.wake();
        }
        Ok(())
    }

    /// Takes the next message: `Ready(None)` once closed and drained.
    fn take(&self) -> Poll<Option<Envelope>> {
        let mut queue = self.lock();
        match queue.items.pop_front() {
            Some(envelope) => {
                if queue.items.is_empty() && queue.items.capacity() > KEEP_CAPACITY {
                    queue.items.shrink_to(KEEP_CAPACITY);
                }
                Poll::Ready(Some(envelope))
            }
            None if queue.closed => Poll::Ready(None),
            None => Poll::Pending,
        }
    }

    /// For the task: the call at the head, if `pick` takes its target (and says what it
    /// is to the task).
    pub(crate) fn take_head<T>(
        &self,
        pick: impl FnOnce(&crate::route::Target) -> Option<T>,
    ) -> Option<(T, Envelope)> {
        let mut queue = self.lock();
        let picked = pick(&queue.items.front()?.target)?;
        queue.items.pop_front().map(|cmd| (picked, cmd))
    }

    /// The next message if one is there.
    pub(crate) fn try_recv(&self) -> Poll<Option<Envelope>> {
        self.take()
    }

    /// Waits for the next message.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Envelope>> {
        if let ready @ Poll::Ready(_) = self.take() {
            return ready;
        }
        self.waker.register(cx.waker());
        // A message sent between the check and the registration must not be missed.
        self.take()
    }

    /// Has `waker` woken by the next call sent into the empty inbox and by the next
    /// nudge (see [`wake`](Self::wake)), as the task's own would be.
    pub(crate) fn register(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
    }

    /// Whether no call waits (a closed inbox counts as work: the task must see it).
    pub(crate) fn is_empty(&self) -> bool {
        let queue = self.lock();
        queue.items.is_empty() && !queue.closed
    }

    /// Wakes the registered waker: the instance's nudge, which shares it.
    pub(crate) fn wake(&self) {
        self.waker.wake();
    }

    /// Frees the queue's buffer if nothing is queued.
    pub(crate) fn compact(&self) {
        let mut queue = self.lock();
        if queue.items.is_empty() {
            queue.items = VecDeque::new();
        }
    }

    /// Refuses new messages; those already queued are still delivered.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
    }

    /// Whether the inbox refuses new messages.
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(action: &'static str) -> Envelope {
        let (reply, _) = tokio::sync::oneshot::channel();
        Command {
            target: crate::route::Target::action(action),
            args: crate::payload::Payload::local(()),
            reply,
            chain: Default::default(),
            body: None,
        }
    }

    fn action(polled: Poll<Option<Envelope>>) -> Option<String> {
        match polled {
            Poll::Ready(Some(cmd)) => Some(cmd.target.name().to_owned()),
            _ => None,
        }
    }

    #[test]
    fn delivers_in_order_then_reports_closed() {
        let inbox = Inbox::default();
        assert!(inbox.send(call("a")).is_ok());
        assert!(inbox.send(call("b")).is_ok());
        inbox.close();
        assert!(inbox.send(call("c")).is_err());
        assert_eq!(action(inbox.try_recv()).as_deref(), Some("a"));
        assert_eq!(action(inbox.try_recv()).as_deref(), Some("b"));
        assert!(matches!(inbox.try_recv(), Poll::Ready(None)));
    }

    /// Counts its wakes.
    #[derive(Default)]
    struct Wakes(std::sync::atomic::AtomicUsize);

    impl futures_util::task::ArcWake for Wakes {
        fn wake_by_ref(this: &std::sync::Arc<Self>) {
            this.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn only_a_message_into_an_empty_inbox_wakes_the_task_and_none_is_missed() {
        let inbox = Inbox::default();
        let wakes = std::sync::Arc::new(Wakes::default());
        let waker = futures_util::task::waker(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let woken = || wakes.0.load(std::sync::atomic::Ordering::SeqCst);
        assert!(inbox.poll_recv(&mut cx).is_pending());
        for name in ["a", "b", "c"] {
            assert!(inbox.send(call(name)).is_ok());
        }
        assert_eq!(
            woken(),
            1,
            "the first message wakes the task, the others find it woken"
        );
        for name in ["a", "b"] {
            assert_eq!(action(inbox.poll_recv(&mut cx)).as_deref(), Some(name));
        }
        // Taken while messages remain: the task is awake, a new one needs no wake.
        assert!(inbox.send(call("d")).is_ok());
        assert_eq!(woken(), 1);
        for name in ["c", "d"] {
            assert_eq!(action(inbox.poll_recv(&mut cx)).as_deref(), Some(name));
        }
        // Empty again and waiting: the next message wakes it.
        assert!(inbox.poll_recv(&mut cx).is_pending());
        assert!(inbox.send(call("e")).is_ok());
        assert_eq!(woken(), 2);
        assert_eq!(action(inbox.poll_recv(&mut cx)).as_deref(), Some("e"));
    }

    #[test]
    fn gives_memory_back_after_a_burst() {
        let inbox = Inbox::default();
        for _ in 0..1000 {
            assert!(inbox.send(call("x")).is_ok());
        }
        while let Poll::Ready(Some(_)) = inbox.try_recv() {}
        assert!(inbox.lock().items.capacity() <= KEEP_CAPACITY);
    }
}
