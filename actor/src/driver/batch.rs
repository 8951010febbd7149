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
/// the same batch as the state, so they commit atomically with it.
///
/// ```
/// use actor::driver::{SaveBatch, SaveOp};
/// let mut batch = SaveBatch::new(actor::ActorId::from("a1"), 1);
/// batch.put(b"state".to_vec(), b"{}".to_vec());
/// assert_eq!(batch.ops.len(), 1);
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
    /// Its changes, applied in order.
    pub ops: Vec<SaveOp>,
}

impl SaveBatch {
    /// An empty batch for one actor, written by its instance of `epoch`, with room for
    /// one op (most batches are one turn's state) so the first push allocates 48 bytes,
    /// not a `Vec`'s default four ops.
    pub fn new(actor: ActorId, epoch: u64) -> Self {
        Self {
            actor,
            epoch,
            ops: Vec::with_capacity(1),
        }
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
    /// assert!(matches!(&batch.ops[0], SaveOp::Put { value, .. } if Arc::ptr_eq(value, &state)));
    /// ```
    pub fn put(
        &mut self,
        key: impl Into<Cow<'static, [u8]>>,
        value: impl Into<Arc<[u8]>>,
    ) -> &mut Self {
        self.ops.push(SaveOp::Put {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    /// Whether the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}
