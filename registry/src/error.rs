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
    /// Two kinds record their migrations in one namespace.
    #[error(
        "actor kinds `{first}` (crate `{first_crate}`) and `{second}` (crate `{second_crate}`) \
         both keep their migrations in namespace `{namespace}` (table `__{namespace}_migrations`), \
         so each would take the other's for its own; give one of them its own with \
         #[actor(namespace = \"...\")]"
    )]
    NamespaceClash {
        /// The namespace.
        namespace: &'static str,
        /// One kind's name.
        first: &'static str,
        /// Its crate.
        first_crate: &'static str,
        /// The other kind's name.
        second: &'static str,
        /// Its crate.
        second_crate: &'static str,
    },
    /// The server could not listen on its address.
    #[error("could not listen on {address}: {cause}")]
    Bind {
        /// The address.
        address: std::net::SocketAddr,
        /// Why.
        cause: String,
    },
    /// A server without a client token was asked to listen beyond loopback.
    #[error(
        "refusing to serve actors on {address} without a client token: anyone who reaches it \
         could call them; set ServerOptions::client_token (and admin_token), or listen on \
         127.0.0.1"
    )]
    Unprotected {
        /// The address asked for.
        address: std::net::SocketAddr,
    },
    /// The directory of the actors' databases could not be made.
    #[error("could not open the actors' databases in {path}: {cause}")]
    Databases {
        /// The directory.
        path: String,
        /// Why.
        cause: String,
    },
}

impl From<RegistryError> for ActorError {
    fn from(err: RegistryError) -> Self {
        ActorError::of(codes::INTERNAL, err.to_string())
    }
}
