//! The instance loop: take calls, run turns, save, reply through the gate, sleep.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::time::{Instant, Sleep};

use crate::config::{ActorConfig, SaveMode};
use crate::ctx::Ctx;
use crate::definition::{Access, Actor};
use crate::driver::{Driver, SaveBatch, SaveOp, StorageError, keys};
use crate::error::{ActorError, action_not_found, codes};
use crate::key::ActorId;
use crate::mailbox::Command;

use super::cell::Envelope;

use super::cell::InstanceCell;
use super::gate::Gate;
use super::start::{Started, bounded, decode_state, encode_state, start, storage_error};
use super::turn::{self, SharedDone, TurnDone};
use super::{Host, Slot, Spawn};

/// Ready messages handled in a row before the loop goes through `select!`.
const MAX_BURST: u32 = 64;

/// Why the loop ended.
enum End {
    Sleep,
    Destroy,
    Crash(ActorError),
}

/// The hook that ends an instance's life.
enum FinalHook {
    Sleep,
    Destroy,
}

/// What woke the loop.
enum Event<A> {
    Turn(TurnDone<A>),
    Shared(SharedDone),
    Durable(u64, Result<(), StorageError>),
    Inbox(Option<Envelope>),
    SleepTimer,
    SaveTimer,
}

struct Instance<A: Actor> {
    ctx: Ctx<A>,
    cell: Arc<InstanceCell>,
    config: ActorConfig,
    driver: Arc<dyn Driver>,
    id: ActorId,
    /// Every call in the inbox has been taken (only after `rx.close()`).
    rx_done: bool,
    /// The state; `None` while an exclusive turn holds it.
    committed: Option<Arc<A>>,
    /// A snapshot for shared calls that arrive while a turn holds the state, decoded from `last`.
    turn_snapshot: Option<Arc<A>>,
    /// The committed state, serialized.
    last: Arc<Vec<u8>>,
    /// Debounced mode: changed since the last save.
    dirty: bool,
    exclusive: Option<BoxFuture<'static, TurnDone<A>>>,
    waiting: VecDeque<(usize, Box<Command>)>,
    /// Shared actions in flight; made on first use, so actors without them carry none.
    shared: Option<FuturesUnordered<BoxFuture<'static, SharedDone>>>,
    gate: Gate,
    idle: bool,
    idle_since: Instant,
    stopping: Option<End>,
}

pub(super) async fn run<A: Actor>(spawn: Spawn, cell: Arc<InstanceCell>, config: ActorConfig) {
    let Spawn {
        id,
        key,
        start: how,
        driver,
        client,
        slot,
        host,
        ready,
    } = spawn;
    let ctx = Ctx::<A>::new(id.clone(), key.clone(), cell.clone(), client);
    let Started { state, bytes } =
        // Boxed: start and stop run once, and must not widen the future that an idle
        // instance keeps in memory.
        match Box::pin(start::<A>(how, &id, &key, &driver, &ctx, config.action_timeout)).await {
            Ok(started) => started,
            Err(err) => {
                tracing::warn!(error = %err, "actor failed to start");
                let _ = ready.send(Err(err));
                cell.mark_stopped();
                return;
            }
        };
    let _ = ready.send(Ok(()));
    tracing::debug!("awake");
    let mut instance = Instance {
        ctx,
        cell: cell.clone(),
        config,
        driver,
        id: id.clone(),
        rx_done: false,
        committed: Some(Arc::new(state)),
        turn_snapshot: None,
        last: Arc::new(bytes),
        dirty: false,
        exclusive: None,
        waiting: VecDeque::new(),
        shared: None,
        gate: Gate::default(),
        idle: false,
        idle_since: Instant::now(),
        stopping: None,
    };
    let end = instance.serve().await;
    Box::pin(instance.stop(end)).await;
    retire(&id, &slot, &*host).await;
    cell.mark_stopped();
}

/// Takes the instance out of the directory so the next call starts a fresh one.
async fn retire(id: &ActorId, slot: &Arc<Slot>, host: &dyn Host) {
    let mut state = slot.state.lock().await;
    state.mailbox = None;
    state.retired = true;
    host.retire(id, slot);
}

impl<A: Actor> Instance<A> {
    fn busy(&self) -> bool {
        self.exclusive.is_some()
            || !self.waiting.is_empty()
            || self.shared.as_ref().is_some_and(|s| !s.is_empty())
            || self.gate.busy()
    }

    fn take_from_inbox(&self) {
        self.cell.inbox_depth.fetch_sub(1, Ordering::AcqRel);
    }

    async fn serve(&mut self) -> End {
        let sleep_timeout = self.config.sleep_timeout;
        let debounce = match self.config.save {
            SaveMode::Durable => None,
            SaveMode::Debounced(every) => Some(every),
        };
        // Timers are made on first use: an actor that never idles or never debounces
        // carries none.
        let mut sleep_timer: Option<Pin<Box<Sleep>>> = None;
        let mut save_timer: Option<Pin<Box<Sleep>>> = None;
        let mut save_armed = false;
        // Work that is ready runs without re-entering `select!` (which registers wakers
        // for every branch); after a burst, `select!` runs anyway so completions and
        // cooperative yielding are never starved.
        let mut burst = 0u32;
        loop {
            if self.stopping.is_none() {
                if self.cell.destroy_requested() {
                    self.begin_stop(End::Destroy);
                } else if self.cell.sleep_requested() {
                    self.begin_stop(End::Sleep);
                }
            }
            if self.exclusive.is_none()
                && let Some((index, cmd)) = self.waiting.pop_front()
            {
                self.start_exclusive(index, *cmd);
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
                    match self.cell.inbox.try_recv() {
                        Poll::Ready(Some(envelope)) => {
                            self.receive(envelope);
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
            if self.stopping.is_some() && self.rx_done && !self.busy() {
                return self.stopping.take().expect("checked above");
            }
            let idle = !self.busy()
                && !self.cell.held()
                && self.cell.inbox_depth.load(Ordering::Acquire) == 0;
            if idle && !self.idle {
                self.idle_since = Instant::now();
            }
            self.idle = idle;

            if self.dirty
                && !save_armed
                && let Some(every) = debounce
            {
                let at = Instant::now() + every;
                match &mut save_timer {
                    Some(timer) => timer.as_mut().reset(at),
                    None => save_timer = Some(Box::pin(tokio::time::sleep_until(at))),
                }
                save_armed = true;
            }
            let turn_running = self.exclusive.is_some();
            let shared_running = self.shared.as_ref().is_some_and(|s| !s.is_empty());
            let commits_pending = self.gate.has_pending();
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
            let exclusive = &mut self.exclusive;
            let event = tokio::select! {
                biased;
                done = async { exclusive.as_mut().expect("turn_running").await }, if turn_running => Event::Turn(done),
                Some(done) = async { self.shared.as_mut().expect("shared_running").next().await }, if shared_running => Event::Shared(done),
                (seq, result) = self.gate.next(), if commits_pending => Event::Durable(seq, result),
                envelope = poll_fn(|cx| self.cell.inbox.poll_recv(cx)), if inbox_open => Event::Inbox(envelope),
                () = async { sleep_timer.as_mut().expect("sleep_armed").as_mut().await }, if sleep_armed => Event::SleepTimer,
                () = async { save_timer.as_mut().expect("save_armed").as_mut().await }, if save_armed => Event::SaveTimer,
            };
            match event {
                Event::Turn(done) => {
                    if let Err(end) = self.finish_turn(done) {
                        return end;
                    }
                }
                Event::Shared(done) => {
                    let needs = if debounce.is_some() { 0 } else { done.seq };
                    self.gate.reply(needs, done.reply, done.result);
                }
                Event::Durable(seq, result) => match result {
                    Ok(()) => self.gate.advance(seq),
                    Err(err) => return End::Crash(storage_error(err)),
                },
                Event::Inbox(Some(envelope)) => self.receive(envelope),
                Event::Inbox(None) => self.rx_done = true,
                Event::SleepTimer => {
                    let due = self.idle_since + sleep_timeout.expect("sleep_armed");
                    if Instant::now() >= due {
                        tracing::debug!(
                            "idle for {:?}; going to sleep",
                            sleep_timeout.unwrap_or_default()
                        );
                        self.begin_stop(End::Sleep);
                    } else {
                        if let Some(timer) = &mut sleep_timer {
                            timer.as_mut().reset(due);
                        }
                    }
                }
                Event::SaveTimer => {
                    save_armed = false;
                    if let Err(err) = self.save() {
                        return End::Crash(err);
                    }
                }
            }
        }
    }

    /// Closes the inbox; calls already in it are still answered.
    fn begin_stop(&mut self, end: End) {
        self.cell.inbox.close();
        if matches!(end, End::Destroy) {
            for (_, cmd) in self.waiting.drain(..) {
                self.cell.inbox_depth.fetch_sub(1, Ordering::AcqRel);
                let _ = cmd.reply.send(Err(destroyed::<A>(&self.id)));
            }
        }
        self.stopping = Some(end);
    }

    /// Polls the running turn once; most finish here without a trip through `select!`.
    async fn poll_turn_once(&mut self) -> Option<TurnDone<A>> {
        let turn = self.exclusive.as_mut()?;
        match poll_fn(|cx| Poll::Ready(turn.as_mut().poll(cx))).await {
            Poll::Ready(done) => Some(done),
            Poll::Pending => None,
        }
    }

    fn receive(&mut self, envelope: Envelope) {
        match envelope {
            Envelope::Call(cmd) => self.accept(cmd),
            // The flags are read at the top of the loop.
            Envelope::Signal => {}
        }
    }

    fn accept(&mut self, cmd: Box<Command>) {
        let Some(index) = A::ACTIONS.iter().position(|a| a.name == cmd.action) else {
            self.take_from_inbox();
            turn::rejected(action_not_found(A::NAME, &cmd.action), cmd.reply);
            return;
        };
        if matches!(self.stopping, Some(End::Destroy)) {
            self.take_from_inbox();
            turn::rejected(destroyed::<A>(&self.id), cmd.reply);
            return;
        }
        match A::ACTIONS[index].access {
            Access::Exclusive => self.waiting.push_back((index, cmd)),
            Access::Shared => {
                self.take_from_inbox();
                let snapshot = match self.snapshot() {
                    Ok(snapshot) => snapshot,
                    Err(err) => return turn::rejected(err, cmd.reply),
                };
                self.shared
                    .get_or_insert_with(FuturesUnordered::new)
                    .push(turn::shared(
                        snapshot,
                        self.gate.submitted(),
                        self.ctx.clone(),
                        index,
                        cmd.args,
                        cmd.reply,
                        self.config.action_timeout,
                    ));
            }
        }
    }

    /// The state as of the last finished turn.
    fn snapshot(&mut self) -> Result<Arc<A>, ActorError> {
        if let Some(state) = &self.committed {
            return Ok(state.clone());
        }
        if let Some(snapshot) = &self.turn_snapshot {
            return Ok(snapshot.clone());
        }
        let snapshot = Arc::new(decode_state::<A>(&self.last)?);
        self.turn_snapshot = Some(snapshot.clone());
        Ok(snapshot)
    }

    fn start_exclusive(&mut self, index: usize, cmd: Command) {
        self.take_from_inbox();
        let state = self.committed.take().expect("no turn is running");
        self.exclusive = Some(turn::exclusive(
            state,
            self.ctx.clone(),
            index,
            cmd.args,
            cmd.reply,
            self.last.clone(),
            self.config.action_timeout,
        ));
    }

    fn finish_turn(&mut self, done: TurnDone<A>) -> Result<(), End> {
        self.exclusive = None;
        self.turn_snapshot = None;
        let Some(state) = done.state else {
            // Timed out or panicked: throw its changes away.
            match decode_state::<A>(&self.last) {
                Ok(state) => self.committed = Some(Arc::new(state)),
                Err(err) => {
                    let _ = done.reply.send(done.result);
                    return Err(End::Crash(err));
                }
            }
            let _ = done.reply.send(done.result);
            return Ok(());
        };
        self.committed = Some(state);
        if let Some(bytes) = done.changed {
            self.last = Arc::new(bytes);
            self.dirty = true;
            if matches!(self.config.save, SaveMode::Durable)
                && let Err(err) = self.save()
            {
                let _ = done.reply.send(Err(err.clone()));
                return Err(End::Crash(err));
            }
        }
        let needs = match self.config.save {
            SaveMode::Durable => self.gate.submitted(),
            SaveMode::Debounced(_) => 0,
        };
        self.gate.reply(needs, done.reply, done.result);
        Ok(())
    }

    /// Hands the current state to the driver if it changed since the last save.
    fn save(&mut self) -> Result<(), ActorError> {
        if !self.dirty {
            return Ok(());
        }
        self.dirty = false;
        let mut batch = SaveBatch::new(self.id.clone());
        batch.put(keys::STATE.to_vec(), self.last.to_vec());
        self.gate
            .submit(self.driver.commit(batch))
            .map_err(storage_error)
    }

    async fn stop(&mut self, end: End) {
        match end {
            End::Sleep => {
                let result = self.run_final_hook(FinalHook::Sleep).await;
                if let Err(err) = result.and_then(|()| self.save()) {
                    tracing::error!(error = %err, "could not save state before sleeping");
                }
                if let Err(err) = self.gate.flush().await {
                    tracing::error!(error = %err, "could not save state before sleeping");
                }
                tracing::debug!("asleep");
            }
            End::Destroy => {
                if let Err(err) = self.run_final_hook(FinalHook::Destroy).await {
                    tracing::warn!(error = %err, "on_destroy failed; destroying anyway");
                }
                let _ = self.gate.flush().await;
                let mut batch = SaveBatch::new(self.id.clone());
                batch.ops.push(SaveOp::DestroyActor);
                match self.driver.commit(batch).await {
                    Ok(()) => tracing::debug!("destroyed"),
                    Err(err) => {
                        tracing::error!(error = %err, "could not remove the actor's storage")
                    }
                }
            }
            End::Crash(err) => {
                tracing::error!(error = %err, "actor stopped after a failure; it will wake from its last durable state");
                self.gate.fail_all(&err);
                self.cell.inbox.close();
                for (_, cmd) in self.waiting.drain(..) {
                    let _ = cmd.reply.send(Err(err.clone()));
                }
                while let Poll::Ready(Some(envelope)) = self.cell.inbox.try_recv() {
                    if let Envelope::Call(cmd) = envelope {
                        let _ = cmd.reply.send(Err(err.clone()));
                    }
                }
            }
        }
    }

    /// Runs `on_sleep` or `on_destroy` within the grace period; a failed or late hook's
    /// changes are discarded.
    async fn run_final_hook(&mut self, hook: FinalHook) -> Result<(), ActorError> {
        let mut state = self.committed.take().expect("no turn is running at stop");
        let grace = self.config.sleep_grace;
        let result = {
            let st = Arc::make_mut(&mut state);
            match hook {
                FinalHook::Sleep => bounded("on_sleep", grace, st.on_sleep(&self.ctx)).await,
                FinalHook::Destroy => bounded("on_destroy", grace, st.on_destroy(&self.ctx)).await,
            }
        };
        match result {
            Ok(()) => {
                let bytes = encode_state(&*state)?;
                if bytes != *self.last {
                    self.last = Arc::new(bytes);
                    self.dirty = true;
                }
                self.committed = Some(state);
                Ok(())
            }
            Err(err) => {
                self.committed = Some(Arc::new(decode_state::<A>(&self.last)?));
                Err(err)
            }
        }
    }
}

fn destroyed<A: Actor>(id: &ActorId) -> ActorError {
    ActorError::of(
        codes::DESTROYED,
        format!("actor `{}` {id} was destroyed", A::NAME),
    )
}
