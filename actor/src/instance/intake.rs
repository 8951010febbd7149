//! Intake: how the instance task takes calls from its inbox. Exclusive calls and queue
//! messages wait in arrival order for their turn; shared ones start at once, up to
//! `max_shared`; a call to something the actor does not have is answered at once. A send
//! is stored (and answered once durable) as it is taken; its handler's turn comes in
//! order. Right after a turn, the exclusive calls queued next run one after another
//! (`run_queued`).

use std::sync::MutexGuard;
use std::sync::atomic::Ordering;

use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::sync::oneshot;

use crate::connection::{ConnOp, Events, event_not_found};
use crate::definition::{Access, Actor};
use crate::error::{ActorError, action_not_found};
use crate::key::ActorId;
use crate::mailbox::{Command, Prepared, Reply};
use crate::payload::Payload;
use crate::route::Target;

use super::handlers::Handled;
use super::live::{Core, Finished, HandedTurn, Live, Started};
use super::looping::LoopTurn;
use super::phase::Stop;
use super::queues;
use super::run::{Answering, Instance};
use super::scope::Scoped;
use super::turn::{self, Call, SharedDone};

/// An exclusive turn waiting for its place, in arrival order.
pub(super) enum Work<A: Actor> {
    /// A call of exclusive action `index`, or a connection's open or close (`index`
    /// unused).
    Action(usize, Command),
    /// The handler of a stored message, by id.
    Message(u64),
    /// A change the run loop asked for.
    Loop(LoopTurn<A>),
    /// A schedule that is due, by id.
    Schedule(u64),
}

/// Where the end of an exclusive turn goes.
pub(super) enum Answer {
    /// To the caller of an action.
    Call(oneshot::Sender<Reply>),
    /// To the queues: the handler of this message ran.
    Message(u64),
    /// To the run loop, with the messages its turn completes.
    Loop {
        reply: oneshot::Sender<Reply>,
        complete: Vec<u64>,
    },
    /// To the schedules: the action of schedule `id` ran; `ops` remove the schedule or
    /// move it on, in the commit of the turn.
    Schedule {
        id: u64,
        ops: Vec<crate::driver::SaveOp>,
    },
}

/// What came of running queued calls on the state a turn holds ([`Live::run_queued`]).
pub(super) enum Ran<A> {
    /// This many turns finished and were answered through the gate; their saves are
    /// owed.
    Done(u32),
    /// A turn waits on something: it must be finished on the task.
    Waiting(HandedTurn<A>),
    /// A turn crashed the instance (its phase has failed).
    Crashed,
}

impl<A: Actor> Instance<A> {
    /// Runs a shared action on the task; its answer goes through the gate.
    pub(super) fn run_shared(
        &mut self,
        call: Scoped<BoxFuture<'static, SharedDone>>,
        reply: oneshot::Sender<Reply>,
    ) {
        self.shared
            .get_or_insert_with(FuturesUnordered::new)
            .push(Answering {
                call,
                reply: Some(reply),
            });
    }

    pub(super) fn take_from_inbox(&self) {
        self.cell().inbox_depth.fetch_sub(1, Ordering::AcqRel);
    }

    pub(super) fn accept(&mut self, cmd: Command, stopping: Option<Stop>) {
        let found = match &cmd.target {
            Target::Action(action) | Target::Connection(ConnOp::Action { name: action, .. }) => {
                A::ACTIONS
                    .iter()
                    .position(|a| a.name == *action)
                    .map(|index| (index, A::ACTIONS[index].access))
                    .ok_or_else(|| action_not_found(A::NAME, action))
            }
            // The hooks of an open or a close run as an exclusive turn (`index` unused).
            Target::Connection(ConnOp::Open(_) | ConnOp::Close(_)) => {
                Ok((usize::MAX, Access::Exclusive))
            }
            Target::Connection(ConnOp::Subscribe {
                conn,
                event,
                subscribe,
            }) => {
                self.take_from_inbox();
                let names = <A::Events as Events>::NAMES;
                let answer = match names.iter().find(|n| **n == event.as_str()) {
                    Some(name) => {
                        conn.set_subscribed(name, *subscribe);
                        Ok(Payload::local(()))
                    }
                    None => Err(event_not_found(A::NAME, event, names)),
                };
                let _ = cmd.reply.send(answer);
                return;
            }
            Target::Workflow(_) => {
                self.take_from_inbox();
                let Target::Workflow(op) = cmd.target else {
                    unreachable!("matched above")
                };
                if stopping == Some(Stop::Destroy) {
                    turn::rejected(destroyed::<A>(self.live.id()), cmd.reply);
                } else if A::WORKFLOWS.is_empty() {
                    let err = ActorError::workflow_not_found(A::NAME, cmd_name(&op), &[]);
                    turn::rejected(err, cmd.reply);
                } else {
                    self.workflow_op(op, cmd.args, cmd.reply);
                }
                return;
            }
            Target::Send(_) | Target::SendAndWait { .. } | Target::DeadLetters(_) => {
                self.take_from_inbox();
                if stopping == Some(Stop::Destroy) {
                    turn::rejected(destroyed::<A>(self.live.id()), cmd.reply);
                } else if A::QUEUES.is_empty() {
                    turn::rejected(target_not_found::<A>(&cmd.target), cmd.reply);
                } else if let Target::DeadLetters(op) = cmd.target {
                    self.start_job(super::handlers::Job::DeadLetters(op), cmd.reply);
                } else {
                    self.accept_send(cmd);
                }
                return;
            }
        };
        // A connection closed (its instance stopped, or the actor closed it) calls no more.
        let found = match &cmd.target {
            Target::Connection(ConnOp::Action { conn, .. }) => match conn.refusal() {
                Some(err) => Err(err),
                None => found,
            },
            _ => found,
        };
        let (index, access) = match found {
            Ok(found) => found,
            Err(err) => {
                self.take_from_inbox();
                turn::rejected(err, cmd.reply);
                return;
            }
        };
        if stopping == Some(Stop::Destroy) {
            self.take_from_inbox();
            turn::rejected(destroyed::<A>(self.live.id()), cmd.reply);
            return;
        }
        match access {
            Access::Exclusive if self.exclusive.is_none() && self.waiting.is_empty() => {
                // Nothing runs or waits before it: start it now, under one lock, instead
                // of on the loop's next look (unless a caller holds the state in place).
                let mut core = self.live.lock();
                if core.committed.is_none() {
                    drop(core);
                    self.waiting.push_back(Work::Action(index, cmd));
                    return;
                }
                let (call, reply) = Call::of(index, cmd);
                let call = self.live.begin_turn(&mut core, call);
                // After the state is taken, so no caller slips in ahead of this call.
                self.take_from_inbox();
                drop(core);
                self.exclusive = Some((call, Answer::Call(reply)));
            }
            Access::Exclusive => self.waiting.push_back(Work::Action(index, cmd)),
            Access::Shared => {
                self.take_from_inbox();
                let (call, reply) = Call::of(index, cmd);
                let begun = {
                    let mut core = self.live.lock();
                    let begun = self.live.begin_shared(&mut core, call);
                    core.shared_waiting += u32::from(begun.is_ok());
                    begun
                };
                match begun {
                    Ok((call, _)) => self.run_shared(call, reply),
                    Err(err) => turn::rejected(err, reply),
                }
            }
        }
    }
}

impl<A: Actor> Instance<A> {
    /// Stores a message for one of the actor's queues and answers the sender with its id
    /// once it is durable (or, for a send that waits, once its handler is done); its
    /// handler's turn takes its place in arrival order.
    fn accept_send(&mut self, cmd: Command) {
        let Command {
            target,
            args,
            reply,
            body,
            ..
        } = cmd;
        // A typed send is answered typed.
        let shape = args.reply_shape();
        let (name, wait) = match &target {
            Target::SendAndWait { queue, timeout } => (queue.as_ref(), Some(*timeout)),
            other => (other.name(), None),
        };
        let Some(queue) = A::QUEUES.iter().position(|q| q.name == name) else {
            return turn::rejected(target_not_found::<A>(&target), reply);
        };
        let Prepared { encoding, body, .. } = match Prepared::queued(queue, args, body) {
            Ok(message) => message,
            Err(err) => return turn::rejected(err, reply),
        };
        let now_ms = self.live.host().clock().now_ms();
        let mut core = self.live.lock();
        // Owed to the instance's next commit, which the task makes before it waits for
        // anything; when the handler runs at once, that is the commit of its turn, and a
        // message handled in it is never written at all.
        let id = match core
            .queues()
            .send(self.live.id(), queue, encoding, body, now_ms)
        {
            Ok(id) => id,
            Err(err) => return turn::rejected(err, reply),
        };
        match wait {
            None => {
                let needs = core.gate.submitted() + 1;
                core.gate.reply(needs, reply, queues::sent(shape, id));
            }
            Some(timeout) => {
                core.queues()
                    .wait_for(id, reply, timeout, tokio::time::Instant::now())
            }
        }
        drop(core);
        // A message for the run loop waits for it in its queue (`Loop::next`).
        if A::QUEUES[queue].handled {
            self.waiting.push_back(Work::Message(id));
        }
    }
}

impl<A: Actor> Live<A> {
    /// For the task, right after a turn finished: runs the exclusive turns at the head of
    /// the inbox one after another, up to `limit`: calls of exclusive actions, and sends to
    /// a queue with a handler that holds no earlier message (handled as a send in place
    /// is, `handle_sent`). Each runs under one lock, without the loop's look between them;
    /// it takes the state from the core, runs outside the lock (user code never runs under
    /// it) and puts it back with its save deferred, and its reply goes to the gate. The
    /// caller must have no call taken and not started (they go first).
    pub(super) fn run_queued<'a>(
        &'a self,
        mut core: MutexGuard<'a, Core<A>>,
        limit: u32,
    ) -> (MutexGuard<'a, Core<A>>, Ran<A>) {
        let mut ran = 0;
        // Once: a stop asked for meanwhile is seen by the task's next look, after this run.
        if !self.open_to(&core) {
            return (core, Ran::Done(0));
        }
        while ran < limit && core.committed.is_some() && core.phase.takes_calls() {
            let queues = core.queues.as_deref();
            let Some((head, cmd)) = self.cell().inbox.take_head(|target| match target {
                Target::Action(name) => A::ACTIONS
                    .iter()
                    .position(|a| a.name == *name && a.access == Access::Exclusive)
                    .map(Head::Action),
                Target::Send(name) => A::QUEUES
                    .iter()
                    .position(|q| q.name == *name && q.handled)
                    .filter(|&index| !queues.is_some_and(|q| q.holds(index)))
                    .map(Head::Send),
                _ => None,
            }) else {
                break;
            };
            self.cell().set_draining(true);
            let Command {
                args,
                reply,
                chain,
                body,
                ..
            } = cmd;
            match head {
                Head::Action(index) => {
                    let started;
                    (core, started) = self.start_turn(core, Call::action(index, args, chain));
                    // After the state was taken, so no caller slipped in ahead of this call.
                    self.cell().inbox_depth.fetch_sub(1, Ordering::AcqRel);
                    let (done, scope) = match started {
                        Started::Done(done, scope) => (done, scope),
                        Started::Waiting(turn) => {
                            return (core, Ran::Waiting((turn, Answer::Call(reply))));
                        }
                    };
                    match self.finish_turn(&mut core, done, scope, true) {
                        Finished::Reply { needs, result } => core.gate.reply(needs, reply, result),
                        Finished::Crash { result, err } => {
                            let _ = reply.send(result);
                            core.phase.fail(err);
                            return (core, Ran::Crashed);
                        }
                    }
                }
                Head::Send(index) => {
                    let shape = args.reply_shape();
                    let message = match Prepared::queued(index, args, body) {
                        Ok(message) => message,
                        Err(err) => {
                            self.cell().inbox_depth.fetch_sub(1, Ordering::AcqRel);
                            turn::rejected(err, reply);
                            continue;
                        }
                    };
                    let (handled_core, id, handled) = self.handle_sent(core, message, true);
                    core = handled_core;
                    // After the turn took the state (and here gave it back), as above.
                    self.cell().inbox_depth.fetch_sub(1, Ordering::AcqRel);
                    let sent = queues::sent(shape, id);
                    match handled {
                        Handled::Done(needs) => core.gate.reply(needs, reply, sent),
                        Handled::Waiting(turn, needs) => {
                            core.gate.reply(needs, reply, sent);
                            return (core, Ran::Waiting((turn, Answer::Message(id))));
                        }
                        Handled::Failed(err) => {
                            let _ = reply.send(Err(err));
                            return (core, Ran::Crashed);
                        }
                    }
                }
            }
            ran += 1;
        }
        (core, Ran::Done(ran))
    }
}

/// What the call at the inbox's head is to a queued run.
enum Head {
    /// A call of exclusive action `index`.
    Action(usize),
    /// A send to queue `index`, which has a handler.
    Send(usize),
}

/// The workflow a call names, for `workflow/not_found`.
fn cmd_name(op: &crate::workflow::WorkflowOp) -> &str {
    match op {
        crate::workflow::WorkflowOp::Start { name, .. } => name,
        _ => "(any)",
    }
}

pub(super) fn destroyed<A: Actor>(id: &ActorId) -> ActorError {
    ActorError::destroyed(A::NAME, id)
}

/// The error for a send to a queue the actor does not have.
pub(super) fn target_not_found<A: Actor>(target: &Target) -> ActorError {
    ActorError::queue_not_found(A::NAME, target.name(), &queues::queue_names::<A>())
}
