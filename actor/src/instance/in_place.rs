//! The in-place path: a call to an idle actor runs on the caller's task.
//!
//! When nothing is queued before a call and no turn holds the state, the caller takes the
//! state, runs the turn on its own task and puts the state back, with the same save,
//! output gate, timeout, panic and tracing rules as the instance task applies. Most
//! actions finish on their first poll, so the round trip costs no task switch at all. An
//! action that has to wait is handed to the instance task after that first poll, so
//! dropping the caller never cancels a turn. The rules are in `docs/internals.md` (§8).

use std::cell::Cell;
use std::sync::MutexGuard;
use std::task::{Context, Poll, Waker};

use tokio::sync::oneshot;

use crate::connection::Connection;
use crate::definition::{Access, Actor};
use crate::error::{ActorError, action_not_found};
use crate::mailbox::{Asked, Inlet, Prepared};
use crate::payload::{Encoding, Payload, ReplyShape};

use super::cell::InstanceCell;
use super::handlers::Handled;
use super::intake::Answer;
use super::live::{Core, Finished, Live, Started};
use super::queues;
use super::scope::{self, CallChain};
use super::turn::{self, Call};

/// The runtime the current task runs on. Asking tokio clones its handle, an atomic
/// increment on a line that every worker shares, on every call; a task never changes
/// runtime and tokio's task ids are unique in the process, so the answer is kept per
/// thread for the task that asked last.
fn current_runtime() -> Option<tokio::runtime::Id> {
    thread_local! {
        static LAST: Cell<Option<(tokio::task::Id, tokio::runtime::Id)>> = const { Cell::new(None) };
    }
    let task = tokio::task::try_id();
    if let Some(task) = task
        && let Some((seen, runtime)) = LAST.get()
        && seen == task
    {
        return Some(runtime);
    }
    let runtime = tokio::runtime::Handle::try_current().ok()?.id();
    if let Some(task) = task {
        LAST.set(Some((task, runtime)));
    }
    Some(runtime)
}

impl<A: Actor> Live<A> {
    /// Whether a caller may take the state now: the instance is running, nothing is queued
    /// before the call, and the caller is on the actor's runtime.
    pub(super) fn open_to(&self, core: &Core<A>) -> bool {
        core.phase.takes_calls()
            && !self.cell().stop_requested()
            && current_runtime() == Some(self.runtime.id())
    }

    pub(super) fn exclusive_in_place(&self, call: Call) -> Result<Asked, Payload> {
        // Calls queued before this one go first, and while the task works through
        // queued calls this one joins them: both seen without touching the lock.
        if self.cell().depth() != 0 || self.cell().draining() {
            return Err(call.args);
        }
        let (mut core, started) = {
            let Ok(core) = self.core.try_lock() else {
                return Err(call.args);
            };
            if core.committed.is_none() || self.cell().depth() != 0 || !self.open_to(&core) {
                return Err(call.args);
            }
            self.start_turn(core, call)
        };
        if core.phase.is_retired() {
            // Only after a storage failure stopped the task mid-call: this turn's state
            // must not reach storage behind the next instance's back.
            return Ok(Asked::Ready(Err(self.stopped_error())));
        }
        let asked = match started {
            Started::Done(done, scope) => match self.finish_turn(&mut core, done, scope, false) {
                Finished::Reply { needs, result } => core.gate.deliver(needs, result),
                Finished::Crash { result, err } => {
                    core.phase.fail(err);
                    Asked::Ready(result)
                }
            },
            Started::Waiting(turn) => {
                let (reply, rx) = oneshot::channel();
                core.handed.hand_turn(turn, Answer::Call(reply));
                Asked::Waiting(rx)
            }
        };
        self.leave(core);
        Ok(asked)
    }

    /// Ends an in-place call: the lock is given back, and the task is nudged if the call
    /// left it work: a turn to finish, a commit to watch, a save to schedule, records
    /// owed, a retry or a schedule to time, calls that queued meanwhile, or a stop to go
    /// on with.
    fn leave(&self, core: MutexGuard<'_, Core<A>>) {
        let task_has_work = core.handed.has_turn()
            || core.gate.has_pending()
            || core.schedules_moved
            || (core.dirty && !core.save_armed)
            || core
                .queues
                .as_deref()
                .is_some_and(|q| q.owes() || q.next_deadline().is_some())
            || !core.phase.takes_calls()
            || self.cell().depth() != 0;
        self.touch();
        drop(core);
        if task_has_work {
            self.cell().nudge();
        }
    }

    pub(super) fn shared_in_place(&self, call: Call) -> Result<Asked, Payload> {
        let read = {
            let Ok(mut core) = self.core.try_lock() else {
                return Err(call.args);
            };
            // A reply that would have to wait for a commit goes through the task, which
            // watches commits.
            if !self.open_to(&core) || !core.gate.is_durable(self.needs(&core)) {
                return Err(call.args);
            }
            self.shared_snapshot(&mut core)
        };
        let (snapshot, needs) = match read {
            Ok(read) => read,
            Err(err) => return Ok(Asked::Ready(Err(err))),
        };
        // One that never waits runs to its end here, the lock let go.
        if A::shared_now(call.index) {
            let result = turn::shared_now(&*snapshot, &self.ctx, call);
            self.touch();
            return Ok(Asked::Ready(result));
        }
        let mut call = self.shared_turn(snapshot, needs, call);
        let asked = match call.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(done) => Asked::Ready(done.result),
            Poll::Pending => {
                let mut core = self.lock();
                if core.phase.is_retired() {
                    Asked::Ready(Err(self.stopped_error()))
                } else {
                    let (reply, rx) = oneshot::channel();
                    core.shared_waiting += 1;
                    core.handed.hand_shared((call, reply));
                    drop(core);
                    self.cell().nudge();
                    Asked::Waiting(rx)
                }
            }
        };
        self.touch();
        Ok(asked)
    }
}

impl<A: Actor> Inlet for Live<A> {
    fn cell(&self) -> &InstanceCell {
        self.cell()
    }

    fn capacity(&self) -> usize {
        self.config().inbox_capacity
    }

    fn refuse_reentry(&self, action: &str, chain: &CallChain) -> Option<ActorError> {
        // The chain first: outside any turn of this actor the action table is not searched.
        let err = scope::reentry(A::NAME, self.id(), action, chain)?;
        let info = A::ACTIONS.iter().find(|a| a.name == action)?;
        (info.access == Access::Exclusive).then_some(err)
    }

    fn prepare_send(
        &self,
        queue: &str,
        waits: bool,
        message: Payload,
    ) -> Result<Prepared, ActorError> {
        let Some(index) = A::QUEUES.iter().position(|q| q.name == queue) else {
            return Err(ActorError::queue_not_found(
                A::NAME,
                queue,
                &super::queues::queue_names::<A>(),
            ));
        };
        let info = &A::QUEUES[index];
        if waits && !info.handled {
            return Err(ActorError::no_handler(A::NAME, queue));
        }
        let (encoding, body, typed) = match message {
            Payload::Encoded(encoding, body) => (encoding, body, None),
            Payload::Local(value) => {
                let body = value.encode(Encoding::Json)?;
                (Encoding::Json, body, Some(Payload::Local(value)))
            }
        };
        if body.len() > info.max_message_size {
            return Err(ActorError::message_too_large(
                A::NAME,
                queue,
                body.len(),
                info.max_message_size,
            ));
        }
        Ok(Prepared {
            queue: index,
            encoding,
            body,
            typed,
        })
    }

    fn destroy_failure(&self) -> Option<ActorError> {
        self.lock().destroy_failed.clone()
    }

    /// A send to its queue (`Prepared::queue`), handled in place: with nothing queued before it, no turn
    /// holding the state and no earlier message of its queue stored, the message is
    /// recorded (owed to the next commit) and its handler runs on the caller's task, so a
    /// message handled at once is never written; the send is answered with its id once the
    /// commit that carries it (the handler's, or its retry record's) is durable. A handler
    /// that waits is handed to the task, and the send is answered once the message is.
    fn send_in_place(&self, message: Prepared, shape: ReplyShape) -> Result<Asked, Prepared> {
        let index = message.queue;
        if !A::QUEUES[index].handled || self.cell().depth() != 0 || self.cell().draining() {
            return Err(message);
        }
        let Ok(mut core) = self.core.try_lock() else {
            return Err(message);
        };
        if core.committed.is_none()
            || self.cell().depth() != 0
            || !self.open_to(&core)
            || core.queues().holds(index)
        {
            return Err(message);
        }
        let _entered = self.span.as_ref().map(|span| span.enter());
        let (mut core, id, handled) = self.handle_sent(core, message, false);
        let asked = match handled {
            Handled::Done(needs) => core.gate.deliver(needs, queues::sent(shape, id)),
            Handled::Waiting(turn, needs) => {
                core.handed.hand_turn(turn, Answer::Message(id));
                let (reply, rx) = oneshot::channel();
                core.gate.reply(needs, reply, queues::sent(shape, id));
                Asked::Waiting(rx)
            }
            Handled::Failed(err) if core.phase.is_retired() => return Ok(Asked::Ready(Err(err))),
            Handled::Failed(err) => Asked::Ready(Err(err)),
        };
        self.leave(core);
        Ok(asked)
    }

    fn call_in_place(
        &self,
        action: &str,
        args: Payload,
        chain: &CallChain,
        conn: Option<&Connection>,
    ) -> Result<Asked, Payload> {
        let Some(index) = A::ACTIONS.iter().position(|a| a.name == action) else {
            return Ok(Asked::Ready(Err(action_not_found(A::NAME, action))));
        };
        if let Some(err) = conn.and_then(Connection::refusal) {
            return Ok(Asked::Ready(Err(err)));
        }
        let _entered = self.span.as_ref().map(|span| span.enter());
        let call = Call::action(index, args, chain.clone()).through(conn);
        match A::ACTIONS[index].access {
            Access::Exclusive => self.exclusive_in_place(call),
            Access::Shared => self.shared_in_place(call),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::current_runtime;
    use tokio::runtime::Builder;

    #[test]
    fn the_runtime_is_the_asking_tasks_also_when_one_thread_runs_several() {
        let (a, b) = (
            Builder::new_current_thread().build().unwrap(),
            Builder::new_current_thread().build().unwrap(),
        );
        // Twice from each task: the second answer is the one kept for it.
        let in_task = |rt: &tokio::runtime::Runtime| {
            rt.block_on(async {
                tokio::spawn(async { (current_runtime(), current_runtime()) })
                    .await
                    .unwrap()
            })
        };
        for _ in 0..2 {
            let (ida, idb) = (Some(a.handle().id()), Some(b.handle().id()));
            assert_eq!(in_task(&a), (ida, ida));
            assert_eq!(in_task(&b), (idb, idb));
        }
        // Outside any task (a `block_on` future), and outside any runtime.
        assert_eq!(
            a.block_on(async { current_runtime() }),
            Some(a.handle().id())
        );
        assert_eq!(current_runtime(), None);
    }
}
