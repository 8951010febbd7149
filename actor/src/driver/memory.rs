//! The in-memory driver: everything in one map, gone when the process ends. For tests
//! and for benchmarks of the runtime without I/O.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, ready};

use super::{
    ActorRecord, Alarm, Commit, Driver, Fences, Loaded, Record, SaveBatch, SaveOp, StorageError,
    keys,
};
use crate::key::{ActorId, ActorKey};

/// Keeps actors in memory.
///
/// ```
/// use actor::driver::{Driver, SaveBatch, SaveOp, memory::MemoryDriver};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let driver = MemoryDriver::new();
/// let id = actor::ActorId::from("a1");
/// let mut batch = SaveBatch::new(id.clone(), 1);
/// batch.push(SaveOp::CreateActor { kind: "counter".into(), key: "k".into() });
/// batch.put(b"state".to_vec(), b"1".to_vec());
/// driver.commit(batch).await.unwrap();
/// assert_eq!(driver.get(&id, b"state").await.unwrap(), Some(b"1".to_vec()));
/// # }
/// ```
#[derive(Debug, Default)]
pub struct MemoryDriver {
    inner: Mutex<Store>,
}

#[derive(Debug, Default)]
struct Store {
    actors: HashMap<ActorId, ActorRecord>,
    by_key: HashMap<(String, ActorKey), ActorId>,
    records: HashMap<ActorId, BTreeMap<Vec<u8>, Arc<[u8]>>>,
    /// The alarm index, by time and by actor.
    alarms: BTreeSet<(u64, ActorId)>,
    alarm_of: HashMap<ActorId, u64>,
    fences: Fences,
}

impl MemoryDriver {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        f(&self.inner.lock().expect("memory driver lock poisoned"))
    }
}

impl Store {
    /// Whether `batch` may be applied: not if it is fenced, or if it creates an actor
    /// under a taken key.
    fn check(&mut self, batch: &SaveBatch) -> Result<(), StorageError> {
        self.fences.admit(batch)?;
        let conflict = batch.ops().iter().find_map(|op| match op {
            SaveOp::CreateActor { kind, key } => self
                .by_key
                .contains_key(&(kind.clone(), key.clone()))
                .then(|| StorageError::AlreadyExists {
                    kind: kind.clone(),
                    key: key.clone(),
                }),
            _ => None,
        });
        match conflict {
            Some(err) => {
                self.fences.record(batch, &err);
                Err(err)
            }
            None => Ok(()),
        }
    }

    fn set_alarm(&mut self, id: &ActorId, at: Option<u64>) {
        if let Some(old) = self.alarm_of.remove(id) {
            self.alarms.remove(&(old, id.clone()));
        }
        if let Some(at) = at {
            self.alarm_of.insert(id.clone(), at);
            self.alarms.insert((at, id.clone()));
        }
    }

    /// Applies a batch that [`check`](Self::check) accepted.
    fn apply(&mut self, batch: SaveBatch) {
        let (id, ops) = batch.into_ops();
        for op in ops {
            match op {
                SaveOp::CreateActor { kind, key } => {
                    self.by_key.insert((kind.clone(), key.clone()), id.clone());
                    self.actors.insert(
                        id.clone(),
                        ActorRecord {
                            id: id.clone(),
                            kind,
                            key,
                        },
                    );
                }
                SaveOp::Put { key, value } => {
                    let records = match self.records.get_mut(&id) {
                        Some(records) => records,
                        None => self.records.entry(id.clone()).or_default(),
                    };
                    // Overwriting keeps the stored key: no copy of it.
                    match records.get_mut(&*key) {
                        Some(stored) => *stored = value,
                        None => {
                            records.insert(key.into_owned(), value);
                        }
                    }
                }
                SaveOp::Delete { key } => {
                    if let Some(r) = self.records.get_mut(&id) {
                        r.remove(&key);
                    }
                }
                SaveOp::DeletePrefix { prefix } => {
                    if let Some(r) = self.records.get_mut(&id) {
                        r.retain(|k, _| !k.starts_with(&prefix));
                    }
                }
                SaveOp::SetAlarm { at } => self.set_alarm(&id, at),
                SaveOp::DestroyActor => {
                    if let Some(rec) = self.actors.remove(&id) {
                        self.by_key.remove(&(rec.kind, rec.key));
                    }
                    self.records.remove(&id);
                    self.set_alarm(&id, None);
                }
            }
        }
    }
}

impl Driver for MemoryDriver {
    fn lookup<'a>(
        &'a self,
        kind: &'a str,
        key: &'a ActorKey,
    ) -> BoxFuture<'a, Result<Option<ActorId>, StorageError>> {
        let id = self.with(|s| s.by_key.get(&(kind.to_string(), key.clone())).cloned());
        ready(Ok(id)).boxed()
    }

    fn load<'a>(&'a self, id: &'a ActorId) -> BoxFuture<'a, Result<Option<Loaded>, StorageError>> {
        let loaded = self.with(|s| {
            s.actors.get(id).map(|record| Loaded {
                record: record.clone(),
                state: s
                    .records
                    .get(id)
                    .and_then(|r| r.get(keys::STATE))
                    .map(|v| v.to_vec()),
                alarm: s.alarm_of.get(id).copied(),
            })
        });
        ready(Ok(loaded)).boxed()
    }

    fn get<'a>(
        &'a self,
        id: &'a ActorId,
        key: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>> {
        let value = self.with(|s| {
            s.records
                .get(id)
                .and_then(|r| r.get(key).map(|v| v.to_vec()))
        });
        ready(Ok(value)).boxed()
    }

    fn scan<'a>(
        &'a self,
        id: &'a ActorId,
        prefix: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<Record>, StorageError>> {
        let rows = self.with(|s| {
            s.records
                .get(id)
                .map(|r| {
                    r.range(prefix.to_vec()..)
                        .take_while(|(k, _)| k.starts_with(prefix))
                        .map(|(k, v)| (k.clone(), v.to_vec()))
                        .collect()
                })
                .unwrap_or_default()
        });
        ready(Ok(rows)).boxed()
    }

    fn list<'a>(
        &'a self,
        kind: &'a str,
        after: Option<&'a ActorId>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<ActorRecord>, StorageError>> {
        let mut page: Vec<ActorRecord> = self.with(|s| {
            s.actors
                .values()
                .filter(|r| r.kind == kind && after.is_none_or(|after| r.id > *after))
                .cloned()
                .collect()
        });
        page.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        page.truncate(limit);
        ready(Ok(page)).boxed()
    }

    fn earliest_alarms(
        &self,
        until: u64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Alarm>, StorageError>> {
        let due = self.with(|s| {
            s.alarms
                .iter()
                .take_while(|(at, _)| *at <= until)
                .filter_map(|(at, id)| {
                    let record = s.actors.get(id)?;
                    Some(Alarm {
                        id: id.clone(),
                        kind: record.kind.clone(),
                        at: *at,
                    })
                })
                .take(limit)
                .collect()
        });
        ready(Ok(due)).boxed()
    }

    fn commit(&self, batch: SaveBatch) -> Commit {
        let mut store = self.inner.lock().expect("memory driver lock poisoned");
        let result = store.check(&batch);
        if result.is_ok() {
            store.apply(batch);
        }
        Commit::Done(result)
    }
}
