//! What one commit writes for one actor.

use std::borrow::Cow;
use std::sync::Arc;

use crate::key::{ActorId, ActorKey};

/// One change to an actor's stored records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOp {
    /// Registers the actor under its kind and key; fails if the key is taken.
    CreateActor {
        /// The kind's name.
        kind: String,
        /// The key.
        key: ActorKey,
    },
    /// Writes one record.
    Put {
        /// The record's key; fixed keys (`keys::STATE`) are borrowed, not copied.
        key: Cow<'static, [u8]>,
        /// Its value, shared with whoever else holds it (the instance keeps the state's
        /// bytes to compare the next turn against), so queuing a write copies nothing.
        value: Arc<[u8]>,
    },
    /// Removes one record.
    Delete {
        /// The record's key.
        key: Vec<u8>,
    },
    /// Removes every record whose key starts with the prefix.
    DeletePrefix {
        /// The prefix.
        prefix: Vec<u8>,
    },
    /// Sets when the actor is next due (Unix time in milliseconds) in the driver's
    /// cross-actor alarm index, or clears it (`None`). Staged with the records that make
    /// the actor due (a schedule, a workflow's durable sleep), so both commit together.
    SetAlarm {
        /// When, or `None` for never.
        at: Option<u64>,
    },
    /// Removes the actor and every record it has, and its alarm.
    DestroyActor,
}

/// The changes to one actor that commit together or not at all.
///
/// Later capabilities (queue messages, schedules, workflow history) add their records to
/// the same batch as the state, so they commit atomically with it. Most batches are one
/// turn's state, one op, which the batch holds without allocating.
///
/// ```
/// use actor::driver::{SaveBatch, SaveOp};
/// let mut batch = SaveBatch::new(actor::ActorId::from("a1"), 1);
/// batch.put(b"state".to_vec(), b"{}".to_vec());
/// batch.push(SaveOp::SetAlarm { at: Some(1_000) });
/// assert_eq!(batch.ops().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveBatch {
    /// The actor.
    pub actor: ActorId,
    /// Which life of the actor wrote the batch: every awake instance has its own epoch,
    /// larger than any before it in the process. A batch is built on the state its
    /// epoch's earlier batches wrote, so once one of them fails the driver refuses the
    /// epoch's later batches (see [`Fences`](super::Fences)).
    pub epoch: u64,
    ops: Ops,
}

/// A batch's changes, in order: the first inline, more in a `Vec`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Ops {
    #[default]
    None,
    One(SaveOp),
    Many(Vec<SaveOp>),
}

impl SaveBatch {
    /// An empty batch for one actor, written by its instance of `epoch`.
    pub fn new(actor: ActorId, epoch: u64) -> Self {
        Self {
            actor,
            epoch,
            ops: Ops::None,
        }
    }

    /// Adds a change, applied after those already in the batch.
    ///
    /// ```
    /// use actor::driver::{SaveBatch, SaveOp};
    /// let mut batch = SaveBatch::new(actor::ActorId::from("a1"), 1);
    /// batch.push(SaveOp::DestroyActor);
    /// assert_eq!(batch.ops(), [SaveOp::DestroyActor]);
    /// ```
    pub fn push(&mut self, op: SaveOp) -> &mut Self {
        self.ops = match std::mem::take(&mut self.ops) {
            Ops::None => Ops::One(op),
            Ops::One(first) => Ops::Many(vec![first, op]),
            Ops::Many(mut ops) => {
                ops.push(op);
                Ops::Many(ops)
            }
        };
        self
    }

    /// Adds changes in order (see [`push`](Self::push)).
    ///
    /// ```
    /// use actor::driver::{SaveBatch, SaveOp};
    /// let mut batch = SaveBatch::new(actor::ActorId::from("a1"), 1);
    /// batch.extend([SaveOp::SetAlarm { at: None }, SaveOp::DestroyActor]);
    /// assert_eq!(batch.ops().len(), 2);
    /// ```
    pub fn extend(&mut self, ops: impl IntoIterator<Item = SaveOp>) -> &mut Self {
        for op in ops {
            self.push(op);
        }
        self
    }

    /// The changes, in the order they apply.
    ///
    /// ```
    /// let batch = actor::driver::SaveBatch::new(actor::ActorId::from("a1"), 1);
    /// assert!(batch.ops().is_empty());
    /// ```
    pub fn ops(&self) -> &[SaveOp] {
        match &self.ops {
            Ops::None => &[],
            Ops::One(op) => std::slice::from_ref(op),
            Ops::Many(ops) => ops,
        }
    }

    /// The changes, to edit in place (a test that builds a conflicting batch, say).
    ///
    /// ```
    /// use actor::driver::{SaveBatch, SaveOp};
    /// let mut batch = SaveBatch::new(actor::ActorId::from("a1"), 1);
    /// batch.push(SaveOp::DestroyActor);
    /// batch.ops_mut()[0] = SaveOp::SetAlarm { at: None };
    /// assert_eq!(batch.ops(), [SaveOp::SetAlarm { at: None }]);
    /// ```
    pub fn ops_mut(&mut self) -> &mut [SaveOp] {
        match &mut self.ops {
            Ops::None => &mut [],
            Ops::One(op) => std::slice::from_mut(op),
            Ops::Many(ops) => ops,
        }
    }

    /// The actor and its changes in order, for a driver that applies them by value.
    ///
    /// ```
    /// use actor::driver::{SaveBatch, SaveOp};
    /// let mut batch = SaveBatch::new(actor::ActorId::from("a1"), 1);
    /// batch.push(SaveOp::DestroyActor);
    /// let (actor, ops) = batch.into_ops();
    /// assert_eq!((actor.as_str(), ops.count()), ("a1", 1));
    /// ```
    pub fn into_ops(self) -> (ActorId, impl Iterator<Item = SaveOp>) {
        let (one, many) = match self.ops {
            Ops::None => (None, Vec::new()),
            Ops::One(op) => (Some(op), Vec::new()),
            Ops::Many(ops) => (None, ops),
        };
        (self.actor, one.into_iter().chain(many))
    }

    /// Adds a write of one record.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use actor::driver::{SaveBatch, SaveOp, keys};
    /// let state: Arc<[u8]> = Arc::from(&b"{}"[..]);
    /// let mut batch = SaveBatch::new(actor::ActorId::from("a1"), 1);
    /// batch.put(keys::STATE, state.clone()); // borrowed key, shared value
    /// batch.put(b"q/1".to_vec(), b"x".to_vec()); // owned bytes work too
    /// assert!(matches!(&batch.ops()[0], SaveOp::Put { value, .. } if Arc::ptr_eq(value, &state)));
    /// ```
    pub fn put(
        &mut self,
        key: impl Into<Cow<'static, [u8]>>,
        value: impl Into<Arc<[u8]>>,
    ) -> &mut Self {
        self.push(SaveOp::Put {
            key: key.into(),
            value: value.into(),
        })
    }

    /// Whether the batch changes nothing.
    ///
    /// ```
    /// let batch = actor::driver::SaveBatch::new(actor::ActorId::from("a1"), 1);
    /// assert!(batch.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.ops().is_empty()
    }
}
