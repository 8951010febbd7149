//! The task's side of queues: ending a handler's turn (the message removed with the
//! state it produced, or retried, or dead-lettered), and the dead-letter calls, which
//! read storage off the loop and then change the queues on it.

use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::definition::Actor;
use crate::driver::{Record, StorageError, keys};
use crate::error::ActorError;
use crate::mailbox::Reply;
use crate::payload::Payload;
use crate::queue::{self, DeadLetter, DeadLetterOp};

use super::intake::Work;
use super::live::Finished;
use super::run::{End, Instance};
use super::scope::Scope;
use super::turn::TurnDone;

/// A dead-letter call whose read of storage finished.
pub(super) struct JobDone {
    op: DeadLetterOp,
    reply: oneshot::Sender<Reply>,
    read: Result<Vec<Record>, StorageError>,
}

impl<A: Actor> Instance<A> {
    /// Ends the turn of message `id`'s handler: on success the message is removed in
    /// the commit of the state it produced, and a waiting sender gets the result once that
    /// is durable; on failure the turn's changes are gone already (`turn::exclusive`), and
    /// the retry or the dead letter is committed on its own.
    pub(super) fn finish_message(
        &mut self,
        id: u64,
        scope: Option<Arc<dyn Scope>>,
        mut done: TurnDone<A>,
    ) -> Result<(), End> {
        // The commit below carries any deferred state, so a run of turns ends here.
        self.deferred = 0;
        let failure = match (&done.state, &done.result) {
            (Some(_), Ok(_)) => None,
            (_, Err(err)) => Some(err.clone()),
            (None, Ok(_)) => Some(ActorError::internal(
                "queue handler",
                "the turn's changes were discarded",
            )),
        };
        let (now, now_ms) = (Instant::now(), self.live.host().clock().now_ms());
        let mut core = self.live.lock();
        let outcome = core.queues().finished(id, failure.as_ref(), now, now_ms);
        // Messages of the same queue that waited for this one come next, in order.
        for released in outcome.released.iter().rev() {
            self.waiting.push_front(Work::Message(*released));
        }
        let answer = match failure {
            None => {
                done.staged.extend(outcome.ops);
                match self.live.finish_turn(&mut core, done, scope, false) {
                    Finished::Reply { needs, result } => Ok((needs, result)),
                    Finished::Crash { result, err } => Err((result, err)),
                }
            }
            Some(err) => match self.live.finish_turn(&mut core, done, scope, false) {
                Finished::Crash { result, err } => Err((result, err)),
                Finished::Reply { .. } => match self.live.save(&mut core, outcome.ops) {
                    Ok(()) => Ok((core.gate.submitted(), Err(err))),
                    Err(save) => Err((Err(save.clone()), save)),
                },
            },
        };
        match (answer, outcome.waiter) {
            (Ok((needs, result)), Some(waiter)) => {
                core.gate.reply(needs, waiter, result);
                Ok(())
            }
            (Ok(_), None) => Ok(()),
            (Err((result, err)), waiter) => {
                if let Some(waiter) = waiter {
                    let _ = waiter.send(result);
                }
                Err(End::Crash(err))
            }
        }
    }

    /// Ends a turn the run loop asked for: the messages it completes are removed in the
    /// commit of the state it produced (if it finished), and the loop gets its answer
    /// once that is durable.
    pub(super) fn finish_loop_turn(
        &mut self,
        scope: Option<Arc<dyn Scope>>,
        mut done: TurnDone<A>,
        reply: oneshot::Sender<Reply>,
        complete: &[u64],
    ) -> Result<(), End> {
        self.deferred = 0;
        let mut core = self.live.lock();
        if done.state.is_some() && !complete.is_empty() {
            done.staged.extend(core.queues().complete(complete));
        }
        match self.live.finish_turn(&mut core, done, scope, false) {
            Finished::Reply { needs, result } => {
                core.gate.reply(needs, reply, result);
                Ok(())
            }
            Finished::Crash { result, err } => {
                let _ = reply.send(result);
                Err(End::Crash(err))
            }
        }
    }

    /// Starts a dead-letter call: it reads the actor's dead letters off the loop.
    pub(super) fn start_job(&mut self, op: DeadLetterOp, reply: oneshot::Sender<Reply>) {
        let driver = self.live.driver.clone();
        let id = self.live.id().clone();
        let job = async move {
            let read = driver.scan(&id, keys::DEAD_LETTERS).await;
            JobDone { op, reply, read }
        };
        self.jobs
            .get_or_insert_with(FuturesUnordered::new)
            .push(job.boxed());
    }

    /// Answers a dead-letter call from what it read; a replay or a discard commits its
    /// change, and is answered once that is durable.
    pub(super) fn finish_job(&mut self, done: JobDone) {
        let JobDone { op, reply, read } = done;
        let records = match read {
            Ok(records) => records,
            Err(err) => {
                let _ = reply.send(Err(ActorError::from_storage(err)));
                return;
            }
        };
        let mut core = self.live.lock();
        let queues = core.queues();
        let mut letters: Vec<DeadLetter> = records
            .iter()
            .filter_map(|(key, value)| {
                let (name, seq) = queue::parse_key(keys::DEAD_LETTERS, key)?;
                if queues.is_gone(seq) {
                    return None;
                }
                let letter = queue::read_dead_letter(name, seq, value);
                if letter.is_none() {
                    tracing::warn!(
                        queue = name,
                        message = seq,
                        "an unreadable dead letter was skipped"
                    );
                }
                letter
            })
            .collect();
        letters.sort_by_key(|l| l.id);
        let target = match op {
            DeadLetterOp::List => {
                let _ = reply.send(Ok(Payload::local(letters)));
                return;
            }
            DeadLetterOp::Replay(id) | DeadLetterOp::Discard(id) => id,
        };
        let Some(letter) = letters.iter().find(|l| l.id == target) else {
            let err = ActorError::dead_letter_not_found(A::NAME, self.live.id(), target.get());
            let _ = reply.send(Err(err));
            return;
        };
        let changed = match op {
            DeadLetterOp::Replay(_) => {
                let now_ms = self.live.host().clock().now_ms();
                queues
                    .revive(self.live.id(), letter, now_ms)
                    .map(|(id, ops)| (Some(id), ops))
            }
            _ => Ok((None, queues.discard(letter))),
        };
        let (revived, ops) = match changed {
            Ok(changed) => changed,
            Err(err) => {
                let _ = reply.send(Err(err));
                return;
            }
        };
        if let Err(err) = self.live.save(&mut core, ops) {
            core.phase.fail(err.clone());
            let _ = reply.send(Err(err));
            return;
        }
        let needs = core.gate.submitted();
        let answer = match revived {
            Some(id) => Payload::local(crate::MessageId::from(id)),
            None => Payload::local(()),
        };
        core.gate.reply(needs, reply, Ok(answer));
        drop(core);
        if let Some(id) = revived {
            self.cell().set_draining(true);
            self.waiting.push_back(Work::Message(id));
        }
    }
}
