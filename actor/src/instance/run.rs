//! The instance loop: take calls, run turns, save, reply through the gate, sleep.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};

use crate::config::SaveMode;
use crate::definition::Actor;
use crate::driver::StorageError;
use crate::error::ActorError;
use crate::mailbox::Reply;

use super::Spawn;
use super::cell::InstanceCell;
use super::dormant;
use super::handlers::JobDone;
use super::inbox::Envelope;
use super::intake::{Answer, Ran, Work};
use super::live::{Core, Finished, HandedTurn, Live};
use super::looping::{self, LoopTurn};
use super::phase::Stop;
use super::queues::Queues;
use super::scope::Scoped;
use super::start::{Started, start};
use super::stop::{redeliver, retire};
use super::turn::{Call, SharedDone, TurnDone};

/// Ready messages handled in a row before the loop goes through `select!`.
const MAX_BURST: u32 = 64;
/// Queued exclusive turns in a row that share one durable commit. Their replies wait for
/// it, so a long run keeps its first callers waiting for the last turn: with 64 callers
/// on one actor, runs of 16 answered about 8 % faster than runs of 64 (2 workers, memory
/// driver), and 16 turns still share one commit.
const MAX_DEFERRED: u32 = 16;

/// How long an idle instance keeps its task before it goes dormant. An actor that needs
/// its task again soon (a commit to watch after each call on SQLite, calls from another
/// runtime) keeps it instead of starting a new one for every call; one idle for longer
/// gives its memory back.
const LINGER: Duration = Duration::from_millis(50);

/// Why the loop ended.
pub(super) enum End {
    Sleep,
    Destroy,
    /// A commit failed (`ActorError` is one pointer wide, so this does not widen the future).
    Crash(ActorError),
}

/// What woke the loop.
enum Event<A> {
    Turn(TurnDone<A>),
    Shared(SharedDone, oneshot::Sender<Reply>),
    Durable(u64, Result<(), StorageError>),
    Inbox(Option<Envelope>),
    Job(JobDone),
    Nudge,
    SleepTimer,
    SaveTimer,
    /// Idle for `LINGER`: the loop looks again and goes dormant.
    Lingered,
    /// A queue message's backoff or a sender's wait ended, or a schedule is due.
    Timer,
    /// The run loop did not end within its grace.
    LoopGraceOver,
}

/// A shared action the task runs, with where its answer goes.
pub(super) struct Answering {
    pub(super) call: Scoped<BoxFuture<'static, SharedDone>>,
    pub(super) reply: Option<oneshot::Sender<Reply>>,
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
    /// Why the instance is stopping, if it is.
    stopping: Option<Stop>,
    /// When a queue message's backoff or a sender's wait for a handler ends next, or the
    /// next schedule is due.
    timer_due: Option<Instant>,
    /// A sender waits for a handler: the actor stays awake for it.
    senders_waiting: bool,
    /// The run loop's task still runs (while stopping, it has its grace to end).
    loop_alive: bool,
}

/// The task's own half of an instance; the rest is in [`Live`].
pub(super) struct Instance<A: Actor> {
    pub(super) live: Arc<Live<A>>,
    /// Every call in the inbox has been taken (only after `rx.close()`).
    pub(super) rx_done: bool,
    pub(super) exclusive: Option<HandedTurn<A>>,
    pub(super) waiting: VecDeque<Work<A>>,
    /// Shared actions in flight; made on first use, so actors without them carry none.
    pub(super) shared: Option<FuturesUnordered<Answering>>,
    /// Dead-letter calls reading storage; made on first use.
    pub(super) jobs: Option<FuturesUnordered<BoxFuture<'static, JobDone>>>,
    pub(super) idle: bool,
    pub(super) idle_since: Instant,
    /// Exclusive turns in a row whose durable save was deferred to the next one.
    pub(super) deferred: u32,
    /// This task has had work (it lingers before going dormant only then).
    pub(super) worked: bool,
}

/// The instance's first task: starts it, then serves it.
pub(super) async fn run<A: Actor>(spawn: Spawn, live: Arc<Live<A>>) {
    let Spawn {
        key,
        start: how,
        ready,
        ..
    } = spawn;
    // Boxed: start and stop run once, and must not widen the future that an idle
    // instance keeps in memory.
    let started = Box::pin(start::<A>(how, &key, &live)).await;
    match started {
        Ok(Started {
            state,
            bytes,
            queues,
            alarm,
        }) => {
            // Messages stored before the wake go before any call: none may run in place
            // ahead of them.
            if queues.as_ref().is_some_and(|q| q.ready().next().is_some()) {
                live.cell().set_draining(true);
            }
            // Before the instance opens, so a workflow a first call starts finds it.
            let mut queues = queues;
            if let Some(queues) = queues.as_deref_mut().filter(|_| !A::WORKFLOWS.is_empty()) {
                queues.looping().live = Arc::downgrade(&live);
            }
            live.open(state, bytes, queues, alarm);
            looping::start(&live);
        }
        Err(err) => {
            tracing::warn!(error = %err, "actor failed to start");
            let _ = ready.send(Err(err));
            live.cell().mark_stopped();
            return;
        }
    }
    let _ = ready.send(Ok(()));
    tracing::debug!("awake");
    live_on(live, false).await;
}

/// Serves the instance until it stops (and then stops it) or goes dormant (and then
/// ends, leaving it awake without a task). `resumed`: the task starts again after the
/// instance was dormant, idle since it went dormant.
pub(super) async fn live_on<A: Actor>(live: Arc<Live<A>>, resumed: bool) {
    let idle_since = if resumed {
        live.active_at()
    } else {
        Instant::now()
    };
    // After a wake, the stored messages that are ready take their turns first; after a
    // dormancy there are none (an instance goes dormant only with its queues idle).
    let waiting = match live.lock().queues.as_deref() {
        Some(queues) if !resumed => queues.ready().map(Work::Message).collect(),
        _ => VecDeque::new(),
    };
    let mut instance = Instance {
        live,
        rx_done: false,
        exclusive: None,
        waiting,
        shared: None,
        jobs: None,
        idle: resumed,
        idle_since,
        deferred: 0,
        worked: false,
    };
    let Some(end) = instance.serve().await else {
        return;
    };
    let unstarted = Box::pin(instance.stop(end)).await;
    let live = instance.live;
    live.retire();
    // A timer set when it was last dormant would keep its memory until its time.
    live.host().timers().cancel(dormant::owner(&live));
    retire(live.id(), &live.slot, live.host()).await;
    live.cell().mark_stopped();
    if !unstarted.is_empty() {
        tokio::spawn(redeliver::<A>(
            live.ctx.client().clone(),
            live.id().clone(),
            unstarted,
        ));
    }
}

impl<A: Actor> Instance<A> {
    pub(super) fn cell(&self) -> &InstanceCell {
        self.live.cell()
    }

    fn busy(&self) -> bool {
        self.exclusive.is_some()
            || !self.waiting.is_empty()
            || self.shared.as_ref().is_some_and(|s| !s.is_empty())
            || self.jobs.as_ref().is_some_and(|j| !j.is_empty())
    }

    /// Under one lock: stops on a caller's failure, adopts turns callers handed over,
    /// reads the lifecycle flags, and starts the next waiting exclusive call. `live` is
    /// the task's own reference to `self.live`, so looking touches no reference count
    /// that callers share.
    fn look(&mut self, live: &Live<A>) -> Result<View, End> {
        let mut core = live.lock();
        if let Some(err) = core.phase.take_failure() {
            return Err(End::Crash(err));
        }
        let (turn, shared) = core.handed.take();
        if let Some(turn) = turn {
            self.exclusive = Some(turn);
        }
        for (call, reply) in shared {
            self.run_shared(call, reply);
        }
        if core.phase.stopping().is_none() {
            if self.cell().destroy_requested() {
                self.begin_stop(&mut core, Stop::Destroy);
            } else if self.cell().sleep_requested() {
                self.begin_stop(&mut core, Stop::Sleep);
            }
        }
        // Turns the run loop asked for join the calls in the order they came.
        if let Some(looping) = core.queues.as_deref_mut().and_then(Queues::looping_if_any)
            && !looping.turns.is_empty()
        {
            self.waiting.extend(looping.turns.drain(..).map(Work::Loop));
            self.cell().set_draining(true);
        }
        while self.exclusive.is_none()
            && core.committed.is_some()
            && let Some(work) = self.waiting.pop_front()
        {
            match work {
                Work::Action(index, cmd) => {
                    let (call, reply) = Call::of(index, cmd);
                    let call = live.begin_turn(&mut core, call);
                    // After the state is taken, so no caller slips in ahead of this call.
                    self.take_from_inbox();
                    self.exclusive = Some((call, Answer::Call(reply)));
                }
                Work::Loop(LoopTurn {
                    change,
                    complete,
                    reply,
                }) => {
                    let call = live.begin_loop_turn(&mut core, change);
                    self.exclusive = Some((call, Answer::Loop { reply, complete }));
                }
                // A message whose queue is held up by an earlier one waits for it.
                Work::Message(id) => {
                    if let Some((queue, message, delivery)) = core.queues().start(id) {
                        let call =
                            live.begin_turn(&mut core, Call::message(queue, message, delivery));
                        self.exclusive = Some((call, Answer::Message(id)));
                    }
                }
                Work::Schedule(id) => {
                    if let Err(err) = self.fire_schedule(live, &mut core, id) {
                        return Err(End::Crash(err));
                    }
                }
            }
        }
        // A run of turns whose saves were deferred ends here: no exclusive turn goes on
        // from the state it left and none is queued, so it is saved now.
        if self.exclusive.is_none() && self.cell().depth() == 0 {
            self.deferred = 0;
            if let Err(err) = live.save_owed(&mut core) {
                return Err(End::Crash(err));
            }
        }
        let arm_save =
            matches!(live.config().save, SaveMode::Debounced(_)) && core.dirty && !core.save_armed;
        core.save_armed |= arm_save;
        let (mut queue_deadline, mut senders_waiting) = core
            .queues
            .as_deref()
            .map_or((None, false), |q| (q.next_deadline(), q.has_waiters()));
        // Whoever waits for a workflow's result keeps the actor awake, until its timeout.
        if !A::WORKFLOWS.is_empty() {
            let (deadline, waiting) = live
                .ctx
                .with_workflows(|index| (index.next_deadline(), index.has_waiters()));
            queue_deadline = match (queue_deadline, deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            senders_waiting |= waiting;
        }
        core.schedules_moved = false;
        let schedule_due = core
            .schedule_due
            .map(|ms| live.host().clock().instant_at(ms));
        let timer_due = match (queue_deadline, schedule_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let loop_alive = core
            .queues
            .as_deref_mut()
            .and_then(Queues::looping_if_any)
            .is_some_and(|l| l.alive());
        Ok(View {
            turn_in_place: core.committed.is_none() && self.exclusive.is_none(),
            gate_busy: core.gate.busy(),
            commits_pending: core.gate.has_pending(),
            arm_save,
            save_armed: core.save_armed,
            stopping: core.phase.stopping(),
            timer_due,
            senders_waiting,
            loop_alive,
        })
    }

    /// Serves calls until the instance stops (`Some`, why) or goes dormant (`None`).
    async fn serve(&mut self) -> Option<End> {
        let sleep_timeout = self.live.config().sleep_timeout;
        let debounce = match self.live.config().save {
            SaveMode::Durable => None,
            SaveMode::Debounced(every) => Some(every),
        };
        // Timers are made on first use: an actor that never idles or never debounces
        // carries none.
        let mut sleep_timer: Option<Pin<Box<Sleep>>> = None;
        let mut save_timer: Option<Pin<Box<Sleep>>> = None;
        let mut linger_timer: Option<Pin<Box<Sleep>>> = None;
        // Queue retries and waits, and schedules.
        let mut timer: Option<Pin<Box<Sleep>>> = None;
        // While stopping: how long the run loop may still take to end.
        let mut loop_grace: Option<Pin<Box<Sleep>>> = None;
        // Work that is ready runs without re-entering `select!` (which registers wakers
        // for every branch); after a burst, `select!` runs anyway so completions and
        // cooperative yielding are never starved.
        let mut burst = 0u32;
        let live = self.live.clone();
        loop {
            let view = match self.look(&live) {
                Ok(view) => view,
                Err(end) => return Some(end),
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
                        return Some(end);
                    }
                    continue;
                }
                if !self.rx_done {
                    match self.cell().inbox.try_recv() {
                        Poll::Ready(Some(cmd)) => {
                            self.cell().set_draining(true);
                            self.accept(cmd, view.stopping);
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
            // Nothing owed by sends waits past this point: a send is answered once it is
            // durable, not once some later turn happens to commit. (A handler that ran at
            // once took it into its own commit already.) The commit is watched below.
            let flushed = {
                let mut core = live.lock();
                let owes = core.queues.as_deref().is_some_and(Queues::owes);
                if owes && let Err(err) = live.save(&mut core, Vec::new()) {
                    return Some(End::Crash(err));
                }
                owes && core.gate.has_pending()
            };
            let commits_pending = view.commits_pending || flushed;
            if !self.busy() {
                self.cell().set_draining(false);
            }
            let busy = self.busy() || view.gate_busy || flushed;
            if view.stopping.is_some() && view.loop_alive && loop_grace.is_none() {
                let grace = self.live.config().sleep_grace;
                loop_grace = Some(Box::pin(tokio::time::sleep(grace)));
            }
            if let Some(stop) = view.stopping
                && self.rx_done
                && !busy
                && !view.turn_in_place
                && !view.loop_alive
            {
                return Some(match stop {
                    Stop::Sleep => End::Sleep,
                    Stop::Destroy => End::Destroy,
                    // The loop returns `End::Crash` with its error where it finds one,
                    // and the phase becomes `Stopping(Crash)` only then.
                    Stop::Crash => unreachable!("the loop ran on after a crash"),
                });
            }
            let idle =
                !busy && !self.cell().held() && self.cell().depth() == 0 && !view.senders_waiting;
            if idle && !self.idle {
                self.idle_since = Instant::now();
            }
            self.idle = idle;
            self.worked |= !idle;

            let save_armed = save_timer.is_some() && view.save_armed;
            let turn_running = self.exclusive.is_some();
            let shared_running = self.shared.as_ref().is_some_and(|s| !s.is_empty());
            let inbox_open = !self.rx_done;
            // Nothing to do and nothing to wait for but the sleep timeout: end the task
            // and leave the instance dormant, once it has been idle for `LINGER`.
            let mut linger_at = None;
            if idle
                && view.stopping.is_none()
                && !view.save_armed
                && !view.turn_in_place
                && !commits_pending
                && !turn_running
                && !shared_running
                && inbox_open
            {
                let sleep_at = sleep_timeout
                    .map(|timeout| self.idle_since.max(self.live.active_at()) + timeout);
                // A dormant instance is woken for a queue message's retry, and for a
                // schedule, as well.
                let deadline = match (sleep_at, view.timer_due) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                // A deadline already past is the sleep timer's to act on, below: going
                // dormant on it would only wake the instance again at once.
                // Work that came in meanwhile (a nudge, a call) is taken by the `select!`
                // below, which alone consumes the nudge: looping back from here instead
                // would find the same work, and never take it, forever.
                let now = Instant::now();
                if deadline.is_none_or(|at| at > now) {
                    // A task that has done nothing yet (just started, or woken for work
                    // already taken) has nothing to linger for.
                    let until = self.idle_since + if self.worked { LINGER } else { Duration::ZERO };
                    if now < until {
                        linger_at = Some(until);
                    } else if dormant::go_dormant(&self.live, self.idle_since, deadline) {
                        return None;
                    }
                }
            }
            if let Some(at) = linger_at {
                match &mut linger_timer {
                    Some(timer) => timer.as_mut().reset(at),
                    None => linger_timer = Some(Box::pin(tokio::time::sleep_until(at))),
                }
            }
            let lingering = linger_at.is_some();
            if let Some(at) = view.timer_due {
                match &mut timer {
                    Some(timer) => timer.as_mut().reset(at),
                    None => timer = Some(Box::pin(tokio::time::sleep_until(at))),
                }
            }
            let timer_armed = view.timer_due.is_some();
            let jobs_running = self.jobs.as_ref().is_some_and(|j| !j.is_empty());
            let loop_ending = view.stopping.is_some() && view.loop_alive;
            let sleep_armed = idle && view.stopping.is_none();
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
            let shared = &mut self.shared;
            let jobs = &mut self.jobs;
            let event = tokio::select! {
                biased;
                done = async { (&mut exclusive.as_mut().expect("turn_running").0).await }, if turn_running => Event::Turn(done),
                Some((done, reply)) = async { shared.as_mut().expect("shared_running").next().await }, if shared_running => Event::Shared(done, reply),
                Some(done) = async { jobs.as_mut().expect("jobs_running").next().await }, if jobs_running => Event::Job(done),
                (seq, result) = poll_fn(|cx| live.lock().gate.poll_next(cx)), if commits_pending => Event::Durable(seq, result),
                // Before the inbox: a flag set before a call was queued is seen first.
                () = poll_fn(|cx| live.cell().poll_nudged(cx)) => Event::Nudge,
                cmd = poll_fn(|cx| live.cell().inbox.poll_recv(cx)), if inbox_open => Event::Inbox(cmd),
                () = async { sleep_timer.as_mut().expect("sleep_armed").as_mut().await }, if sleep_armed => Event::SleepTimer,
                () = async { save_timer.as_mut().expect("save_armed").as_mut().await }, if save_armed => Event::SaveTimer,
                () = async { linger_timer.as_mut().expect("lingering").as_mut().await }, if lingering => Event::Lingered,
                () = async { timer.as_mut().expect("timer_armed").as_mut().await }, if timer_armed => Event::Timer,
                () = poll_fn(|cx| live.lock().queues().looping().poll_ended(cx)), if loop_ending => Event::Nudge,
                () = async { loop_grace.as_mut().expect("loop_ending").as_mut().await }, if loop_ending => Event::LoopGraceOver,
            };
            match event {
                Event::Turn(done) => {
                    if let Err(end) = self.finish_turn(done) {
                        return Some(end);
                    }
                }
                Event::Shared(done, reply) => self.live.answer_shared(done, reply),
                Event::Job(done) => self.finish_job(done),
                Event::LoopGraceOver => {
                    tracing::warn!(
                        grace = ?self.live.config().sleep_grace,
                        "the run loop did not end within its grace; stopping it"
                    );
                    live.lock().queues().looping().abort();
                }
                Event::Timer => {
                    let now = Instant::now();
                    let mut core = live.lock();
                    let mut due: Vec<Work<A>> = Vec::new();
                    if let Some(queues) = core.queues.as_deref_mut() {
                        queues.expire(now);
                        due.extend(queues.due(now).into_iter().map(Work::Message));
                    }
                    if !A::WORKFLOWS.is_empty() {
                        live.ctx.with_workflows(|index| index.expire(now));
                    }
                    if core.schedule_due.is_some() {
                        let now_ms = live.host().clock().now_ms();
                        let (fire, next) = live
                            .ctx
                            .with_book(|book| (book.due(now_ms), book.next_due()));
                        core.schedule_due = next;
                        due.extend(fire.into_iter().map(Work::Schedule));
                    }
                    drop(core);
                    if !due.is_empty() {
                        self.cell().set_draining(true);
                        self.waiting.extend(due);
                    }
                }
                Event::Durable(seq, result) => {
                    if let Err(err) = self.live.settle(seq, result) {
                        return Some(End::Crash(ActorError::from_storage(err)));
                    }
                }
                Event::Inbox(Some(cmd)) => {
                    self.cell().set_draining(true);
                    self.accept(cmd, view.stopping);
                }
                Event::Inbox(None) => self.rx_done = true,
                // The flags and the core are read at the top of the loop.
                Event::Nudge | Event::Lingered => {}
                Event::SleepTimer => {
                    let timeout = sleep_timeout.expect("sleep_armed");
                    let now = Instant::now();
                    let due = self.idle_since.max(live.active_at()) + timeout;
                    let mut core = live.lock();
                    // A caller may have run a call in place since the loop last looked.
                    let quiet =
                        core.committed.is_some() && !self.cell().held() && self.cell().depth() == 0;
                    let next = if now < due {
                        Some(due)
                    } else if quiet {
                        tracing::debug!("idle for {timeout:?}; going to sleep");
                        self.begin_stop(&mut core, Stop::Sleep);
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
                        return Some(End::Crash(err));
                    }
                }
            }
        }
    }

    /// Polls the running turn once; most finish here without a trip through `select!`.
    async fn poll_turn_once(&mut self) -> Option<TurnDone<A>> {
        let (turn, _) = self.exclusive.as_mut()?;
        match poll_fn(|cx| Poll::Ready(turn.as_mut().poll(cx))).await {
            Poll::Ready(done) => Some(done),
            Poll::Pending => None,
        }
    }

    fn finish_turn(&mut self, done: TurnDone<A>) -> Result<(), End> {
        let (turn, answer) = self.exclusive.take().expect("a turn was running");
        let reply = match answer {
            Answer::Call(reply) => reply,
            Answer::Message(id) => return self.finish_message(id, turn.into_scope(), done),
            Answer::Loop { reply, complete } => {
                return self.finish_loop_turn(turn.into_scope(), done, reply, &complete);
            }
            Answer::Schedule { id, ops } => {
                return self.finish_schedule(id, ops, turn.into_scope(), done);
            }
        };
        let defer = self.defer_save();
        let mut core = self.live.lock();
        match self
            .live
            .finish_turn(&mut core, done, turn.into_scope(), defer)
        {
            Finished::Reply { needs, result } => core.gate.reply(needs, reply, result),
            Finished::Crash { result, err } => {
                let _ = reply.send(result);
                return Err(End::Crash(err));
            }
        }
        if !defer {
            return Ok(());
        }
        Self::run_queued(
            &self.live,
            core,
            &self.waiting,
            &mut self.deferred,
            &mut self.exclusive,
        )
    }

    /// Whether the turn that just finished leaves its save to the end of the run (see
    /// `look`), when no call is queued behind it, or to the turn that ends a long run;
    /// counts it.
    pub(super) fn defer_save(&mut self) -> bool {
        let defer = self.deferred < MAX_DEFERRED;
        self.deferred = if defer { self.deferred + 1 } else { 0 };
        defer
    }

    /// Right after a turn finished: the exclusive turns queued next run now, each under
    /// one lock, without a look and a trip through the inbox's other paths between them
    /// (`Live::run_queued`), unless the task has work taken already (it goes first). An
    /// associated function over the fields it changes, as `core` borrows `self.live`.
    pub(super) fn run_queued(
        live: &Live<A>,
        core: MutexGuard<'_, Core<A>>,
        waiting: &VecDeque<Work<A>>,
        deferred: &mut u32,
        exclusive: &mut Option<HandedTurn<A>>,
    ) -> Result<(), End> {
        if !waiting.is_empty() {
            return Ok(());
        }
        let (mut core, ran) = live.run_queued(core, MAX_DEFERRED - *deferred);
        match ran {
            Ran::Done(turns) => {
                *deferred += turns;
                if *deferred >= MAX_DEFERRED {
                    *deferred = 0;
                    live.save_owed(&mut core).map_err(End::Crash)?;
                }
            }
            Ran::Waiting(turn) => *exclusive = Some(turn),
            // The next look stops the instance on it.
            Ran::Crashed => {}
        }
        Ok(())
    }
}
