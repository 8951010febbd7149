//! Errors building a registry.

use actor::driver::StorageError;
use actor::{ActorError, codes};

/// Why a registry could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Two different types registered the same actor name.
    #[error(
        "two actor kinds are named `{name}`: `{first}` and `{second}`; give one of them another name with #[actor(name = \"...\")]"
    )]
    DuplicateName {
        /// The name.
        name: &'static str,
        /// One type.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// The storage driver could not be opened.
    #[error("could not open storage: {0}")]
    Storage(#[from] StorageError),
}

impl From<RegistryError> for ActorError {
    fn from(err: RegistryError) -> Self {
        ActorError::of(codes::INTERNAL, err.to_string())
    }
}
