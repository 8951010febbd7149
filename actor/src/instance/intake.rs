//! Intake: how the instance task takes calls from its inbox. Exclusive calls wait in
//! arrival order for their turn; shared ones start at once, up to `max_shared`; a call to
//! something the actor does not have is answered at once.

use std::sync::atomic::Ordering;

use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::sync::oneshot;

use crate::definition::{Access, Actor};
use crate::error::{ActorError, action_not_found};
use crate::key::ActorId;
use crate::mailbox::{Command, Reply};
use crate::route::Target;

use super::phase::Stop;
use super::run::{Answering, Instance};
use super::scope::Scoped;
use super::turn::{self, Call, SharedDone};

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

pub(super) fn destroyed<A: Actor>(id: &ActorId) -> ActorError {
    ActorError::destroyed(A::NAME, id)
}

/// The error for a call to something the actor does not have besides actions: it
/// declares no queues yet.
pub(super) fn target_not_found<A: Actor>(target: &Target) -> ActorError {
    ActorError::queue_not_found(A::NAME, target.name(), &[])
}
