//! Errors as values: `{group, code, message, metadata}` on every path.
//!
//! Every code the runtime emits is a constant in [`codes`] and is documented in
//! `docs/errors.md`; a test keeps the two in step.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use std::time::Duration;

use crate::driver::StorageError;
use crate::key::ActorId;

/// The error every action, hook and handle call returns.
///
/// It has the same shape in-process, over HTTP and over WebSocket, so a client can
/// branch on `group` and `code` without parsing messages.
///
/// ```
/// use actor::ActorError;
///
/// let err = ActorError::user("insufficient_funds", "balance is 3, tried to spend 5")
///     .with_metadata(serde_json::json!({ "balance": 3 }));
/// assert_eq!(err.group(), "user");
/// assert_eq!(err.code(), "insufficient_funds");
/// assert_eq!(err.to_string(), "user/insufficient_funds: balance is 3, tried to spend 5");
/// ```
///
/// One pointer wide (its parts are boxed), so a `Result<T, ActorError>` costs little more
/// than a `T` on the paths that succeed.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActorError(Box<Parts>);

#[derive(Clone, PartialEq, Serialize, Deserialize)]
struct Parts {
    group: Cow<'static, str>,
    code: Cow<'static, str>,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metadata: Option<serde_json::Value>,
}

/// Every `(group, code)` pair the runtime itself emits, and the one table that gives
/// each its HTTP status.
///
/// ```
/// use actor::codes;
/// assert_eq!(codes::OVERLOADED, ("actor", "overloaded"));
/// assert_eq!(codes::http_status(codes::NOT_FOUND), 404);
/// ```
pub mod codes {
    /// A `(group, code)` pair.
    pub type Code = (&'static str, &'static str);

    /// No actor of that kind exists under the key or id.
    pub const NOT_FOUND: Code = ("actor", "not_found");
    /// `create` found an actor already living under the key.
    pub const ALREADY_EXISTS: Code = ("actor", "already_exists");
    /// The actor's inbox is full, or as many shared actions as it allows are running;
    /// retry later.
    pub const OVERLOADED: Code = ("actor", "overloaded");
    /// An exclusive action was called from inside an exclusive turn of its own actor
    /// (directly or through other actors), where it would wait for itself.
    pub const DEADLOCK: Code = ("actor", "deadlock");
    /// The actor kind has no action with that name.
    pub const ACTION_NOT_FOUND: Code = ("actor", "action_not_found");
    /// The action ran longer than the kind's `action_timeout`.
    pub const ACTION_TIMED_OUT: Code = ("actor", "action_timed_out");
    /// The actor was destroyed while the call was waiting or running.
    pub const DESTROYED: Code = ("actor", "destroyed");
    /// The registry holds no actor kind with that name.
    pub const KIND_NOT_REGISTERED: Code = ("actor", "kind_not_registered");
    /// The key is empty of meaning: too long or containing a NUL byte.
    pub const INVALID_KEY: Code = ("actor", "invalid_key");
    /// The arguments could not be decoded into the action's parameter types.
    pub const INVALID_ARGUMENTS: Code = ("actor", "invalid_arguments");
    /// The result or state could not be encoded.
    pub const SERIALIZATION_FAILED: Code = ("actor", "serialization_failed");
    /// The storage driver failed; nothing of the failed write was kept.
    pub const STORAGE: Code = ("actor", "storage_error");
    /// A panic or a bug inside the actor; the cause is logged.
    pub const INTERNAL: Code = ("actor", "internal_error");
    /// The registry is shutting down, or the actor stopped before answering.
    pub const STOPPED: Code = ("actor", "stopped");
    /// The actor declares no queue with that name.
    pub const QUEUE_NOT_FOUND: Code = ("queue", "not_found");
    /// The queue holds as many messages as its `capacity` allows; nothing was sent.
    pub const QUEUE_FULL: Code = ("queue", "full");
    /// The encoded message is larger than the queue's `max_message_size`; nothing was
    /// sent.
    pub const QUEUE_MESSAGE_TOO_LARGE: Code = ("queue", "message_too_large");
    /// A message does not decode into its handler's type (the type changed since it was
    /// sent): it went to the dead letters without running the handler.
    pub const QUEUE_MESSAGE_INVALID: Code = ("queue", "message_invalid");
    /// A send that waits for its handler did not get the handler's result in time; the
    /// message is stored and is still handled.
    pub const QUEUE_TIMED_OUT: Code = ("queue", "timed_out");
    /// No dead letter has that message id.
    pub const DEAD_LETTER_NOT_FOUND: Code = ("queue", "dead_letter_not_found");
    /// A send waited for the handler of a queue the run loop takes, which has none.
    pub const QUEUE_NO_HANDLER: Code = ("queue", "no_handler");
    /// A schedule cannot be made as written: a cron expression that does not parse or
    /// has no next time, arguments too large to keep.
    pub const SCHEDULE_INVALID: Code = ("schedule", "invalid");
    /// A repeating schedule would fire more often than the kind's `min_schedule_interval`.
    pub const SCHEDULE_INTERVAL_TOO_SHORT: Code = ("schedule", "interval_too_short");
    /// The actor holds `max_schedules` schedules already.
    pub const SCHEDULE_LIMIT_REACHED: Code = ("schedule", "limit_reached");
    /// A schedule was made or cancelled outside an exclusive turn of its actor.
    pub const SCHEDULE_OUTSIDE_TURN: Code = ("schedule", "outside_turn");
    /// An actor's database could not be migrated: a migration failed, or an applied one
    /// changed or went missing. The actor does not start; its data is untouched.
    pub const MIGRATION_FAILED: Code = ("actor", "migration_failed");
    /// A statement on the actor's database failed, or the turn's SQL writes could not
    /// be committed.
    pub const DATABASE_QUERY_FAILED: Code = ("database", "query_failed");
    /// The actor's database could not be opened, or the registry keeps no databases.
    pub const DATABASE_UNAVAILABLE: Code = ("database", "unavailable");
    /// `ctx.db()` was called while the turn still held the database from an earlier call.
    pub const DATABASE_IN_USE: Code = ("database", "in_use");
    /// The actor declares no workflow with that name, or keeps none under that id.
    pub const WORKFLOW_NOT_FOUND: Code = ("workflow", "not_found");
    /// A workflow cannot be used as asked: a malformed id or entry name, an id taken by
    /// another workflow, two entries of one scope at once, a start outside a turn.
    pub const WORKFLOW_INVALID: Code = ("workflow", "invalid");
    /// `cancel` or `retry` on a workflow not in a state for it.
    pub const WORKFLOW_INVALID_STATUS: Code = ("workflow", "invalid_status");
    /// A wait for a workflow's result ended before the workflow did; it goes on running.
    pub const WORKFLOW_TIMED_OUT: Code = ("workflow", "timed_out");
    /// The workflow was cancelled.
    pub const WORKFLOW_CANCELLED: Code = ("workflow", "cancelled");
    /// A step ran out of attempts: the error names the step, its attempts and the last
    /// cause, and the workflow failed (`retry` resumes it there).
    pub const WORKFLOW_STEP_FAILED: Code = ("workflow", "step_failed");
    /// An attempt of a step ran longer than its timeout.
    pub const WORKFLOW_STEP_TIMED_OUT: Code = ("workflow", "step_timed_out");
    /// The workflow's history no longer matches its code: an entry was renamed, moved or
    /// removed under a running workflow. The error names the entry and what the code
    /// asked for instead.
    pub const WORKFLOW_HISTORY_DIVERGED: Code = ("workflow", "history_diverged");
    /// A user error without a more specific code.
    pub const USER: Code = ("user", "user_error");
    /// A request the network server cannot read: a malformed body or envelope, an
    /// unknown encoding, a bad or unknown query parameter.
    pub const INVALID_REQUEST: Code = ("request", "invalid");
    /// No route of the network server answers that method and path.
    pub const ROUTE_NOT_FOUND: Code = ("request", "route_not_found");
    /// A request body or WebSocket message is larger than the server accepts.
    pub const INCOMING_TOO_LONG: Code = ("message", "incoming_too_long");
    /// An answer or event is larger than the server sends.
    pub const OUTGOING_TOO_LONG: Code = ("message", "outgoing_too_long");
    /// A call without the token the server requires for it, or with a wrong one.
    pub const FORBIDDEN: Code = ("auth", "forbidden");
    /// The remote client could not reach its server, or could not read its answer.
    pub const UNREACHABLE: Code = ("client", "unreachable");
    /// A connection subscribed to an event its actor does not declare; nothing changed.
    pub const EVENT_NOT_FOUND: Code = ("connection", "event_not_found");

    /// Every code above with its HTTP status: the network layer answers with it, and
    /// `docs/errors.md` is checked against it. 404 for what does not exist, 408 for a
    /// timeout, 400 for a bad request and for limits (a full inbox, a deadlock the call
    /// would cause), 500 for the runtime's and the storage's own failures.
    pub const ALL: &[(Code, u16)] = &[
        (NOT_FOUND, 404),
        (ALREADY_EXISTS, 400),
        (OVERLOADED, 400),
        (DEADLOCK, 400),
        (ACTION_NOT_FOUND, 404),
        (ACTION_TIMED_OUT, 408),
        (DESTROYED, 404),
        (KIND_NOT_REGISTERED, 404),
        (INVALID_KEY, 400),
        (INVALID_ARGUMENTS, 400),
        (SERIALIZATION_FAILED, 500),
        (STORAGE, 500),
        (INTERNAL, 500),
        (STOPPED, 500),
        (QUEUE_NOT_FOUND, 404),
        (QUEUE_FULL, 400),
        (QUEUE_MESSAGE_TOO_LARGE, 400),
        (QUEUE_MESSAGE_INVALID, 400),
        (QUEUE_TIMED_OUT, 408),
        (DEAD_LETTER_NOT_FOUND, 404),
        (QUEUE_NO_HANDLER, 400),
        (SCHEDULE_INVALID, 400),
        (SCHEDULE_INTERVAL_TOO_SHORT, 400),
        (SCHEDULE_LIMIT_REACHED, 400),
        (SCHEDULE_OUTSIDE_TURN, 400),
        (MIGRATION_FAILED, 500),
        (DATABASE_QUERY_FAILED, 500),
        (DATABASE_UNAVAILABLE, 500),
        (DATABASE_IN_USE, 500),
        (WORKFLOW_NOT_FOUND, 404),
        (WORKFLOW_INVALID, 400),
        (WORKFLOW_INVALID_STATUS, 400),
        (WORKFLOW_TIMED_OUT, 408),
        (WORKFLOW_CANCELLED, 400),
        (WORKFLOW_STEP_FAILED, 500),
        (WORKFLOW_STEP_TIMED_OUT, 408),
        (WORKFLOW_HISTORY_DIVERGED, 500),
        (USER, 400),
        (INVALID_REQUEST, 400),
        (ROUTE_NOT_FOUND, 404),
        (INCOMING_TOO_LONG, 400),
        (OUTGOING_TOO_LONG, 400),
        (FORBIDDEN, 403),
        (UNREACHABLE, 503),
        (EVENT_NOT_FOUND, 404),
    ];

    /// Whether `group` is one of the runtime's own (`actor`, `queue`, …): an error of
    /// any other group is a team's own, a user error, public and never masked.
    ///
    /// ```
    /// use actor::codes;
    /// assert!(codes::is_runtime("actor"));
    /// assert!(!codes::is_runtime("billing"));
    /// assert!(!codes::is_runtime("user"));
    /// ```
    pub fn is_runtime(group: &str) -> bool {
        group != USER.0 && ALL.iter().any(|((g, _), _)| *g == group)
    }

    /// The HTTP status of `code`: from [`ALL`]; 400 for a user error (any group not the
    /// runtime's: a team's own codes are the caller's to act on); 500 for any other code
    /// of a runtime group.
    ///
    /// ```
    /// use actor::codes;
    /// assert_eq!(codes::http_status(("user", "insufficient_funds")), 400);
    /// assert_eq!(codes::http_status(("billing", "card_declined")), 400);
    /// assert_eq!(codes::http_status(codes::INTERNAL), 500);
    /// ```
    pub fn http_status((group, code): (&str, &str)) -> u16 {
        ALL.iter()
            .find(|((g, c), _)| *g == group && *c == code)
            .map(|(_, status)| *status)
            .unwrap_or(if is_runtime(group) { 500 } else { 400 })
    }
}

impl ActorError {
    /// An error with any group and code.
    ///
    /// ```
    /// let e = actor::ActorError::new("billing", "card_declined", "the card was declined");
    /// assert_eq!(e.group(), "billing");
    /// ```
    pub fn new(
        group: impl Into<Cow<'static, str>>,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self(Box::new(Parts {
            group: group.into(),
            code: code.into(),
            message: message.into(),
            metadata: None,
        }))
    }

    /// A public error in the `user` group, for a team's own failure cases.
    ///
    /// ```
    /// let e = actor::ActorError::user("empty_cart", "the cart is empty");
    /// assert_eq!((e.group(), e.code()), ("user", "empty_cart"));
    /// ```
    pub fn user(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new("user", code, message)
    }

    /// An error with one of the runtime's [`codes`].
    ///
    /// ```
    /// let e = actor::ActorError::of(actor::codes::OVERLOADED, "inbox full");
    /// assert!(e.is(actor::codes::OVERLOADED));
    /// ```
    pub fn of((group, code): (&'static str, &'static str), message: impl Into<String>) -> Self {
        Self::new(group, code, message)
    }

    /// Attaches structured data a client can act on.
    ///
    /// ```
    /// let e = actor::ActorError::user("x", "y").with_metadata(serde_json::json!({"retry": true}));
    /// assert_eq!(e.metadata().unwrap()["retry"], true);
    /// ```
    pub fn with_metadata(mut self, metadata: serde_json::Value) -> Self {
        self.0.metadata = Some(metadata);
        self
    }

    /// The error's group, such as `actor` or `user`.
    ///
    /// ```
    /// assert_eq!(actor::ActorError::user("a", "b").group(), "user");
    /// ```
    pub fn group(&self) -> &str {
        &self.0.group
    }

    /// The error's code inside its group.
    ///
    /// ```
    /// assert_eq!(actor::ActorError::user("a", "b").code(), "a");
    /// ```
    pub fn code(&self) -> &str {
        &self.0.code
    }

    /// The human-readable message.
    ///
    /// ```
    /// assert_eq!(actor::ActorError::user("a", "b").message(), "b");
    /// ```
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Structured data attached with [`with_metadata`](Self::with_metadata).
    ///
    /// ```
    /// assert!(actor::ActorError::user("a", "b").metadata().is_none());
    /// ```
    pub fn metadata(&self) -> Option<&serde_json::Value> {
        self.0.metadata.as_ref()
    }

    /// Whether this error has the given `(group, code)`.
    ///
    /// ```
    /// let e = actor::ActorError::user("a", "b");
    /// assert!(e.is(("user", "a")));
    /// ```
    pub fn is(&self, (group, code): (&str, &str)) -> bool {
        self.0.group == group && self.0.code == code
    }

    /// `actor/internal_error`: `context` failed because of `cause`.
    ///
    /// ```
    /// let e = actor::ActorError::internal("start", "the actor task ended while starting");
    /// assert!(e.is(actor::codes::INTERNAL));
    /// ```
    pub fn internal(context: &str, cause: impl fmt::Display) -> Self {
        Self::of(codes::INTERNAL, format!("{context}: {cause}"))
    }

    pub(crate) fn storage(cause: impl fmt::Display) -> Self {
        Self::of(codes::STORAGE, format!("storage failed: {cause}"))
    }

    /// A storage failure as callers see it: a taken key is `actor/already_exists`,
    /// anything else `actor/storage_error` with the driver's cause. The one place the two
    /// meet. (A method, not `From`, so that a user's error without a conversion is not
    /// offered this one by the compiler.)
    ///
    /// ```
    /// use actor::{ActorError, driver::StorageError};
    /// let err = ActorError::from_storage(StorageError::Backend("disk full".into()));
    /// assert!(err.is(actor::codes::STORAGE));
    /// let taken = StorageError::AlreadyExists { kind: "counter".into(), key: "k".into() };
    /// assert!(ActorError::from_storage(taken).is(actor::codes::ALREADY_EXISTS));
    /// ```
    pub fn from_storage(err: StorageError) -> Self {
        match err {
            StorageError::AlreadyExists { kind, key } => Self::already_exists(&kind, key),
            other @ (StorageError::Backend(_) | StorageError::Fenced { .. }) => {
                Self::storage(other)
            }
        }
    }
}

/// One constructor per runtime code that more than one place raises, so each code's
/// message and metadata are written once.
impl ActorError {
    /// `actor/not_found`: no actor of `kind` exists `what` ("under key …", "with id …").
    ///
    /// ```
    /// let e = actor::ActorError::not_found("counter", "under key [\"a\"]");
    /// assert!(e.is(actor::codes::NOT_FOUND));
    /// ```
    pub fn not_found(kind: &str, what: impl fmt::Display) -> Self {
        Self::of(
            codes::NOT_FOUND,
            format!("no actor of kind `{kind}` exists {what}"),
        )
    }

    /// `actor/already_exists`: `create` found an actor of `kind` under `key`.
    ///
    /// ```
    /// let e = actor::ActorError::already_exists("counter", &actor::ActorKey::from("a"));
    /// assert!(e.is(actor::codes::ALREADY_EXISTS));
    /// assert_eq!(e.metadata().unwrap()["actor"], "counter");
    /// ```
    pub fn already_exists(kind: &str, key: impl fmt::Display + Serialize) -> Self {
        Self::of(
            codes::ALREADY_EXISTS,
            format!("an actor of kind `{kind}` already exists under key {key}"),
        )
        .with_metadata(serde_json::json!({ "actor": kind, "key": key }))
    }

    /// `actor/overloaded`: actor `kind` `id` already holds `capacity` calls of the kind
    /// `what` names ("calls waiting", "shared actions running").
    ///
    /// ```
    /// let id = actor::ActorId::from("x");
    /// let e = actor::ActorError::overloaded("counter", &id, 4, "calls waiting");
    /// assert!(e.is(actor::codes::OVERLOADED));
    /// assert_eq!(e.metadata().unwrap()["capacity"], 4);
    /// ```
    pub fn overloaded(kind: &str, id: &ActorId, capacity: usize, what: &str) -> Self {
        Self::of(
            codes::OVERLOADED,
            format!("actor `{kind}` ({id}) has {capacity} {what}; retry later"),
        )
        .with_metadata(serde_json::json!({ "capacity": capacity }))
    }

    /// `actor/stopped`, saying what stopped.
    ///
    /// ```
    /// let e = actor::ActorError::stopped("the registry is shutting down");
    /// assert!(e.is(actor::codes::STOPPED));
    /// ```
    pub fn stopped(message: impl Into<String>) -> Self {
        Self::of(codes::STOPPED, message)
    }

    /// `actor/destroyed`: actor `kind` `id` was destroyed under the call.
    ///
    /// ```
    /// let e = actor::ActorError::destroyed("counter", &actor::ActorId::from("x"));
    /// assert!(e.is(actor::codes::DESTROYED));
    /// ```
    pub fn destroyed(kind: &str, id: &ActorId) -> Self {
        Self::of(
            codes::DESTROYED,
            format!("actor `{kind}` {id} was destroyed"),
        )
    }

    /// `actor/action_timed_out`: `action` (or a hook, by name) ran longer than `limit`.
    ///
    /// ```
    /// let e = actor::ActorError::timed_out("on_wake", std::time::Duration::from_secs(1));
    /// assert!(e.is(actor::codes::ACTION_TIMED_OUT));
    /// ```
    pub fn timed_out(action: &str, limit: Duration) -> Self {
        Self::of(
            codes::ACTION_TIMED_OUT,
            format!("`{action}` ran longer than {limit:?}; its changes were discarded"),
        )
        .with_metadata(
            serde_json::json!({ "action": action, "timeout_ms": limit.as_millis() as u64 }),
        )
    }

    /// `actor/invalid_arguments`, saying why.
    ///
    /// ```
    /// let e = actor::ActorError::invalid_arguments("the action takes 1 argument, and 2 came");
    /// assert!(e.is(actor::codes::INVALID_ARGUMENTS));
    /// ```
    pub fn invalid_arguments(why: impl Into<String>) -> Self {
        Self::of(codes::INVALID_ARGUMENTS, why)
    }

    /// `actor/serialization_failed`, saying what could not be encoded and why.
    ///
    /// ```
    /// let e = actor::ActorError::serialization_failed("the state of `counter`", "a map key is not a string");
    /// assert!(e.is(actor::codes::SERIALIZATION_FAILED));
    /// ```
    pub fn serialization_failed(what: impl fmt::Display, cause: impl fmt::Display) -> Self {
        Self::of(
            codes::SERIALIZATION_FAILED,
            format!("could not encode {what}: {cause}"),
        )
    }

    /// `queue/not_found`: actor kind `kind` declares no queue `queue`.
    ///
    /// ```
    /// let e = actor::ActorError::queue_not_found("worker", "tasks", &[]);
    /// assert!(e.is(actor::codes::QUEUE_NOT_FOUND));
    /// ```
    pub fn queue_not_found(kind: &str, queue: &str, declared: &[&str]) -> Self {
        let declared_text = if declared.is_empty() {
            "it declares no queues".to_string()
        } else {
            format!("its queues: {}", declared.join(", "))
        };
        Self::of(
            codes::QUEUE_NOT_FOUND,
            format!(
                "actor kind `{kind}` has no queue `{queue}` ({declared_text}); nothing was sent"
            ),
        )
        .with_metadata(serde_json::json!({ "actor": kind, "queue": queue, "declared": declared }))
    }
}

/// The queue codes, each with one constructor.
impl ActorError {
    /// `queue/full`: queue `queue` of actor `kind` `id` holds `capacity` messages.
    ///
    /// ```
    /// let e = actor::ActorError::queue_full("worker", &actor::ActorId::from("w1"), "tasks", 1000);
    /// assert!(e.is(actor::codes::QUEUE_FULL));
    /// assert_eq!(e.metadata().unwrap()["capacity"], 1000);
    /// ```
    pub fn queue_full(kind: &str, id: &ActorId, queue: &str, capacity: usize) -> Self {
        Self::of(
            codes::QUEUE_FULL,
            format!(
                "queue `{queue}` of actor `{kind}` {id} holds {capacity} messages, its capacity; \
                 nothing was sent: retry once it drains, or raise `#[queue(capacity = N)]`"
            ),
        )
        .with_metadata(
            serde_json::json!({ "actor": kind, "id": id, "queue": queue, "capacity": capacity }),
        )
    }

    /// `queue/message_too_large`: a message of `size` bytes for queue `queue`, whose
    /// limit is `max` bytes.
    ///
    /// ```
    /// let e = actor::ActorError::message_too_large("worker", "tasks", 70_000, 65_536);
    /// assert!(e.is(actor::codes::QUEUE_MESSAGE_TOO_LARGE));
    /// ```
    pub fn message_too_large(kind: &str, queue: &str, size: usize, max: usize) -> Self {
        Self::of(
            codes::QUEUE_MESSAGE_TOO_LARGE,
            format!(
                "a message of {size} bytes is larger than queue `{queue}` of actor kind `{kind}` \
                 takes ({max} bytes); nothing was sent: send a reference to the data instead, \
                 or raise `#[queue(max_message_size = N)]`"
            ),
        )
        .with_metadata(
            serde_json::json!({ "actor": kind, "queue": queue, "bytes": size, "max": max }),
        )
    }

    /// `queue/message_invalid`: a message for `queue` does not decode as `ty`.
    ///
    /// ```
    /// let e = actor::ActorError::message_invalid("tasks", "app::Task", "missing field `id`");
    /// assert!(e.is(actor::codes::QUEUE_MESSAGE_INVALID));
    /// ```
    pub fn message_invalid(queue: &str, ty: &str, cause: impl fmt::Display) -> Self {
        Self::of(
            codes::QUEUE_MESSAGE_INVALID,
            format!(
                "a message in queue `{queue}` does not decode as `{ty}`: {cause}; it was moved to \
                 the dead letters without running the handler (give new fields \
                 `#[serde(default)]` so older messages still decode)"
            ),
        )
        .with_metadata(serde_json::json!({ "queue": queue, "type": ty }))
    }

    /// `queue/timed_out`: message `id` of `queue` was not handled within `limit`.
    ///
    /// ```
    /// let e = actor::ActorError::queue_timed_out("tasks", 7, std::time::Duration::from_secs(1));
    /// assert!(e.is(actor::codes::QUEUE_TIMED_OUT));
    /// assert_eq!(e.metadata().unwrap()["messageId"], 7);
    /// ```
    pub fn queue_timed_out(queue: &str, id: u64, limit: Duration) -> Self {
        Self::of(
            codes::QUEUE_TIMED_OUT,
            format!(
                "message {id} of queue `{queue}` was not handled within {limit:?}; it is stored \
                 and will still be handled"
            ),
        )
        .with_metadata(serde_json::json!({ "queue": queue, "messageId": id, "timeout_ms": limit.as_millis() as u64 }))
    }

    /// `queue/no_handler`: a send to `queue` of actor kind `kind` waited for a handler,
    /// and the queue has none (its `#[run]` loop takes the messages).
    ///
    /// ```
    /// let e = actor::ActorError::no_handler("poller", "tick");
    /// assert!(e.is(actor::codes::QUEUE_NO_HANDLER));
    /// ```
    pub fn no_handler(kind: &str, queue: &str) -> Self {
        Self::of(
            codes::QUEUE_NO_HANDLER,
            format!(
                "queue `{queue}` of actor kind `{kind}` is taken by its run loop, which gives a \
                 sender no result to wait for; nothing was sent: send without waiting"
            ),
        )
        .with_metadata(serde_json::json!({ "actor": kind, "queue": queue }))
    }

    /// `queue/dead_letter_not_found`: actor `kind` `id` has no dead letter `message`.
    ///
    /// ```
    /// let e = actor::ActorError::dead_letter_not_found("worker", &actor::ActorId::from("w1"), 3);
    /// assert!(e.is(actor::codes::DEAD_LETTER_NOT_FOUND));
    /// ```
    pub fn dead_letter_not_found(kind: &str, id: &ActorId, message: u64) -> Self {
        Self::of(
            codes::DEAD_LETTER_NOT_FOUND,
            format!(
                "actor `{kind}` {id} has no dead letter with message id {message}: it was \
                 replayed or discarded already, or never failed"
            ),
        )
        .with_metadata(serde_json::json!({ "actor": kind, "id": id, "messageId": message }))
    }
}

impl ActorError {
    /// `schedule/invalid`: a schedule cannot be made as written, for the reason given.
    ///
    /// ```
    /// let e = actor::ActorError::schedule_invalid("the cron expression `x` does not parse");
    /// assert!(e.is(actor::codes::SCHEDULE_INVALID));
    /// ```
    pub fn schedule_invalid(why: impl fmt::Display) -> Self {
        Self::of(
            codes::SCHEDULE_INVALID,
            format!("{why}; nothing was scheduled"),
        )
    }

    /// `schedule/interval_too_short`: `what` (a repeating schedule) would fire `gap`
    /// apart, and the kind's minimum is `min`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = actor::ActorError::interval_too_short("every(100ms)", Duration::from_millis(100), Duration::from_secs(1));
    /// assert!(e.is(actor::codes::SCHEDULE_INTERVAL_TOO_SHORT));
    /// assert_eq!(e.metadata().unwrap()["min_ms"], 1000);
    /// ```
    pub fn interval_too_short(what: &str, gap: Duration, min: Duration) -> Self {
        Self::of(
            codes::SCHEDULE_INTERVAL_TOO_SHORT,
            format!(
                "the schedule {what} would fire {gap:?} apart, more often than the actor kind's \
                 minimum interval ({min:?}); nothing was scheduled: fire less often, or lower \
                 `#[actor(min_schedule_interval = \"…\")]`"
            ),
        )
        .with_metadata(serde_json::json!({
            "schedule": what,
            "gap_ms": gap.as_millis() as u64,
            "min_ms": min.as_millis() as u64,
        }))
    }

    /// `schedule/limit_reached`: actor `kind` `id` holds `limit` schedules already.
    ///
    /// ```
    /// let e = actor::ActorError::schedule_limit("digest", &actor::ActorId::from("d1"), 100);
    /// assert!(e.is(actor::codes::SCHEDULE_LIMIT_REACHED));
    /// ```
    pub fn schedule_limit(kind: &str, id: &ActorId, limit: usize) -> Self {
        Self::of(
            codes::SCHEDULE_LIMIT_REACHED,
            format!(
                "actor `{kind}` {id} holds {limit} schedules, its limit; nothing was scheduled: \
                 cancel the ones no longer needed (`ctx.schedule().list()`), use one repeating \
                 schedule instead of many one-time ones, or raise `#[actor(max_schedules = N)]`"
            ),
        )
        .with_metadata(serde_json::json!({ "actor": kind, "id": id, "limit": limit }))
    }

    /// `schedule/outside_turn`: `what` (making or cancelling a schedule) was tried
    /// outside an exclusive turn of actor `kind`.
    ///
    /// ```
    /// let e = actor::ActorError::schedule_outside_turn("counter", "cancel");
    /// assert!(e.is(actor::codes::SCHEDULE_OUTSIDE_TURN));
    /// ```
    pub fn schedule_outside_turn(kind: &str, what: &str) -> Self {
        Self::of(
            codes::SCHEDULE_OUTSIDE_TURN,
            format!(
                "a schedule of actor `{kind}` was not changed ({what}): schedules are made and \
                 cancelled in an exclusive turn of their actor (an action taking `&mut self`, a \
                 queue handler, `on_create`, `on_wake`, `on_sleep` or a run loop's `turn`), on \
                 the turn's own task, where they commit with its state"
            ),
        )
        .with_metadata(serde_json::json!({ "actor": kind }))
    }
}

/// Workflow errors.
impl ActorError {
    /// `workflow/invalid`: a workflow used as it cannot be, and why.
    ///
    /// ```
    /// let e = actor::ActorError::workflow_invalid("a step name is not empty");
    /// assert!(e.is(actor::codes::WORKFLOW_INVALID));
    /// ```
    pub fn workflow_invalid(why: impl fmt::Display) -> Self {
        Self::of(codes::WORKFLOW_INVALID, why.to_string())
    }

    /// `workflow/not_found`: actor kind `kind` declares no workflow `name` (it declares
    /// `declared`).
    ///
    /// ```
    /// let e = actor::ActorError::workflow_not_found("orders", "shp", &["ship"]);
    /// assert!(e.is(actor::codes::WORKFLOW_NOT_FOUND));
    /// ```
    pub fn workflow_not_found(kind: &str, name: &str, declared: &[&str]) -> Self {
        Self::of(
            codes::WORKFLOW_NOT_FOUND,
            format!(
                "actor kind `{kind}` has no workflow `{name}`; it declares {}",
                if declared.is_empty() {
                    "none".to_string()
                } else {
                    declared
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        )
        .with_metadata(serde_json::json!({ "actor": kind, "workflow": name, "declared": declared }))
    }

    /// `workflow/not_found`: an actor of kind `kind` keeps no workflow under `id`.
    ///
    /// ```
    /// let e = actor::ActorError::workflow_id_not_found("orders", &"o-1".into());
    /// assert!(e.is(actor::codes::WORKFLOW_NOT_FOUND));
    /// ```
    pub fn workflow_id_not_found(kind: &str, id: &crate::workflow::WorkflowId) -> Self {
        Self::of(
            codes::WORKFLOW_NOT_FOUND,
            format!(
                "this `{kind}` actor keeps no workflow `{id}`: it was never started here, or it \
                 finished and was removed to keep the actor's `keep_workflows` most recent"
            ),
        )
        .with_metadata(serde_json::json!({ "actor": kind, "id": id }))
    }

    /// `workflow/invalid_status`: workflow `id` is `state`, and only a workflow in another
    /// state can be changed so (`wanted`).
    ///
    /// ```
    /// use actor::workflow::WorkflowState;
    /// let e = actor::ActorError::workflow_invalid_status(&"o-1".into(), WorkflowState::Completed, "retry a failed one");
    /// assert!(e.is(actor::codes::WORKFLOW_INVALID_STATUS));
    /// ```
    pub fn workflow_invalid_status(
        id: &crate::workflow::WorkflowId,
        state: crate::workflow::WorkflowState,
        wanted: &str,
    ) -> Self {
        Self::of(
            codes::WORKFLOW_INVALID_STATUS,
            format!("workflow `{id}` is {state:?}; this can only {wanted}"),
        )
        .with_metadata(serde_json::json!({ "id": id, "state": state }))
    }

    /// `workflow/timed_out`: a wait for workflow `id` (of workflow `name`) ended first.
    ///
    /// ```
    /// let e = actor::ActorError::workflow_timed_out("ship", &"o-1".into());
    /// assert!(e.is(actor::codes::WORKFLOW_TIMED_OUT));
    /// ```
    pub fn workflow_timed_out(name: &str, id: &crate::workflow::WorkflowId) -> Self {
        Self::of(
            codes::WORKFLOW_TIMED_OUT,
            format!(
                "workflow `{name}` `{id}` is still running; it goes on, and its status says \
                 where it is (`status()`)"
            ),
        )
        .with_metadata(serde_json::json!({ "workflow": name, "id": id }))
    }

    /// `workflow/cancelled`: workflow `name` was cancelled.
    ///
    /// ```
    /// let e = actor::ActorError::workflow_cancelled("ship");
    /// assert!(e.is(actor::codes::WORKFLOW_CANCELLED));
    /// ```
    pub fn workflow_cancelled(name: &str) -> Self {
        Self::of(
            codes::WORKFLOW_CANCELLED,
            format!("workflow `{name}` was cancelled"),
        )
        .with_metadata(serde_json::json!({ "workflow": name }))
    }

    /// `workflow/step_timed_out`: attempt `attempt` of step `step` ran past `limit`.
    ///
    /// ```
    /// let e = actor::ActorError::step_timed_out("createSandbox", 2, std::time::Duration::from_secs(10));
    /// assert!(e.is(actor::codes::WORKFLOW_STEP_TIMED_OUT));
    /// ```
    pub fn step_timed_out(step: &str, attempt: u32, limit: Duration) -> Self {
        Self::of(
            codes::WORKFLOW_STEP_TIMED_OUT,
            format!("attempt {attempt} of step `{step}` ran longer than its timeout of {limit:?}"),
        )
        .with_metadata(serde_json::json!({ "step": step, "attempt": attempt, "timeout_ms": limit.as_millis() as u64 }))
    }

    /// `workflow/step_failed`: step `location` of workflow `workflow` `id` failed on each
    /// of its `attempts`, the last time with `cause`.
    ///
    /// ```
    /// let cause = actor::ActorError::user("sandbox_down", "the provider answered 503");
    /// let e = actor::ActorError::step_failed("provision", &"t-1".into(), "createSandbox", 4, &cause);
    /// assert!(e.is(actor::codes::WORKFLOW_STEP_FAILED));
    /// assert!(e.message().contains("sandbox_down"));
    /// ```
    pub fn step_failed(
        workflow: &str,
        id: &crate::workflow::WorkflowId,
        location: &str,
        attempts: u32,
        cause: &ActorError,
    ) -> Self {
        Self::of(
            codes::WORKFLOW_STEP_FAILED,
            format!(
                "step `{location}` of workflow `{workflow}` `{id}` failed after {attempts} \
                 attempt{}; the last one with {cause}. The workflow failed there: fix the \
                 cause and `retry()` it to resume from this step",
                if attempts == 1 { "" } else { "s" }
            ),
        )
        .with_metadata(serde_json::json!({
            "workflow": workflow,
            "id": id,
            "step": location,
            "attempts": attempts,
            "cause": cause,
        }))
    }

    /// `workflow/history_diverged`: at `location`, workflow `workflow` `id` recorded
    /// `recorded` (an entry of kind `recorded_kind`, the `place`-th of its scope), and
    /// the code asks for `requested` (of kind `requested_kind`).
    ///
    /// ```
    /// use actor::workflow::EntryKind;
    /// let e = actor::ActorError::history_diverged(
    ///     "provision", &"t-1".into(), "createSandbox", 2,
    ///     ("createSandbox", EntryKind::Step), ("makeSandbox", EntryKind::Step),
    /// );
    /// assert!(e.is(actor::codes::WORKFLOW_HISTORY_DIVERGED));
    /// assert!(e.message().contains("removed(\"createSandbox\")"));
    /// ```
    pub fn history_diverged(
        workflow: &str,
        id: &crate::workflow::WorkflowId,
        location: &str,
        place: usize,
        (recorded, recorded_kind): (&str, crate::workflow::EntryKind),
        (requested, requested_kind): (&str, crate::workflow::EntryKind),
    ) -> Self {
        Self::of(
            codes::WORKFLOW_HISTORY_DIVERGED,
            format!(
                "workflow `{workflow}` `{id}` no longer matches its history at `{location}` \
                 (entry {place} of its scope): the history has {recorded_kind} \
                 `{recorded}` there, and the code asks for {requested_kind} `{requested}`. \
                 If `{recorded}` was renamed, moved or removed while this workflow ran, \
                 call `wf.removed(\"{recorded}\")` where it was (or branch on \
                 `wf.version(…)`) so old histories replay, then `retry()` the workflow"
            ),
        )
        .with_metadata(serde_json::json!({
            "workflow": workflow,
            "id": id,
            "location": location,
            "place": place,
            "recorded": { "name": recorded, "kind": recorded_kind },
            "requested": { "name": requested, "kind": requested_kind },
        }))
    }

    /// `workflow/history_diverged`: workflow `workflow` `id` returned without reaching
    /// entry `recorded` at `location`, which its history holds.
    ///
    /// ```
    /// let e = actor::ActorError::history_unreached("provision", &"t-1".into(), "notify", actor::workflow::EntryKind::Step);
    /// assert!(e.is(actor::codes::WORKFLOW_HISTORY_DIVERGED));
    /// ```
    pub fn history_unreached(
        workflow: &str,
        id: &crate::workflow::WorkflowId,
        location: &str,
        kind: crate::workflow::EntryKind,
    ) -> Self {
        Self::of(
            codes::WORKFLOW_HISTORY_DIVERGED,
            format!(
                "workflow `{workflow}` `{id}` returned without reaching its recorded {kind} \
                 `{location}`: the code no longer has it. Call `wf.removed(…)` with its name \
                 where it was, then `retry()` the workflow"
            ),
        )
        .with_metadata(serde_json::json!({
            "workflow": workflow,
            "id": id,
            "location": location,
            "recorded": { "kind": kind },
        }))
    }
}

impl fmt::Display for ActorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}: {}", self.0.group, self.0.code, self.0.message)
    }
}

impl fmt::Debug for ActorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ActorError");
        s.field("group", &self.0.group)
            .field("code", &self.0.code)
            .field("message", &self.0.message);
        if let Some(m) = &self.0.metadata {
            s.field("metadata", m);
        }
        s.finish()
    }
}

impl std::error::Error for ActorError {}

impl From<std::convert::Infallible> for ActorError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// The message a panic carried, for the error that reports it.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// The error for a call naming an action the kind does not have.
///
/// ```
/// let e = actor::error::action_not_found("counter", "nope");
/// assert!(e.is(actor::codes::ACTION_NOT_FOUND));
/// ```
pub fn action_not_found(kind: &str, action: impl fmt::Display) -> ActorError {
    ActorError::of(
        codes::ACTION_NOT_FOUND,
        format!("actor kind `{kind}` has no action `{action}`"),
    )
    .with_metadata(serde_json::json!({ "actor": kind, "action": action.to_string() }))
}
