//! The one path generated code reaches the runtime through. Not public API: names here
//! change without notice.

pub use inventory;
pub use serde;

pub use crate::config::{ActorConfig, SaveMode};
pub use crate::definition::{
    Access, ActionInfo, Actor, ActorOptions, DeadLetters, QueueInfo, WorkflowInfo,
};
pub use crate::error::{ActorError, action_not_found};
pub use crate::handle::ActorHandle;
pub use crate::instance::scope::stage;
pub use crate::kind::ActorKind;
pub use crate::payload::{Payload, ReplyShape};
pub use crate::queue::QueueSend;
pub use crate::route::Target;
pub use crate::schedule::{ScheduleId, Scheduling};
pub use crate::workflow::{Starting, WorkflowId, WorkflowStart};
pub use std::time::Duration;

/// Decodes a message for queue `queue`: one that does not decode as `T` is
/// `queue/message_invalid` (its handler does not run, and it goes to the dead letters).
pub fn decode_message<T: serde::de::DeserializeOwned + 'static>(
    message: Payload,
    queue: &str,
) -> Result<T, ActorError> {
    message.decode().map_err(|err| {
        ActorError::message_invalid(queue, std::any::type_name::<T>(), err.message())
    })
}

/// The shape a queue handler's result is wrapped in: the message's own, for a sender who
/// waits for it; otherwise a typed value, never encoded (nobody reads it).
pub fn handler_shape<A: crate::Actor>(message: &Payload, ctx: &crate::Ctx<A>) -> ReplyShape {
    match ctx.delivery() {
        Some(delivery) if !delivery.awaited => ReplyShape::Local,
        _ => message.reply_shape(),
    }
}

/// The error for a queue index the kind does not have (a hand-written `Actor` impl).
pub fn queue_not_found(kind: &str, index: usize) -> ActorError {
    ActorError::queue_not_found(kind, &format!("#{index}"), &[])
}

/// Turns an action's `Result<T, E>` into the runtime's error type.
#[inline]
pub fn into_result<T, E: Into<ActorError>>(result: Result<T, E>) -> Result<T, ActorError> {
    result.map_err(Into::into)
}

// What follows lets a mistake in an actor be reported once, on the user's own token: each
// check is a bound in one place, spanned on the type it is about, and every other use of
// that type in the same generated body carries a bound it implies, which rustc then does
// not report again.

/// An action's argument or output type: it crosses the network, so it is `Serialize` and
/// `Deserialize`. Generated code asserts it with [`wire_type`] on the type's own token.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the network: it is not `Serialize` and `Deserialize`",
    label = "an action's arguments and output, a queue's messages, and a workflow's input and output must be `Serialize + Deserialize`",
    note = "derive both on the type: `#[derive(Serialize, Deserialize)]` (they come with `use actor::prelude::*`)",
    note = "for a type from another crate, enable that crate's `serde` feature or wrap the value in a type of yours"
)]
pub trait WireType: serde::Serialize + serde::de::DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: serde::Serialize + serde::de::DeserializeOwned> WireType for T {}

/// Asserts that `T` can be an action's argument or output.
#[inline(always)]
pub fn wire_type<T: WireType + Send + 'static>() {}

/// Wraps an action's output in the reply's shape.
#[inline]
pub fn wrap_output<T: WireType + Send + 'static>(
    shape: ReplyShape,
    value: T,
) -> Result<Payload, ActorError> {
    shape.wrap(value)
}

/// An action's or hook's future, required to be `Send` where the user's method is called, so
/// that one that is not is reported on that method and names the value held across `.await`.
/// (The comment on the bound is shown in that error, as the hint.)
#[inline(always)]
pub fn send_future<F>(future: F) -> impl std::future::Future<Output = F::Output> + Send
where
    F: std::future::Future + Send, // drop the guard before `.await`, or use `tokio::sync::Mutex`
{
    future
}

/// Asserts, beside an `#[actor] impl` block, that its struct has `#[actor]`: without it the
/// handle type is missing too, and this says why.
pub const fn expects_actor_attribute<A: ActorOptions>() {}

/// An action's or hook's error type: the runtime turns it into an [`ActorError`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an action's error: it does not convert into `ActorError`",
    label = "no `From<{Self}>` for `ActorError`",
    note = "if `{Self}` is your type, derive the conversion: `#[derive(Debug, ActorError)]` (its `Display` is the message, e.g. from `thiserror`), or write `impl From<{Self}> for ActorError`",
    note = "if it is another crate's type, like `String`, convert it where it happens, `.map_err(|e| ActorError::user(\"my_code\", e.to_string()))?`, and return `Result<T, ActorError>`"
)]
pub trait IntoActorError {
    /// The conversion.
    fn into_actor_error(self) -> ActorError;
}

#[diagnostic::do_not_recommend]
impl<E: Into<ActorError>> IntoActorError for E {
    #[inline]
    fn into_actor_error(self) -> ActorError {
        self.into()
    }
}

/// Turns an action's or hook's `Result<T, E>` into the runtime's error type.
#[inline]
pub fn actor_result<T, E: IntoActorError>(result: Result<T, E>) -> Result<T, ActorError> {
    result.map_err(IntoActorError::into_actor_error)
}

/// Decodes a workflow's input: one that does not decode as `T` is `actor/invalid_arguments`.
pub fn decode_workflow_input<T: serde::de::DeserializeOwned + 'static>(
    input: Payload,
    workflow: &str,
) -> Result<T, ActorError> {
    input.decode().map_err(|err| {
        ActorError::invalid_arguments(format!(
            "the input of workflow `{workflow}` does not decode as `{}`: {}",
            std::any::type_name::<T>(),
            err.message()
        ))
    })
}

/// A workflow's output, as the runtime records it.
#[inline]
pub fn workflow_output<T: WireType + Send + 'static>(value: T) -> Result<Payload, ActorError> {
    Ok(Payload::local(value))
}

/// The error for a workflow index the kind does not have (a hand-written `Actor` impl).
pub fn workflow_not_found(kind: &str, index: usize) -> ActorError {
    ActorError::internal(
        "workflow",
        format_args!("actor kind `{kind}` has no workflow #{index}"),
    )
}
