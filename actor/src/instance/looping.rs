//! The instance's side of a `#[run]` loop: the task that runs it (restarted with backoff
//! when it fails), what it reaches the queues and the state through (`Backend`, behind
//! the public `Loop`), and the turns it asks for, which the instance task runs in order
//! with its calls (`Work::Loop`).

use std::collections::VecDeque;
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

/// A change a loop asked to make as an exclusive turn.
pub(super) type LoopFn<A> = Box<dyn FnOnce(&mut A, &Ctx<A>) -> Reply + Send>;

/// A turn a loop asked for: the change, the messages it completes, where the answer goes.
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
    fn cancel(&self) {
        self.set.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// The loop's part of an instance, kept with its queues.
pub(super) struct Looping<A: Actor> {
    /// Notified when a message for a loop queue is stored, or taken messages come back.
    pub(super) arrived: Arc<Notify>,
    pub(super) cancel: Arc<Cancel>,
    /// Turns the loop asked for, for the task's next look.
    pub(super) turns: VecDeque<LoopTurn<A>>,
    /// The task running the loop, while it runs.
    pub(super) task: Option<JoinHandle<()>>,
}

impl<A: Actor> Default for Looping<A> {
    fn default() -> Self {
        Self {
            arrived: Arc::default(),
            cancel: Arc::default(),
            turns: VecDeque::new(),
            task: None,
        }
    }
}

impl<A: Actor> Looping<A> {
    /// Tells the loop the actor is stopping.
    pub(super) fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Ends the loop's task now (its grace is over, or the actor failed).
    pub(super) fn abort(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Whether the loop's task still runs.
    pub(super) fn alive(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Ready once the loop's task has ended.
    pub(super) fn poll_ended(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        match &mut self.task {
            Some(task) => std::pin::Pin::new(task).poll(cx).map(|_| self.task = None),
            None => std::task::Poll::Ready(()),
        }
    }
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
        names
            .iter()
            .map(|name| {
                A::QUEUES
                    .iter()
                    .position(|q| q.name == *name && !q.handled)
                    .ok_or_else(|| {
                        let loop_queues: Vec<&str> = A::QUEUES
                            .iter()
                            .filter(|q| !q.handled)
                            .map(|q| q.name)
                            .collect();
                        ActorError::queue_not_found(A::NAME, name, &loop_queues)
                    })
            })
            .collect()
    }

    /// Takes up to `max` available messages of the queues at `indexes`, oldest first.
    pub(crate) fn take(&self, indexes: &[usize], max: usize) -> Result<Vec<Received>, ActorError> {
        if self.is_cancelled() {
            return Err(self.stopped());
        }
        let live = self.live()?;
        let mut core = live.lock();
        Ok(core.queues().take(indexes, max))
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
        let live = self.live()?;
        let (reply, answer) = oneshot::channel();
        {
            let mut core = live.lock();
            if core.phase.is_retired() {
                return Err(self.stopped());
            }
            core.queues().looping().turns.push_back(LoopTurn {
                change: Box::new(move |state, ctx| Ok(Payload::local(change(state, ctx)))),
                complete,
                reply,
            });
        }
        live.cell().nudge();
        drop(live);
        answer
            .await
            .unwrap_or_else(|_| Err(self.stopped()))?
            .decode()
    }
}

/// Starts `A`'s run loop on the instance, if it has one.
pub(super) fn start<A: Actor>(live: &Arc<Live<A>>) {
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
            live.lock().queues().give_back();
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
