//! Procedural macros for the `actor` crate. Use them through `use actor::prelude::*;`.
//!
//! Every entry point is one line over the stages of `pipeline`, as in thiserror and
//! serde_derive: parse, validate, expand. Every mistake of a call is collected (`ctxt`) and
//! reported at once, spanned on the user's own tokens and worded as a fix; beside the
//! errors, `fallback` emits stub impls with the real names, so the user sees their mistakes
//! and not a cascade.
//!
//! | module | what it holds |
//! |---|---|
//! | `pipeline` | the stages, written once, and each input kind's four stages |
//! | `ast` | syn → the parsed form: the state struct, the impl block, each marked method |
//! | `options` | the struct's `#[actor(…)]` options: reading, rules, `ActorConfig` fields |
//! | `queue_options` | a handler's `#[queue(…)]` options: reading, rules, `QueueInfo` fields |
//! | `role` | the table of method roles: marker, receiver, arguments, result, expansion |
//! | `marker` | reading a method's marker attribute into its role |
//! | `meta` | reading one `key = value` of an attribute (strings, numbers, durations, types) |
//! | `valid` | the rules on the parsed form |
//! | `expand` | code generation for a valid input: options, `Actor` impl, handle, wire checks |
//! | `fallback` | the stubs emitted beside errors |
//! | `error_derive` | `#[derive(ActorError)]`'s own parsed form |
//! | `events_derive` | `#[derive(Events)]`: the events' names, arguments and rules |
//! | `case`, `duration`, `ctxt` | name rules, duration strings, the error collector |

#![warn(missing_docs)]

mod ast;
mod case;
mod ctxt;
mod duration;
mod error_derive;
mod events_derive;
mod expand;
mod fallback;
mod loop_names;
mod marker;
mod meta;
mod options;
mod pipeline;
mod queue_options;
mod role;
mod valid;
mod waits;

use proc_macro::TokenStream;

/// Declares an actor kind: on the state struct with its options, and on the struct's
/// `impl` block to turn marked methods into actions and lifecycle hooks.
///
/// ```
/// use actor::prelude::*;
///
/// #[actor(sleep_timeout = "5m", inbox = 256)]         // kind "counter"
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Counter {
///     count: i64,
/// }
///
/// #[actor]
/// impl Counter {
///     #[on_create]
///     async fn init(&mut self, start: i64) {
///         self.count = start;
///     }
///
///     /// Adds `by` and returns the new count.
///     #[action]                                        // exclusive: `&mut self`
///     async fn increment(&mut self, by: i64) -> i64 {
///         self.count += by;
///         self.count
///     }
///
///     #[action]                                        // shared: `&self`
///     async fn get(&self) -> i64 {
///         self.count
///     }
/// }
///
/// assert_eq!(Counter::NAME, "counter");
/// assert_eq!(Counter::ACTIONS[0].name, "increment");
/// assert_eq!(Counter::config().inbox_capacity, 256);
/// # let _ = CounterHandle::increment;
/// ```
///
/// # On the state struct
///
/// The struct is the actor's durable state: it must be `Clone + Default + Serialize +
/// Deserialize` and not generic. Every option is optional and given at most once:
///
/// | option | meaning | default |
/// |---|---|---|
/// | `name = "chatRoom"` | the kind's name (camelCase, checked) | camelCase of the struct name |
/// | `sleep_timeout = "30s"` | idle time before sleeping; `"never"` never sleeps | `"30s"` |
/// | `action_timeout = "60s"` | longest an action may run | `"60s"` |
/// | `sleep_grace = "15s"` | longest `on_sleep`/`on_destroy` may run | `"15s"` |
/// | `inbox = 1024` | calls that may wait before callers get `actor/overloaded` | `1024` |
/// | `max_shared = 64` | shared actions that may run at once on one instance; one more gets `actor/overloaded` | `1024` |
/// | `save_interval = "1s"` | save at most once per interval (`SaveMode::Debounced`) instead of before every exclusive reply | durable saves |
/// | `max_schedules = 1000` | schedules one actor may hold; one more is `schedule/limit_reached` | `1000` |
/// | `keep_workflows = 100` | finished workflows one actor keeps with their histories; the oldest goes when one more finishes | `100` |
/// | `min_schedule_interval = "1s"` | shortest time between two firings of a repeating schedule | `"1s"` |
/// | `vars = MyVars` | runtime-only data, rebuilt with `Default` on wake (`ctx.vars()`) | `()` |
/// | `events = RoomEvent` | the events it sends its connections (`ctx.broadcast(…)`, `conn.send(…)`): an enum with [`derive@Events`] | `NoEvents` (none) |
///
/// Durations are parsed at compile time (`"500ms"`, `"2m"`, `"1h 30m"`).
///
/// # On the impl block
///
/// `#[actor]` takes no options here. Methods marked with [`macro@action`] become actions,
/// [`macro@queue`] queue handlers, [`macro@run`] the run loop and [`macro@workflow`]
/// workflows; [`macro@on_create`], [`macro@on_wake`], [`macro@on_sleep`], [`macro@on_destroy`],
/// [`macro@on_state_change`] and the connection hooks [`macro@on_before_connect`],
/// [`macro@on_connect`] and [`macro@on_disconnect`] mark the hooks (at most one of each).
/// Unmarked methods stay ordinary methods. Every marked method is an `async fn`; but for [`macro@run`] and
/// [`macro@workflow`], which take their own context instead of `self`, its parameters are:
///
/// 1. `&mut self` (exclusive: one at a time, the reply waits for durability) or `&self`
///    (shared: runs alongside other calls on a snapshot);
/// 2. optionally `ctx: &Ctx<Self>`;
/// 3. the arguments, plain names with owned types that are `Serialize + Deserialize +
///    Send + 'static`.
///
/// An action returns `T`, `Result<T, E>` with `E: Into<ActorError>`, or nothing. A
/// `Result` is recognised by name (the last path segment is `Result`), so one-argument
/// aliases such as `type Result<T> = std::result::Result<T, MyError>;` work too; the
/// hooks return `()` or `Result<(), E>`, except `#[on_state_change]`, which returns `()`,
/// and `#[on_before_connect]`, which returns the connection's state like an action its
/// output (`T` or `Result<T, E>`; nothing is `()`), but kept in memory, so it need not be
/// `Serialize`.
///
/// The connection hooks take, after the optional `ctx`: `#[on_before_connect]` (`&self`)
/// the client's params, one `Deserialize` value (`null` when the client gave none, which
/// an `Option<T>` accepts); `#[on_connect]` and `#[on_disconnect]` (`&mut self`) the
/// connection, `conn: &Conn<Self>`.
///
/// Every mistake is a compile error on the token to change: a missing `async`, a wrong
/// receiver, a borrowed argument, two actions with one name, an argument type that is
/// not `Serialize` (reported on that type), and so on.
///
/// # What it generates
///
/// This input (`snapshots/counter.rs` in this crate):
///
/// ```
#[doc = include_str!("../snapshots/counter.rs")]
/// ```
///
/// expands to the code below (`snapshots/counter.expanded.rs`: a test checks that it is
/// the macros' current output, and this example compiles it). In order: the struct and its
/// handle type with `ActorOptions`, the settings; the impl block with its markers removed;
/// then, in a `const _` block, the check that the struct has `#[actor]`, the argument
/// decoders, the `Actor` impl (actions dispatched by index, hooks forwarded, and without
/// `#[on_before_connect]` a `ConnState` of `()` and an `on_before_connect` that accepts
/// every connection), the handle's methods and the inventory entry. The `__private` helpers are generic functions whose
/// bounds land on the user's own tokens, so a type that cannot cross the network, an error
/// that does not convert or a future that is not `Send` is reported once, where it is
/// written; `wire_type::<T>()` is that check for each argument and output type.
///
/// ```
#[doc = include_str!("../snapshots/counter.expanded.rs")]
/// ```
#[proc_macro_attribute]
pub fn actor(args: TokenStream, input: TokenStream) -> TokenStream {
    pipeline::actor(args.into(), input.into()).into()
}

/// Marks an action inside an `#[actor] impl` block: `&mut self` for an exclusive turn,
/// `&self` for a shared one. Clients call it by the method's name, or by the name given
/// with `#[action(name = "doThing")]` (camelCase or snake_case).
///
/// ```
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Inbox { messages: Vec<String> }
///
/// #[actor]
/// impl Inbox {
///     #[action]
///     async fn post(&mut self, ctx: &Ctx<Self>, text: String) -> Result<usize, ActorError> {
///         if text.is_empty() {
///             return Err(ActorError::user("empty_message", "say something"));
///         }
///         self.messages.push(text);
///         Ok(self.messages.len())
///     }
///
///     #[action(name = "readAll")]
///     async fn read_all(&self) -> Vec<String> {
///         self.messages.clone()
///     }
/// }
///
/// assert_eq!(Inbox::ACTIONS[1].name, "readAll");
/// ```
///
/// Outside an `#[actor] impl` block it is an error.
#[proc_macro_attribute]
pub fn action(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("action", item.into()).into()
}

/// Marks a queue handler inside an `#[actor] impl` block: a named, typed, durable queue
/// of each actor instance, handled one message at a time as an exclusive turn.
///
/// The handler takes `&mut self`, optionally `ctx: &Ctx<Self>`, and the message: one
/// owned `Serialize + Deserialize` value. It returns `T`, `Result<T, E>` or nothing; a
/// sender that waits gets the `T` (or the error, once the last attempt failed). The
/// queue's name is the camelCase of the method's name (`initialize_task` →
/// `initializeTask`) or `#[queue(name = "…")]`, camelCase without dots. The typed handle
/// gets a method of the same name that sends a message and returns a
/// [`QueueSend`](../actor/queue/struct.QueueSend.html).
///
/// | option | meaning | default |
/// |---|---|---|
/// | `name = "taskCommand"` | the queue's name (camelCase, checked) | camelCase of the method name |
/// | `max_attempts = 5` | attempts before the message is a dead letter, the first included | `5` |
/// | `backoff = "1s"` | the wait before the second attempt; it doubles for each later one | `"1s"` |
/// | `max_backoff = "5m"` | the longest wait between attempts | `"5m"` |
/// | `dead_letters = "keep"` | `"keep"` a failed message in the dead letters, or `"discard"` it | `"keep"` |
/// | `capacity = 1000` | messages the queue holds before sends get `queue/full` | `1000` |
/// | `max_message_size = 65536` | the largest encoded message in bytes | `65536` |
///
/// ```
/// use actor::prelude::*;
///
/// #[derive(Clone, Debug, Serialize, Deserialize)]
/// pub struct InitializeTask { pub id: u64 }
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Tasks { started: Vec<u64> }
///
/// #[actor]
/// impl Tasks {
///     #[queue(max_attempts = 3, backoff = "500ms")]
///     async fn initialize_task(&mut self, task: InitializeTask) -> Result<usize, ActorError> {
///         self.started.push(task.id);
///         Ok(self.started.len())
///     }
/// }
///
/// assert_eq!(Tasks::QUEUES[0].name, "initializeTask");
/// assert_eq!(Tasks::QUEUES[0].max_attempts, 3);
/// ```
///
/// Outside an `#[actor] impl` block it is an error.
#[proc_macro_attribute]
pub fn queue(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("queue", item.into()).into()
}

/// Marks an actor's run loop inside an `#[actor] impl` block: one long-running `async fn`
/// that takes `lp: Loop<Self>` (no `self`) and returns `()` or `Result<(), E>`. It takes
/// messages itself from the queues declared for it without a body (`#[queue] fn
/// tick(tick: Tick);`) with `lp.next(&["tick"], timeout)`, and reaches the state only
/// through the turns it opens (`lp.turn(…)`, `lp.complete(message, …)`), so actions keep
/// running while it waits. It starts when the actor wakes, gets `lp.cancelled()` and the
/// kind's `sleep_grace` when the actor sleeps, and is restarted with backoff when it
/// fails or panics. An actor has at most one.
///
/// ```
/// use std::time::Duration;
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Ticker { ticks: u64 }
///
/// #[actor]
/// impl Ticker {
///     #[queue]
///     fn tick(at: u64);
///
///     #[run]
///     async fn run(lp: Loop<Self>) -> Result<(), ActorError> {
///         while let Some(tick) = lp.next(&["tick"], Duration::from_secs(60)).await? {
///             lp.complete(tick, |state, _| state.ticks += 1).await?;
///         }
///         Ok(())
///     }
/// }
/// assert!(!Ticker::QUEUES[0].handled);
/// ```
///
/// Outside an `#[actor] impl` block it is an error.
#[proc_macro_attribute]
pub fn run(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("run", item.into()).into()
}

/// Marks a durable workflow inside an `#[actor] impl` block: an `async fn` that takes the
/// workflow's context `wf: Workflow<Self>` (no `self`), then at most one input, an owned
/// `Serialize + Deserialize` value, and returns `T`, `Result<T, E>` or nothing. Its steps
/// are recorded, so it survives crashes and sleeps without running a finished step again;
/// it runs beside the actor's turns and reaches the state only inside its steps.
///
/// Its name is the method's name or `#[workflow(name = "…")]` (camelCase or snake_case),
/// unique among the actor's workflows. `#[workflow(main)]` marks the actor's main
/// workflow, started by itself when the actor is created, so it takes no input; an actor
/// has at most one. The typed handle gets a method of the same name that starts the
/// workflow and returns a [`WorkflowStart`](../actor/workflow/struct.WorkflowStart.html);
/// in an exclusive turn, `ctx.workflow()` has one method per workflow that starts it with
/// the turn.
///
/// ```
/// use actor::prelude::*;
///
/// #[derive(Clone, Debug, Serialize, Deserialize)]
/// pub struct Task { pub id: u64 }
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Provisioner { ready: Vec<u64> }
///
/// #[actor]
/// impl Provisioner {
///     #[workflow(name = "provisionSandbox")]
///     async fn provision(wf: Workflow<Self>, task: Task) -> Result<u64, ActorError> {
///         let _ = wf;
///         Ok(task.id)
///     }
///
///     #[workflow(main)]
///     async fn supervise(wf: Workflow<Self>) {
///         let _ = wf;
///     }
/// }
///
/// assert_eq!(Provisioner::WORKFLOWS[0].name, "provisionSandbox");
/// assert!(Provisioner::WORKFLOWS[1].main);
/// ```
///
/// Outside an `#[actor] impl` block it is an error.
#[proc_macro_attribute]
pub fn workflow(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("workflow", item.into()).into()
}

/// Marks the hook that runs once, when the actor is created, before the first
/// `#[on_wake]`. It takes `&mut self`, optionally `ctx: &Ctx<Self>`, and at most one
/// input: the value given at create (`()` without one).
///
/// ```
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Game { players: Vec<String> }
///
/// #[actor]
/// impl Game {
///     #[on_create]
///     async fn open(&mut self, players: Vec<String>) -> Result<(), ActorError> {
///         self.players = players;
///         Ok(())
///     }
/// }
/// # let _: Option<<Game as Actor>::Input> = Some(vec![String::new()]);
/// ```
#[proc_macro_attribute]
pub fn on_create(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("on_create", item.into()).into()
}

/// Marks the hook that runs on every wake: after create, after sleep, after a restart.
/// It takes `&mut self` and optionally `ctx: &Ctx<Self>`.
///
/// ```
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Lamp { wakes: u32 }
///
/// #[actor]
/// impl Lamp {
///     #[on_wake]
///     async fn woke(&mut self) {
///         self.wakes += 1;
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn on_wake(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("on_wake", item.into()).into()
}

/// Marks the hook that runs before the actor sleeps; its changes are saved. It takes
/// `&mut self` and optionally `ctx: &Ctx<Self>`, and has `sleep_grace` to finish.
///
/// ```
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Draft { text: String, saved_on_sleep: bool }
///
/// #[actor]
/// impl Draft {
///     #[on_sleep]
///     async fn tidy(&mut self) {
///         self.saved_on_sleep = true;
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn on_sleep(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("on_sleep", item.into()).into()
}

/// Marks the hook that runs before the actor and all its storage are destroyed. It takes
/// `&mut self` and optionally `ctx: &Ctx<Self>`.
///
/// ```
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Account { id: String }
///
/// #[actor]
/// impl Account {
///     #[on_destroy]
///     async fn farewell(&mut self, ctx: &Ctx<Self>) -> Result<(), ActorError> {
///         let _ = ctx.key();
///         Ok(())
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn on_destroy(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("on_destroy", item.into()).into()
}

/// Marks the hook that checks a connection before it opens and makes its state. It takes
/// `&self`, optionally `ctx: &Ctx<Self>`, and the connection's params (any
/// `Deserialize` type; `null` when the client gave none), and returns the connection's
/// state, or a `Result` whose error refuses the connection. HTTP calls pass through it
/// too, so it guards every path to the actor.
///
/// ```
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Vault { opened: u32 }
///
/// #[derive(Deserialize)]
/// pub struct Params { token: String }
///
/// pub struct Caller { admin: bool }
///
/// #[actor]
/// impl Vault {
///     #[on_before_connect]
///     async fn check(&self, params: Params) -> Result<Caller, ActorError> {
///         match params.token.as_str() {
///             "admin-secret" => Ok(Caller { admin: true }),
///             "guest" => Ok(Caller { admin: false }),
///             _ => Err(ActorError::new("vault", "bad_token", "that token opens nothing")),
///         }
///     }
///
///     #[action]
///     async fn open(&mut self, ctx: &Ctx<Self>) -> Result<u32, ActorError> {
///         let admin = ctx.conn().is_some_and(|c| c.state().admin);
///         if !admin {
///             return Err(ActorError::new("vault", "not_admin", "only an admin opens the vault"));
///         }
///         self.opened += 1;
///         Ok(self.opened)
///     }
/// }
///
/// assert!(Vault::HAS_ON_BEFORE_CONNECT);
/// ```
#[proc_macro_attribute]
pub fn on_before_connect(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("on_before_connect", item.into()).into()
}

/// Marks the hook that runs when a connection that receives events has opened, in the
/// same exclusive turn as its `#[on_before_connect]`. It takes `&mut self`, optionally
/// `ctx: &Ctx<Self>`, and `conn: &Conn<Self>`; an error closes the connection again.
///
/// ```
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Lobby { present: u32 }
///
/// #[actor]
/// impl Lobby {
///     #[on_connect]
///     async fn arrived(&mut self, conn: &Conn<Self>) {
///         let _ = conn.id();
///         self.present += 1;
///     }
///
///     #[on_disconnect]
///     async fn left(&mut self, conn: &Conn<Self>) {
///         let _ = conn.id();
///         self.present -= 1;
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn on_connect(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("on_connect", item.into()).into()
}

/// Marks the hook that runs once when a connection that opened has closed: the client
/// went away, or the actor is about to sleep or be destroyed (then it runs before
/// `#[on_sleep]` or `#[on_destroy]`). It takes `&mut self`, optionally `ctx: &Ctx<Self>`,
/// and `conn: &Conn<Self>`.
///
/// ```
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Gallery { visits: u32 }
///
/// #[actor]
/// impl Gallery {
///     #[on_disconnect]
///     async fn gone(&mut self, ctx: &Ctx<Self>, conn: &Conn<Self>) -> Result<(), ActorError> {
///         let _ = (ctx.key(), conn.id());
///         self.visits += 1;
///         Ok(())
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn on_disconnect(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("on_disconnect", item.into()).into()
}

/// Marks the hook that observes the state after a turn changed it. It takes `&self`, so
/// it cannot change the state by construction, optionally `ctx: &Ctx<Self>`, and returns
/// `()`.
///
/// ```
/// use actor::prelude::*;
///
/// #[derive(Default)]
/// pub struct Seen(std::sync::atomic::AtomicU64);
///
/// #[actor(vars = Seen)]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Board { cells: Vec<u8> }
///
/// #[actor]
/// impl Board {
///     #[on_state_change]
///     async fn changed(&self, ctx: &Ctx<Self>) {
///         ctx.vars().0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///     }
/// }
///
/// assert!(Board::HAS_ON_STATE_CHANGE);
/// ```
#[proc_macro_attribute]
pub fn on_state_change(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("on_state_change", item.into()).into()
}

/// Converts a team's own error type into `ActorError`, so actions can return
/// `Result<T, MyError>` and use `?`.
///
/// - group: `#[actor_error(group = "…")]` on the type, default `"user"`;
/// - code: `#[actor_error(code = "…")]` on each variant (on the type for a struct),
///   default the snake_case of the variant's (or struct's) name;
/// - message: the type's `Display` output.
///
/// Groups and codes are snake_case.
///
/// ```
/// use actor::prelude::*;
///
/// #[derive(Debug, ActorError)]
/// #[actor_error(group = "billing")]
/// pub enum BillingError {
///     CardDeclined,
///     #[actor_error(code = "over_limit")]
///     LimitExceeded { limit: u64 },
/// }
///
/// impl std::fmt::Display for BillingError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         match self {
///             Self::CardDeclined => f.write_str("the card was declined"),
///             Self::LimitExceeded { limit } => write!(f, "over the limit of {limit}"),
///         }
///     }
/// }
///
/// let err = ActorError::from(BillingError::LimitExceeded { limit: 5 });
/// assert_eq!((err.group(), err.code()), ("billing", "over_limit"));
/// assert_eq!(err.message(), "over the limit of 5");
/// assert_eq!(ActorError::from(BillingError::CardDeclined).code(), "card_declined");
/// ```
#[proc_macro_derive(ActorError, attributes(actor_error))]
pub fn derive_actor_error(input: TokenStream) -> TokenStream {
    pipeline::derive_actor_error(input.into()).into()
}

/// Implements `actor::connection::Events` for an enum: the typed events an actor sends
/// its connections, named on the struct with `#[actor(events = MyEvents)]` and sent with
/// `ctx.broadcast(…)` or `conn.send(…)`.
///
/// - each variant is one event;
/// - its name, which clients subscribe to, is the camelCase of the variant's name
///   (`MessagePosted` → `messagePosted`), or `#[event(name = "…")]`, camelCase without
///   dots and unique;
/// - its arguments are the variant's fields, in order: `MessagePosted(String, u32)` is
///   received as `["hi", 7]`, a unit variant as `[]`. They are positional, as RivetKit
///   clients receive them, so a variant has no named fields: for many values, pass one
///   struct, `Edited(Edit)`.
///
/// The field types are `Serialize + Deserialize`; the enum itself needs no derives, and
/// is not generic.
///
/// ```
/// use actor::prelude::*;
///
/// #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// pub struct Edit { pub id: u64, pub text: String }
///
/// #[derive(Debug, PartialEq, Events)]
/// pub enum NoteEvent {
///     Posted(String, u32),
///     Edited(Edit),
///     #[event(name = "allCleared")]
///     Cleared,
/// }
///
/// #[actor(events = NoteEvent)]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Notes { texts: Vec<String> }
///
/// #[actor]
/// impl Notes {
///     #[action]
///     async fn post(&mut self, ctx: &Ctx<Self>, text: String) -> Result<usize, ActorError> {
///         self.texts.push(text.clone());
///         ctx.broadcast(NoteEvent::Posted(text, self.texts.len() as u32))?;
///         Ok(self.texts.len())
///     }
/// }
///
/// assert_eq!(NoteEvent::NAMES, ["posted", "edited", "allCleared"]);
/// let edit = NoteEvent::Edited(Edit { id: 1, text: "hi".into() });
/// assert_eq!(edit.name(), "edited");
/// let args = edit.encode_args(Encoding::Json)?;
/// assert_eq!(args, br#"[{"id":1,"text":"hi"}]"#);
/// assert_eq!(NoteEvent::decode("edited", Encoding::Json, &args)?, edit);
/// assert_eq!(NoteEvent::Cleared.encode_args(Encoding::Json)?, b"[]");
/// assert!(NoteEvent::decode("cleared", Encoding::Json, b"[]").is_err());
/// # Ok::<(), ActorError>(())
/// ```
#[proc_macro_derive(Events, attributes(event))]
pub fn derive_events(input: TokenStream) -> TokenStream {
    pipeline::derive_events(input.into()).into()
}
