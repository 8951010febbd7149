//! Choosing a driver and collecting actor kinds.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
#[cfg(feature = "sqlite")]
use std::path::PathBuf;
use std::sync::Arc;

use actor::Actor;
use actor::driver::Driver;
use actor::driver::memory::MemoryDriver;
#[cfg(feature = "sqlite")]
use actor::driver::sqlite::{SqliteDriver, SqliteOptions};
use actor::kind::ActorKind;

use crate::{Registry, RegistryError};

enum Storage {
    Memory,
    #[cfg(feature = "sqlite")]
    Sqlite(PathBuf, SqliteOptions),
    Custom(Arc<dyn Driver>),
}

/// Builds a [`Registry`]: pick a driver, optionally name kinds explicitly, then
/// [`build`](Self::build).
///
/// Every `#[actor]` kind linked into the binary is included without being named. A crate
/// of actors that nothing in the binary references is not linked, and its kinds would be
/// missing: reference it (`use my_actors as _;`) or name a kind with
/// [`register`](Self::register), which also forces the link.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), registry::RegistryError> {
/// let registry = registry::Registry::builder().memory().build().await?;
/// # Ok(()) }
/// ```
pub struct RegistryBuilder {
    storage: Storage,
    explicit: Vec<ActorKind>,
}

impl Default for RegistryBuilder {
    /// SQLite in `./data`; the memory driver when the `sqlite` feature is off.
    fn default() -> Self {
        #[cfg(feature = "sqlite")]
        let storage = Storage::Sqlite(PathBuf::from("data"), SqliteOptions::default());
        #[cfg(not(feature = "sqlite"))]
        let storage = Storage::Memory;
        Self {
            storage,
            explicit: Vec::new(),
        }
    }
}

impl RegistryBuilder {
    /// Keep actors in memory only (tests).
    pub fn memory(mut self) -> Self {
        self.storage = Storage::Memory;
        self
    }

    /// Keep actors in SQLite inside `dir` (the default, with `./data`). Needs the
    /// `sqlite` feature (on by default).
    #[cfg(feature = "sqlite")]
    pub fn sqlite(self, dir: impl Into<PathBuf>) -> Self {
        self.sqlite_with(dir, SqliteOptions::default())
    }

    /// Keep actors in SQLite inside `dir`, with options.
    #[cfg(feature = "sqlite")]
    pub fn sqlite_with(mut self, dir: impl Into<PathBuf>, options: SqliteOptions) -> Self {
        self.storage = Storage::Sqlite(dir.into(), options);
        self
    }

    /// Use a driver built elsewhere.
    pub fn driver(mut self, driver: Arc<dyn Driver>) -> Self {
        self.storage = Storage::Custom(driver);
        self
    }

    /// Names a kind explicitly; it is registered even if inventory did not see it.
    pub fn register<A: Actor>(mut self) -> Self {
        self.explicit.push(ActorKind::of::<A>());
        self
    }

    /// Collects the kinds, checks their names are unique, and opens storage.
    pub async fn build(self) -> Result<Registry, RegistryError> {
        let kinds = collect(ActorKind::all().copied().chain(self.explicit))?;
        let driver: Arc<dyn Driver> = match self.storage {
            Storage::Memory => Arc::new(MemoryDriver::new()),
            #[cfg(feature = "sqlite")]
            Storage::Sqlite(dir, options) => Arc::new(SqliteDriver::open_with(dir, options).await?),
            Storage::Custom(driver) => driver,
        };
        tracing::debug!(kinds = kinds.len(), "registry built");
        Ok(Registry::new(kinds, driver))
    }
}

/// Indexes kinds by name; the same type twice is fine, two types with one name are not.
pub(crate) fn collect(
    kinds: impl IntoIterator<Item = ActorKind>,
) -> Result<HashMap<&'static str, ActorKind>, RegistryError> {
    let mut by_name = HashMap::new();
    for kind in kinds {
        match by_name.entry(kind.name()) {
            Entry::Vacant(slot) => {
                slot.insert(kind);
            }
            Entry::Occupied(existing) if existing.get().same_type(&kind) => {}
            Entry::Occupied(existing) => {
                let (mut first, mut second) = (existing.get().type_name(), kind.type_name());
                if second < first {
                    std::mem::swap(&mut first, &mut second);
                }
                return Err(RegistryError::DuplicateName {
                    name: kind.name(),
                    first,
                    second,
                });
            }
        }
    }
    Ok(by_name)
}
