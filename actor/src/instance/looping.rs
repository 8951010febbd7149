//! The instance's background work: the `#[run]` loop's task (restarted with backoff when
//! it fails), what it reaches the queues and the state through (`Backend`, behind the
//! public `Loop`), the workflows' tasks (`workflow_run.rs`), and the turns they ask for,
//! which the instance task runs in order with its calls (`Work::Loop`).

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::FutureExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use crate::ctx::Ctx;
use crate::definition::Actor;
use crate::error::{ActorError, panic_message};
use crate::mailbox::Reply;
use crate::payload::Payload;
use crate::run_loop::{Loop, Received};

use super::live::Live;

/// The first wait before a failed loop runs again; it doubles up to `MAX_RESTART`.
const FIRST_RESTART: Duration = Duration::from_secs(1);
const MAX_RESTART: Duration = Duration::from_secs(60);

/// A change the loop or a workflow asked to make as an exclusive turn.
pub(super) type LoopFn<A> = Box<dyn FnOnce(&mut A, &Ctx<A>) -> Reply + Send>;

/// A turn the loop or a workflow asked for: the change, the messages it completes, where
/// the answer goes.
pub(super) struct LoopTurn<A: Actor> {
    pub(super) change: LoopFn<A>,
    pub(super) complete: Vec<u64>,
    pub(super) reply: oneshot::Sender<Reply>,
}

/// Set once, when the actor starts to stop; the loop's `cancelled()` resolves then.
#[derive(Default)]
pub(crate) struct Cancel {
    set: AtomicBool,
    notify: Notify,
}

impl Cancel {
    pub(super) fn cancel(&self) {
        self.set.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    pub(super) fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    pub(super) async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// The background part of an instance (its run loop and its workflows), kept with its
/// queues.
pub(super) struct Looping<A: Actor> {
    /// Notified when a message for a queue without a handler is stored, or taken
    /// messages come back.
    pub(super) arrived: Arc<Notify>,
    /// Set when the actor starts to stop: the loop and the workflows end.
    pub(super) cancel: Arc<Cancel>,
    /// Turns the loop and the workflows asked for, for the task's next look.
    pub(super) turns: VecDeque<LoopTurn<A>>,
    /// The task running the loop, while it runs.
    pub(super) task: Option<JoinHandle<()>>,
    /// The tasks running workflows, by id.
    pub(super) flows: HashMap<crate::workflow::WorkflowId, (JoinHandle<()>, u64)>,
    /// The instance, for starting workflows' tasks (set when the instance opens).
    pub(super) live: Weak<Live<A>>,
    /// The owner number of the next workflow task (see `Queues::take`).
    pub(super) next_owner: u64,
}

impl<A: Actor> Default for Looping<A> {
    fn default() -> Self {
        Self {
            arrived: Arc::default(),
            cancel: Arc::default(),
            turns: VecDeque::new(),
            task: None,
            flows: HashMap::new(),
            live: Weak::new(),
            next_owner: 1,
        }
    }
}

impl<A: Actor> Looping<A> {
    /// Tells the loop and the workflows the actor is stopping.
    pub(super) fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Ends the loop's and the workflows' tasks now (their grace is over, or the actor
    /// failed).
    pub(super) fn abort(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        for (_, (task, _)) in self.flows.drain() {
            task.abort();
        }
    }

    /// Whether the loop's task or a workflow's still runs.
    pub(super) fn alive(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
            || self.flows.values().any(|(t, _)| !t.is_finished())
    }

    /// Ready once the loop's task and the workflows' have ended.
    pub(super) fn poll_ended(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        use std::task::Poll;
        if let Some(task) = &mut self.task {
            match std::pin::Pin::new(task).poll(cx) {
                Poll::Ready(_) => self.task = None,
                Poll::Pending => return Poll::Pending,
            }
        }
        self.flows
            .retain(|_, (task, _)| std::pin::Pin::new(task).poll(cx).is_pending());
        if self.flows.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// A new owner number for a workflow task's taken messages.
    pub(super) fn owner(&mut self) -> u64 {
        let owner = self.next_owner;
        self.next_owner += 1;
        owner
    }
}

/// Asks the instance behind `live` to run `change` as an exclusive turn that also removes
/// the messages `complete`, and waits for its durable answer; `stopped()` if the instance
/// is gone or stops first.
pub(super) async fn request_turn<A: Actor>(
    live: &Weak<Live<A>>,
    complete: Vec<u64>,
    change: LoopFn<A>,
    stopped: impl Fn() -> ActorError,
) -> Reply {
    let live = live.upgrade().ok_or_else(&stopped)?;
    let (reply, answer) = oneshot::channel();
    {
        let mut core = live.lock();
        if core.phase.is_retired() {
            return Err(stopped());
        }
        core.queues().looping().turns.push_back(LoopTurn {
            change,
            complete,
            reply,
        });
    }
    live.cell().nudge();
    drop(live);
    answer.await.unwrap_or_else(|_| Err(stopped()))
}

/// What a `Loop` reaches the instance through.
pub(crate) struct Backend<A: Actor> {
    live: Weak<Live<A>>,
    ctx: Ctx<A>,
    arrived: Arc<Notify>,
    cancel: Arc<Cancel>,
}

impl<A: Actor> Backend<A> {
    pub(crate) fn ctx(&self) -> &Ctx<A> {
        &self.ctx
    }

    pub(crate) fn arrived(&self) -> Arc<Notify> {
        self.arrived.clone()
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancel.is_set()
    }

    pub(crate) async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }

    pub(crate) fn stopped(&self) -> ActorError {
        ActorError::stopped(format!(
            "actor `{}` {} is stopping: its run loop ends",
            A::NAME,
            self.ctx.id()
        ))
    }

    fn live(&self) -> Result<Arc<Live<A>>, ActorError> {
        self.live.upgrade().ok_or_else(|| self.stopped())
    }

    /// The indexes of the loop's queues named `names`.
    pub(crate) fn queue_indexes(&self, names: &[&str]) -> Result<Vec<usize>, ActorError> {
        queue_indexes::<A>(names)
    }

    /// Takes up to `max` available messages of the queues at `indexes`, oldest first.
    pub(crate) fn take(&self, indexes: &[usize], max: usize) -> Result<Vec<Received>, ActorError> {
        if self.is_cancelled() {
            return Err(self.stopped());
        }
        let live = self.live()?;
        let mut core = live.lock();
        Ok(core.queues().take(indexes, max, super::queues::LOOP))
    }

    /// Takes every available message of `queue` after message `after`.
    pub(crate) fn take_rest_of(&self, queue: &str, after: u64) -> Result<Vec<u64>, ActorError> {
        let live = self.live()?;
        let index = self.queue_indexes(&[queue])?[0];
        let mut core = live.lock();
        Ok(core.queues().take_rest(index, after))
    }

    /// Asks the instance task to run `change` as an exclusive turn that also removes the
    /// messages `complete`, and waits for its durable answer.
    pub(crate) async fn turn<R, F>(&self, complete: Vec<u64>, change: F) -> Result<R, ActorError>
    where
        R: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce(&mut A, &Ctx<A>) -> R + Send + 'static,
    {
        let change: LoopFn<A> = Box::new(move |state, ctx| Ok(Payload::local(change(state, ctx))));
        request_turn(&self.live, complete, change, || self.stopped())
            .await?
            .decode()
    }
}

/// Starts `A`'s run loop on the instance, if it has one.
pub(super) fn start<A: Actor>(live: &Arc<Live<A>>) {
    super::workflows::resume(live);
    if !A::HAS_RUN {
        return;
    }
    let mut core = live.lock();
    let looping = core.queues().looping();
    let backend = Arc::new(Backend {
        live: Arc::downgrade(live),
        ctx: live.ctx.clone(),
        arrived: looping.arrived.clone(),
        cancel: looping.cancel.clone(),
    });
    looping.task = Some(tokio::spawn(supervise(backend)));
}

/// Runs the loop until it returns `Ok`, restarting it (with a doubling wait) when it
/// fails or panics, until the actor stops. Messages it took and did not complete are
/// given back to its queues before each restart.
async fn supervise<A: Actor>(backend: Arc<Backend<A>>) {
    let mut wait = FIRST_RESTART;
    loop {
        let lp = Loop::new(backend.clone(), backend.ctx().keep_awake());
        let ran = AssertUnwindSafe(A::run(lp)).catch_unwind().await;
        if let Ok(live) = backend.live() {
            live.lock().queues().give_back(super::queues::LOOP);
        }
        if backend.is_cancelled() {
            return;
        }
        match ran {
            Ok(Ok(())) => {
                tracing::debug!("run loop finished");
                return;
            }
            Ok(Err(err)) => {
                tracing::error!(error = %err, restart_in = ?wait, "run loop failed; restarting it")
            }
            Err(panic) => {
                let cause = panic_message(&*panic);
                tracing::error!(cause, restart_in = ?wait, "run loop panicked; restarting it");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = backend.cancelled() => return,
        }
        wait = (wait * 2).min(MAX_RESTART);
    }
}

/// The indexes of the queues without a handler (the ones a loop or a workflow takes
/// from) named `names`; `queue/not_found` naming those there are for any other name.
pub(super) fn queue_indexes<A: Actor>(names: &[&str]) -> Result<Vec<usize>, ActorError> {
    names
        .iter()
        .map(|name| {
            A::QUEUES
                .iter()
                .position(|q| q.name == *name && !q.handled)
                .ok_or_else(|| {
                    let takeable: Vec<&str> = A::QUEUES
                        .iter()
                        .filter(|q| !q.handled)
                        .map(|q| q.name)
                        .collect();
                    ActorError::queue_not_found(A::NAME, name, &takeable)
                })
        })
        .collect()
}
