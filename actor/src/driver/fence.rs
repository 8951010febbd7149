//! Refusing the batches built on a failed one.
//!
//! An instance does not wait for one commit before queuing the next: turn 2's batch is
//! queued while turn 1's is in flight, and it holds turn 1's changes. If turn 1's batch
//! fails, committing turn 2's would make durable a change whose caller was told it
//! failed, and the next instance would wake on it. So once a batch fails, the driver
//! refuses every later batch of the same actor and epoch; a batch of a newer epoch (the
//! next instance, which loaded what is on disk) lifts the fence.

use std::collections::HashMap;

use super::{SaveBatch, StorageError};
use crate::key::ActorId;

/// The actors whose current epoch has had a batch fail.
///
/// Every driver keeps one where it decides the order of commits:
///
/// ```
/// use actor::driver::{Fences, SaveBatch, StorageError};
/// let mut fences = Fences::default();
/// let id = actor::ActorId::from("a1");
/// let (first, second) = (SaveBatch::new(id.clone(), 7), SaveBatch::new(id.clone(), 7));
/// fences.record(&first, &StorageError::Backend("disk full".into()));
/// assert!(matches!(fences.admit(&second), Err(StorageError::Fenced { .. })));
/// // The next instance of the actor writes again.
/// assert!(fences.admit(&SaveBatch::new(id, 8)).is_ok());
/// ```
#[derive(Debug, Default)]
pub struct Fences {
    failed: HashMap<ActorId, Fence>,
}

#[derive(Debug)]
struct Fence {
    epoch: u64,
    cause: String,
}

impl Fences {
    /// Whether `batch` may be committed: refused if an earlier batch of its actor and
    /// epoch (or of a newer epoch) failed.
    pub fn admit(&mut self, batch: &SaveBatch) -> Result<(), StorageError> {
        // The common case, checked without hashing the id.
        if self.failed.is_empty() {
            return Ok(());
        }
        match self.failed.get(&batch.actor) {
            None => Ok(()),
            Some(fence) if batch.epoch > fence.epoch => {
                self.failed.remove(&batch.actor);
                Ok(())
            }
            Some(fence) => Err(StorageError::Fenced {
                cause: fence.cause.clone(),
            }),
        }
    }

    /// Records that `batch` failed with `err`, fencing its epoch's later batches.
    pub fn record(&mut self, batch: &SaveBatch, err: &StorageError) {
        let cause = match err {
            StorageError::Fenced { cause } => cause.clone(),
            other => other.to_string(),
        };
        self.failed.insert(
            batch.actor.clone(),
            Fence {
                epoch: batch.epoch,
                cause,
            },
        );
    }
}
