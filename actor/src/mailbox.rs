//! The sending side of an awake actor's inbox.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::oneshot;

use crate::connection::{ConnOp, Connection};
use crate::error::ActorError;
use crate::instance::cell::InstanceCell;
use crate::instance::scope::CallChain;
use crate::payload::{Encoding, Payload, ReplyShape};
use crate::route::Target;

/// The answer to one call.
pub type Reply = Result<Payload, ActorError>;

/// One call waiting in an inbox.
pub struct Command {
    /// What it calls.
    pub target: Target,
    /// Its arguments.
    pub args: Payload,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Reply>,
    /// The exclusive turns the call was made from, for deadlock detection.
    pub(crate) chain: CallChain,
    /// For a typed send, its message's bytes (JSON): the mailbox encodes a message in the
    /// caller's task, so the instance only stores bytes, and keeps `args` typed for a
    /// handler that runs at once. `None` for any other call, and for encoded messages.
    pub(crate) body: Option<Vec<u8>>,
}

/// An accepted call: answered already, or answered later through a channel.
#[derive(Debug)]
pub enum Asked {
    /// The caller ran the turn in place and it finished; this is the answer.
    Ready(Reply),
    /// The answer arrives here (when the actor's task ran the call, or when the writes it
    /// saw are durable).
    Waiting(oneshot::Receiver<Reply>),
    /// The caller's task has spent its tokio cooperative budget, so the call was queued
    /// although it could have run in place: waiting for this answer is the caller's
    /// yield (see [`Mailbox::ask`]).
    Yielding(oneshot::Receiver<Reply>),
}

/// The side of an awake instance that callers reach: its flags and inbox, and the ability
/// to run a call in place when the actor is idle.
pub(crate) trait Inlet: Send + Sync + 'static {
    /// The instance's flags and inbox.
    fn cell(&self) -> &InstanceCell;

    /// How many calls its inbox takes (`inbox` in the kind's options): asked only by a
    /// call that queues, so a mailbox (one in every handle and directory slot) is a
    /// single pointer.
    fn capacity(&self) -> usize;

    /// Runs the call in the caller's task if the actor can take it now without breaking
    /// arrival order; otherwise hands the arguments back for the inbox.
    /// `conn` is the connection a connected handle calls through (`ctx.conn()` in the
    /// turn), if any.
    fn call_in_place(
        &self,
        action: &str,
        args: Payload,
        chain: &CallChain,
        conn: Option<&Connection>,
    ) -> Result<Asked, Payload>;

    /// A message for queue `queue`, checked and encoded in the caller's task (so the
    /// instance only stores bytes) and within the queue's size limit; `queue/not_found`
    /// or `queue/message_too_large` otherwise, before anything is queued. A send that
    /// `waits` for its handler to a queue the run loop takes (which has no handler) is
    /// `queue/no_handler`.
    fn prepare_send(
        &self,
        queue: &str,
        waits: bool,
        message: Payload,
    ) -> Result<Prepared, ActorError>;

    /// The error for an exclusive call from inside an exclusive turn of this same actor
    /// (the caller's call chain holds it), which would wait for itself.
    fn refuse_reentry(&self, action: &str, chain: &CallChain) -> Option<ActorError>;

    /// Why the instance's destroy did not remove the actor, once it has stopped.
    fn destroy_failure(&self) -> Option<ActorError>;

    /// Handles a send (prepared by [`prepare_send`](Self::prepare_send)) in the caller's
    /// task if the actor can take it now without breaking arrival order; otherwise hands
    /// the message back for the inbox.
    /// The send is answered in `shape` (the shape of the message as the sender gave it).
    fn send_in_place(&self, message: Prepared, shape: ReplyShape) -> Result<Asked, Prepared>;
}

/// A message checked against its queue by [`Inlet::prepare_send`].
pub struct Prepared {
    /// The queue's index among the kind's queues.
    pub(crate) queue: usize,
    /// The message's encoding: the sender's for encoded bytes, JSON for a typed value.
    pub(crate) encoding: Encoding,
    /// The message as it is stored.
    pub(crate) body: Vec<u8>,
    /// The value of a typed send: a handler run in place takes it as it is, instead of
    /// decoding `body` (which is kept, to store the message should the handler fail).
    pub(crate) typed: Option<Payload>,
}

impl Prepared {
    /// The message as the inbox carries it ([`Command::args`] and [`Command::body`]):
    /// a typed send's value and its bytes, or the bytes of an encoded one.
    fn into_queued(self) -> (Payload, Option<Vec<u8>>) {
        match self.typed {
            Some(typed) => {
                debug_assert_eq!(self.encoding, Encoding::Json, "typed values encode as JSON");
                (typed, Some(self.body))
            }
            None => (Payload::Encoded(self.encoding, self.body), None),
        }
    }

    /// The message of a send queued as `args` and `body` ([`into_queued`](Self::into_queued)),
    /// for queue `queue`.
    pub(crate) fn queued(
        queue: usize,
        args: Payload,
        body: Option<Vec<u8>>,
    ) -> Result<Self, ActorError> {
        let (encoding, body, typed) = match (args, body) {
            (typed, Some(body)) => (Encoding::Json, body, Some(typed)),
            (Payload::Encoded(encoding, body), None) => (encoding, body, None),
            (Payload::Local(_), None) => {
                return Err(ActorError::internal(
                    "send",
                    "a typed message reached the inbox without its bytes",
                ));
            }
        };
        Ok(Self {
            queue,
            encoding,
            body,
            typed,
        })
    }
}

/// Why a call was not accepted.
#[derive(Debug)]
pub enum Rejected {
    /// The inbox holds `capacity` calls already: answer `actor/overloaded`.
    Overloaded {
        /// The inbox's capacity.
        capacity: usize,
    },
    /// The instance is stopping or stopped; the arguments come back for a retry on the
    /// next instance.
    Closed(Payload),
}

/// A cheap, cloneable sender to one awake instance.
///
/// Producers never wait on a full inbox: [`ask`](Self::ask) answers at once.
#[derive(Clone)]
pub struct Mailbox {
    inlet: Arc<dyn Inlet>,
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("depth", &self.depth())
            .field("capacity", &self.inlet.capacity())
            .finish()
    }
}

impl Mailbox {
    pub(crate) fn new(inlet: Arc<dyn Inlet>) -> Self {
        Self { inlet }
    }

    fn cell(&self) -> &InstanceCell {
        self.inlet.cell()
    }

    /// Delivers a call. When the actor is idle and nothing waits before this call, the
    /// caller runs the turn itself (see `docs/concurrency.md`); otherwise the call joins
    /// the inbox and the actor's task answers it.
    ///
    /// A call answered in place spends a unit of the caller task's tokio cooperative
    /// budget, as a channel receive does. Once the budget is spent, calls are queued even
    /// to an idle actor ([`Asked::Yielding`]): waiting for the actor's task is then the
    /// caller's yield, and the actor's task runs behind the other tasks already queued on
    /// the worker. (Tokio's own forced yield would also do, but its multi-thread scheduler
    /// answers it by waking an idle worker to steal the caller.)
    ///
    /// Action calls and sends (checked and encoded first, [`Inlet::prepare_send`]) run in
    /// place; a send that waits for its handler always goes through the inbox.
    pub fn ask(&self, target: &Target, args: Payload) -> Result<Asked, Rejected> {
        // One thread-local read; outside any turn (nearly every call) nothing more.
        let chain = CallChain::current();
        let in_place = tokio::task::coop::has_budget_remaining();
        let (args, body) = match target {
            Target::Action(action) | Target::Connection(ConnOp::Action { name: action, .. }) => {
                if !chain.is_empty()
                    && let Some(err) = self.inlet.refuse_reentry(action, &chain)
                {
                    return Ok(Asked::Ready(Err(err)));
                }
                let conn = match target {
                    Target::Connection(ConnOp::Action { conn, .. }) => Some(conn),
                    _ => None,
                };
                if in_place {
                    match self.inlet.call_in_place(action, args, &chain, conn) {
                        Ok(asked) => return Ok(asked),
                        Err(args) => (args, None),
                    }
                } else {
                    (args, None)
                }
            }
            Target::Send(queue) | Target::SendAndWait { queue, .. } => {
                let waits = matches!(target, Target::SendAndWait { .. });
                // A typed send is answered with a typed id, a by-name one with encoded.
                let shape = args.reply_shape();
                let message = match self.inlet.prepare_send(queue, waits, args) {
                    Ok(message) => message,
                    Err(err) => return Ok(Asked::Ready(Err(err))),
                };
                let message = if in_place && !waits {
                    match self.inlet.send_in_place(message, shape) {
                        Ok(asked) => return Ok(asked),
                        Err(message) => message,
                    }
                } else {
                    message
                };
                message.into_queued()
            }
            _ => (args, None),
        };
        let cell = self.cell();
        let depth = cell.inbox_depth.fetch_add(1, Ordering::AcqRel);
        let capacity = self.inlet.capacity();
        if depth >= capacity {
            cell.inbox_depth.fetch_sub(1, Ordering::AcqRel);
            return Err(Rejected::Overloaded { capacity });
        }
        let (reply, rx) = oneshot::channel();
        match cell.inbox.send(Command {
            target: target.clone(),
            args,
            reply,
            chain,
            body,
        }) {
            Ok(()) if in_place => Ok(Asked::Waiting(rx)),
            Ok(()) => Ok(Asked::Yielding(rx)),
            Err(cmd) => {
                cell.inbox_depth.fetch_sub(1, Ordering::AcqRel);
                Err(Rejected::Closed(cmd.args))
            }
        }
    }

    /// Whether two mailboxes lead to the same instance.
    pub fn same_instance(&self, other: &Mailbox) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.inlet), Arc::as_ptr(&other.inlet))
    }

    /// Calls accepted but not yet started.
    pub fn depth(&self) -> usize {
        self.cell().depth()
    }

    /// Whether the instance behind this mailbox has stopped taking calls.
    pub fn is_closed(&self) -> bool {
        self.cell().inbox.is_closed()
    }

    /// Asks the instance to destroy itself; lifecycle requests skip the inbox, so user
    /// traffic cannot starve them.
    pub fn request_destroy(&self) {
        self.cell().request_destroy();
    }

    /// Asks the instance to sleep once its current calls finish.
    pub fn request_sleep(&self) {
        self.cell().request_sleep();
    }

    /// Waits until the instance has fully stopped (slept or destroyed).
    pub async fn stopped(&self) {
        self.cell().stopped().await;
    }

    /// After [`stopped`](Self::stopped): why a requested destroy did not remove the
    /// actor's storage (the actor is still there and wakes on the next call), if it failed.
    pub fn destroy_failure(&self) -> Option<ActorError> {
        self.inlet.destroy_failure()
    }
}
