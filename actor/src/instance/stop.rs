//! Stopping: what the instance task does once its loop ends, for a sleep, a destroy or a
//! failure (see `phase.rs` for when each happens, and `docs/internals.md` §4 for the
//! failure path).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;

use futures_util::StreamExt;

use crate::client::{Address, Client};
use crate::definition::Actor;
use crate::driver::SaveOp;
use crate::error::ActorError;
use crate::key::ActorId;
use crate::mailbox::Command;

use super::intake::{Answer, Work, destroyed};
use super::live::Core;
use super::phase::Stop;
use super::queues::Queues;
use super::run::{End, Instance};
use super::scope;
use super::start::{bounded, decode_state, encode_state};
use super::{Host, Slot};

/// The hook that ends an instance's life.
pub(super) enum FinalHook {
    Sleep,
    Destroy,
}

impl<A: Actor> Instance<A> {
    /// Closes the inbox and the in-place path; calls already in the inbox are still answered.
    pub(super) fn begin_stop(&mut self, core: &mut Core<A>, stop: Stop) {
        core.phase.stop(stop);
        self.cell().inbox.close();
        // The run loop gets its signal, and `sleep_grace` to end (see `serve`).
        if let Some(looping) = core.queues.as_deref_mut().and_then(Queues::looping_if_any) {
            looping.cancel();
        }
        if stop == Stop::Destroy {
            let err = destroyed::<A>(self.live.id());
            // Stored messages go with the actor's storage.
            for work in self.waiting.drain(..) {
                match work {
                    Work::Action(_, cmd) => {
                        self.live.cell().inbox_depth.fetch_sub(1, Ordering::AcqRel);
                        let _ = cmd.reply.send(Err(err.clone()));
                    }
                    Work::Loop(turn) => {
                        let _ = turn.reply.send(Err(err.clone()));
                    }
                    Work::Message(_) | Work::Schedule(_) => {}
                }
            }
            if let Some(queues) = core.queues.as_deref_mut() {
                queues.fail_waiters(&err);
            }
            if !A::WORKFLOWS.is_empty() {
                self.live
                    .ctx
                    .with_workflows(|index| index.fail_waiters(&err));
            }
        }
    }

    /// Ends the instance's life; returns the calls it took but never started (only when
    /// it stops on a failure).
    pub(super) async fn stop(&mut self, end: End) -> Vec<Command> {
        match end {
            End::Sleep => {
                let result = self.run_final_hook(FinalHook::Sleep).await;
                if let Err(err) = result.and_then(|staged| {
                    let mut core = self.live.lock();
                    self.live.save(&mut core, staged)?;
                    // Asleep, the alarm is what wakes it: exactly when its messages and
                    // schedules are due (as `on_sleep` left them).
                    let wanted = self.live.wanted_alarm(core.queues.as_deref());
                    let settled = core.alarm.settle(wanted);
                    self.live.save(&mut core, settled.into_iter().collect())
                }) {
                    tracing::error!(error = %err, "could not save state before sleeping");
                }
                if let Err(err) = self.live.flush().await {
                    tracing::error!(error = %err, "could not save state before sleeping");
                }
                self.release_database();
                tracing::debug!("asleep");
                Vec::new()
            }
            End::Destroy => {
                if let Err(err) = self.run_final_hook(FinalHook::Destroy).await {
                    tracing::warn!(error = %err, "on_destroy failed; destroying anyway");
                }
                let _ = self.live.flush().await;
                let mut batch = self.live.batch();
                batch.push(SaveOp::DestroyActor);
                match self.live.driver.commit(batch).await {
                    Ok(()) => {
                        #[cfg(feature = "sqlite")]
                        if let Some(db) = self.live.ctx.database()
                            && let Err(err) = db.remove().await
                        {
                            tracing::error!(error = %err, "the actor is destroyed; its database file could not be removed");
                        }
                        tracing::debug!("destroyed");
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "could not remove the actor's storage");
                        let err = ActorError::storage(format!(
                            "actor `{}` {} was not destroyed; it is still stored and wakes on the next call: {err}",
                            A::NAME,
                            self.live.id()
                        ));
                        self.live.lock().destroy_failed = Some(err);
                    }
                }
                Vec::new()
            }
            End::Crash(err) => {
                tracing::error!(error = %err, "actor stopped after a failure; it will wake from its last durable state");
                self.live.lock().phase.stop(Stop::Crash);
                // A caller may hold the state for a turn in place (the failure came from
                // storage): let it finish first, so its write cannot land after the next
                // instance has loaded the state.
                if self.exclusive.is_none() {
                    self.live.state_returned().await;
                }
                // Commits before a failed one may still succeed: their replies are sent as
                // they do, and the next instance loads what they wrote. Replies that need
                // a failed commit were answered with its error when it failed.
                let _ = self.live.flush().await;
                // A turn still running worked on the state the failure made unsaveable.
                // (A handler's message stays stored, for the next instance.)
                if let Some((_, Answer::Call(reply))) = self.exclusive.take() {
                    let _ = reply.send(Err(err.clone()));
                }
                // Shared calls already running finish, as they would before a sleep; the
                // gate answers each with its result, or with the failure if it read the
                // lost write. Ones handed over by callers meanwhile are adopted first.
                let handed = self.live.lock().handed.take_shared();
                for (call, reply) in handed {
                    self.run_shared(call, reply);
                }
                if let Some(shared) = self.shared.as_mut() {
                    while let Some((done, reply)) = shared.next().await {
                        self.live.answer_shared(done, reply);
                    }
                }
                self.live.lock().gate.fail_all(&err);
                self.cell().inbox.close();
                // Connections end with the instance; the state their `on_disconnect`
                // would change is the one the failure made unsaveable.
                let gone = ActorError::stopped(format!(
                    "actor `{}` {} stopped after a failure; connect again",
                    A::NAME,
                    self.live.id()
                ));
                for conn in self.live.ctx.take_conns() {
                    conn.close(gone.clone());
                }
                // Stored messages and schedules wait in storage for the next instance.
                let mut unstarted: Vec<Command> = self
                    .waiting
                    .drain(..)
                    .filter_map(|work| match work {
                        Work::Action(_, cmd) => Some(cmd),
                        Work::Loop(turn) => {
                            let _ = turn.reply.send(Err(err.clone()));
                            None
                        }
                        Work::Message(_) | Work::Schedule(_) => None,
                    })
                    .collect();
                while let Poll::Ready(Some(cmd)) = self.cell().inbox.try_recv() {
                    unstarted.push(cmd);
                }
                self.release_database();
                unstarted
            }
        }
    }

    /// Runs `on_sleep` or `on_destroy` within the grace period and returns the records it
    /// staged; a failed or late hook's changes are discarded.
    pub(super) async fn run_final_hook(
        &mut self,
        hook: FinalHook,
    ) -> Result<Vec<SaveOp>, ActorError> {
        let mut state = self
            .live
            .lock()
            .committed
            .take()
            .expect("no turn is running at stop");
        let grace = self.live.config().sleep_grace;
        let ctx = &self.live.ctx;
        #[cfg_attr(not(feature = "sqlite"), allow(unused_mut))]
        let (result, mut staged) = {
            let st = Arc::make_mut(&mut state);
            scope::hook(ctx, async {
                // Open connections close first: each `on_disconnect` runs, then the
                // client is told why.
                let reason = match hook {
                    FinalHook::Sleep => ActorError::stopped(format!(
                        "actor `{}` {} went to sleep; connect again to wake it",
                        A::NAME,
                        ctx.id()
                    )),
                    FinalHook::Destroy => destroyed::<A>(ctx.id()),
                };
                for conn in ctx.take_conns() {
                    let view = crate::connection::Conn::new(conn.clone());
                    if let Err(err) = bounded("on_disconnect", grace, st.on_disconnect(ctx, &view)).await {
                        tracing::warn!(error = %err, connection = conn.id(), "on_disconnect failed");
                    }
                    conn.close(reason.clone());
                }
                match hook {
                    FinalHook::Sleep => bounded("on_sleep", grace, st.on_sleep(ctx)).await,
                    FinalHook::Destroy => bounded("on_destroy", grace, st.on_destroy(ctx)).await,
                }
            })
            .await
        };
        let encoded = result.and_then(|()| {
            let mut buf = Vec::new();
            encode_state(&*state, &mut buf).map(|()| buf)
        });
        #[cfg(feature = "sqlite")]
        let encoded = super::database::finish_hook(ctx, encoded, &mut staged).await;
        let mut core = self.live.lock();
        match encoded {
            Ok(buf) => {
                if buf[..] != core.last[..] {
                    core.last = Arc::from(buf);
                    core.dirty = true;
                }
                core.committed = Some(state);
                Ok(staged)
            }
            Err(err) => {
                core.committed = Some(Arc::new(decode_state::<A>(&core.last)?));
                Err(err)
            }
        }
    }

    /// Closes the instance's database, if it has one: it stopped.
    fn release_database(&self) {
        #[cfg(feature = "sqlite")]
        if let Some(db) = self.live.ctx.database() {
            db.release();
        }
    }
}

/// Runs the calls a failed instance had taken but not started on the next instance,
/// which wakes from what is stored; each gets the answer it gets there. They did not
/// run, so the failure that stopped this instance is not theirs to report.
pub(super) async fn redeliver<A: Actor>(client: Client, id: ActorId, calls: Vec<Command>) {
    let handle = client.handle(A::NAME, Address::Id(id)).await;
    // One after another, so they keep their order.
    for call in calls {
        let Command {
            target,
            args,
            reply,
            ..
        } = call;
        let answer = match &handle {
            Ok(handle) => handle.send(target, args).await,
            Err(err) => Err(err.clone()),
        };
        let _ = reply.send(answer);
    }
}

/// Takes the instance out of the directory so the next call starts a fresh one.
pub(super) async fn retire(id: &ActorId, slot: &Arc<Slot>, host: &dyn Host) {
    let mut state = slot.state.lock().await;
    state.mailbox = None;
    state.retired = true;
    host.retire(id, slot);
}
