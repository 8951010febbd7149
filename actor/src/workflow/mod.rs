//! Durable workflows: `#[workflow]` methods whose steps are recorded in the actor's
//! keyspace, so a workflow survives crashes and sleeps without running a finished step
//! again, and never holds the state between steps. See `docs/workflows.md`.
//!
//! ```
//! use std::time::Duration;
//! use actor::prelude::*;
//!
//! #[actor]
//! #[derive(Clone, Default, Serialize, Deserialize)]
//! pub struct Orders { shipped: Vec<String> }
//!
//! #[actor]
//! impl Orders {
//!     #[workflow]
//!     async fn ship(wf: Workflow<Self>, order: String) -> Result<String, ActorError> {
//!         // Runs once; on replay its recorded result comes back.
//!         let label: String = wf
//!             .step("label", move |step| {
//!                 let order = order.clone();
//!                 async move { Ok::<_, ActorError>(format!("{order}-{}", step.attempt())) }
//!             })
//!             .retries(3)
//!             .await?;
//!         wf.sleep("cool-down", Duration::from_millis(10)).await?;
//!         // The state, in an exclusive turn that commits with the entry.
//!         let shipped = label.clone();
//!         wf.turn("record", move |state: &mut Orders, _| state.shipped.push(shipped)).await?;
//!         Ok(label)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ActorError> {
//! let registry = registry::Registry::builder().memory().build().await?;
//! let orders = registry.client().get_or_create::<Orders>("o").await?;
//! let run = orders.ship("book".into()).id("order-1").await?;
//! assert_eq!(run.wait(Duration::from_secs(5)).await?, "book-1");
//! assert_eq!(run.status().await?.state, actor::workflow::WorkflowState::Completed);
//! # registry.shutdown().await;
//! # Ok(()) }
//! ```

pub(crate) mod record;
pub(crate) mod replay;

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ctx::Ctx;
use crate::definition::Actor;
use crate::error::ActorError;
use crate::handle::ActorHandle;
use crate::instance::workflow_run::Engine;
use crate::payload::Payload;
use crate::route::Target;
use crate::run_loop::Received;

use record::Seg;

/// A workflow's id: chosen by whoever starts it, or generated. Starting a workflow under
/// an id that exists already returns that workflow: a start is idempotent on its id.
///
/// ```
/// let id = actor::WorkflowId::from("task-42");
/// assert_eq!(id.as_str(), "task-42");
/// assert_eq!(id.to_string(), "task-42");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkflowId(String);

impl WorkflowId {
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkflowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for WorkflowId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl From<String> for WorkflowId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

/// Where a workflow is in its life.
///
/// ```
/// use actor::workflow::WorkflowState;
/// assert!(WorkflowState::Failed.is_finished() && !WorkflowState::Running.is_finished());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WorkflowState {
    /// It runs, or waits for a timer or a message; it resumes on every wake.
    Running,
    /// It returned; its output is kept.
    Completed,
    /// A step ran out of attempts, the history no longer matches the code, or the
    /// workflow returned an error: its error is kept, and `retry` resumes it.
    Failed,
    /// `cancel` stopped it.
    Cancelled,
}

impl WorkflowState {
    /// Whether it is done running (completed, failed or cancelled).
    pub fn is_finished(self) -> bool {
        self != Self::Running
    }
}

/// What a history entry records.
///
/// ```
/// assert_eq!(actor::workflow::EntryKind::Step.to_string(), "step");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EntryKind {
    /// [`Workflow::step`] or [`Workflow::turn`].
    Step,
    /// [`Workflow::sleep`] or [`Workflow::sleep_until`].
    Sleep,
    /// [`Workflow::message`].
    Message,
    /// [`Workflow::repeat`].
    Loop,
    /// [`Workflow::join`].
    Join,
    /// [`Workflow::race`].
    Race,
    /// [`Workflow::version`].
    Version,
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Step => "step",
            Self::Sleep => "sleep",
            Self::Message => "message wait",
            Self::Loop => "loop",
            Self::Join => "join",
            Self::Race => "race",
            Self::Version => "version marker",
        })
    }
}

/// Where a history entry is.
///
/// ```
/// assert_ne!(actor::workflow::EntryStatus::Waiting, actor::workflow::EntryStatus::Completed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EntryStatus {
    /// A loop with iterations done and more to run.
    Running,
    /// Until its deadline: a sleep, a message wait with a timeout, a step's next attempt.
    Waiting,
    /// Done; its result is recorded.
    Completed,
    /// A step that ran out of attempts (its last error is recorded).
    Failed,
}

/// One entry of a workflow's history, as [`WorkflowRun::history`] reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Where it is: names joined by `/`, a loop's iteration in brackets (`poll[3]/check`).
    pub location: String,
    /// Its name.
    pub name: String,
    /// What it records.
    pub kind: EntryKind,
    /// Where it is.
    pub status: EntryStatus,
    /// The attempts a step made (a loop: the iterations it finished).
    pub attempts: u32,
    /// The last error of a step's attempts, if one failed (kept once a later attempt
    /// succeeded).
    pub error: Option<ActorError>,
    /// When it was first recorded.
    pub started: SystemTime,
    /// When it finished.
    pub finished: Option<SystemTime>,
    /// When a sleep ends, a message wait times out or a step's next attempt is due.
    pub deadline: Option<SystemTime>,
}

/// What a running workflow waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Waiting {
    /// A durable sleep, until `until`.
    Sleep {
        /// The sleep's location.
        location: String,
        /// When it ends.
        until: SystemTime,
    },
    /// A message of one of `queues`, until `deadline` if it has one.
    Message {
        /// The wait's location.
        location: String,
        /// The queues it takes from.
        queues: Vec<String>,
        /// When it times out.
        deadline: Option<SystemTime>,
    },
    /// A step's next attempt, after a failed one.
    Retry {
        /// The step's location.
        location: String,
        /// When the next attempt starts.
        at: SystemTime,
    },
}

/// A step attempt running now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// The step's location.
    pub location: String,
    /// Its attempt, from 1.
    pub attempt: u32,
    /// When the attempt started.
    pub started: SystemTime,
    /// When it times out, if it has a timeout.
    pub deadline: Option<SystemTime>,
}

/// A workflow's status, as [`WorkflowRun::status`] reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowStatus {
    /// Its id.
    pub id: WorkflowId,
    /// Its workflow's name.
    pub name: String,
    /// Where it is in its life.
    pub state: WorkflowState,
    /// When it was started.
    pub created: SystemTime,
    /// When its record last changed.
    pub updated: SystemTime,
    /// When it finished.
    pub finished: Option<SystemTime>,
    /// Why it failed.
    pub error: Option<ActorError>,
    /// What it waits for, while it waits (several waits in a join or a race).
    pub waiting: Vec<Waiting>,
    /// The step attempts running now (several in a join or a race).
    pub in_flight: Vec<InFlight>,
}

/// What a call to an actor's workflows does, for [`Target::Workflow`].
///
/// ```
/// use actor::workflow::WorkflowOp;
/// let op = WorkflowOp::Status("task-1".into());
/// assert_eq!(format!("{op:?}"), r#"Status(WorkflowId("task-1"))"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkflowOp {
    /// Starts workflow `name` (the payload is its input) under `id`, or a generated one;
    /// answers its id once its record is durable, or the id of the workflow already
    /// under `id`.
    Start {
        /// The workflow's name.
        name: Cow<'static, str>,
        /// The id to start it under.
        id: Option<WorkflowId>,
    },
    /// Its [`WorkflowStatus`].
    Status(WorkflowId),
    /// Its history, as [`HistoryEntry`]s in the order they were first recorded.
    History(WorkflowId),
    /// Its output once it completes, its error if it fails or is cancelled;
    /// `workflow/timed_out` after `timeout`.
    Wait {
        /// The workflow.
        id: WorkflowId,
        /// How long to wait.
        timeout: Duration,
    },
    /// Stops a running workflow for good: `workflow/cancelled` for whoever waits.
    Cancel(WorkflowId),
    /// Resumes a failed workflow from the step that failed.
    Retry(WorkflowId),
    /// The status of every workflow the actor keeps.
    List,
}

/// A step's output: it is recorded in the workflow's history and returned on replay, so
/// it is `Serialize + Deserialize`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a workflow step's output: it is not `Serialize` and `Deserialize`",
    label = "a step's result is recorded in the workflow's history and read back on replay",
    note = "derive both on the type: `#[derive(Serialize, Deserialize)]` (they come with `use actor::prelude::*`), or return a value of a type that has them"
)]
pub trait StepOutput: Serialize + DeserializeOwned + Send + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned + Send + 'static> StepOutput for T {}

/// What a `#[workflow]` receives: its way to record steps, wait durably and reach the
/// state. Cloning is cheap.
///
/// Every method takes a name, unique in its scope (the workflow, a loop's iteration, a
/// branch): an entry is recorded at its location, and on replay the code must ask for
/// the same entries in the same order, or the workflow fails with
/// `workflow/history_diverged`. See `docs/workflows.md` for what may run outside a step.
pub struct Workflow<A: Actor> {
    engine: Arc<Engine<A>>,
    scope: Arc<[Seg]>,
}

impl<A: Actor> Clone for Workflow<A> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            scope: self.scope.clone(),
        }
    }
}

impl<A: Actor> fmt::Debug for Workflow<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workflow")
            .field("actor", &A::NAME)
            .field("id", self.engine.id())
            .field("scope", &record::display(&self.scope))
            .finish()
    }
}

impl<A: Actor> Workflow<A> {
    pub(crate) fn root(engine: Arc<Engine<A>>) -> Self {
        Self {
            engine,
            scope: Arc::from(Vec::new()),
        }
    }

    pub(crate) fn engine_arc(&self) -> Arc<Engine<A>> {
        self.engine.clone()
    }

    pub(crate) fn scope_segments(&self) -> &[Seg] {
        &self.scope
    }

    /// The same workflow inside the scope `seg` below this one.
    fn child(&self, seg: &[Seg]) -> Self {
        Self {
            engine: self.engine.clone(),
            scope: self.scope.iter().chain(seg).cloned().collect(),
        }
    }

    /// The actor's context: its id, key, vars and client (for calling other actors in a
    /// step).
    pub fn ctx(&self) -> &Ctx<A> {
        self.engine.ctx()
    }

    /// This workflow's id.
    pub fn id(&self) -> &WorkflowId {
        self.engine.id()
    }

    /// A step: `work` runs (outside the state, so the actor keeps handling calls) until
    /// it succeeds, and its result is recorded; on replay the recorded result is
    /// returned and `work` does not run again. Options: [`Step::retries`],
    /// [`Step::backoff`], [`Step::timeout`], [`Step::retry_timeouts`]; a state change
    /// committed with the result, [`Step::apply`]; an error returned as a value,
    /// [`Step::allow_failure`].
    pub fn step<T, E, F, Fut>(&self, name: impl Into<String>, work: F) -> Step<'_, A, T, F>
    where
        T: StepOutput,
        E: Into<ActorError> + 'static,
        F: FnMut(StepCtx<A>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        Step {
            wf: self,
            name: name.into(),
            work,
            options: StepOptions::default(),
            apply: None,
            run: |step, allow_failure| Box::pin(step.run(allow_failure)),
        }
    }

    /// A step that changes the state: `change` runs as an exclusive turn, in order with
    /// the actor's calls, and its result is recorded in the same commit as the state it
    /// produced. On replay the recorded result is returned and `change` does not run. A
    /// panic fails the workflow (`workflow/step_failed`) with nothing changed.
    pub async fn turn<T, F>(&self, name: impl Into<String>, change: F) -> Result<T, ActorError>
    where
        T: StepOutput,
        F: FnOnce(&mut A, &Ctx<A>) -> T + Send + 'static,
    {
        self.engine.turn(&self.scope, name.into(), change).await
    }

    /// A durable sleep: its end is recorded, so it survives the actor's sleep and a
    /// restart (the alarm index wakes the actor), and the actor may sleep meanwhile.
    pub async fn sleep(
        &self,
        name: impl Into<String>,
        duration: Duration,
    ) -> Result<(), ActorError> {
        self.engine
            .sleep(&self.scope, name.into(), Deadline::After(duration))
            .await
    }

    /// A durable sleep until `until` (wall-clock time).
    pub async fn sleep_until(
        &self,
        name: impl Into<String>,
        until: SystemTime,
    ) -> Result<(), ActorError> {
        self.engine
            .sleep(&self.scope, name.into(), Deadline::At(until))
            .await
    }

    /// Waits for a message of one of `queues` (queues declared without a handler), up to
    /// `timeout` if given: `None` when it timed out. The message is removed from its
    /// queue in the same commit that records it here, so it is never lost and never
    /// taken twice; the actor may sleep while the workflow waits, and a send wakes it.
    pub async fn message(
        &self,
        name: impl Into<String>,
        queues: &[&str],
        timeout: Option<Duration>,
    ) -> Result<Option<Received>, ActorError> {
        self.engine
            .message(&self.scope, name.into(), queues, timeout)
            .await
    }

    /// A loop with carried state: `body` runs once per iteration with the state the last
    /// one returned (`init` first), until it returns `ControlFlow::Break(output)`. Each
    /// iteration's entries are in a scope of their own, and the state is recorded after
    /// each, so only the last [`Repeat::keep`] iterations' entries are kept: the history
    /// stays bounded however long the loop runs.
    pub fn repeat<S, T, F, Fut>(
        &self,
        name: impl Into<String>,
        init: S,
        body: F,
    ) -> Repeat<'_, A, S, F>
    where
        S: StepOutput,
        T: StepOutput,
        F: FnMut(Workflow<A>, S) -> Fut + Send,
        Fut: Future<Output = Result<ControlFlow<T, S>, ActorError>> + Send,
    {
        Repeat {
            wf: self,
            name: name.into(),
            init,
            body,
            keep: 1,
        }
    }

    /// Runs `branches` at once, each in a scope of its own, and returns their outputs
    /// in order once all are done; the first error fails the join. The outputs are
    /// recorded, so a replay does not run the branches again.
    pub async fn join<T: StepOutput>(
        &self,
        name: impl Into<String>,
        branches: Vec<Branch<A, T>>,
    ) -> Result<Vec<T>, ActorError> {
        self.engine.join(self, name.into(), branches).await
    }

    /// Runs `branches` at once and returns the name and output of the first to finish;
    /// the others are dropped. The winner is recorded, so a replay returns it again.
    pub async fn race<T: StepOutput>(
        &self,
        name: impl Into<String>,
        branches: Vec<Branch<A, T>>,
    ) -> Result<(String, T), ActorError> {
        self.engine.race(self, name.into(), branches).await
    }

    /// Marks where an entry named `name` was before the code stopped having it: a
    /// workflow whose history has it here skips it, and one that does not goes on.
    /// Without this, the history of a workflow that ran the old code no longer matches.
    pub fn removed(&self, name: &str) -> Result<(), ActorError> {
        self.engine.removed(&self.scope, name)
    }

    /// A version marker for code that changed under running workflows: `latest` for a
    /// workflow that reaches it for the first time (recorded), the recorded version on
    /// replay, and 0 for a workflow whose history predates the marker. Branch on it to
    /// keep old histories replaying.
    pub async fn version(&self, name: impl Into<String>, latest: u32) -> Result<u32, ActorError> {
        self.engine.version(&self.scope, name.into(), latest).await
    }
}

/// When a sleep ends.
pub(crate) enum Deadline {
    After(Duration),
    At(SystemTime),
}

/// What a step's closure receives: the attempt, the actor's context, the step's name.
pub struct StepCtx<A: Actor> {
    attempt: u32,
    ctx: Ctx<A>,
    name: Arc<str>,
}

impl<A: Actor> StepCtx<A> {
    pub(crate) fn new(attempt: u32, ctx: Ctx<A>, name: Arc<str>) -> Self {
        Self { attempt, ctx, name }
    }

    /// The attempt, from 1: the attempts whose end was recorded, plus one. An attempt
    /// after the first follows one whose side effects may have happened before it failed;
    /// an attempt cut short by a crash or a stop runs again under the same number. Make
    /// the work idempotent either way.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The actor's context.
    pub fn ctx(&self) -> &Ctx<A> {
        &self.ctx
    }

    /// The step's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<A: Actor> fmt::Debug for StepCtx<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepCtx")
            .field("name", &self.name)
            .field("attempt", &self.attempt)
            .finish()
    }
}

/// A step's retry and timeout options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StepOptions {
    /// Attempts in all, the first included.
    pub(crate) attempts: u32,
    pub(crate) first_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry_timeouts: bool,
}

impl Default for StepOptions {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            timeout: None,
            retry_timeouts: true,
        }
    }
}

impl StepOptions {
    /// The wait after failed attempt `attempt` (from 1): the first backoff, doubled for
    /// each attempt after the first, at most the cap.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        crate::definition::doubling(self.first_backoff, self.max_backoff, attempt)
    }
}

/// A state change committed with a step's result.
pub(crate) type Apply<A, T> = Box<dyn FnOnce(&mut A, &Ctx<A>, &T) + Send>;

/// A step, run by `.await` (see [`Workflow::step`]).
#[must_use = "a step runs only when awaited"]
pub struct Step<'a, A: Actor, T, F> {
    wf: &'a Workflow<A>,
    name: String,
    work: F,
    options: StepOptions,
    apply: Option<Apply<A, T>>,
    /// How it runs, chosen where it was made (`Workflow::step`, whose bounds are checked
    /// there, once): awaiting it needs none of them again.
    run: StepRun<'a, A, T, F>,
}

/// How a [`Step`] runs; `true` returns its error as a value.
type StepRun<'a, A, T, F> =
    fn(Step<'a, A, T, F>, bool) -> BoxFuture<'a, Result<Result<T, ActorError>, ActorError>>;

impl<A: Actor, T, F> Step<'_, A, T, F> {
    /// Retries after a failed attempt, up to `retries` more attempts (default 3).
    pub fn retries(mut self, retries: u32) -> Self {
        self.options.attempts = retries.saturating_add(1);
        self
    }

    /// The wait before the first retry, doubled for each one after, at most `max`
    /// (default 1 s, doubling to 60 s). Waits are durable: the actor may sleep through
    /// them.
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.options.first_backoff = first;
        self.options.max_backoff = max.max(first);
        self
    }

    /// Fails an attempt that runs longer than `timeout` with `workflow/step_timed_out`
    /// (default: no limit).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// Whether an attempt that timed out is retried (default `true`); if not, the step
    /// fails at its first timeout.
    pub fn retry_timeouts(mut self, retry: bool) -> Self {
        self.options.retry_timeouts = retry;
        self
    }

    /// Changes the state with the step's result, in the exclusive turn that records it:
    /// both commit together, once.
    pub fn apply(mut self, change: impl FnOnce(&mut A, &Ctx<A>, &T) + Send + 'static) -> Self {
        self.apply = Some(Box::new(change));
        self
    }

    /// Returns the step's error as a value once its attempts are spent, instead of
    /// failing the workflow; the error is recorded, so a replay returns it again.
    pub fn allow_failure(self) -> AllowFailure<Self> {
        AllowFailure(self)
    }
}

impl<'a, A: Actor, T: Send + 'a, F: Send + 'a> IntoFuture for Step<'a, A, T, F> {
    type Output = Result<T, ActorError>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        let run = self.run;
        Box::pin(async move { run(self, false).await? })
    }
}

impl<'a, A, T, E, F, Fut> Step<'a, A, T, F>
where
    A: Actor,
    T: StepOutput,
    E: Into<ActorError> + 'static,
    F: FnMut(StepCtx<A>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    async fn run(self, allow_failure: bool) -> Result<Result<T, ActorError>, ActorError> {
        let Step {
            wf,
            name,
            mut work,
            options,
            apply,
            ..
        } = self;
        let work = move |step: StepCtx<A>| {
            let attempt = work(step);
            async move { attempt.await.map_err(Into::into) }
        };
        wf.engine
            .step(&wf.scope, name, work, options, apply, allow_failure)
            .await
    }
}

/// A step whose error, once its attempts are spent, is returned as a value (see
/// [`Step::allow_failure`]).
#[must_use = "a step runs only when awaited"]
pub struct AllowFailure<S>(S);

impl<'a, A: Actor, T: Send + 'a, F: Send + 'a> IntoFuture for AllowFailure<Step<'a, A, T, F>> {
    type Output = Result<Result<T, ActorError>, ActorError>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        (self.0.run)(self.0, true)
    }
}

/// A loop with carried state, run by `.await` (see [`Workflow::repeat`]).
#[must_use = "a loop runs only when awaited"]
pub struct Repeat<'a, A: Actor, S, F> {
    wf: &'a Workflow<A>,
    name: String,
    init: S,
    body: F,
    keep: u64,
}

impl<A: Actor, S, F> Repeat<'_, A, S, F> {
    /// How many of the last iterations keep their entries in the history (default 1,
    /// at least 1): older ones are deleted as the loop goes on.
    pub fn keep(mut self, iterations: u64) -> Self {
        self.keep = iterations.max(1);
        self
    }
}

impl<'a, A, S, T, F, Fut> IntoFuture for Repeat<'a, A, S, F>
where
    A: Actor,
    S: StepOutput,
    T: StepOutput,
    F: FnMut(Workflow<A>, S) -> Fut + Send + 'a,
    Fut: Future<Output = Result<ControlFlow<T, S>, ActorError>> + Send + 'a,
{
    type Output = Result<T, ActorError>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        let Repeat {
            wf,
            name,
            init,
            mut body,
            keep,
        } = self;
        Box::pin(async move {
            let (mut claim, mut iteration, mut state) =
                match wf.engine.loop_begin::<S, T>(&wf.scope, &name, init)? {
                    ControlFlow::Break(done) => return Ok(done),
                    ControlFlow::Continue(resume) => resume,
                };
            loop {
                let scope = wf.child(&[Seg::Name(name.clone()), Seg::Iter(iteration)]);
                match body(scope, state).await? {
                    ControlFlow::Continue(next) => {
                        iteration += 1;
                        let recorded = wf.engine.loop_value(&claim, &next)?;
                        wf.engine
                            .loop_record(&mut claim, iteration, recorded, false, keep)
                            .await?;
                        state = next;
                    }
                    ControlFlow::Break(out) => {
                        let recorded = wf.engine.loop_value(&claim, &out)?;
                        wf.engine
                            .loop_record(&mut claim, iteration + 1, recorded, true, keep)
                            .await?;
                        return Ok(out);
                    }
                }
            }
        })
    }
}

/// One branch of a [`Workflow::join`] or [`Workflow::race`]: a name, unique among its
/// siblings, and what it runs in its own scope.
pub struct Branch<A: Actor, T> {
    pub(crate) name: String,
    pub(crate) run: BranchFn<A, T>,
}

/// What a branch runs.
pub(crate) type BranchFn<A, T> =
    Box<dyn FnOnce(Workflow<A>) -> BoxFuture<'static, Result<T, ActorError>> + Send>;

impl<A: Actor, T> Branch<A, T> {
    /// A branch named `name` running `run`.
    pub fn new<F, Fut>(name: impl Into<String>, run: F) -> Self
    where
        F: FnOnce(Workflow<A>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, ActorError>> + Send + 'static,
    {
        Self {
            name: name.into(),
            run: Box::new(move |wf| Box::pin(run(wf))),
        }
    }

    /// Runs the branch inside `parent`'s scope `at` (the join's or race's location).
    pub(crate) fn start(
        self,
        parent: &Workflow<A>,
        at: &[Seg],
    ) -> BoxFuture<'static, Result<T, ActorError>> {
        let mut seg = at.to_vec();
        seg.push(Seg::Name(self.name));
        (self.run)(parent.child(&seg))
    }
}

impl<A: Actor, T> fmt::Debug for Branch<A, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Branch").field("name", &self.name).finish()
    }
}

/// Starts workflows from inside an exclusive turn, for the generated `<Struct>Workflows`
/// (see [`Ctx::workflow`]): the start is staged in the turn's writes, so it happens only
/// if the turn commits, and the workflow runs once it has.
pub struct Starting {
    owner: Arc<dyn StartOwner>,
    id: Option<WorkflowId>,
}

/// What a [`Starting`] stages a start through: the actor's context.
pub(crate) trait StartOwner: Send + Sync {
    fn start(
        &self,
        id: Option<WorkflowId>,
        name: &'static str,
        input: Payload,
    ) -> Result<WorkflowId, ActorError>;
}

impl Starting {
    pub(crate) fn new(owner: Arc<dyn StartOwner>, id: Option<WorkflowId>) -> Self {
        Self { owner, id }
    }

    /// Starts workflow `name` with `input` in the running exclusive turn; returns its id
    /// (the existing one's, if a workflow runs under the id already).
    /// `workflow/outside_turn` outside an exclusive turn of the actor.
    pub fn start(self, name: &'static str, input: Payload) -> Result<WorkflowId, ActorError> {
        self.owner.start(self.id, name, input)
    }
}

impl fmt::Debug for Starting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Starting").field("id", &self.id).finish()
    }
}

/// A start of a workflow through a handle: `.await` it for a [`WorkflowRun`] once the
/// workflow's record is durable; `.id(…)` chooses its id (default: generated).
#[must_use = "a workflow starts only when the start is awaited"]
pub struct WorkflowStart<'a, T> {
    handle: &'a ActorHandle,
    name: &'static str,
    input: Payload,
    id: Option<WorkflowId>,
    _t: PhantomData<fn() -> T>,
}

impl<'a, T> WorkflowStart<'a, T> {
    /// A start of workflow `name` with `input` (generated handles make these).
    pub fn new(handle: &'a ActorHandle, name: &'static str, input: Payload) -> Self {
        Self {
            handle,
            name,
            input,
            id: None,
            _t: PhantomData,
        }
    }

    /// Starts it under `id`: a start under an id that exists returns that workflow.
    pub fn id(mut self, id: impl Into<WorkflowId>) -> Self {
        self.id = Some(id.into());
        self
    }
}

impl<'a, T: Send + 'static> IntoFuture for WorkflowStart<'a, T> {
    type Output = Result<WorkflowRun<T>, ActorError>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let op = WorkflowOp::Start {
                name: Cow::Borrowed(self.name),
                id: self.id,
            };
            let id: WorkflowId = self
                .handle
                .send(Target::Workflow(op), self.input)
                .await?
                .decode()?;
            Ok(WorkflowRun::new(self.handle.clone(), id))
        })
    }
}

/// A workflow of one actor, by id, with its output type: read its status and history,
/// wait for its result, cancel or retry it. From a start, or from
/// [`ActorHandle::workflow`].
pub struct WorkflowRun<T> {
    handle: ActorHandle,
    id: WorkflowId,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for WorkflowRun<T> {
    fn clone(&self) -> Self {
        Self::new(self.handle.clone(), self.id.clone())
    }
}

impl<T> fmt::Debug for WorkflowRun<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkflowRun").field("id", &self.id).finish()
    }
}

impl<T> WorkflowRun<T> {
    pub(crate) fn new(handle: ActorHandle, id: WorkflowId) -> Self {
        Self {
            handle,
            id,
            _t: PhantomData,
        }
    }

    /// The workflow's id.
    pub fn id(&self) -> &WorkflowId {
        &self.id
    }

    async fn op(&self, op: WorkflowOp) -> Result<Payload, ActorError> {
        self.handle
            .send(Target::Workflow(op), Payload::local(()))
            .await
    }

    /// Its status: where it is in its life, what it waits for, the step attempts running
    /// now (since when, until when), and why it failed. `workflow/not_found` for an id
    /// the actor does not have.
    pub async fn status(&self) -> Result<WorkflowStatus, ActorError> {
        self.op(WorkflowOp::Status(self.id.clone())).await?.decode()
    }

    /// Its history: every entry it keeps, in the order they were first recorded.
    pub async fn history(&self) -> Result<Vec<HistoryEntry>, ActorError> {
        self.op(WorkflowOp::History(self.id.clone()))
            .await?
            .decode()
    }

    /// Stops it for good (a running step is dropped); whoever waits gets
    /// `workflow/cancelled`. `workflow/invalid_status` if it is finished already.
    pub async fn cancel(&self) -> Result<(), ActorError> {
        self.op(WorkflowOp::Cancel(self.id.clone())).await?.decode()
    }

    /// Resumes it from the step that failed, with that step's attempts counted from 1
    /// again (deploy the fix first). `workflow/invalid_status` unless it failed.
    pub async fn retry(&self) -> Result<(), ActorError> {
        self.op(WorkflowOp::Retry(self.id.clone())).await?.decode()
    }
}

impl<T: DeserializeOwned + Send + 'static> WorkflowRun<T> {
    /// Its output, once it completes (at once if it has); its error if it failed (a
    /// `workflow/step_failed` names the step), `workflow/cancelled` if it was cancelled,
    /// `workflow/timed_out` if it still runs after `timeout` (it goes on running).
    pub async fn wait(&self, timeout: Duration) -> Result<T, ActorError> {
        self.op(WorkflowOp::Wait {
            id: self.id.clone(),
            timeout,
        })
        .await?
        .decode()
    }
}
