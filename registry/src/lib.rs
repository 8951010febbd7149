//! Hosting for actor kinds: the registry every `#[actor]` type linked into the binary

//! joins through `inventory`, the directory of live instances, and in-process routing.
//!
//! ```
//! use actor::prelude::*;
//!
//! #[actor]
//! #[derive(Clone, Default, Serialize, Deserialize)]
//! pub struct Counter { count: i64 }
//!
//! #[actor]
//! impl Counter {
//!     #[action]
//!     async fn increment(&mut self, by: i64) -> i64 { self.count += by; self.count }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ActorError> {
//! let dir = tempfile::tempdir().unwrap();
//! let registry = registry::Registry::builder().sqlite(dir.path()).build().await?;
//! assert!(registry.kind("counter").is_some());
//! let counter = registry.client().get_or_create::<Counter>(["a"]).await?;
//! assert_eq!(counter.increment(2).await?, 2);
//! registry.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! | module | what it holds |
//! |---|---|
//! | [`builder`] | choosing a driver and collecting kinds |
//! | [`directory`] | live instances by id, and the in-process transport |
//! | [`error`] | errors building a registry |
//! | [`server`] | the network server: RivetKit's client protocol over HTTP (feature `server`) |

#![warn(missing_docs)]

mod alarms;
pub mod builder;
pub mod directory;
pub mod error;
#[cfg(feature = "server")]
pub mod server;

use std::collections::HashMap;
use std::sync::Arc;

use actor::Client;
use actor::driver::Driver;
use actor::kind::ActorKind;

pub use builder::RegistryBuilder;
pub use error::RegistryError;
#[cfg(feature = "server")]
pub use server::{Server, ServerOptions, Token};

use directory::Directory;

/// The set of actor kinds this process hosts, with their storage and live instances.
///
/// Cheap to clone. Call [`shutdown`](Self::shutdown) to put every awake actor to sleep
/// (saving state and running `on_sleep`) before exiting.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Directory>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.inner.kinds().keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// Starts building a registry.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    pub(crate) fn new(
        kinds: HashMap<&'static str, ActorKind>,
        driver: Arc<dyn Driver>,
        #[cfg(feature = "sqlite")] databases: Option<Arc<actor::database::Databases>>,
    ) -> Self {
        Self {
            inner: Directory::start(
                kinds,
                driver,
                #[cfg(feature = "sqlite")]
                databases,
            ),
        }
    }

    /// A client whose typed handles reach this registry's actors in-process.
    pub fn client(&self) -> Client {
        self.inner.client()
    }

    /// The kind registered under `name`.
    pub fn kind(&self, name: &str) -> Option<&ActorKind> {
        self.inner.kinds().get(name)
    }

    /// Every registered kind.
    pub fn kinds(&self) -> impl Iterator<Item = &ActorKind> {
        self.inner.kinds().values()
    }

    /// The storage driver.
    pub fn driver(&self) -> &Arc<dyn Driver> {
        self.inner.driver()
    }

    /// The actors' SQL databases, when a kind declares one (`#[actor(migrations = "…")]`):
    /// where they live and how many are open.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), registry::RegistryError> {
    /// let registry = registry::Registry::builder().memory().build().await?;
    /// if let Some(databases) = registry.databases() {
    ///     println!("{} open in {}", databases.open_count(), databases.root().display());
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "sqlite")]
    pub fn databases(&self) -> Option<&Arc<actor::database::Databases>> {
        self.inner.databases()
    }

    /// Actors of this registry's kinds that the alarm index says are due at or before
    /// `until`, earliest first, at most `limit`: what became due while the registry was
    /// down is here on the next start. Schedules and workflows' durable sleeps set these
    /// alarms in the same batch as their records.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), actor::ActorError> {
    /// let registry = registry::Registry::builder().memory().build().await?;
    /// assert!(registry.due(std::time::SystemTime::now(), 10).await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn due(
        &self,
        until: std::time::SystemTime,
        limit: usize,
    ) -> Result<Vec<actor::driver::Alarm>, actor::ActorError> {
        let until = until
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut due = self
            .inner
            .driver()
            .earliest_alarms(until, limit)
            .await
            .map_err(actor::ActorError::from_storage)?;
        due.retain(|alarm| self.inner.kinds().contains_key(alarm.kind.as_str()));
        Ok(due)
    }

    /// How many instances are awake (or starting or stopping) right now.
    pub fn awake(&self) -> usize {
        self.inner.awake()
    }

    /// Puts every awake actor to sleep and refuses new calls; returns when all have
    /// saved their state.
    pub async fn shutdown(&self) {
        self.inner.shutdown().await;
    }
}
