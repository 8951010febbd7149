//! Intake: how the instance task takes calls from its inbox. Exclusive calls wait in
//! arrival order for their turn; shared ones start at once, up to `max_shared`; a call to
//! something the actor does not have is answered at once. Right after a turn, the
//! exclusive calls queued next run one after another (`run_queued`).

use std::sync::MutexGuard;
use std::sync::atomic::Ordering;

use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::sync::oneshot;

use crate::definition::{Access, Actor};
use crate::error::{ActorError, action_not_found};
use crate::key::ActorId;
use crate::mailbox::{Command, Reply};
use crate::route::Target;

use super::live::{Core, Finished, Live, PendingTurn, Started};
use super::phase::Stop;
use super::run::{Answering, Instance};
use super::scope::Scoped;
use super::turn::{self, Call, SharedDone};

/// What came of running queued calls on the state a turn holds ([`Live::run_queued`]).
pub(super) enum Ran<A> {
    /// This many turns finished and were answered through the gate; their saves are
    /// owed.
    Done(u32),
    /// A turn waits on something: it must be finished on the task.
    Waiting(PendingTurn<A>),
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
            Target::Action(action) => A::ACTIONS
                .iter()
                .position(|a| a.name == *action)
                .ok_or_else(|| action_not_found(A::NAME, action)),
            other => Err(target_not_found::<A>(other)),
        };
        let index = match found {
            Ok(index) => index,
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
        match A::ACTIONS[index].access {
            Access::Exclusive if self.exclusive.is_none() && self.waiting.is_empty() => {
                // Nothing runs or waits before it: start it now, under one lock, instead
                // of on the loop's next look (unless a caller holds the state in place).
                let mut core = self.live.lock();
                if core.committed.is_none() {
                    drop(core);
                    self.waiting.push_back((index, cmd));
                    return;
                }
                let Command {
                    args, reply, chain, ..
                } = cmd;
                let call = self.live.begin_turn(&mut core, Call { index, args, chain });
                // After the state is taken, so no caller slips in ahead of this call.
                self.take_from_inbox();
                drop(core);
                self.exclusive = Some((call, reply));
            }
            Access::Exclusive => self.waiting.push_back((index, cmd)),
            Access::Shared => {
                self.take_from_inbox();
                let Command {
                    args, reply, chain, ..
                } = cmd;
                let call = Call { index, args, chain };
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

impl<A: Actor> Live<A> {
    /// For the task, right after a turn finished: runs the exclusive calls at the head of
    /// the inbox one after another, up to `limit`, each under one lock and without the
    /// loop's look between them. Each takes the state from the core, runs outside the lock
    /// (user code never runs under it) and puts it back with its save deferred, and its
    /// reply goes to the gate. The caller must have no call taken and not started (they go
    /// first).
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
            let Some(cmd) = self.cell().inbox.take_exclusive(|name| {
                A::ACTIONS
                    .iter()
                    .position(|a| a.name == name && a.access == Access::Exclusive)
            }) else {
                break;
            };
            self.cell().set_draining(true);
            let (
                index,
                Command {
                    args, reply, chain, ..
                },
            ) = cmd;
            let started;
            (core, started) = self.start_turn(core, Call { index, args, chain });
            // After the state was taken, so no caller slipped in ahead of this call.
            self.cell().inbox_depth.fetch_sub(1, Ordering::AcqRel);
            let (done, scope) = match started {
                Started::Done(done, scope) => (done, scope),
                Started::Waiting(turn) => return (core, Ran::Waiting((turn, reply))),
            };
            ran += 1;
            match self.finish_turn(&mut core, done, scope, true) {
                Finished::Reply { needs, result } => core.gate.reply(needs, reply, result),
                Finished::Crash { result, err } => {
                    let _ = reply.send(result);
                    core.phase.fail(err);
                    return (core, Ran::Crashed);
                }
            }
        }
        (core, Ran::Done(ran))
    }
}

pub(super) fn destroyed<A: Actor>(id: &ActorId) -> ActorError {
    ActorError::destroyed(A::NAME, id)
}

/// The error for a call to something the actor does not have besides actions: it
/// declares no queues yet.
pub(super) fn target_not_found<A: Actor>(target: &Target) -> ActorError {
    ActorError::queue_not_found(A::NAME, target.name(), &[])
}
