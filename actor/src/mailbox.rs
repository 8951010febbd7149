//! The sending side of an awake actor's inbox.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::oneshot;

use crate::error::ActorError;
use crate::instance::cell::{Envelope, InstanceCell};
use crate::payload::Payload;

/// The answer to one call.
pub type Reply = Result<Payload, ActorError>;

/// One call waiting in an inbox.
pub struct Command {
    /// The action's name.
    pub action: Cow<'static, str>,
    /// Its arguments.
    pub args: Payload,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Reply>,
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
    cell: Arc<InstanceCell>,
    capacity: usize,
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("depth", &self.cell.inbox_depth.load(Ordering::Relaxed))
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Mailbox {
    pub(crate) fn new(cell: Arc<InstanceCell>, capacity: usize) -> Self {
        Self { cell, capacity }
    }

    /// Puts a call in the inbox and returns where its answer will arrive.
    pub fn ask(
        &self,
        action: Cow<'static, str>,
        args: Payload,
    ) -> Result<oneshot::Receiver<Reply>, Rejected> {
        let depth = self.cell.inbox_depth.fetch_add(1, Ordering::AcqRel);
        if depth >= self.capacity {
            self.cell.inbox_depth.fetch_sub(1, Ordering::AcqRel);
            return Err(Rejected::Overloaded {
                capacity: self.capacity,
            });
        }
        let (reply, rx) = oneshot::channel();
        match self.cell.inbox.send(Envelope::Call(Box::new(Command {
            action,
            args,
            reply,
        }))) {
            Ok(()) => Ok(rx),
            Err(envelope) => {
                self.cell.inbox_depth.fetch_sub(1, Ordering::AcqRel);
                match envelope {
                    Envelope::Call(cmd) => Err(Rejected::Closed(cmd.args)),
                    Envelope::Signal => unreachable!("ask sends calls only"),
                }
            }
        }
    }

    /// Whether two mailboxes lead to the same instance.
    pub fn same_instance(&self, other: &Mailbox) -> bool {
        Arc::ptr_eq(&self.cell, &other.cell)
    }

    /// Calls accepted but not yet started.
    pub fn depth(&self) -> usize {
        self.cell.inbox_depth.load(Ordering::Relaxed)
    }

    /// Whether the instance behind this mailbox has stopped taking calls.
    pub fn is_closed(&self) -> bool {
        self.cell.inbox.is_closed()
    }

    /// Asks the instance to destroy itself; lifecycle requests skip the inbox, so user
    /// traffic cannot starve them.
    pub fn request_destroy(&self) {
        self.cell.request_destroy();
    }

    /// Asks the instance to sleep once its current calls finish.
    pub fn request_sleep(&self) {
        self.cell.request_sleep();
    }

    /// Waits until the instance has fully stopped (slept or destroyed).
    pub async fn stopped(&self) {
        self.cell.stopped().await;
    }
}
