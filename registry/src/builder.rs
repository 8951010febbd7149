//! Choosing a driver and collecting actor kinds.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
#[cfg(feature = "sqlite")]
use std::path::PathBuf;
use std::sync::Arc;

use actor::Actor;
#[cfg(feature = "sqlite")]
use actor::database::DatabaseOptions;
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
    left_out: Vec<ActorKind>,
    #[cfg(feature = "sqlite")]
    databases: Databases,
}

/// Where the actors' SQL databases live, and how they are kept open.
#[cfg(feature = "sqlite")]
#[derive(Default)]
struct Databases {
    dir: Option<PathBuf>,
    options: DatabaseOptions,
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
            left_out: Vec::new(),
            #[cfg(feature = "sqlite")]
            databases: Databases::default(),
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

    /// Keeps the actors' SQL databases (kinds with `#[actor(migrations = "…")]`) in
    /// `dir`. By default they live in `databases/` inside the SQLite directory, and, for
    /// the memory driver or a driver of your own, in a temporary directory removed with
    /// the registry.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), registry::RegistryError> {
    /// let dir = tempfile::tempdir().unwrap();
    /// let registry = registry::Registry::builder().memory().database_dir(dir.path()).build().await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "sqlite")]
    pub fn database_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.databases.dir = Some(dir.into());
        self
    }

    /// How the actors' databases are kept open (see [`DatabaseOptions`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), registry::RegistryError> {
    /// let options = actor::database::DatabaseOptions { max_open: 16, ..Default::default() };
    /// let registry = registry::Registry::builder().memory().database_options(options).build().await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "sqlite")]
    pub fn database_options(mut self, options: DatabaseOptions) -> Self {
        self.databases.options = options;
        self
    }

    /// Names a kind explicitly; it is registered even if inventory did not see it.
    pub fn register<A: Actor>(mut self) -> Self {
        self.explicit.push(ActorKind::of::<A>());
        self
    }

    /// Leaves kind `A` out of this registry although it is linked into the binary: a
    /// process that serves only some of its kinds, or two versions of a kind under one
    /// name, each served by its own registry.
    ///
    /// ```
    /// use actor::prelude::*;
    ///
    /// #[actor(name = "docLeftOut")]
    /// #[derive(Clone, Default, Serialize, Deserialize)]
    /// pub struct DocLeftOut {}
    ///
    /// #[actor]
    /// impl DocLeftOut {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), registry::RegistryError> {
    /// let registry = registry::Registry::builder().memory().without::<DocLeftOut>().build().await?;
    /// assert!(registry.kind("docLeftOut").is_none());
    /// # Ok(()) }
    /// ```
    pub fn without<A: Actor>(mut self) -> Self {
        self.left_out.push(ActorKind::of::<A>());
        self
    }

    /// Collects the kinds, checks their names (and their databases' namespaces) are
    /// unique, and opens storage.
    pub async fn build(self) -> Result<Registry, RegistryError> {
        let left_out = self.left_out;
        let kinds = collect(
            ActorKind::all()
                .copied()
                .chain(self.explicit)
                .filter(|kind| !left_out.iter().any(|out| out.same_type(kind))),
        )?;
        #[cfg(feature = "sqlite")]
        let databases = open_databases(&kinds, &self.storage, self.databases)?;
        let driver: Arc<dyn Driver> = match self.storage {
            Storage::Memory => Arc::new(MemoryDriver::new()),
            #[cfg(feature = "sqlite")]
            Storage::Sqlite(dir, options) => Arc::new(SqliteDriver::open_with(dir, options).await?),
            Storage::Custom(driver) => driver,
        };
        tracing::debug!(kinds = kinds.len(), "registry built");
        Ok(Registry::new(
            kinds,
            driver,
            #[cfg(feature = "sqlite")]
            databases,
        ))
    }
}

/// The actors' databases, if any kind has one: their namespaces checked to be unique,
/// their directory opened.
#[cfg(feature = "sqlite")]
fn open_databases(
    kinds: &HashMap<&'static str, ActorKind>,
    storage: &Storage,
    databases: Databases,
) -> Result<Option<Arc<actor::database::Databases>>, RegistryError> {
    let mut sorted: Vec<&ActorKind> = kinds.values().filter(|k| k.database().is_some()).collect();
    if sorted.is_empty() {
        return Ok(None);
    }
    sorted.sort_by_key(|k| k.name());
    let mut by_namespace: HashMap<&'static str, &ActorKind> = HashMap::new();
    for kind in sorted {
        let spec = kind.database().expect("filtered on it");
        if let Some(first) = by_namespace.insert(spec.namespace, kind) {
            return Err(RegistryError::NamespaceClash {
                namespace: spec.namespace,
                first: first.name(),
                first_crate: first.database().expect("filtered on it").crate_name,
                second: kind.name(),
                second_crate: spec.crate_name,
            });
        }
    }
    let dir = databases.dir.or_else(|| match storage {
        Storage::Sqlite(dir, _) => Some(dir.join("databases")),
        _ => None,
    });
    let opened = match &dir {
        Some(dir) => actor::database::Databases::open(dir, databases.options),
        None => actor::database::Databases::temporary(databases.options),
    };
    opened.map(Some).map_err(|err| RegistryError::Databases {
        path: dir.map_or("a temporary directory".into(), |d| d.display().to_string()),
        cause: err.to_string(),
    })
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
