//! What one commit writes for one actor.

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
        /// The record's key.
        key: Vec<u8>,
        /// Its value.
        value: Vec<u8>,
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
    /// Removes the actor and every record it has.
    DestroyActor,
}

/// The changes to one actor that commit together or not at all.
///
/// Later capabilities (queue messages, schedules, workflow history) add their records to
/// the same batch as the state, so they commit atomically with it.
///
/// ```
/// use actor::driver::{SaveBatch, SaveOp};
/// let mut batch = SaveBatch::new(actor::ActorId::from("a1"));
/// batch.put(b"state".to_vec(), b"{}".to_vec());
/// assert_eq!(batch.ops.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveBatch {
    /// The actor.
    pub actor: ActorId,
    /// Its changes, applied in order.
    pub ops: Vec<SaveOp>,
}

impl SaveBatch {
    /// An empty batch for one actor.
    pub fn new(actor: ActorId) -> Self {
        Self {
            actor,
            ops: Vec::new(),
        }
    }

    /// Adds a write of one record.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> &mut Self {
        self.ops.push(SaveOp::Put { key, value });
        self
    }

    /// Whether the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}
