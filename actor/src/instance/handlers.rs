//! The task's side of queues and schedules: ending a handler's turn (the message removed
//! with the state it produced, or retried, or dead-lettered), the dead-letter calls, which
//! read storage off the loop and then change the queues on it, and firing a schedule
//! (its action's turn commits the schedule's removal or its next time).

use std::sync::{Arc, MutexGuard};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::definition::{Access, Actor};
use crate::driver::{Record, SaveOp, StorageError, keys};
use crate::error::ActorError;
use crate::mailbox::{Prepared, Reply};
use crate::payload::{Encoding, Payload};
use crate::queue::{self, DeadLetter, DeadLetterOp};
use crate::route::Target;

use super::intake::{Answer, Work};
use super::live::{Core, Finished, Live, Started};
use super::run::{End, Instance};
use super::schedules::{Book, Firing};
use super::scope::{CallChain, Scope, Scoped};
use super::turn::{Call, TurnDone};

/// A call that reads storage off the loop: a dead-letter call, or a workflow's history.
pub(super) enum Job {
    DeadLetters(DeadLetterOp),
    History(crate::workflow::WorkflowId),
}

/// A call whose read of storage finished.
pub(super) struct JobDone {
    job: Job,
    reply: oneshot::Sender<Reply>,
    read: Result<Vec<Record>, StorageError>,
}

impl<A: Actor> Instance<A> {
    /// Ends the turn of message `id`'s handler on the task (see
    /// [`Live::conclude_message`]); the messages of its queue that waited for it come
    /// next, in order.
    pub(super) fn finish_message(
        &mut self,
        id: u64,
        scope: Option<Arc<dyn Scope>>,
        done: TurnDone<A>,
    ) -> Result<(), End> {
        // As an action's turn (records the handler staged still commit now).
        let defer = self.defer_save();
        let mut core = self.live.lock();
        let released = self
            .live
            .conclude_message(&mut core, id, scope, done, defer)
            .map_err(End::Crash)?;
        for released in released.iter().rev() {
            self.waiting.push_front(Work::Message(*released));
        }
        Self::run_queued(
            &self.live,
            core,
            &self.waiting,
            &mut self.deferred,
            &mut self.exclusive,
        )
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

    /// Starts a call that reads storage off the loop: the actor's dead letters, or a
    /// workflow's history.
    pub(super) fn start_job(&mut self, job: Job, reply: oneshot::Sender<Reply>) {
        let driver = self.live.driver.clone();
        let id = self.live.id().clone();
        let prefix = match &job {
            Job::DeadLetters(_) => keys::DEAD_LETTERS.to_vec(),
            Job::History(workflow) => crate::workflow::record::history_prefix(workflow.as_str()),
        };
        let job = async move {
            let read = driver.scan(&id, &prefix).await;
            JobDone { job, reply, read }
        };
        self.jobs
            .get_or_insert_with(FuturesUnordered::new)
            .push(job.boxed());
    }

    /// Answers a dead-letter call from what it read; a replay or a discard commits its
    /// change, and is answered once that is durable.
    pub(super) fn finish_job(&mut self, done: JobDone) {
        let JobDone { job, reply, read } = done;
        let records = match read {
            Ok(records) => records,
            Err(err) => {
                let _ = reply.send(Err(ActorError::from_storage(err)));
                return;
            }
        };
        let op = match job {
            Job::DeadLetters(op) => op,
            Job::History(_) => {
                let history = super::workflows::history(records);
                let _ = reply.send(Ok(Payload::local(history)));
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

impl<A: Actor> Live<A> {
    /// Ends the turn of message `id`'s handler (on the task, or in place): on success the
    /// message is removed in the commit of the state it produced, and a waiting sender
    /// gets the result once that is durable; on failure the turn's changes are gone
    /// already (`turn::exclusive`), and the retry or the dead letter is committed on its
    /// own. Returns the messages of its queue that waited for it, or the error that stops
    /// the instance (a waiting sender has been answered with it).
    pub(super) fn conclude_message(
        &self,
        core: &mut Core<A>,
        id: u64,
        scope: Option<Arc<dyn Scope>>,
        mut done: TurnDone<A>,
        defer: bool,
    ) -> Result<Vec<u64>, ActorError> {
        let failure = done.failure();
        let clock = self.host().clock();
        let outcome = core
            .queues()
            .finished(id, failure.as_ref(), || (Instant::now(), clock.now_ms()));
        let answer = match failure {
            None => {
                done.staged.extend(outcome.ops);
                match self.finish_turn(core, done, scope, defer) {
                    Finished::Reply { needs, result } => Ok((needs, result)),
                    Finished::Crash { result, err } => Err((result, err)),
                }
            }
            Some(err) => match self.finish_turn(core, done, scope, false) {
                Finished::Crash { result, err } => Err((result, err)),
                Finished::Reply { .. } => match self.save(core, outcome.ops) {
                    Ok(()) => Ok((core.gate.submitted(), Err(err))),
                    Err(save) => Err((Err(save.clone()), save)),
                },
            },
        };
        match (answer, outcome.waiter) {
            (Ok((needs, result)), Some(waiter)) => {
                core.gate.reply(needs, waiter, result);
                Ok(outcome.released)
            }
            (Ok(_), None) => Ok(outcome.released),
            (Err((result, err)), waiter) => {
                if let Some(waiter) = waiter {
                    let _ = waiter.send(result);
                }
                Err(err)
            }
        }
    }
}

/// How a message handled as soon as it was sent ([`Live::handle_sent`]) left its send.
pub(super) enum Handled<A: Actor> {
    /// The handler finished (or failed, its retry or dead letter recorded): the send is
    /// answered once commit `needs` is durable.
    Done(u64),
    /// The handler waits: its turn goes on on the task, and the send is answered once
    /// commit `needs` (which stores the message) is durable.
    Waiting(Scoped<BoxFuture<'static, TurnDone<A>>>, u64),
    /// The instance stopped, or failed (its phase says why): the send's answer.
    Failed(ActorError),
}

impl<A: Actor> Live<A> {
    /// Runs the handler of a message just sent, on this task, with the state taken: the
    /// caller's in place (`send_in_place`), or the instance task's in a queued run
    /// (`run_queued`). Nothing may be queued before it, nor stored before it in its
    /// queue. The message gets an id, and its handler the sender's typed value (or a copy
    /// of the body); it is stored (as running, on its first attempt) only if the handler
    /// fails or has to wait, so a message handled at once is never written. With `defer` a
    /// durable save is left to the end of the task's run, as for its actions; without, it
    /// is made now.
    pub(super) fn handle_sent<'a>(
        &'a self,
        mut core: MutexGuard<'a, Core<A>>,
        Prepared {
            queue: index,
            encoding,
            body,
            typed,
        }: Prepared,
        defer: bool,
    ) -> (MutexGuard<'a, Core<A>>, u64, Handled<A>) {
        let id = core.queues().next_id();
        let delivery = queue::Delivery {
            id: queue::MessageId::from(id),
            queue: A::QUEUES[index].name,
            attempt: 1,
            awaited: false,
        };
        let message = typed.unwrap_or_else(|| Payload::Encoded(encoding, body.clone()));
        let (mut core, started) = self.start_turn(core, Call::message(index, message, delivery));
        if core.phase.is_retired() {
            // Only after a storage failure stopped the task mid-call: this turn's state
            // must not reach storage behind the next instance's back.
            return (core, id, Handled::Failed(self.stopped_error()));
        }
        let succeeded = matches!(&started, Started::Done(done, _) if done.failure().is_none());
        if !succeeded {
            let now_ms = self.host().clock().now_ms();
            core.queues().adopt(index, id, encoding, body, now_ms);
        }
        let handled = match started {
            Started::Done(done, scope) => {
                // A message handled at once was never stored, nor has a waiter: only a
                // failed one (adopted above) has a record to conclude.
                let concluded = if succeeded {
                    match self.finish_turn(&mut core, done, scope, defer) {
                        Finished::Reply { .. } => Ok(()),
                        Finished::Crash { err, .. } => Err(err),
                    }
                } else {
                    self.conclude_message(&mut core, id, scope, done, defer)
                        .map(drop)
                };
                let concluded = concluded.and_then(|()| {
                    if defer {
                        Ok(())
                    } else {
                        self.save_owed(&mut core)
                    }
                });
                match concluded {
                    // Deferred, the reply waits for the run's commit if the handler left
                    // the state to save (`needs`); saved now, for what was submitted.
                    Ok(()) if defer => Handled::Done(self.needs(&core).max(core.gate.submitted())),
                    Ok(()) => Handled::Done(core.gate.submitted()),
                    Err(err) => {
                        core.phase.fail(err.clone());
                        Handled::Failed(err)
                    }
                }
            }
            Started::Waiting(turn) => Handled::Waiting(turn, core.gate.submitted() + 1),
        };
        (core, id, handled)
    }
}

impl<A: Actor> Instance<A> {
    /// Fires schedule `id`, whose turn in `waiting` has come: an exclusive action starts
    /// as the task's turn, and the schedule's removal or next time commits with it; a
    /// message is stored in its queue in one commit with the schedule's change; a shared
    /// action (which changes no state) starts once the schedule's change is saved. A
    /// schedule whose action or queue the kind no longer has is logged and removed.
    pub(super) fn fire_schedule(
        &mut self,
        live: &Live<A>,
        core: &mut Core<A>,
        id: u64,
    ) -> Result<(), ActorError> {
        let clock = live.host().clock();
        let now_ms = clock.now_ms();
        let min = live.config().min_schedule_interval;
        let fired = live
            .ctx
            .with_book(|book| book.fire(id, now_ms, clock.started_ms(), min));
        let Some(Firing { call, ops }) = fired else {
            return Ok(());
        };
        let Some((target, args)) = call else {
            return live.save(core, ops);
        };
        let gone = |what: &Target| {
            tracing::error!(
                schedule = id,
                call = %what,
                "a schedule calls what actor kind `{}` no longer has; the schedule is removed",
                A::NAME
            );
            Book::drop_schedule(id)
        };
        match &target {
            Target::Action(name) => match A::ACTIONS.iter().position(|a| a.name == *name) {
                Some(index) if A::ACTIONS[index].access == Access::Exclusive => {
                    let call = Call::action(index, args, CallChain::default());
                    let call = live.begin_turn(core, call);
                    self.exclusive = Some((call, Answer::Schedule { id, ops }));
                    Ok(())
                }
                Some(index) => {
                    live.save(core, ops)?;
                    let call = Call::action(index, args, CallChain::default());
                    match live.begin_shared(core, call) {
                        Ok((call, _)) => {
                            core.shared_waiting += 1;
                            self.run_shared(call, logged(id, name.to_string()));
                        }
                        Err(err) => scheduled_failed(id, name, &err),
                    }
                    Ok(())
                }
                None => live.save(core, gone(&target)),
            },
            Target::Send(name) => {
                let Some(queue) = A::QUEUES.iter().position(|q| q.name == *name) else {
                    return live.save(core, gone(&target));
                };
                let (encoding, body) = args.into_encoded(Encoding::Json)?;
                match core.queues().send(live.id(), queue, encoding, body, now_ms) {
                    Ok(message) => {
                        // The message (owed) and the schedule's change, in one commit.
                        live.save(core, ops)?;
                        if A::QUEUES[queue].handled {
                            self.waiting.push_back(Work::Message(message));
                        }
                    }
                    Err(err) => {
                        scheduled_failed(id, name, &err);
                        live.save(core, ops)?;
                    }
                }
                Ok(())
            }
            other => live.save(core, gone(other)),
        }
    }

    /// Ends the turn of a scheduled action: the schedule's removal or next time (`ops`)
    /// commits with the state the turn produced, before the turn's own records (so a turn
    /// that cancels its own schedule cancels it); a turn whose changes were thrown away
    /// commits only the schedule's change. A failure is logged: the schedule moves on.
    pub(super) fn finish_schedule(
        &mut self,
        id: u64,
        ops: Vec<SaveOp>,
        scope: Option<Arc<dyn Scope>>,
        mut done: TurnDone<A>,
    ) -> Result<(), End> {
        self.deferred = 0;
        if let Err(err) = &done.result {
            scheduled_failed(id, "its action", err);
        }
        let mut core = self.live.lock();
        let alone = if done.state.is_some() {
            done.staged.splice(0..0, ops);
            Vec::new()
        } else {
            ops
        };
        if let Finished::Crash { err, .. } = self.live.finish_turn(&mut core, done, scope, false) {
            return Err(End::Crash(err));
        }
        self.live.save(&mut core, alone).map_err(End::Crash)
    }
}

/// Logs a scheduled call that failed.
fn scheduled_failed(id: u64, call: &str, err: &ActorError) {
    tracing::warn!(schedule = id, call, error = %err, "a scheduled call failed; the schedule moves on");
}

/// Where the answer of a scheduled shared action goes: nobody waits for it, so its error
/// is logged.
fn logged(id: u64, action: String) -> oneshot::Sender<Reply> {
    let (reply, answer) = oneshot::channel();
    tokio::spawn(async move {
        if let Ok(Err(err)) = answer.await {
            scheduled_failed(id, &action, &err);
        }
    });
    reply
}
