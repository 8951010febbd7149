//! The directory of live instances, and the in-process transport built on it.
//!
//! Each actor id has at most one [`Slot`]; whoever holds the slot's lock may start an
//! instance into it. An instance that stops retires its slot, so the next call finds
//! none and starts a fresh instance from storage. Creation is serialized per key, so two
//! `get_or_create` calls for one key make one actor.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use actor::__runtime::{Host, Slot, Spawn, Start, Timers};
use actor::__runtime::{Resolved, Transport};
use actor::client::{Address, CreateMode};
use actor::clock::Clock;
use actor::driver::{Driver, Loaded};
use actor::kind::ActorKind;
use actor::payload::Payload;
use actor::{ActorError, ActorId, ActorKey, Client, codes};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::oneshot;

type KeyLocks = HashMap<(&'static str, ActorKey), Weak<tokio::sync::Mutex<()>>>;

/// Live instances by id.
pub struct Directory {
    kinds: HashMap<&'static str, ActorKind>,
    driver: Arc<dyn Driver>,
    slots: Mutex<HashMap<ActorId, Arc<Slot>>>,
    creating: Mutex<KeyLocks>,
    stopping: AtomicBool,
    /// The runtime the registry was built on: every instance's task runs there, whichever
    /// runtime the call that woke it came from.
    runtime: tokio::runtime::Handle,
    /// Wakes dormant instances at their sleep timeout.
    timers: Arc<Timers>,
    /// The wall clock of stored times.
    clock: Clock,
    /// Notified when an actor stops, for the alarm loop.
    alarms_changed: Arc<tokio::sync::Notify>,
    /// The actors' SQL databases, when a kind has one.
    #[cfg(feature = "sqlite")]
    databases: Option<Arc<actor::database::Databases>>,
    me: Weak<Directory>,
}

impl Directory {
    pub(crate) fn new(
        kinds: HashMap<&'static str, ActorKind>,
        driver: Arc<dyn Driver>,
        #[cfg(feature = "sqlite")] databases: Option<Arc<actor::database::Databases>>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            kinds,
            driver,
            slots: Mutex::default(),
            creating: Mutex::default(),
            stopping: AtomicBool::new(false),
            runtime: tokio::runtime::Handle::current(),
            timers: Timers::start(),
            clock: Clock::start(),
            alarms_changed: Arc::default(),
            #[cfg(feature = "sqlite")]
            databases,
            me: me.clone(),
        })
    }

    /// A directory, with its alarm loop started.
    pub(crate) fn start(
        kinds: HashMap<&'static str, ActorKind>,
        driver: Arc<dyn Driver>,
        #[cfg(feature = "sqlite")] databases: Option<Arc<actor::database::Databases>>,
    ) -> Arc<Self> {
        let directory = Self::new(
            kinds,
            driver,
            #[cfg(feature = "sqlite")]
            databases,
        );
        tokio::spawn(crate::alarms::run(Arc::downgrade(&directory)));
        directory
    }

    fn this(&self) -> Arc<Self> {
        self.me
            .upgrade()
            .expect("a directory method runs while it is alive")
    }

    pub(crate) fn client(&self) -> Client {
        Client::new(self.this())
    }

    pub(crate) fn kinds(&self) -> &HashMap<&'static str, ActorKind> {
        &self.kinds
    }

    pub(crate) fn driver(&self) -> &Arc<dyn Driver> {
        &self.driver
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn databases(&self) -> Option<&Arc<actor::database::Databases>> {
        self.databases.as_ref()
    }

    pub(crate) fn awake(&self) -> usize {
        self.slots.lock().expect("slots lock").len()
    }

    fn kind(&self, name: &str) -> Result<&ActorKind, ActorError> {
        if self.stopping.load(Ordering::Acquire) {
            return Err(ActorError::stopped(
                "the registry is shutting down and accepts no new calls",
            ));
        }
        self.kinds.get(name).ok_or_else(|| {
            let mut known: Vec<_> = self.kinds.keys().copied().collect();
            known.sort_unstable();
            let registered = if known.is_empty() {
                "this registry holds no kinds at all".to_string()
            } else {
                format!("registered: {}", known.join(", "))
            };
            ActorError::of(
                codes::KIND_NOT_REGISTERED,
                format!(
                    "no actor kind named `{name}` is registered ({registered}); if it is defined in \
                     another crate, make sure the binary links it: `use that_crate as _;` or \
                     `Registry::builder().register::<Type>()`"
                ),
            )
            .with_metadata(serde_json::json!({ "actor": name, "registered": known }))
        })
    }

    fn key_lock(&self, kind: &'static str, key: &ActorKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.creating.lock().expect("key locks");
        locks.retain(|_, lock| lock.strong_count() > 0);
        let entry = locks.entry((kind, key.clone())).or_default();
        match entry.upgrade() {
            Some(lock) => lock,
            None => {
                let lock = Arc::new(tokio::sync::Mutex::new(()));
                *entry = Arc::downgrade(&lock);
                lock
            }
        }
    }

    async fn resolve_inner(&self, kind: &str, address: &Address) -> Result<Resolved, ActorError> {
        let kind = *self.kind(kind)?;
        match address {
            Address::Id(id) => self.wake(&kind, id, None).await.map(awake),
            Address::Key { key, create } => {
                key.validate()?;
                let lock = self.key_lock(kind.name(), key);
                let _creating = lock.lock().await;
                match self
                    .driver
                    .lookup(kind.name(), key)
                    .await
                    .map_err(ActorError::from_storage)?
                {
                    Some(_) if matches!(create, CreateMode::Always(_)) => {
                        Err(ActorError::already_exists(kind.name(), key))
                    }
                    Some(id) => self.wake(&kind, &id, None).await.map(awake),
                    None => match create.input() {
                        None => Err(ActorError::not_found(
                            kind.name(),
                            format_args!("under key {key}"),
                        )
                        .with_metadata(serde_json::json!({ "actor": kind.name(), "key": key }))),
                        Some(input) => self.create(&kind, key, input).await,
                    },
                }
            }
        }
    }

    fn spawn(
        &self,
        kind: &ActorKind,
        id: &ActorId,
        key: ActorKey,
        start: Start,
        slot: &Arc<Slot>,
    ) -> (
        actor::__runtime::Mailbox,
        oneshot::Receiver<Result<(), ActorError>>,
    ) {
        let (ready, started) = oneshot::channel();
        let _on_registry_runtime = self.runtime.enter();
        let mailbox = kind.spawn(Spawn {
            id: id.clone(),
            key,
            start,
            driver: self.driver.clone(),
            host: self.this(),
            slot: slot.clone(),
            ready,
            #[cfg(feature = "sqlite")]
            databases: self.databases.clone(),
        });
        (mailbox, started)
    }

    async fn started(started: oneshot::Receiver<Result<(), ActorError>>) -> Result<(), ActorError> {
        started.await.unwrap_or_else(|_| {
            Err(ActorError::internal(
                "start",
                "the actor task ended while starting",
            ))
        })
    }

    async fn create(
        &self,
        kind: &ActorKind,
        key: &ActorKey,
        input: Payload,
    ) -> Result<Resolved, ActorError> {
        let id = ActorId::random();
        let slot = Arc::new(Slot::default());
        self.slots
            .lock()
            .expect("slots lock")
            .insert(id.clone(), slot.clone());
        let mut state = slot.state.lock().await;
        let (mailbox, started) = self.spawn(kind, &id, key.clone(), Start::Create(input), &slot);
        match Self::started(started).await {
            Ok(()) => {
                state.mailbox = Some(mailbox.clone());
                Ok(Resolved {
                    id,
                    kind: kind.name(),
                    mailbox,
                })
            }
            Err(err) => {
                state.retired = true;
                self.retire(&id, &slot);
                Err(err)
            }
        }
    }

    /// Wakes actor `id` of kind `kind` because its alarm is due (see `alarms.rs`).
    pub(crate) async fn wake_by_alarm(&self, kind: &str, id: &ActorId) -> Result<(), ActorError> {
        let kind = *self.kind(kind)?;
        self.wake(&kind, id, Some(self.clock_ms())).await.map(drop)
    }

    /// Whether actor `id` has an instance (starting, awake or stopping).
    pub(crate) fn is_awake(&self, id: &ActorId) -> bool {
        self.slots.lock().expect("slots lock").contains_key(id)
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    pub(crate) fn clock_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    pub(crate) fn clock_instant(&self, ms: u64) -> tokio::time::Instant {
        self.clock.instant_at(ms)
    }

    /// Wakes the alarm loop: an actor stopped, so an alarm of its may now be its to act on.
    pub(crate) fn alarms_changed(&self) -> &Arc<tokio::sync::Notify> {
        &self.alarms_changed
    }

    /// Wakes actor `id` (or finds it awake). With `due_by` (an alarm's wake), an actor
    /// whose stored alarm is not due by then is left asleep (`None`): it settled its alarm
    /// as it went to sleep after the alarm loop read it.
    async fn wake(
        &self,
        kind: &ActorKind,
        id: &ActorId,
        due_by: Option<u64>,
    ) -> Result<Option<Resolved>, ActorError> {
        loop {
            let slot = self
                .slots
                .lock()
                .expect("slots lock")
                .entry(id.clone())
                .or_default()
                .clone();
            let mut state = slot.state.lock().await;
            if state.retired {
                continue;
            }
            if let Some(mailbox) = &state.mailbox {
                if !mailbox.is_closed() {
                    return Ok(Some(Resolved {
                        id: id.clone(),
                        kind: kind.name(),
                        mailbox: mailbox.clone(),
                    }));
                }
                // It is stopping: wait until it has saved, then start a fresh one.
                let mailbox = mailbox.clone();
                drop(state);
                mailbox.stopped().await;
                continue;
            }
            let loaded = self.driver.load(id).await.map_err(ActorError::from_storage);
            let Loaded {
                record,
                state: stored,
                alarm,
            } = match loaded {
                Ok(Some(loaded)) if loaded.record.kind == kind.name() => loaded,
                other => {
                    state.retired = true;
                    self.retire(id, &slot);
                    return Err(other.err().unwrap_or_else(|| {
                        ActorError::not_found(kind.name(), format_args!("with id {id}"))
                            .with_metadata(serde_json::json!({ "actor": kind.name(), "id": id }))
                    }));
                }
            };
            if let Some(now) = due_by
                && alarm.is_none_or(|at| at > now)
            {
                state.retired = true;
                self.retire(id, &slot);
                return Ok(None);
            }
            let start = Start::Wake {
                state: stored,
                alarm,
            };
            let (mailbox, started) = self.spawn(kind, id, record.key, start, &slot);
            return match Self::started(started).await {
                Ok(()) => {
                    state.mailbox = Some(mailbox.clone());
                    Ok(Some(Resolved {
                        id: id.clone(),
                        kind: kind.name(),
                        mailbox,
                    }))
                }
                Err(err) => {
                    state.retired = true;
                    self.retire(id, &slot);
                    Err(err)
                }
            };
        }
    }

    pub(crate) async fn shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
        let slots: Vec<Arc<Slot>> = self
            .slots
            .lock()
            .expect("slots lock")
            .values()
            .cloned()
            .collect();
        let mut mailboxes = Vec::new();
        for slot in slots {
            if let Some(mailbox) = slot.state.lock().await.mailbox.clone() {
                mailbox.request_sleep();
                mailboxes.push(mailbox);
            }
        }
        for mailbox in mailboxes {
            mailbox.stopped().await;
        }
    }
}

impl Host for Directory {
    fn retire(&self, id: &ActorId, slot: &Arc<Slot>) {
        let mut slots = self.slots.lock().expect("slots lock");
        if slots.get(id).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            slots.remove(id);
            // A sleeping actor leaves nothing here, also after a burst of them woke.
            actor::__runtime::give_back_room(&mut slots);
        }
        drop(slots);
        self.alarms_changed.notify_one();
    }

    fn timers(&self) -> &Timers {
        &self.timers
    }

    fn clock(&self) -> &Clock {
        &self.clock
    }
}

impl Transport for Directory {
    fn resolve<'a>(
        &'a self,
        kind: &'a str,
        address: &'a Address,
    ) -> BoxFuture<'a, Result<Resolved, ActorError>> {
        self.resolve_inner(kind, address).boxed()
    }
}

/// A wake that was not conditional on an alarm always has an instance.
fn awake(resolved: Option<Resolved>) -> Resolved {
    resolved.expect("a wake without `due_by` starts the actor or fails")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use actor::__runtime::Transport;
    use actor::client::Address;
    use actor::driver::memory::MemoryDriver;
    use actor::{ActorKey, codes};

    #[tokio::test]
    async fn an_empty_registry_says_it_holds_no_kinds() {
        let directory = super::Directory::new(
            Default::default(),
            Arc::new(MemoryDriver::new()),
            #[cfg(feature = "sqlite")]
            None,
        );
        let address = Address::Id("x".into());
        let err = directory.resolve("counter", &address).await.unwrap_err();
        assert!(err.is(codes::KIND_NOT_REGISTERED), "{err}");
        assert!(err.message().contains("holds no kinds at all"), "{err}");
        let _ = ActorKey::from("unused");
    }
}
