//! The one path generated code reaches the runtime through. Not public API: names here
//! change without notice.

pub use inventory;
pub use serde;

pub use crate::config::{ActorConfig, SaveMode};
pub use crate::definition::{Access, ActionInfo, Actor, ActorOptions};
pub use crate::error::{ActorError, action_not_found};
pub use crate::handle::ActorHandle;
pub use crate::kind::ActorKind;
pub use crate::payload::{Payload, ReplyShape};
pub use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Turns an action's `Result<T, E>` into the runtime's error type.
#[inline]
pub fn into_result<T, E: Into<ActorError>>(result: Result<T, E>) -> Result<T, ActorError> {
    result.map_err(Into::into)
}

/// Spanned on an argument or input type: it must travel over the network.
pub fn assert_argument<T: Serialize + DeserializeOwned + Send + 'static>() {}

/// Spanned on an action's output type: it must travel back to the caller.
pub fn assert_output<T: Serialize + DeserializeOwned + Send + 'static>() {}

/// Spanned on an action's error type: it must convert into `ActorError`.
pub fn assert_error<E: Into<ActorError>>() {}

/// Spanned on a `vars = T` type.
pub fn assert_vars<T: Default + Send + Sync + 'static>() {}
