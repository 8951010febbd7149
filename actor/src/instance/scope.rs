//! What a turn carries while it runs: its write set and its call chain, in one
//! task-local set up around the turn's future (so it moves with the future when a turn is
//! handed from a caller's task to the actor's).
//!
//! **The write set** holds the records a turn stages besides the state; they commit in
//! the same batch as the state it produced, or not at all. Exclusive actions, `on_create`,
//! `on_wake` and `on_sleep` have one; shared actions and tasks a turn spawns do not, so
//! they cannot stage. What a timed-out or panicking turn staged is thrown away with its
//! state.
//!
//! **The call chain** lists the exclusive turns a call is made from, across actors: an
//! exclusive action of X that calls Y, whose action calls X again. That inner call would
//! wait for the very turn that waits for it, so a call to an exclusive action of an actor
//! already on the chain fails at once with `actor/deadlock`. Calls queued in an inbox carry
//! the chain of their caller (`Command::chain`); shared actions pass theirs on.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use crate::driver::{SaveOp, keys};
use crate::error::{ActorError, codes};
use crate::key::ActorId;

struct TurnScope {
    /// `None` for a shared action: it cannot stage.
    staged: Option<RefCell<Vec<SaveOp>>>,
    /// The turns the call came from.
    chain: CallChain,
    /// This exclusive turn, not yet in `chain`: the chain is extended (an allocation)
    /// only when the turn makes a call that leaves the task.
    turn: Option<(&'static str, ActorId)>,
}

impl TurnScope {
    fn holds(&self, id: &ActorId) -> bool {
        self.turn.as_ref().is_some_and(|(_, own)| own == id) || self.chain.holds(id)
    }

    fn chain(&self) -> CallChain {
        match &self.turn {
            Some((kind, id)) => self.chain.entered(kind, id),
            None => self.chain.clone(),
        }
    }
}

tokio::task_local! {
    static SCOPE: TurnScope;
}

/// The exclusive turns a call is made from, outermost first.
#[derive(Clone, Default)]
pub(crate) struct CallChain(Option<Arc<[(&'static str, ActorId)]>>);

impl CallChain {
    /// The chain of the turn running on this task, if any.
    pub(crate) fn current() -> Self {
        SCOPE.try_with(TurnScope::chain).unwrap_or_default()
    }

    /// The chain with an exclusive turn of `kind` `id` at its end.
    fn entered(&self, kind: &'static str, id: &ActorId) -> Self {
        let mut turns = self.0.as_deref().unwrap_or_default().to_vec();
        turns.push((kind, id.clone()));
        Self(Some(turns.into()))
    }

    fn holds(&self, id: &ActorId) -> bool {
        self.0
            .as_deref()
            .is_some_and(|turns| turns.iter().any(|(_, t)| t == id))
    }
}

impl fmt::Display for CallChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (kind, id)) in self.0.as_deref().unwrap_or_default().iter().enumerate() {
            if i > 0 {
                f.write_str(" → ")?;
            }
            write!(f, "{kind} {id}")?;
        }
        Ok(())
    }
}

/// Runs an exclusive turn of `kind` `id`, called from `chain`, with a write set of its
/// own; returns its output and what it staged.
pub(super) async fn exclusive<F: Future>(
    chain: CallChain,
    kind: &'static str,
    id: &ActorId,
    turn: F,
) -> (F::Output, Vec<SaveOp>) {
    let scope = TurnScope {
        staged: Some(RefCell::new(Vec::new())),
        chain,
        turn: Some((kind, id.clone())),
    };
    SCOPE
        .scope(scope, async move {
            let output = turn.await;
            let staged = SCOPE.with(|scope| scope.staged.as_ref().map(RefCell::take));
            (output, staged.unwrap_or_default())
        })
        .await
}

/// Runs a shared action called from `chain`: it passes the chain on and cannot stage.
/// Called from outside any turn there is nothing to pass on, and no scope is set up (it
/// costs tens of nanoseconds a call).
pub(super) async fn shared<F: Future>(chain: CallChain, call: F) -> F::Output {
    if chain.0.is_none() {
        return call.await;
    }
    let scope = TurnScope {
        staged: None,
        chain,
        turn: None,
    };
    SCOPE.scope(scope, call).await
}

/// The error for a call to an exclusive action of `kind` `id` made from a chain that
/// already holds an exclusive turn of it, if this task's call is one.
pub(crate) fn reentry(kind: &str, id: &ActorId, action: &str) -> Option<ActorError> {
    let chain = SCOPE
        .try_with(|scope| scope.holds(id).then(|| scope.chain()))
        .ok()
        .flatten()?;
    Some(
        ActorError::of(
            codes::DEADLOCK,
            format!(
                "exclusive action `{action}` of actor `{kind}` {id} was called from inside an \
                 exclusive turn of that same actor (call chain: {chain}), so it would wait for \
                 the turn that waits for it; make the action shared (`&self`) if it only reads, \
                 or do the work in the calling turn"
            ),
        )
        .with_metadata(serde_json::json!({
            "actor": kind,
            "id": id,
            "action": action,
            "chain": chain.0.as_deref().unwrap_or_default().iter()
                .map(|(kind, id)| serde_json::json!({ "actor": kind, "id": id }))
                .collect::<Vec<_>>(),
        })),
    )
}

/// Stages a write of one record (or a delete, or an alarm) in the running exclusive
/// turn's batch. The runtime's own capabilities use it (queue acknowledgements,
/// schedules, workflow history); it is reached through `actor::__private::stage`.
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
    let staged = SCOPE.try_with(|scope| match &scope.staged {
        Some(staged) => {
            staged.borrow_mut().push(op);
            true
        }
        None => false,
    });
    if staged == Ok(true) {
        return Ok(());
    }
    Err(ActorError::of(
        codes::INTERNAL,
        "records can only be staged inside an exclusive turn (an action taking `&mut self`, \
         `on_create`, `on_wake` or `on_sleep`), on the turn's own task",
    ))
}
