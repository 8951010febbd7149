//! The registry's actor databases: where their files live, and which are open.
//!
//! sqlx runs one OS thread per open SQLite connection, so an open database costs a thread.
//! Each instance's database is a pool of at most one connection, opened on first use and
//! closed when nothing has used it for [`DatabaseOptions::idle`], when more than
//! [`DatabaseOptions::max_open`] are open (the least recently used idle ones first), and
//! when the instance sleeps. So the threads follow the databases in use, not the awake
//! actors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::time::Instant;

use crate::error::{ActorError, codes};
use crate::key::ActorId;

/// How a registry keeps its actor databases open.
///
/// ```
/// use std::time::Duration;
/// let o = actor::database::DatabaseOptions::default();
/// assert_eq!((o.max_open, o.idle), (64, Duration::from_secs(30)));
/// assert_eq!(o.shared_connections, 4);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseOptions {
    /// Databases open at once before the least recently used idle one is closed (each
    /// open database is one sqlx connection, so one OS thread).
    pub max_open: usize,
    /// A database nothing used for this long is closed.
    pub idle: Duration,
    /// How long a statement waits for another connection's lock (SQLite's
    /// `busy_timeout`), and a turn for its database's one connection.
    pub busy_timeout: Duration,
    /// Connections to each shared database file (`shared_database = "…"`), for all the
    /// actors that use it.
    pub shared_connections: usize,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            max_open: 64,
            idle: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(10),
            shared_connections: 4,
        }
    }
}

/// The actor databases of one registry: their directory and the ones open.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let dir = tempfile::tempdir()?;
/// let databases = actor::database::Databases::open(dir.path().join("databases"), Default::default())?;
/// assert_eq!(databases.open_count(), 0);
/// # Ok(()) }
/// ```
pub struct Databases {
    root: PathBuf,
    /// The directory of a memory registry's databases, removed with it.
    _temporary: Option<tempfile::TempDir>,
    options: DatabaseOptions,
    open: Mutex<Open>,
    /// Held while a shared file's migrations run, so two instances waking at once do not
    /// both apply them.
    migrating: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Open {
    pools: HashMap<ActorId, Entry>,
    /// The shared database files, by name, open for the registry's life.
    shared: HashMap<&'static str, SqlitePool>,
    /// The (shared file, namespace) pairs migrated by this registry.
    migrated: std::collections::HashSet<(&'static str, &'static str)>,
    /// Counts uses, to tell the least recently used.
    uses: u64,
    /// Whether the task that closes idle databases runs.
    sweeping: bool,
}

struct Entry {
    pool: SqlitePool,
    /// Leases held: a database with any is in use and never closed.
    leases: usize,
    /// The use count when it was last leased.
    used: u64,
    /// When its last lease ended.
    idle_since: Instant,
}

impl std::fmt::Debug for Databases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Databases")
            .field("root", &self.root)
            .field("open", &self.open_count())
            .finish()
    }
}

impl Databases {
    /// The databases under `root` (created if missing).
    pub fn open(root: impl Into<PathBuf>, options: DatabaseOptions) -> std::io::Result<Arc<Self>> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(Arc::new(Self {
            root,
            _temporary: None,
            options,
            open: Mutex::default(),
            migrating: tokio::sync::Mutex::new(()),
        }))
    }

    /// Databases in a temporary directory, removed when they are dropped: a memory
    /// registry's, which keep their data for as long as the registry lives.
    pub fn temporary(options: DatabaseOptions) -> std::io::Result<Arc<Self>> {
        let dir = tempfile::Builder::new()
            .prefix("actor-databases-")
            .tempdir()?;
        Ok(Arc::new(Self {
            root: dir.path().to_path_buf(),
            _temporary: Some(dir),
            options,
            open: Mutex::default(),
            migrating: tokio::sync::Mutex::new(()),
        }))
    }

    /// The directory the databases live in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How many databases are open now.
    pub fn open_count(&self) -> usize {
        self.lock().pools.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().expect("databases lock poisoned")
    }

    /// The file of the database of actor `id` of kind `kind`.
    pub fn path(&self, kind: &str, id: &ActorId) -> PathBuf {
        self.root
            .join(kind)
            .join(format!("{}.sqlite", file_stem(id)))
    }

    /// The shared database file `name`.
    pub fn shared_path(&self, name: &str) -> PathBuf {
        self.root.join("shared").join(format!("{name}.sqlite"))
    }

    /// The shared database file `name`, open for the registry's life (its idle
    /// connections close after `idle`).
    pub(crate) fn lease_shared(self: &Arc<Self>, name: &'static str) -> Result<Lease, ActorError> {
        let mut open = self.lock();
        let pool = match open.shared.get(name) {
            Some(pool) => pool.clone(),
            None => {
                let pool =
                    self.connect(&self.shared_path(name), self.options.shared_connections)?;
                open.shared.insert(name, pool.clone());
                pool
            }
        };
        Ok(Lease {
            pool,
            databases: self.clone(),
            id: None,
        })
    }

    /// Runs `migrate` for namespace `namespace` of shared file `name` once per registry:
    /// one instance at a time, and not again once it succeeded.
    pub(crate) async fn migrate_shared<F>(
        &self,
        name: &'static str,
        namespace: &'static str,
        migrate: F,
    ) -> Result<(), ActorError>
    where
        F: Future<Output = Result<(), ActorError>>,
    {
        let _one_at_a_time = self.migrating.lock().await;
        if self.lock().migrated.contains(&(name, namespace)) {
            return Ok(());
        }
        migrate.await?;
        self.lock().migrated.insert((name, namespace));
        Ok(())
    }

    /// The database of actor `id` (kind `kind`), open and leased until the lease drops.
    pub(crate) fn lease(self: &Arc<Self>, kind: &str, id: &ActorId) -> Result<Lease, ActorError> {
        let mut open = self.lock();
        open.uses += 1;
        let uses = open.uses;
        let pool = match open.pools.get_mut(id) {
            Some(entry) => {
                entry.leases += 1;
                entry.used = uses;
                entry.pool.clone()
            }
            None => {
                let pool = self.connect(&self.path(kind, id), 1)?;
                open.pools.insert(
                    id.clone(),
                    Entry {
                        pool: pool.clone(),
                        leases: 1,
                        used: uses,
                        idle_since: Instant::now(),
                    },
                );
                self.evict(&mut open);
                pool
            }
        };
        if !open.sweeping {
            open.sweeping = true;
            tokio::spawn(sweep(Arc::downgrade(self), self.options.idle));
        }
        Ok(Lease {
            pool,
            databases: self.clone(),
            id: Some(id.clone()),
        })
    }

    /// A pool of up to `connections` lazily opened connections to the file at `path`; a
    /// shared file's (more than one) close when idle on their own.
    fn connect(&self, path: &Path, connections: usize) -> Result<SqlitePool, ActorError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|err| unavailable(path, &err))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(self.options.busy_timeout)
            .foreign_keys(true);
        let shared = connections > 1;
        Ok(SqlitePoolOptions::new()
            .max_connections(u32::try_from(connections).unwrap_or(u32::MAX))
            .min_connections(0)
            .idle_timeout(shared.then_some(self.options.idle))
            .max_lifetime(None)
            .acquire_timeout(self.options.busy_timeout)
            .connect_lazy_with(options))
    }

    /// Closes the least recently used idle databases while more than `max_open` are open.
    fn evict(&self, open: &mut Open) {
        while open.pools.len() > self.options.max_open {
            let oldest = open
                .pools
                .iter()
                .filter(|(_, e)| e.leases == 0)
                .min_by_key(|(_, e)| e.used)
                .map(|(id, _)| id.clone());
            let Some(id) = oldest else { return };
            if let Some(entry) = open.pools.remove(&id) {
                close(entry.pool);
            }
        }
    }

    /// Closes the database of actor `id` if nothing holds it (the instance sleeps).
    pub(crate) fn release(&self, id: &ActorId) {
        let mut open = self.lock();
        if open.pools.get(id).is_some_and(|e| e.leases == 0)
            && let Some(entry) = open.pools.remove(id)
        {
            close(entry.pool);
        }
    }

    /// Closes the database of actor `id` and deletes its files (the actor is destroyed).
    pub(crate) async fn remove(&self, kind: &str, id: &ActorId) -> Result<(), ActorError> {
        let entry = self.lock().pools.remove(id);
        if let Some(entry) = entry {
            entry.pool.close().await;
        }
        let path = self.path(kind, id);
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(unavailable(&path, &err)),
            }
        }
        Ok(())
    }

    /// Closes the databases idle for `idle` by `now`.
    fn sweep_idle(&self, now: Instant) {
        let mut open = self.lock();
        let idle = self.options.idle;
        let stale: Vec<ActorId> = open
            .pools
            .iter()
            .filter(|(_, e)| e.leases == 0 && now.duration_since(e.idle_since) >= idle)
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            if let Some(entry) = open.pools.remove(&id) {
                close(entry.pool);
            }
        }
    }
}

/// Closes the databases that stayed idle, every half `idle`, for as long as they exist.
async fn sweep(databases: Weak<Databases>, idle: Duration) {
    let period = (idle / 2).max(Duration::from_millis(10));
    loop {
        tokio::time::sleep(period).await;
        let Some(databases) = databases.upgrade() else {
            return;
        };
        databases.sweep_idle(Instant::now());
    }
}

/// Closes `pool` in the background: its connection's thread ends once it is closed.
fn close(pool: SqlitePool) {
    tokio::spawn(async move { pool.close().await });
}

/// A file name for an actor id: the id itself when it is plain, else its hex.
fn file_stem(id: &ActorId) -> String {
    let text = id.as_str();
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        text.to_owned()
    } else {
        let hex: String = text.bytes().map(|b| format!("{b:02x}")).collect();
        format!("x{hex}")
    }
}

/// `database/unavailable`: the database at `path` could not be opened or removed.
pub(crate) fn unavailable(path: &Path, err: &dyn std::fmt::Display) -> ActorError {
    ActorError::of(
        codes::DATABASE_UNAVAILABLE,
        format!(
            "the actor's database at {} could not be opened or removed: {err}",
            path.display()
        ),
    )
    .with_metadata(serde_json::json!({ "path": path.display().to_string() }))
}

/// An open database, kept open (and not closed as idle) while the lease lives.
pub(crate) struct Lease {
    pub(crate) pool: SqlitePool,
    databases: Arc<Databases>,
    /// The instance whose own database this is; `None` for a shared file.
    id: Option<ActorId>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(id) = &self.id else { return };
        let mut open = self.databases.lock();
        if let Some(entry) = open.pools.get_mut(id) {
            entry.leases -= 1;
            if entry.leases == 0 {
                entry.idle_since = Instant::now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_name_their_files_and_others_are_hex() {
        assert_eq!(file_stem(&ActorId::from("a1-b_2")), "a1-b_2");
        assert_eq!(file_stem(&ActorId::from("../x")), "x2e2e2f78");
        assert_eq!(file_stem(&ActorId::from("")), "x");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_databases_close_and_the_least_recently_used_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let options = DatabaseOptions {
            max_open: 2,
            idle: Duration::from_secs(30),
            ..Default::default()
        };
        let databases = Databases::open(dir.path(), options).unwrap();
        let (a, b, c) = (ActorId::from("a"), ActorId::from("b"), ActorId::from("c"));
        let held = databases.lease("k", &a).unwrap();
        drop(databases.lease("k", &b).unwrap());
        drop(databases.lease("k", &c).unwrap());
        // Three open, two allowed: `b` is the least recently used idle one; `a` is held.
        let open: Vec<_> = {
            let mut ids: Vec<_> = databases.lock().pools.keys().cloned().collect();
            ids.sort_by(|x, y| x.as_str().cmp(y.as_str()));
            ids
        };
        assert_eq!(open, [a.clone(), c.clone()]);
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert_eq!(databases.open_count(), 1, "`c` closed as idle, `a` is held");
        drop(held);
        tokio::time::sleep(Duration::from_secs(46)).await;
        assert_eq!(databases.open_count(), 0);
    }
}
