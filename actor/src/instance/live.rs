//! The shared half of an awake instance: its state, its phase, its output gate and how it
//! saves, reached by the instance task and by callers that run a turn in place
//! (`in_place.rs`).

use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_util::future::BoxFuture;

use super::scope::{Scope, Scoped};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::config::{ActorConfig, SaveMode};
use crate::ctx::Ctx;
use crate::definition::Actor;
use crate::driver::{Driver, SaveBatch, SaveOp, StorageError, keys};
use crate::error::ActorError;
use crate::key::ActorId;
use crate::mailbox::Reply;

use super::alarm::{Alarm, earliest};
use super::cell::InstanceCell;
use super::gate::Gate;
use super::intake::Answer;
use super::looping::LoopFn;
use super::phase::Phase;
use super::queues::Queues;
use super::start::decode_state;
use super::turn::{self, Call, SharedDone, Taken, TurnDone};
use super::{Host, Slot};

/// The epoch of the next instance to start: larger than every earlier one in the process.
static NEXT_EPOCH: AtomicU64 = AtomicU64::new(1);

/// A shared action that waits, and where its answer goes.
pub(super) type PendingShared = (
    Scoped<BoxFuture<'static, SharedDone>>,
    oneshot::Sender<Reply>,
);

/// What the instance task and in-place callers share.
pub(crate) struct Live<A: Actor> {
    pub(super) ctx: Ctx<A>,
    pub(super) driver: Arc<dyn Driver>,
    /// This instance's life of the actor, on every batch it writes (see `driver::fence`).
    epoch: u64,
    /// The actor's span, kept only when something listens: in-place calls enter it.
    pub(super) span: Option<Box<tracing::Span>>,
    /// The runtime the instance task runs on: calls from elsewhere go through the inbox,
    /// so anything an action spawns lands on the actor's runtime; a dormant instance's task
    /// starts there again.
    pub(super) runtime: tokio::runtime::Handle,
    /// Its directory slot, for the host when it stops.
    pub(super) slot: Arc<Slot>,
    pub(super) core: Mutex<Core<A>>,
    /// When the last in-place call finished, in nanoseconds after `born`.
    active_at: AtomicU64,
    born: Instant,
}

/// The mutable part, behind a lock that is never held across an await or a user's code.
pub(super) struct Core<A: Actor> {
    /// The state; `None` while a turn holds it.
    pub(super) committed: Option<Arc<A>>,
    /// A snapshot for shared calls that arrive while a turn holds the state, decoded from `last`.
    turn_snapshot: Option<Arc<A>>,
    /// The committed state, serialized.
    pub(super) last: Arc<[u8]>,
    /// Changed since the last save (debounced mode).
    pub(super) dirty: bool,
    /// Debounced mode: the task has armed its save timer.
    pub(super) save_armed: bool,
    pub(super) gate: Gate,
    /// Where the instance is in its life (see `phase.rs`).
    pub(super) phase: Phase,
    /// Why removing the actor's storage failed, for the caller of `destroy`.
    pub(super) destroy_failed: Option<ActorError>,
    /// Calls callers started in place that must finish on the task.
    pub(super) handed: Handed<A>,
    /// The scope the last exclusive turn gave back, for the next one.
    pub(super) turn_scope: Option<Arc<dyn Scope>>,
    /// Shared actions that did not finish on their first poll and are now the task's
    /// (handed over, or started by it): bounded by `max_shared`. One that finishes at
    /// once holds nothing, so it is not counted.
    pub(super) shared_waiting: u32,
    /// The messages of the actor's queues; `None` for a kind that declares none. Here and
    /// not with the task, so they outlast a dormancy.
    pub(super) queues: Option<Box<Queues<A>>>,
    /// What the driver's alarm index holds for the actor (see `alarm.rs`).
    pub(super) alarm: Alarm,
    /// When the next schedule is due that the task has not fired yet: the book's
    /// `next_due`, kept here (the book changes only under this lock) so the task's look
    /// does not lock the book.
    pub(super) schedule_due: Option<u64>,
    /// `schedule_due` changed since the task last looked: a turn run in place made or
    /// cancelled a schedule, and the task (perhaps dormant, waiting for another time)
    /// must look again.
    pub(super) schedules_moved: bool,
}

/// Calls that callers started in place and that must finish on the task: only actions
/// (and queue handlers) that wait leave one, so an instance keeps a single pointer for
/// them, and none once the task has taken them.
pub(super) struct Handed<A>(Option<Box<HandedCalls<A>>>);

/// An exclusive turn started in place, and where its end goes.
pub(super) type HandedTurn<A> = (Scoped<BoxFuture<'static, TurnDone<A>>>, Answer);

struct HandedCalls<A> {
    /// An exclusive turn (at most one: it holds the state).
    turn: Option<HandedTurn<A>>,
    /// Shared actions.
    shared: Vec<PendingShared>,
}

impl<A> Handed<A> {
    fn calls(&mut self) -> &mut HandedCalls<A> {
        self.0.get_or_insert_with(|| {
            Box::new(HandedCalls {
                turn: None,
                shared: Vec::new(),
            })
        })
    }

    /// Hands an exclusive turn over: an action's, answering `reply`, or a queue
    /// handler's (`Answer::Message`).
    pub(super) fn hand_turn(
        &mut self,
        turn: Scoped<BoxFuture<'static, TurnDone<A>>>,
        answer: Answer,
    ) {
        self.calls().turn = Some((turn, answer));
    }

    /// Hands a shared action over.
    pub(super) fn hand_shared(&mut self, shared: PendingShared) {
        self.calls().shared.push(shared);
    }

    /// Whether an exclusive turn waits for the task.
    pub(super) fn has_turn(&self) -> bool {
        self.0.as_ref().is_some_and(|calls| calls.turn.is_some())
    }

    /// Takes everything handed over, leaving nothing allocated.
    pub(super) fn take(&mut self) -> (Option<HandedTurn<A>>, Vec<PendingShared>) {
        match self.0.take() {
            Some(calls) => (calls.turn, calls.shared),
            None => (None, Vec::new()),
        }
    }

    /// Takes the shared actions handed over, leaving an exclusive turn in place.
    pub(super) fn take_shared(&mut self) -> Vec<PendingShared> {
        let (turn, shared) = self.take();
        if let Some((turn, answer)) = turn {
            self.hand_turn(turn, answer);
        }
        shared
    }
}

/// How far an exclusive turn got on the stack of whoever started it ([`Live::start_turn`]).
pub(super) enum Started<A> {
    /// It finished; its scope goes back to the instance with it.
    Done(TurnDone<A>, Option<Arc<dyn Scope>>),
    /// It waits on something: its future, to finish on the task.
    Waiting(Scoped<BoxFuture<'static, TurnDone<A>>>),
}

/// How a finished turn is answered.
pub(super) enum Finished {
    /// Send `result` once the commit `needs` is durable.
    Reply { needs: u64, result: Reply },
    /// Send `result`, then stop the instance with the error.
    Crash { result: Reply, err: ActorError },
}

impl<A: Actor> Live<A> {
    /// The instance's flags and inbox (kept once, in its context).
    pub(super) fn cell(&self) -> &InstanceCell {
        self.ctx.cell()
    }

    /// Where it reports when it stops, and whose timers wake it when dormant: its
    /// client's transport.
    pub(super) fn host(&self) -> &dyn Host {
        self.ctx.host()
    }

    /// The actor's id (kept once, in its context).
    pub(super) fn id(&self) -> &ActorId {
        self.ctx.id()
    }

    /// The kind's settings (`#[actor(...)]` constants, so nothing is stored per instance).
    pub(super) fn config(&self) -> ActorConfig {
        A::config()
    }

    pub(super) fn new(
        ctx: Ctx<A>,
        driver: Arc<dyn Driver>,
        span: tracing::Span,
        slot: Arc<Slot>,
    ) -> Self {
        Self {
            ctx,
            driver,
            epoch: NEXT_EPOCH.fetch_add(1, Ordering::Relaxed),
            span: (!span.is_disabled()).then(|| Box::new(span)),
            runtime: tokio::runtime::Handle::current(),
            slot,
            core: Mutex::new(Core {
                committed: None,
                turn_snapshot: None,
                last: Arc::from(&[][..]),
                dirty: false,
                save_armed: false,
                gate: Gate::default(),
                phase: Phase::default(),
                destroy_failed: None,
                handed: Handed(None),
                turn_scope: None,
                shared_waiting: 0,
                queues: None,
                alarm: Alarm::default(),
                schedule_due: None,
                schedules_moved: false,
            }),
            active_at: AtomicU64::new(0),
            born: Instant::now(),
        }
    }

    /// Installs the loaded state, queues and alarm and lets callers in.
    pub(super) fn open(
        &self,
        state: A,
        bytes: Arc<[u8]>,
        queues: Option<Box<Queues<A>>>,
        alarm: Alarm,
    ) {
        let mut core = self.lock();
        core.committed = Some(Arc::new(state));
        core.last = bytes;
        core.queues = queues;
        core.alarm = alarm;
        core.schedule_due = self.ctx.with_book(|book| book.next_due());
        core.phase.open();
    }

    /// When the actor's stored records need it awake: the earliest of its queue
    /// messages' next attempts, its schedules' next times and its running workflows'
    /// needs (now, for one that works; a sleep's end or a timeout for one that waits).
    pub(super) fn wanted_alarm(&self, queues: Option<&Queues<A>>) -> Option<u64> {
        let workflows = if A::WORKFLOWS.is_empty() {
            None
        } else {
            self.ctx.with_workflows(|index| index.wanted_alarm())
        };
        earliest(
            earliest(
                queues.and_then(Queues::wanted_alarm),
                self.ctx.with_book(|book| book.wanted_alarm()),
            ),
            workflows,
        )
    }

    /// Takes the schedule records of `ops`, a batch about to be handed to the driver, into
    /// the book, and returns the alarm change the batch must carry so the alarm is no
    /// later than anything it stores as due (a queue message, a schedule), or, for a
    /// batch that changes schedules after the stored alarm passed, exactly what the
    /// records need, if one is needed (see `alarm.rs`).
    pub(super) fn cover(
        &self,
        alarm: &mut Alarm,
        queues: Option<&Queues<A>>,
        schedule_due: &mut Option<u64>,
        ops: &[SaveOp],
    ) -> Option<SaveOp> {
        let mut due = None;
        let mut schedules = false;
        for op in ops {
            match op {
                SaveOp::Put { key, value } if key.starts_with(keys::QUEUE) => {
                    due = earliest(due, crate::queue::StoredMessage::due_in(value));
                }
                SaveOp::Put { key, value }
                    if key.starts_with(keys::WORKFLOWS)
                        || key.starts_with(keys::WORKFLOW_HISTORY) =>
                {
                    due = earliest(due, crate::workflow::record::due_in(value));
                }
                SaveOp::Put { key, .. } => schedules |= key.starts_with(keys::SCHEDULES),
                SaveOp::Delete { key } => schedules |= key.starts_with(keys::SCHEDULES),
                SaveOp::DeletePrefix { .. } => schedules = true,
                _ => {}
            }
        }
        if schedules {
            let (written, next) = self
                .ctx
                .with_book(|book| (book.apply(ops), book.next_due()));
            *schedule_due = next;
            if alarm.passed(self.host().clock().now_ms()) {
                return alarm.settle(self.wanted_alarm(queues));
            }
            due = earliest(due, written);
        }
        alarm.cover(due?, || self.wanted_alarm(queues))
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Core<A>> {
        // A panic never happens under this lock (user code runs outside it), so poison
        // would only repeat an earlier bug's report; the data is consistent.
        self.core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// When an in-place call last finished (the instance's start if none did).
    pub(super) fn active_at(&self) -> Instant {
        self.born + std::time::Duration::from_nanos(self.active_at.load(Ordering::Relaxed))
    }

    /// Records activity for the sleep timer; an actor that never sleeps skips the clock.
    pub(super) fn touch(&self) {
        if self.config().sleep_timeout.is_none() {
            return;
        }
        let nanos = self.born.elapsed().as_nanos();
        self.active_at
            .store(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Records that the instance has been idle since `since`, for the sleep timer of a
    /// task that starts again after the instance was dormant.
    pub(super) fn idle_from(&self, since: Instant) {
        let nanos = since.saturating_duration_since(self.born).as_nanos();
        self.active_at
            .fetch_max(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The commit a reply must wait for to be sure of everything it could have seen: in
    /// durable mode the last one submitted, or the next if the state changed since (a
    /// save the task owes, see `finish_turn`).
    pub(super) fn needs(&self, core: &Core<A>) -> u64 {
        let owed = core.queues.as_deref().is_some_and(Queues::owes);
        match self.config().save {
            SaveMode::Durable => core.gate.submitted() + u64::from(core.dirty || owed),
            SaveMode::Debounced(_) => 0,
        }
    }

    /// Saves what is owed: in durable mode a state whose save was deferred, in either
    /// mode the records of sends not yet handed to the driver; the replies held for them
    /// go out once they are durable.
    pub(super) fn save_owed(&self, core: &mut Core<A>) -> Result<(), ActorError> {
        let owed = core.queues.as_deref().is_some_and(Queues::owes);
        if owed || (core.dirty && matches!(self.config().save, SaveMode::Durable)) {
            self.save(core, Vec::new())?;
        }
        Ok(())
    }

    /// Takes the state for an exclusive turn.
    pub(super) fn begin_turn(
        &self,
        core: &mut Core<A>,
        call: Call,
    ) -> Scoped<BoxFuture<'static, TurnDone<A>>> {
        let taken = core.take_for_turn();
        turn::exclusive(taken, self.ctx.clone(), call, self.config().action_timeout)
    }

    /// Takes the state for a turn a run loop asked for.
    pub(super) fn begin_loop_turn(
        &self,
        core: &mut Core<A>,
        change: LoopFn<A>,
    ) -> Scoped<BoxFuture<'static, TurnDone<A>>> {
        turn::closure(core.take_for_turn(), self.ctx.clone(), change)
    }

    /// Takes the state for an exclusive turn and runs the turn, outside the lock, as far
    /// as it goes without waiting: to its end (at once and without a future for an action
    /// that never waits, see `turn::exclusive_now`), or to its first wait. Returns the core
    /// locked again.
    pub(super) fn start_turn<'a>(
        &'a self,
        mut core: MutexGuard<'a, Core<A>>,
        call: Call,
    ) -> (MutexGuard<'a, Core<A>>, Started<A>) {
        if turn::runs_now::<A>(&call) {
            let taken = core.take_for_turn();
            drop(core);
            let (done, scope) = turn::exclusive_now(taken, &self.ctx, call);
            return (self.lock(), Started::Done(done, scope));
        }
        let mut turn = self.begin_turn(&mut core, call);
        drop(core);
        let polled = turn.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        let core = self.lock();
        match polled {
            Poll::Ready(done) => (core, Started::Done(done, turn.into_scope())),
            Poll::Pending => (core, Started::Waiting(turn)),
        }
    }

    /// Starts a shared action on the state as of the last finished turn, and returns the
    /// commit its answer must wait for; `actor/overloaded` if `max_shared` shared actions
    /// are waiting on something already.
    pub(super) fn begin_shared(
        &self,
        core: &mut Core<A>,
        call: Call,
    ) -> Result<(Scoped<BoxFuture<'static, SharedDone>>, u64), ActorError> {
        let (snapshot, needs) = self.shared_snapshot(core)?;
        Ok((self.shared_turn(snapshot, needs, call), needs))
    }

    /// Shared action `call` on `snapshot` as a future, its reply needing commit `needs`.
    pub(super) fn shared_turn(
        &self,
        snapshot: Arc<A>,
        needs: u64,
        call: Call,
    ) -> Scoped<BoxFuture<'static, SharedDone>> {
        turn::shared(
            snapshot,
            needs,
            self.ctx.clone(),
            call,
            self.config().action_timeout,
        )
    }

    /// What a shared action reads, and the commit its reply needs: `actor/overloaded` if
    /// `max_shared` of them already wait.
    pub(super) fn shared_snapshot(&self, core: &mut Core<A>) -> Result<(Arc<A>, u64), ActorError> {
        let max = self.config().max_shared;
        if core.shared_waiting as usize >= max {
            return Err(ActorError::overloaded(
                A::NAME,
                self.id(),
                max,
                "shared actions running",
            ));
        }
        Ok((core.snapshot()?, self.needs(core)))
    }

    /// Answers a shared action the task ran, through the gate.
    pub(super) fn answer_shared(&self, done: SharedDone, reply: oneshot::Sender<Reply>) {
        let mut core = self.lock();
        core.shared_waiting -= 1;
        core.gate.reply(done.seq, reply, done.result);
    }

    /// Puts the state back after a turn finished with `done` (and gave `scope` back for the
    /// next one), saves it in durable mode, and says how to answer. With `defer` (the task
    /// has more calls queued) a durable save is left for a later turn or the task's next
    /// look (`save_owed`): one commit then covers a run of turns, and each of their replies
    /// waits for it.
    pub(super) fn finish_turn(
        &self,
        core: &mut Core<A>,
        done: TurnDone<A>,
        scope: Option<Arc<dyn Scope>>,
        defer: bool,
    ) -> Finished {
        core.turn_scope = scope;
        core.turn_snapshot = None;
        let Some(state) = done.state else {
            // Timed out, panicked or unserializable: throw its changes away.
            return match decode_state::<A>(&core.last) {
                Ok(state) => {
                    core.committed = Some(Arc::new(state));
                    Finished::Reply {
                        needs: 0,
                        result: done.result,
                    }
                }
                Err(err) => Finished::Crash {
                    result: done.result,
                    err,
                },
            };
        };
        core.committed = Some(state);
        if let Some(bytes) = done.changed {
            core.last = bytes;
            core.dirty = true;
        }
        // Records the turn staged commit now, with the state, in either save mode, and
        // its reply waits for them.
        let staged = !done.staged.is_empty();
        let durable = matches!(self.config().save, SaveMode::Durable);
        if ((core.dirty && durable && !defer) || staged)
            && let Err(err) = self.save(core, done.staged)
        {
            return Finished::Crash {
                result: Err(err.clone()),
                err,
            };
        }
        let needs = if staged {
            core.gate.submitted()
        } else {
            self.needs(core)
        };
        if !done.events.is_empty() {
            core.gate.hold_events(needs, done.events);
        }
        Finished::Reply {
            needs,
            result: done.result,
        }
    }

    /// Hands the records owed by sends, the state (if it changed since the last save) and
    /// `staged` records to the driver as one batch.
    pub(super) fn save(&self, core: &mut Core<A>, staged: Vec<SaveOp>) -> Result<(), ActorError> {
        let owes = core.queues.as_deref().is_some_and(Queues::owes);
        if !core.dirty && staged.is_empty() && !owes {
            return Ok(());
        }
        let mut batch = self.batch();
        // Records owed by sends first: the turns that follow them may remove them again.
        if let Some(queues) = core.queues.as_deref_mut().filter(|_| owes) {
            batch.extend(queues.drain_owed());
        }
        if core.dirty {
            core.dirty = false;
            batch.put(keys::STATE, core.last.clone());
        }
        let mut effects = Vec::new();
        // A batch of the state alone (most of them) holds nothing the alarm or a
        // workflow watches: only records besides it are looked through.
        if owes || !staged.is_empty() {
            batch.extend(staged);
            let Core {
                alarm,
                queues,
                schedule_due,
                schedules_moved,
                ..
            } = core;
            let due_before = *schedule_due;
            if let Some(op) = self.cover(alarm, queues.as_deref(), schedule_due, batch.ops()) {
                batch.push(op);
            }
            *schedules_moved |= *schedule_due != due_before;
            self.take_workflow_records(batch.ops(), &mut effects);
        }
        let commit = self.driver.commit(batch);
        let submitted = core.gate.submit(commit).map_err(ActorError::from_storage);
        if !effects.is_empty() {
            self.workflow_effects(core, effects);
        }
        submitted
    }

    /// An empty batch of this instance.
    pub(super) fn batch(&self) -> SaveBatch {
        SaveBatch::new(self.id().clone(), self.epoch)
    }

    /// Waits for every commit in flight, releasing the replies they hold; the first
    /// failure is recorded in the gate and returned.
    pub(super) async fn flush(&self) -> Result<(), StorageError> {
        while self.lock().gate.has_pending() {
            let (seq, result) = poll_fn(|cx| self.lock().gate.poll_next(cx)).await;
            self.settle(seq, result)?;
        }
        Ok(())
    }

    /// Applies the outcome of commit `seq` to the gate.
    pub(super) fn settle(
        &self,
        seq: u64,
        result: Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let mut core = self.lock();
        match result {
            Ok(()) => {
                core.gate.advance(seq);
                Ok(())
            }
            Err(err) => {
                core.gate
                    .fail_from(seq, &ActorError::from_storage(err.clone()));
                Err(err)
            }
        }
    }

    /// Waits until no caller holds the state for a turn in place.
    pub(super) async fn state_returned(&self) {
        loop {
            {
                let core = self.lock();
                if core.committed.is_some() || core.handed.has_turn() {
                    return;
                }
            }
            poll_fn(|cx| self.cell().poll_nudged(cx)).await;
        }
    }

    /// Gives back the buffers that calls grew (commits in flight, held replies, the
    /// state's serialization buffer, the inbox): an idle instance keeps none of them,
    /// and the next call that needs one grows it again.
    ///
    /// Only if no caller holds the core lock: one that does is using the instance, and
    /// must not find the lock taken for this (it would queue its call, and start a task).
    pub(super) fn compact(&self) {
        if let Ok(mut core) = self.core.try_lock() {
            core.gate.compact();
        }
        self.cell().inbox.compact();
    }

    /// Marks the task gone: hand-overs, held replies and senders waiting for a handler
    /// are answered `actor/stopped` (their messages stay stored).
    pub(super) fn retire(&self) {
        let err = self.stopped_error();
        let mut core = self.lock();
        core.phase.retire();
        if !A::WORKFLOWS.is_empty() {
            self.ctx.with_workflows(|index| index.fail_waiters(&err));
        }
        if let Some(queues) = core.queues.as_deref_mut() {
            queues.fail_waiters(&err);
            if let Some(looping) = queues.looping_if_any() {
                looping.abort();
            }
        }
        let (turn, shared) = core.handed.take();
        // A handler's message stays stored (or, owed, is lost with its sender's answer,
        // which the gate fails below).
        if let Some((_, Answer::Call(reply))) = turn {
            let _ = reply.send(Err(err.clone()));
        }
        for (_, reply) in shared {
            let _ = reply.send(Err(err.clone()));
        }
        core.gate.fail_all(&err);
    }

    pub(super) fn stopped_error(&self) -> ActorError {
        ActorError::stopped(format!(
            "actor `{}` {} stopped before answering; the call may or may not have run",
            A::NAME,
            self.id()
        ))
    }
}

impl<A: Actor> Core<A> {
    /// The queues of a kind that declares some.
    pub(super) fn queues(&mut self) -> &mut Queues<A> {
        self.queues
            .as_deref_mut()
            .expect("a kind with queues has them from its start")
    }

    /// Takes the state and what goes with it for an exclusive turn.
    fn take_for_turn(&mut self) -> Taken<A> {
        Taken {
            state: self.committed.take().expect("no turn is running"),
            scope: self.turn_scope.take(),
            last: self.last.clone(),
        }
    }

    /// The state as of the last finished turn.
    pub(super) fn snapshot(&mut self) -> Result<Arc<A>, ActorError> {
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
}
