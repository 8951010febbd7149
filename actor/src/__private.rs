//! The one path generated code reaches the runtime through. Not public API: names here
//! change without notice.

pub use inventory;
pub use serde;

pub use crate::config::{ActorConfig, SaveMode};
pub use crate::definition::{Access, ActionInfo, Actor, ActorOptions};
pub use crate::error::{ActorError, action_not_found};
pub use crate::handle::ActorHandle;
pub use crate::instance::scope::stage;
pub use crate::kind::ActorKind;
pub use crate::payload::{Payload, ReplyShape};
pub use std::time::Duration;

/// Turns an action's `Result<T, E>` into the runtime's error type.
#[inline]
pub fn into_result<T, E: Into<ActorError>>(result: Result<T, E>) -> Result<T, ActorError> {
    result.map_err(Into::into)
}
