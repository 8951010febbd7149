//! Errors as values: `{group, code, message, metadata}` on every path.
//!
//! Every code the runtime emits is a constant in [`codes`] and is documented in
//! `docs/errors.md`; a test keeps the two in step.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::driver::StorageError;

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
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorError {
    group: Cow<'static, str>,
    code: Cow<'static, str>,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metadata: Option<serde_json::Value>,
}

/// Every `(group, code)` pair the runtime itself emits.
///
/// ```
/// assert_eq!(actor::codes::OVERLOADED, ("actor", "overloaded"));
/// ```
pub mod codes {
    /// No actor of that kind exists under the key or id.
    pub const NOT_FOUND: (&str, &str) = ("actor", "not_found");
    /// `create` found an actor already living under the key.
    pub const ALREADY_EXISTS: (&str, &str) = ("actor", "already_exists");
    /// The actor's inbox is full; retry later.
    pub const OVERLOADED: (&str, &str) = ("actor", "overloaded");
    /// An exclusive action was called from inside an exclusive turn of its own actor
    /// (directly or through other actors), where it would wait for itself.
    pub const DEADLOCK: (&str, &str) = ("actor", "deadlock");
    /// The actor kind has no action with that name.
    pub const ACTION_NOT_FOUND: (&str, &str) = ("actor", "action_not_found");
    /// The action ran longer than the kind's `action_timeout`.
    pub const ACTION_TIMED_OUT: (&str, &str) = ("actor", "action_timed_out");
    /// The actor was destroyed while the call was waiting or running.
    pub const DESTROYED: (&str, &str) = ("actor", "destroyed");
    /// The registry holds no actor kind with that name.
    pub const KIND_NOT_REGISTERED: (&str, &str) = ("actor", "kind_not_registered");
    /// The key is empty of meaning: too long or containing a NUL byte.
    pub const INVALID_KEY: (&str, &str) = ("actor", "invalid_key");
    /// The arguments could not be decoded into the action's parameter types.
    pub const INVALID_ARGUMENTS: (&str, &str) = ("actor", "invalid_arguments");
    /// The result or state could not be encoded.
    pub const SERIALIZATION_FAILED: (&str, &str) = ("actor", "serialization_failed");
    /// The storage driver failed; nothing of the failed write was kept.
    pub const STORAGE: (&str, &str) = ("actor", "storage_error");
    /// A panic or a bug inside the actor; the cause is logged.
    pub const INTERNAL: (&str, &str) = ("actor", "internal_error");
    /// The registry is shutting down and accepts no more calls.
    pub const STOPPED: (&str, &str) = ("actor", "stopped");
    /// A user error without a more specific code.
    pub const USER: (&str, &str) = ("user", "user_error");

    /// All codes above, for documentation checks.
    pub const ALL: &[(&str, &str)] = &[
        NOT_FOUND,
        ALREADY_EXISTS,
        OVERLOADED,
        DEADLOCK,
        ACTION_NOT_FOUND,
        ACTION_TIMED_OUT,
        DESTROYED,
        KIND_NOT_REGISTERED,
        INVALID_KEY,
        INVALID_ARGUMENTS,
        SERIALIZATION_FAILED,
        STORAGE,
        INTERNAL,
        STOPPED,
        USER,
    ];
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
        Self {
            group: group.into(),
            code: code.into(),
            message: message.into(),
            metadata: None,
        }
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
        self.metadata = Some(metadata);
        self
    }

    /// The error's group, such as `actor` or `user`.
    ///
    /// ```
    /// assert_eq!(actor::ActorError::user("a", "b").group(), "user");
    /// ```
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The error's code inside its group.
    ///
    /// ```
    /// assert_eq!(actor::ActorError::user("a", "b").code(), "a");
    /// ```
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The human-readable message.
    ///
    /// ```
    /// assert_eq!(actor::ActorError::user("a", "b").message(), "b");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Structured data attached with [`with_metadata`](Self::with_metadata).
    ///
    /// ```
    /// assert!(actor::ActorError::user("a", "b").metadata().is_none());
    /// ```
    pub fn metadata(&self) -> Option<&serde_json::Value> {
        self.metadata.as_ref()
    }

    /// Whether this error has the given `(group, code)`.
    ///
    /// ```
    /// let e = actor::ActorError::user("a", "b");
    /// assert!(e.is(("user", "a")));
    /// ```
    pub fn is(&self, (group, code): (&str, &str)) -> bool {
        self.group == group && self.code == code
    }

    pub(crate) fn internal(context: &str, cause: impl fmt::Display) -> Self {
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
            StorageError::AlreadyExists { kind, key } => Self::of(
                codes::ALREADY_EXISTS,
                format!("an actor of kind `{kind}` already exists under key {key}"),
            )
            .with_metadata(serde_json::json!({ "actor": kind, "key": key })),
            other @ (StorageError::Backend(_) | StorageError::Fenced { .. }) => {
                Self::storage(other)
            }
        }
    }
}

impl fmt::Display for ActorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}: {}", self.group, self.code, self.message)
    }
}

impl fmt::Debug for ActorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ActorError");
        s.field("group", &self.group)
            .field("code", &self.code)
            .field("message", &self.message);
        if let Some(m) = &self.metadata {
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
