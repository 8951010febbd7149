//! The instance loop: take calls, run turns, save, reply through the gate, sleep.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;

use super::scope::Scoped;
use futures_util::stream::FuturesUnordered;
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};

use crate::client::{Address, Client};
use crate::config::SaveMode;
use crate::definition::{Access, Actor};
use crate::driver::{SaveOp, StorageError};
use crate::error::{ActorError, action_not_found};
use crate::key::ActorId;
use crate::mailbox::{Command, Reply};
use crate::route::Target;

use super::cell::InstanceCell;
use super::inbox::Envelope;
use super::live::{Core, Finished, Live, PendingTurn};
use super::scope;
use super::start::{Started, bounded, decode_state, encode_state, start};
use super::turn::{self, Call, SharedDone, TurnDone};
use super::{Host, Slot, Spawn};

/// Ready messages handled in a row before the loop goes through `select!`.
const MAX_BURST: u32 = 64;

/// Why the loop ended.
enum End {
    Sleep,
    Destroy,
    /// Boxed: the error is rare and would otherwise widen every instance's future.
    Crash(Box<ActorError>),
}

/// The hook that ends an instance's life.
enum FinalHook {
    Sleep,
    Destroy,
}

/// What woke the loop.
enum Event<A> {
    Turn(TurnDone<A>),
    Shared(SharedDone, oneshot::Sender<Reply>),
    Durable(u64, Result<(), StorageError>),
    Inbox(Option<Envelope>),
    Nudge,
    SleepTimer,
    SaveTimer,
}

/// A shared action the task runs, with where its answer goes.
struct Answering {
    call: Scoped<BoxFuture<'static, SharedDone>>,
    reply: Option<oneshot::Sender<Reply>>,
}

impl Future for Answering {
    type Output = (SharedDone, oneshot::Sender<Reply>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.call.as_mut().poll(cx).map(|done| {
            let reply = this
                .reply
                .take()
                .expect("an answered action is not polled again");
            (done, reply)
        })
    }
}

/// What the loop needs to know about the shared core, read under one lock.
struct View {
    /// A caller is running a turn in place.
    turn_in_place: bool,
    /// Commits are in flight or replies are held.
    gate_busy: bool,
    /// Commits are in flight.
    commits_pending: bool,
    /// Debounced mode: changes wait for the save timer, which is not armed yet.
    arm_save: bool,
    /// Debounced mode: the save timer is armed (or is being armed now).
    save_armed: bool,
}

/// The task's own half of an instance; the rest is in [`Live`].
struct Instance<A: Actor> {
    live: Arc<Live<A>>,
    /// Every call in the inbox has been taken (only after `rx.close()`).
    rx_done: bool,
    exclusive: Option<PendingTurn<A>>,
    waiting: VecDeque<(usize, Box<Command>)>,
    /// Shared actions in flight; made on first use, so actors without them carry none.
    shared: Option<FuturesUnordered<Answering>>,
    idle: bool,
    idle_since: Instant,
    stopping: Option<End>,
}

pub(super) async fn run<A: Actor>(spawn: Spawn, live: Arc<Live<A>>) {
    let Spawn {
        id,
        key,
        start: how,
        slot,
        host,
        ready,
        ..
    } = spawn;
    let cell = live.cell.clone();
    // Boxed: start and stop run once, and must not widen the future that an idle
    // instance keeps in memory.
    let started = Box::pin(start::<A>(how, &key, &live)).await;
    match started {
        Ok(Started { state, bytes }) => live.open(state, bytes),
        Err(err) => {
            tracing::warn!(error = %err, "actor failed to start");
            let _ = ready.send(Err(err));
            cell.mark_stopped();
            return;
        }
    }
    let _ = ready.send(Ok(()));
    tracing::debug!("awake");
    let mut instance = Instance {
        live,
        rx_done: false,
        exclusive: None,
        waiting: VecDeque::new(),
        shared: None,
        idle: false,
        idle_since: Instant::now(),
        stopping: None,
    };
    let end = instance.serve().await;
    let unstarted = Box::pin(instance.stop(end)).await;
    instance.live.retire();
    retire(&id, &slot, &*host).await;
    cell.mark_stopped();
    if !unstarted.is_empty() {
        tokio::spawn(redeliver::<A>(
            instance.live.ctx.client().clone(),
            id,
            unstarted,
        ));
    }
}

/// Runs the calls a failed instance had taken but not started on the next instance,
/// which wakes from what is stored; each gets the answer it gets there. They did not
/// run, so the failure that stopped this instance is not theirs to report.
async fn redeliver<A: Actor>(client: Client, id: ActorId, calls: Vec<Command>) {
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
async fn retire(id: &ActorId, slot: &Arc<Slot>, host: &dyn Host) {
    let mut state = slot.state.lock().await;
    state.mailbox = None;
    state.retired = true;
    host.retire(id, slot);
}

impl<A: Actor> Instance<A> {
    fn cell(&self) -> &InstanceCell {
        &self.live.cell
    }

    fn busy(&self) -> bool {
        self.exclusive.is_some()
            || !self.waiting.is_empty()
            || self.shared.as_ref().is_some_and(|s| !s.is_empty())
    }

    /// Runs a shared action on the task; its answer goes through the gate.
    fn run_shared(
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

    fn take_from_inbox(&self) {
        self.cell().inbox_depth.fetch_sub(1, Ordering::AcqRel);
    }

    /// Under one lock: stops on a caller's failure, adopts turns callers handed over,
    /// reads the lifecycle flags, and starts the next waiting exclusive call.
    fn look(&mut self) -> Result<View, End> {
        let live = self.live.clone();
        let mut core = live.lock();
        if let Some(err) = core.crashed.take() {
            return Err(End::Crash(err));
        }
        if let Some(turn) = core.handed_turn.take() {
            self.exclusive = Some(turn);
        }
        for (call, reply) in core.handed_shared.drain(..) {
            self.run_shared(call, reply);
        }
        if self.stopping.is_none() {
            if self.cell().destroy_requested() {
                self.begin_stop(&mut core, End::Destroy);
            } else if self.cell().sleep_requested() {
                self.begin_stop(&mut core, End::Sleep);
            }
        }
        if self.exclusive.is_none()
            && core.committed.is_some()
            && let Some((index, cmd)) = self.waiting.pop_front()
        {
            let Command {
                args, reply, chain, ..
            } = *cmd;
            let call = live.begin_turn(&mut core, Call { index, args, chain });
            // After the state is taken, so no caller slips in ahead of this call.
            self.take_from_inbox();
            self.exclusive = Some((call, reply));
        }
        let arm_save =
            matches!(live.config().save, SaveMode::Debounced(_)) && core.dirty && !core.save_armed;
        core.save_armed |= arm_save;
        Ok(View {
            turn_in_place: core.committed.is_none() && self.exclusive.is_none(),
            gate_busy: core.gate.busy(),
            commits_pending: core.gate.has_pending(),
            arm_save,
            save_armed: core.save_armed,
        })
    }

    async fn serve(&mut self) -> End {
        let sleep_timeout = self.live.config().sleep_timeout;
        let debounce = match self.live.config().save {
            SaveMode::Durable => None,
            SaveMode::Debounced(every) => Some(every),
        };
        // Timers are made on first use: an actor that never idles or never debounces
        // carries none.
        let mut sleep_timer: Option<Pin<Box<Sleep>>> = None;
        let mut save_timer: Option<Pin<Box<Sleep>>> = None;
        // Work that is ready runs without re-entering `select!` (which registers wakers
        // for every branch); after a burst, `select!` runs anyway so completions and
        // cooperative yielding are never starved.
        let mut burst = 0u32;
        loop {
            let view = match self.look() {
                Ok(view) => view,
                Err(end) => return end,
            };
            if let (true, Some(every)) = (view.arm_save, debounce) {
                let at = Instant::now() + every;
                match &mut save_timer {
                    Some(timer) => timer.as_mut().reset(at),
                    None => save_timer = Some(Box::pin(tokio::time::sleep_until(at))),
                }
            }
            if burst < MAX_BURST {
                burst += 1;
                if self.exclusive.is_some()
                    && let Some(done) = self.poll_turn_once().await
                {
                    if let Err(end) = self.finish_turn(done) {
                        return end;
                    }
                    continue;
                }
                if !self.rx_done {
                    match self.cell().inbox.try_recv() {
                        Poll::Ready(Some(cmd)) => {
                            self.accept(cmd);
                            continue;
                        }
                        Poll::Ready(None) => {
                            self.rx_done = true;
                            continue;
                        }
                        Poll::Pending => {}
                    }
                }
            }
            burst = 0;
            let busy = self.busy() || view.gate_busy;
            if self.stopping.is_some() && self.rx_done && !busy && !view.turn_in_place {
                return self.stopping.take().expect("checked above");
            }
            let idle = !busy && !self.cell().held() && self.cell().depth() == 0;
            if idle && !self.idle {
                self.idle_since = Instant::now();
            }
            self.idle = idle;

            let save_armed = save_timer.is_some() && view.save_armed;
            let turn_running = self.exclusive.is_some();
            let shared_running = self.shared.as_ref().is_some_and(|s| !s.is_empty());
            let inbox_open = !self.rx_done;
            let sleep_armed = idle && self.stopping.is_none();
            if sleep_armed
                && sleep_timer.is_none()
                && let Some(timeout) = sleep_timeout
            {
                sleep_timer = Some(Box::pin(tokio::time::sleep_until(
                    self.idle_since + timeout,
                )));
            }
            let sleep_armed = sleep_armed && sleep_timer.is_some();
            let live = &self.live;
            let exclusive = &mut self.exclusive;
            let shared = &mut self.shared;
            let event = tokio::select! {
                biased;
                done = async { (&mut exclusive.as_mut().expect("turn_running").0).await }, if turn_running => Event::Turn(done),
                Some((done, reply)) = async { shared.as_mut().expect("shared_running").next().await }, if shared_running => Event::Shared(done, reply),
                (seq, result) = poll_fn(|cx| live.lock().gate.poll_next(cx)), if view.commits_pending => Event::Durable(seq, result),
                // Before the inbox: a flag set before a call was queued is seen first.
                () = poll_fn(|cx| live.cell.poll_nudged(cx)) => Event::Nudge,
                cmd = poll_fn(|cx| live.cell.inbox.poll_recv(cx)), if inbox_open => Event::Inbox(cmd),
                () = async { sleep_timer.as_mut().expect("sleep_armed").as_mut().await }, if sleep_armed => Event::SleepTimer,
                () = async { save_timer.as_mut().expect("save_armed").as_mut().await }, if save_armed => Event::SaveTimer,
            };
            match event {
                Event::Turn(done) => {
                    if let Err(end) = self.finish_turn(done) {
                        return end;
                    }
                }
                Event::Shared(done, reply) => self.live.answer_shared(done, reply),
                Event::Durable(seq, result) => {
                    if let Err(err) = self.live.settle(seq, result) {
                        return End::Crash(Box::new(ActorError::from_storage(err)));
                    }
                }
                Event::Inbox(Some(cmd)) => self.accept(cmd),
                Event::Inbox(None) => self.rx_done = true,
                // The flags and the core are read at the top of the loop.
                Event::Nudge => {}
                Event::SleepTimer => {
                    let timeout = sleep_timeout.expect("sleep_armed");
                    let now = Instant::now();
                    let due = self.idle_since.max(self.live.active_at()) + timeout;
                    let live = self.live.clone();
                    let mut core = live.lock();
                    // A caller may have run a call in place since the loop last looked.
                    let quiet =
                        core.committed.is_some() && !self.cell().held() && self.cell().depth() == 0;
                    let next = if now < due {
                        Some(due)
                    } else if quiet {
                        tracing::debug!("idle for {timeout:?}; going to sleep");
                        self.begin_stop(&mut core, End::Sleep);
                        None
                    } else {
                        Some(now + timeout)
                    };
                    if let (Some(at), Some(timer)) = (next, &mut sleep_timer) {
                        timer.as_mut().reset(at);
                    }
                }
                Event::SaveTimer => {
                    let mut core = self.live.lock();
                    core.save_armed = false;
                    if let Err(err) = self.live.save(&mut core, Vec::new()) {
                        return End::Crash(Box::new(err));
                    }
                }
            }
        }
    }

    /// Closes the inbox and the in-place path; calls already in the inbox are still answered.
    fn begin_stop(&mut self, core: &mut Core<A>, end: End) {
        core.open = false;
        self.cell().inbox.close();
        if matches!(end, End::Destroy) {
            for (_, cmd) in self.waiting.drain(..) {
                self.live.cell.inbox_depth.fetch_sub(1, Ordering::AcqRel);
                let _ = cmd.reply.send(Err(destroyed::<A>(&self.live.id)));
            }
        }
        self.stopping = Some(end);
    }

    /// Polls the running turn once; most finish here without a trip through `select!`.
    async fn poll_turn_once(&mut self) -> Option<TurnDone<A>> {
        let (turn, _) = self.exclusive.as_mut()?;
        match poll_fn(|cx| Poll::Ready(turn.as_mut().poll(cx))).await {
            Poll::Ready(done) => Some(done),
            Poll::Pending => None,
        }
    }

    fn accept(&mut self, cmd: Box<Command>) {
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
        if matches!(self.stopping, Some(End::Destroy)) {
            self.take_from_inbox();
            turn::rejected(destroyed::<A>(&self.live.id), cmd.reply);
            return;
        }
        match A::ACTIONS[index].access {
            Access::Exclusive => self.waiting.push_back((index, cmd)),
            Access::Shared => {
                self.take_from_inbox();
                let Command {
                    args, reply, chain, ..
                } = *cmd;
                let call = Call { index, args, chain };
                let begun = {
                    let mut core = self.live.lock();
                    let begun = self.live.begin_shared(&mut core, call);
                    core.shared_waiting += usize::from(begun.is_ok());
                    begun
                };
                match begun {
                    Ok((call, _)) => self.run_shared(call, reply),
                    Err(err) => turn::rejected(err, reply),
                }
            }
        }
    }

    fn finish_turn(&mut self, done: TurnDone<A>) -> Result<(), End> {
        let (turn, reply) = self.exclusive.take().expect("a turn was running");
        let mut core = self.live.lock();
        match self.live.finish_turn(&mut core, done, turn) {
            Finished::Reply { needs, result } => {
                core.gate.reply(needs, reply, result);
                Ok(())
            }
            Finished::Crash { result, err } => {
                let _ = reply.send(result);
                Err(End::Crash(Box::new(err)))
            }
        }
    }

    /// Ends the instance's life; returns the calls it took but never started (only when
    /// it stops on a failure).
    async fn stop(&mut self, end: End) -> Vec<Command> {
        match end {
            End::Sleep => {
                let result = self.run_final_hook(FinalHook::Sleep).await;
                if let Err(err) =
                    result.and_then(|staged| self.live.save(&mut self.live.lock(), staged))
                {
                    tracing::error!(error = %err, "could not save state before sleeping");
                }
                if let Err(err) = self.live.flush().await {
                    tracing::error!(error = %err, "could not save state before sleeping");
                }
                tracing::debug!("asleep");
                Vec::new()
            }
            End::Destroy => {
                if let Err(err) = self.run_final_hook(FinalHook::Destroy).await {
                    tracing::warn!(error = %err, "on_destroy failed; destroying anyway");
                }
                let _ = self.live.flush().await;
                let mut batch = self.live.batch();
                batch.ops.push(SaveOp::DestroyActor);
                match self.live.driver.commit(batch).await {
                    Ok(()) => tracing::debug!("destroyed"),
                    Err(err) => {
                        tracing::error!(error = %err, "could not remove the actor's storage");
                        let err = ActorError::storage(format!(
                            "actor `{}` {} was not destroyed; it is still stored and wakes on the next call: {err}",
                            A::NAME,
                            self.live.id
                        ));
                        self.live.lock().destroy_failed = Some(Box::new(err));
                    }
                }
                Vec::new()
            }
            End::Crash(err) => {
                tracing::error!(error = %err, "actor stopped after a failure; it will wake from its last durable state");
                self.live.lock().open = false;
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
                if let Some((_, reply)) = self.exclusive.take() {
                    let _ = reply.send(Err((*err).clone()));
                }
                // Shared calls already running finish, as they would before a sleep; the
                // gate answers each with its result, or with the failure if it read the
                // lost write. Ones handed over by callers meanwhile are adopted first.
                let handed = std::mem::take(&mut self.live.lock().handed_shared);
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
                let mut unstarted: Vec<Command> =
                    self.waiting.drain(..).map(|(_, cmd)| *cmd).collect();
                while let Poll::Ready(Some(cmd)) = self.cell().inbox.try_recv() {
                    unstarted.push(*cmd);
                }
                unstarted
            }
        }
    }

    /// Runs `on_sleep` or `on_destroy` within the grace period and returns the records it
    /// staged; a failed or late hook's changes are discarded.
    async fn run_final_hook(&mut self, hook: FinalHook) -> Result<Vec<SaveOp>, ActorError> {
        let mut state = self
            .live
            .lock()
            .committed
            .take()
            .expect("no turn is running at stop");
        let grace = self.live.config().sleep_grace;
        let ctx = &self.live.ctx;
        let (result, staged) = {
            let st = Arc::make_mut(&mut state);
            scope::hook(ctx, async {
                match hook {
                    FinalHook::Sleep => bounded("on_sleep", grace, st.on_sleep(ctx)).await,
                    FinalHook::Destroy => bounded("on_destroy", grace, st.on_destroy(ctx)).await,
                }
            })
            .await
        };
        let mut core = self.live.lock();
        match result {
            Ok(()) => {
                let mut buf = Vec::new();
                encode_state(&*state, &mut buf)?;
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
}

fn destroyed<A: Actor>(id: &ActorId) -> ActorError {
    ActorError::destroyed(A::NAME, id)
}

/// The error for a call to something the actor does not have besides actions: it
/// declares no queues yet.
fn target_not_found<A: Actor>(target: &Target) -> ActorError {
    ActorError::queue_not_found(A::NAME, target.name(), &[])
}
