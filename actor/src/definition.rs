//! What an actor kind is: the traits `#[actor]` implements and the inventory entry.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::ActorConfig;
use crate::ctx::Ctx;
use crate::error::ActorError;
use crate::handle::ActorHandle;
use crate::payload::Payload;
use crate::run_loop::Loop;
use crate::workflow::Workflow;

/// How an action reaches the state.
///
/// ```
/// use actor::Access;
/// assert_ne!(Access::Exclusive, Access::Shared);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `&mut self`: one at a time, in arrival order; the reply waits for durability.
    Exclusive,
    /// `&self`: concurrent, on a snapshot taken when the action starts.
    Shared,
}

/// One action of a kind, as listed in [`Actor::ACTIONS`].
///
/// ```
/// use actor::{Access, ActionInfo};
/// let a = ActionInfo { name: "increment", access: Access::Exclusive };
/// assert_eq!(a.name, "increment");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionInfo {
    /// The name clients call it by (the method's name).
    pub name: &'static str,
    /// Exclusive or shared.
    pub access: Access,
}

/// What happens to a message whose handler failed on its last attempt.
///
/// ```
/// use actor::DeadLetters;
/// assert_eq!(DeadLetters::default(), DeadLetters::Keep);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeadLetters {
    /// Moved to the queue's dead letters, where the handle can list, replay and discard
    /// it (`#[queue(dead_letters = "keep")]`, the default).
    #[default]
    Keep,
    /// Logged with its last error and dropped (`#[queue(dead_letters = "discard")]`).
    Discard,
}

/// One queue of a kind, as listed in [`Actor::QUEUES`]: its name and its options.
///
/// ```
/// use actor::QueueInfo;
/// let q = QueueInfo::new("initializeTask");
/// assert_eq!((q.name, q.max_attempts, q.capacity), ("initializeTask", 5, 1000));
/// assert_eq!(q.backoff(1), std::time::Duration::from_secs(1));
/// assert_eq!(q.backoff(3), std::time::Duration::from_secs(4));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueInfo {
    /// The name senders use: the camelCase of the handler's method name, or
    /// `#[queue(name = "…")]`.
    pub name: &'static str,
    /// Whether a handler runs each message (`false`: the `#[run]` loop takes them).
    pub handled: bool,
    /// Attempts of the handler before the message is a dead letter, the first included
    /// (`#[queue(max_attempts = N)]`, default 5).
    pub max_attempts: u32,
    /// The wait before the second attempt; each later one waits twice as long as the one
    /// before (`#[queue(backoff = "1s")]`).
    pub first_backoff: Duration,
    /// The longest wait between attempts (`#[queue(max_backoff = "5m")]`).
    pub max_backoff: Duration,
    /// What happens to a message whose last attempt failed.
    pub dead_letters: DeadLetters,
    /// Messages the queue holds at most; a send beyond is `queue/full`
    /// (`#[queue(capacity = N)]`, default 1,000).
    pub capacity: usize,
    /// The largest encoded message in bytes; a larger one is `queue/message_too_large`
    /// (`#[queue(max_message_size = N)]`, default 64 KiB).
    pub max_message_size: usize,
}

impl QueueInfo {
    /// A queue named `name` with the default options.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            handled: true,
            max_attempts: 5,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            dead_letters: DeadLetters::Keep,
            capacity: 1000,
            max_message_size: 64 * 1024,
        }
    }

    /// How long to wait after failed attempt number `attempt` (1 for the first) before the
    /// next: `first_backoff`, doubled for each attempt after the first, at most
    /// `max_backoff`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        doubling(self.first_backoff, self.max_backoff, attempt)
    }
}

/// The wait after failed attempt `attempt` (1 for the first): `first`, doubled for each
/// attempt after the first, at most `max`. A queue's retries and a workflow step's.
pub(crate) fn doubling(first: Duration, max: Duration, attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    first.saturating_mul(factor).min(max)
}

/// One workflow of a kind, as listed in [`Actor::WORKFLOWS`].
///
/// ```
/// use actor::WorkflowInfo;
/// let w = WorkflowInfo { name: "provision", main: false };
/// assert_eq!(w.name, "provision");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkflowInfo {
    /// The name it is started and listed by: the method's name, or
    /// `#[workflow(name = "…")]`.
    pub name: &'static str,
    /// The actor's main workflow (`#[workflow(main)]`): started when the actor is
    /// created, with its name as its id, and resumed on every wake.
    pub main: bool,
}

/// The struct-level half of a kind, generated by `#[actor]` on the state struct.
///
/// ```
/// use actor::prelude::*;
///
/// #[actor(name = "ledger", sleep_timeout = "5m")]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Ledger { total: i64 }
///
/// #[actor]
/// impl Ledger {}
///
/// assert_eq!(<Ledger as ActorOptions>::NAME, "ledger");
/// assert_eq!(Ledger::config().sleep_timeout, Some(std::time::Duration::from_secs(300)));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an actor: its struct has no `#[actor]` attribute",
    label = "not an actor",
    note = "put `#[actor]` (with any options, e.g. `#[actor(sleep_timeout = \"5m\")]`) on `struct {Self}`, next to its `#[derive(...)]`"
)]
pub trait ActorOptions: Sized + Send + Sync + 'static {
    /// The kind's name: the camelCase of the struct name unless `name = "…"` is given.
    const NAME: &'static str;
    /// Runtime-only companion data, rebuilt with `Default` on every wake and never saved
    /// (`vars = Type`); `()` when not given.
    type Vars: Default + Send + Sync + 'static;
    /// The events it sends its connections (`events = Type`, an enum with
    /// `#[derive(Events)]`); [`NoEvents`](crate::connection::NoEvents) when not given.
    type Events: crate::connection::Events;
    /// The typed handle, `<Struct>Handle`.
    type Handle: From<ActorHandle> + Clone + Send + Sync + 'static;
    /// The kind's settings.
    fn config() -> ActorConfig;
    /// The kind's SQL database, when `#[actor(migrations = "…")]` declares one.
    #[cfg(feature = "sqlite")]
    const DATABASE: Option<&'static crate::database::DatabaseSpec> = None;
}

/// What an actor's state struct is: `Clone + Default + Serialize + Deserialize + Send +
/// Sync`. Implemented for every such type; there is nothing to write by hand, only the
/// derives.
///
/// ```
/// use actor::prelude::*;
///
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// struct Totals { sum: i64 }
///
/// fn is_state<T: actor::ActorState>() {}
/// is_state::<Totals>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an actor's state: it must be `Clone + Default + Serialize + Deserialize`",
    label = "an actor's state is saved and loaded, so it needs these derives",
    note = "derive them on the struct: `#[derive(Clone, Default, Serialize, Deserialize)]` (`Serialize` and `Deserialize` come with `use actor::prelude::*`)",
    note = "every field needs them too; for a field without a `Default`, give it `#[serde(default)]` and write `impl Default` for the struct"
)]
pub trait ActorState:
    Clone + Default + Serialize + DeserializeOwned + Send + Sync + 'static
{
}

impl<T: Clone + Default + Serialize + DeserializeOwned + Send + Sync + 'static> ActorState for T {}

/// The impl-level half of a kind, generated by `#[actor]` on the `impl` block: the
/// actions, the lifecycle hooks and the input given at create.
///
/// Every method has a default (and `Input` and `Schedule` are simple to give), so the
/// trait can also be written by hand; the macro is
/// the intended way.
///
/// ```
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Greeter { greeted: u32 }
///
/// #[actor]
/// impl Greeter {
///     #[action]
///     async fn greet(&mut self, name: String) -> String {
///         self.greeted += 1;
///         format!("hello {name}, you are visitor {}", self.greeted)
///     }
/// }
///
/// assert_eq!(Greeter::ACTIONS[0].name, "greet");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an actor: it has no `#[actor]` impl block",
    label = "not an actor",
    note = "add `#[actor] impl {Self} {{ ... }}` holding its actions and hooks (it may be empty)"
)]
pub trait Actor: ActorOptions + ActorState {
    /// The value `create` takes and `#[on_create]` receives; `()` without `#[on_create]` input.
    type Input: Serialize + DeserializeOwned + Send + 'static;

    /// The typed schedule, `<Struct>Schedule`, that [`Schedules`](crate::Schedules)
    /// gives: one method per action and queue, each making the schedule that calls it.
    /// (A hand-written impl may use [`Scheduling`](crate::schedule::Scheduling) itself.)
    type Schedule: From<crate::schedule::Scheduling> + Send + 'static;

    /// The typed workflow starter, `<Struct>Workflows`, that [`Ctx::workflow`] gives: one
    /// method per workflow, each starting it in the running turn. (A hand-written impl
    /// may use [`Starting`](crate::workflow::Starting) itself.)
    type Workflows: From<crate::workflow::Starting> + Send + 'static;

    /// What `#[on_before_connect]` makes for each connection from its params, and
    /// [`Conn::state`](crate::connection::Conn::state) gives; `()` without the hook.
    type ConnState: Send + Sync + 'static;

    /// Every action, in declaration order.
    const ACTIONS: &'static [ActionInfo];

    /// Every queue, in declaration order (`#[queue]` methods).
    const QUEUES: &'static [QueueInfo] = &[];

    /// Runs `#[on_create]`: once in the actor's life, before the first `on_wake`.
    fn on_create(
        &mut self,
        ctx: &Ctx<Self>,
        input: Self::Input,
    ) -> impl Future<Output = Result<(), ActorError>> + Send {
        let _ = (ctx, input);
        async { Ok(()) }
    }

    /// Runs `#[on_wake]`: after create and after every wake from sleep or restart.
    fn on_wake(&mut self, ctx: &Ctx<Self>) -> impl Future<Output = Result<(), ActorError>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Runs `#[on_sleep]`: before the actor sleeps; its changes are saved.
    fn on_sleep(&mut self, ctx: &Ctx<Self>) -> impl Future<Output = Result<(), ActorError>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Runs `#[on_destroy]`: before the actor's storage is removed.
    fn on_destroy(
        &mut self,
        ctx: &Ctx<Self>,
    ) -> impl Future<Output = Result<(), ActorError>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Whether the kind has an `#[on_before_connect]` hook: then an HTTP call with or
    /// without params is checked by it first, and sees its connection.
    const HAS_ON_BEFORE_CONNECT: bool = false;

    /// Runs `#[on_before_connect]` on a connection's `params` (`null` when the client
    /// gave none): its error refuses the connection, its value is the connection's state.
    /// The macro writes it for every kind (without the hook, it accepts any params and
    /// makes `()`).
    fn on_before_connect(
        &self,
        ctx: &Ctx<Self>,
        params: Payload,
    ) -> impl Future<Output = Result<Self::ConnState, ActorError>> + Send {
        let _ = (ctx, params);
        async {
            Err(ActorError::internal(
                "on_before_connect",
                "the kind's `Actor` impl does not say how to open a connection",
            ))
        }
    }

    /// Runs `#[on_connect]`: after a connection that receives events opened, in the same
    /// exclusive turn; an error closes it again.
    fn on_connect(
        &mut self,
        ctx: &Ctx<Self>,
        conn: &crate::connection::Conn<Self>,
    ) -> impl Future<Output = Result<(), ActorError>> + Send {
        let _ = (ctx, conn);
        async { Ok(()) }
    }

    /// Runs `#[on_disconnect]`: once for every connection that opened, when it closed.
    fn on_disconnect(
        &mut self,
        ctx: &Ctx<Self>,
        conn: &crate::connection::Conn<Self>,
    ) -> impl Future<Output = Result<(), ActorError>> + Send {
        let _ = (ctx, conn);
        async { Ok(()) }
    }

    /// Whether the kind has an `#[on_state_change]` hook; the runtime skips the call if not.
    const HAS_ON_STATE_CHANGE: bool = false;

    /// Runs `#[on_state_change]` with the new state after a turn changed it.
    fn on_state_change(&self, ctx: &Ctx<Self>) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }

    /// Runs the exclusive action at `index` in [`ACTIONS`](Self::ACTIONS).
    fn call_exclusive(
        &mut self,
        ctx: &Ctx<Self>,
        index: usize,
        args: Payload,
    ) -> impl Future<Output = Result<Payload, ActorError>> + Send {
        let _ = (ctx, args);
        async move { Err(crate::error::action_not_found(Self::NAME, index)) }
    }

    /// Whether the exclusive action at `index` never waits: its body has no `.await` (nor
    /// a macro that might hold one), so its future finishes on its first poll and the
    /// runtime runs its turn to the end at once, on the stack, without boxing a future.
    /// `#[actor]` derives it from the method bodies; a hand-written impl that answers
    /// `true` for an action that does wait gets that call failed as an internal error.
    ///
    /// ```
    /// use actor::prelude::*;
    ///
    /// #[actor]
    /// #[derive(Clone, Default, Serialize, Deserialize)]
    /// pub struct Tick { n: u64 }
    ///
    /// #[actor]
    /// impl Tick {
    ///     #[action]
    ///     async fn tick(&mut self) -> u64 { self.n += 1; self.n }
    ///     #[action]
    ///     async fn tick_later(&mut self) -> u64 {
    ///         tokio::task::yield_now().await;
    ///         self.tick().await
    ///     }
    /// }
    ///
    /// assert!(Tick::exclusive_now(0));
    /// assert!(!Tick::exclusive_now(1));
    /// ```
    fn exclusive_now(index: usize) -> bool {
        let _ = index;
        false
    }

    /// Runs the handler of the queue at `index` in [`QUEUES`](Self::QUEUES) on one
    /// message. A message that does not decode into the handler's type is
    /// `queue/message_invalid`.
    fn call_queue(
        &mut self,
        ctx: &Ctx<Self>,
        index: usize,
        message: Payload,
    ) -> impl Future<Output = Result<Payload, ActorError>> + Send {
        let _ = (ctx, message);
        async move { Err(crate::__private::queue_not_found(Self::NAME, index)) }
    }

    /// Whether the handler of the queue at `index` never waits (its body has no `.await`),
    /// like [`exclusive_now`](Self::exclusive_now) for actions: its turn is run to its end
    /// at once, without boxing a future.
    fn queue_now(index: usize) -> bool {
        let _ = index;
        false
    }

    /// Whether the kind has a `#[run]` loop; the runtime starts none if not.
    const HAS_RUN: bool = false;

    /// Runs the `#[run]` loop: started when the actor wakes, stopped (after its grace)
    /// when it sleeps, restarted with backoff when it fails.
    fn run(lp: Loop<Self>) -> impl Future<Output = Result<(), ActorError>> + Send {
        let _ = lp;
        async { Ok(()) }
    }

    /// Every workflow, in declaration order (`#[workflow]` methods).
    const WORKFLOWS: &'static [WorkflowInfo] = &[];

    /// Runs the workflow at `index` in [`WORKFLOWS`](Self::WORKFLOWS) with its encoded
    /// input, from its first step; replaying its history, the steps it recorded return
    /// their recorded results without running again.
    fn call_workflow(
        wf: Workflow<Self>,
        index: usize,
        input: Payload,
    ) -> impl Future<Output = Result<Payload, ActorError>> + Send {
        let _ = (wf, input);
        async move { Err(crate::__private::workflow_not_found(Self::NAME, index)) }
    }

    /// Runs the shared action at `index` in [`ACTIONS`](Self::ACTIONS).
    fn call_shared(
        &self,
        ctx: &Ctx<Self>,
        index: usize,
        args: Payload,
    ) -> impl Future<Output = Result<Payload, ActorError>> + Send {
        let _ = (ctx, args);
        async move { Err(crate::error::action_not_found(Self::NAME, index)) }
    }

    /// Whether the shared action at `index` never waits, like
    /// [`exclusive_now`](Self::exclusive_now) for exclusive ones: a call that finds the
    /// actor idle runs it to its end on the caller's stack, without boxing a future or
    /// cloning the context. `#[actor]` derives it from the method bodies; a hand-written
    /// impl that answers `true` for an action that does wait gets that call failed as an
    /// internal error.
    ///
    /// ```
    /// use actor::prelude::*;
    ///
    /// #[actor]
    /// #[derive(Clone, Default, Serialize, Deserialize)]
    /// pub struct Gauge { level: u64 }
    ///
    /// #[actor]
    /// impl Gauge {
    ///     #[action]
    ///     async fn level(&self) -> u64 { self.level }
    ///     #[action]
    ///     async fn level_later(&self) -> u64 {
    ///         tokio::task::yield_now().await;
    ///         self.level
    ///     }
    /// }
    ///
    /// assert!(Gauge::shared_now(0));
    /// assert!(!Gauge::shared_now(1));
    /// ```
    fn shared_now(index: usize) -> bool {
        let _ = index;
        false
    }
}
