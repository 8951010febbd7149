//! A turn's write set: the records a turn stages besides the state, committed in the same
//! batch as the state it produced, or not at all.
//!
//! Staging is scoped to the turn: a task-local set up around the turn's future (an
//! exclusive action, `on_create`, `on_wake`, `on_sleep`), wherever that future is polled
//! (in place on the caller's task, or on the actor's). Shared actions and tasks a turn
//! spawns have none, so they cannot stage. What a timed-out or panicking turn staged is
//! thrown away with its state.

use std::cell::RefCell;

use crate::driver::{SaveOp, keys};
use crate::error::{ActorError, codes};

tokio::task_local! {
    static STAGED: RefCell<Vec<SaveOp>>;
}

/// Runs `turn` with a write set of its own; returns its output and what it staged.
pub(super) async fn staging<F: Future>(turn: F) -> (F::Output, Vec<SaveOp>) {
    STAGED
        .scope(RefCell::new(Vec::new()), async move {
            let output = turn.await;
            (output, STAGED.with(RefCell::take))
        })
        .await
}

/// Stages a write of one record (or a delete) in the running exclusive turn's batch. The
/// runtime's own capabilities use it (queue acknowledgements, schedules, workflow
/// history); it is reached through `actor::__private::stage`.
pub fn stage(op: SaveOp) -> Result<(), ActorError> {
    match &op {
        SaveOp::Put { key, .. } if &**key == keys::STATE => {
            return Err(ActorError::internal(
                "stage",
                "the state record is written by the runtime, not staged",
            ));
        }
        SaveOp::CreateActor { .. } | SaveOp::DestroyActor => {
            return Err(ActorError::internal(
                "stage",
                "a turn stages records; creating or destroying the actor is not one",
            ));
        }
        SaveOp::Put { .. }
        | SaveOp::Delete { .. }
        | SaveOp::DeletePrefix { .. }
        | SaveOp::SetAlarm { .. } => {}
    }
    STAGED
        .try_with(|staged| staged.borrow_mut().push(op))
        .map_err(|_| {
            ActorError::of(
                codes::INTERNAL,
                "records can only be staged inside an exclusive turn (an action taking \
                 `&mut self`, `on_create`, `on_wake` or `on_sleep`), on the turn's own task",
            )
        })
}
