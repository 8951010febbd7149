//! What a turn carries while it runs: its call chain and, for an exclusive turn, its
//! write set. The turn's future ([`Scoped`]) holds its [`Scope`] and lends it to a
//! thread-local slot only while it is being polled. So the scope moves with the future
//! when a turn is handed from a caller's task to the actor's, a turn run in place inside
//! another turn's poll sees its own scope and gives the outer one back, and a task the
//! turn spawns sees none. (A tokio task-local does the same, but wrapping each turn in
//! one cost exclusive calls about 100 ns: the wrapped future could not be boxed in place,
//! and the whole scope moved in and out of the slot on every poll. Here the slot holds
//! one pointer.)
//!
//! **The write set** holds the records a turn stages besides the state; they commit in
//! the same batch as the state it produced, or not at all. Exclusive actions, `on_create`,
//! `on_wake` and `on_sleep` have one; shared actions and tasks a turn spawns do not, so
//! they cannot stage. What a timed-out or panicking turn staged is thrown away with its
//! state. Exclusive turns of an instance run one at a time, so the instance keeps one
//! [`TurnRecord`] (in its context's allocation) that each exclusive turn opens when it
//! begins and closes when it finishes; only the turn's own future reaches it.
//!
//! **The call chain** lists the exclusive turns a call is made from, across actors: an
//! exclusive action of X that calls Y, whose action calls X again. That inner call would
//! wait for the very turn that waits for it, so a call to an exclusive action of an actor
//! already on the chain fails at once with `actor/deadlock`. Calls queued in an inbox carry
//! the chain of their caller (`Command::chain`); shared actions pass theirs on.

use std::cell::Cell;
use std::fmt;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::connection::Connection;
use crate::ctx::Ctx;
use crate::definition::Actor;
use crate::driver::{SaveOp, keys};
use crate::error::{ActorError, codes};
use crate::key::ActorId;
use crate::queue::Delivery;

use super::events::Staged;

/// What code running inside a turn reaches through the thread's slot.
pub(crate) trait Scope: Send + Sync + 'static {
    /// The chain a call made from here carries: the chain the turn was called from, and
    /// the turn itself if it is exclusive.
    fn chain(&self) -> CallChain;

    /// Runs `write` on the turn's write set, with the id of the actor whose turn it is;
    /// `false` (and `write` is not run) if the turn has none.
    fn write_set(&self, write: &mut dyn FnMut(&ActorId, &mut Vec<SaveOp>)) -> bool;

    /// The connection the running call came from, if any.
    fn conn(&self) -> Option<Connection>;

    /// Holds `events` of actor `actor` until the turn's writes are durable; gives them
    /// back if this is not an exclusive turn of that actor.
    fn stage_events(&self, actor: &ActorId, events: Staged) -> Result<(), Staged>;
}

/// The exclusive turn an instance is running: where it was called from and what it
/// staged. One per instance (see the module docs); only the running turn reaches it,
/// through the thread's slot while its future is polled. Most turns are called from
/// outside any turn and stage nothing: then `begin` and `end` touch only a flag. A queue
/// handler's message is kept in two words beside it, without the entries' lock.
#[derive(Default)]
pub(crate) struct TurnRecord {
    /// Set while `entries` holds something: a chain or staged records.
    used: AtomicBool,
    /// The running handler's message: its attempt (never 0 for a message, so 0 means no
    /// handler runs), its queue's index and whether a sender waits for it, packed by
    /// [`pack`].
    delivery: AtomicU64,
    /// The id of that message.
    message: AtomicU64,
    /// Allocated only for a turn that has a chain or stages: every awake instance
    /// carries the record, few of them use it.
    entries: Mutex<Option<Box<Entries>>>,
}

/// A message's attempt (bits 0-31), queue index (32-62) and whether it is awaited (63)
/// in one word.
fn pack(queue: usize, delivery: &Delivery) -> u64 {
    let queue = u64::try_from(queue).unwrap_or(0) & (u64::MAX >> 33);
    u64::from(delivery.attempt) | queue << 32 | u64::from(delivery.awaited) << 63
}

#[derive(Default)]
struct Entries {
    chain: CallChain,
    staged: Vec<SaveOp>,
    /// The connection the call came from.
    conn: Option<Connection>,
    /// Events sent in the turn, released when its writes are durable.
    events: Vec<Staged>,
}

impl TurnRecord {
    /// Begins an exclusive turn called from `chain` (a handler's of queue `index`, on
    /// `delivery`), dropping whatever a turn that never finished (timed out, panicked,
    /// dropped) left behind.
    pub(crate) fn begin(
        &self,
        chain: CallChain,
        delivery: Option<(usize, Delivery)>,
        conn: Option<Connection>,
    ) {
        match delivery {
            Some((queue, delivery)) => {
                self.message.store(delivery.id.get(), Ordering::Relaxed);
                self.delivery
                    .store(pack(queue, &delivery), Ordering::Relaxed);
            }
            None => self.clear_delivery(),
        }
        let used = !chain.is_empty() || conn.is_some();
        if !used && !self.used.load(Ordering::Relaxed) {
            return;
        }
        self.used.store(used, Ordering::Relaxed);
        let mut entries = self.lock();
        match (used, entries.as_deref_mut()) {
            // The entries a turn before left (see `end`) serve this one.
            (true, Some(kept)) => {
                kept.chain = chain;
                kept.staged.clear();
                kept.conn = conn;
                kept.events.clear();
            }
            (true, None) => {
                *entries = Some(Box::new(Entries {
                    chain,
                    staged: Vec::new(),
                    conn,
                    events: Vec::new(),
                }));
            }
            (false, _) => *entries = None,
        }
    }

    fn clear_delivery(&self) {
        // A load first: nearly every turn has no message, and the word is 0 already.
        if self.delivery.load(Ordering::Relaxed) != 0 {
            self.delivery.store(0, Ordering::Relaxed);
        }
    }

    /// The message of the running queue handler's turn: its id, its queue's index, its
    /// attempt and whether a sender waits for its result.
    pub(crate) fn delivery(&self) -> Option<(u64, usize, u32, bool)> {
        let packed = self.delivery.load(Ordering::Relaxed);
        let attempt = u32::try_from(packed & u64::from(u32::MAX)).unwrap_or(0);
        (attempt != 0).then(|| {
            let queue = usize::try_from((packed >> 32) & (u64::MAX >> 33)).unwrap_or(0);
            let id = self.message.load(Ordering::Relaxed);
            (id, queue, attempt, packed >> 63 == 1)
        })
    }

    /// The connection the running turn's call came from.
    pub(crate) fn conn(&self) -> Option<Connection> {
        if !self.used.load(Ordering::Relaxed) {
            return None;
        }
        self.lock().as_ref().and_then(|e| e.conn.clone())
    }

    /// Holds `events` for the end of the running turn.
    pub(crate) fn stage_events(&self, events: Staged) {
        self.used.store(true, Ordering::Relaxed);
        self.lock().get_or_insert_default().events.push(events);
    }

    /// The chain of calls made from the running turn of `kind` `id`.
    pub(crate) fn chain(&self, kind: &'static str, id: &ActorId) -> CallChain {
        let entries = self.lock();
        let from = entries.as_ref().map(|e| &e.chain);
        from.unwrap_or(&CallChain(None)).entered(kind, id)
    }

    /// Runs `f` on the running turn's staged records.
    pub(crate) fn with_staged<R>(&self, f: impl FnOnce(&mut Vec<SaveOp>) -> R) -> R {
        self.used.store(true, Ordering::Relaxed);
        f(&mut self.lock().get_or_insert_default().staged)
    }

    /// Ends the running turn and returns what it staged and the events it sent.
    pub(crate) fn end(&self) -> (Vec<SaveOp>, Vec<Staged>) {
        self.clear_delivery();
        // A load first: a swap is a locked instruction, and nearly every turn left the
        // record unused.
        if !self.used.load(Ordering::Relaxed) {
            return (Vec::new(), Vec::new());
        }
        self.used.store(false, Ordering::Relaxed);
        // The entries stay, emptied, for the instance's next turn that needs them: the
        // calls of a connection each carry it, and would allocate them every time.
        let mut entries = self.lock();
        let Some(kept) = entries.as_deref_mut() else {
            return (Vec::new(), Vec::new());
        };
        kept.chain = CallChain::default();
        kept.conn = None;
        (
            std::mem::take(&mut kept.staged),
            std::mem::take(&mut kept.events),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Box<Entries>>> {
        // Never held across user code: a poisoned lock only means a panic in `push`.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The scope of a shared action called from inside a turn or from a connection: it
/// passes the chain on, gives the connection, and cannot stage.
struct PassedOn(CallChain, Option<Connection>);

impl Scope for PassedOn {
    fn chain(&self) -> CallChain {
        self.0.clone()
    }

    fn write_set(&self, _: &mut dyn FnMut(&ActorId, &mut Vec<SaveOp>)) -> bool {
        false
    }

    fn conn(&self) -> Option<Connection> {
        self.1.clone()
    }

    fn stage_events(&self, _: &ActorId, events: Staged) -> Result<(), Staged> {
        Err(events)
    }
}

thread_local! {
    /// The scope of the turn being polled on this thread, lent by its [`Scoped`]. In a
    /// `ManuallyDrop` so the slot has no destructor to register and check on every
    /// access; it is empty whenever no poll is running, so nothing is leaked.
    static SLOT: ManuallyDrop<Cell<Option<Arc<dyn Scope>>>> =
        const { ManuallyDrop::new(Cell::new(None)) };
}

/// Reads the scope of the turn being polled on this thread, if any.
#[inline]
fn with_scope<R>(read: impl FnOnce(&dyn Scope) -> R) -> Option<R> {
    SLOT.with(|slot| {
        // Outside any turn the slot is empty and nothing needs putting back.
        let scope = slot.take()?;
        let read = read(&*scope);
        slot.set(Some(scope));
        Some(read)
    })
}

/// A turn's future with its scope: the scope is in the thread's slot exactly while the
/// future is polled. A turn without a scope (a shared action called from outside any
/// turn) leaves the slot alone.
pub(super) struct Scoped<F> {
    scope: Option<Arc<dyn Scope>>,
    turn: F,
}

impl<F: Future + Unpin> Scoped<F> {
    /// `turn` run in an exclusive turn's scope: its instance's record, begun for it
    /// (`Ctx::begin_turn`; the turn ends it with `Ctx::end_turn`).
    pub(super) fn exclusive(record: Arc<dyn Scope>, turn: F) -> Self {
        Self {
            scope: Some(record),
            turn,
        }
    }

    /// `turn` run as a shared action in `scope` (see [`passed_on`]).
    pub(super) fn shared(scope: Option<Arc<dyn Scope>>, turn: F) -> Self {
        Self { scope, turn }
    }

    /// The scope back from a finished turn, for the instance's next exclusive turn
    /// (handing it on saves a reference count's two atomic updates a turn).
    pub(super) fn into_scope(self) -> Option<Arc<dyn Scope>> {
        self.scope
    }

    /// Pinned for a poll (the turn is boxed, so this is always possible).
    pub(super) fn as_mut(&mut self) -> Pin<&mut Self> {
        Pin::new(self)
    }
}

/// The scope of a shared action called from `chain` (and from `conn`): none when called
/// from outside any turn and connection, as nearly every call is.
pub(super) fn passed_on(chain: CallChain, conn: Option<Connection>) -> Option<Arc<dyn Scope>> {
    (!chain.is_empty() || conn.is_some()).then(|| Arc::new(PassedOn(chain, conn)) as Arc<dyn Scope>)
}

/// Gives a lent scope back to its turn, also when the poll unwinds.
struct Lent<'a> {
    scope: &'a mut Option<Arc<dyn Scope>>,
    outer: Option<Arc<dyn Scope>>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let outer = self.outer.take();
        *self.scope = SLOT.with(|slot| slot.replace(outer));
    }
}

/// Runs `run` with `scope` in the thread's slot, and gives it back after (also if `run`
/// panics). Without a scope the slot is left alone.
#[inline]
pub(super) fn lent<R>(scope: &mut Option<Arc<dyn Scope>>, run: impl FnOnce() -> R) -> R {
    if scope.is_none() {
        return run();
    }
    let outer = SLOT.with(|slot| slot.replace(scope.take()));
    let _lent = Lent { scope, outer };
    run()
}

impl<F: Future + Unpin> Future for Scoped<F> {
    type Output = F::Output;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let turn = &mut this.turn;
        lent(&mut this.scope, || Pin::new(turn).poll(cx))
    }
}

/// The exclusive turns a call is made from, outermost first.
#[derive(Clone, Default)]
pub(crate) struct CallChain(Option<Arc<[(&'static str, ActorId)]>>);

impl CallChain {
    /// The chain a call made on this task carries: empty outside any turn (one
    /// thread-local read).
    #[inline]
    pub(crate) fn current() -> Self {
        with_scope(Scope::chain).unwrap_or_default()
    }

    /// Whether the chain is empty: the call is not made from inside any turn.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The chain with an exclusive turn of `kind` `id` at its end.
    fn entered(&self, kind: &'static str, id: &ActorId) -> Self {
        let mut turns = self.0.as_deref().unwrap_or_default().to_vec();
        turns.push((kind, id.clone()));
        Self(Some(turns.into()))
    }

    fn holds(&self, id: &ActorId) -> bool {
        self.0
            .as_deref()
            .is_some_and(|turns| turns.iter().any(|(_, t)| t == id))
    }
}

impl fmt::Display for CallChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (kind, id)) in self.0.as_deref().unwrap_or_default().iter().enumerate() {
            if i > 0 {
                f.write_str(" → ")?;
            }
            write!(f, "{kind} {id}")?;
        }
        Ok(())
    }
}

/// Runs an exclusive hook of the instance of `ctx`, outside any call chain; returns its
/// output and what it staged.
/// The events it sent go out at once: a lifecycle hook's records are saved before the
/// instance goes on.
pub(super) async fn hook<A: Actor, F: Future>(ctx: &Ctx<A>, hook: F) -> (F::Output, Vec<SaveOp>) {
    let scope = ctx.begin_turn(CallChain::default(), None, None, None);
    let (out, (staged, events)) =
        Scoped::exclusive(scope, Box::pin(async move { (hook.await, ctx.end_turn()) })).await;
    for events in events {
        events.release();
    }
    (out, staged)
}

/// The error for a call to an exclusive action of `kind` `id` made from `chain`, if the
/// chain already holds an exclusive turn of it.
pub(crate) fn reentry(
    kind: &str,
    id: &ActorId,
    action: &str,
    chain: &CallChain,
) -> Option<ActorError> {
    if !chain.holds(id) {
        return None;
    }
    Some(
        ActorError::of(
            codes::DEADLOCK,
            format!(
                "exclusive action `{action}` of actor `{kind}` {id} was called from inside an \
                 exclusive turn of that same actor (call chain: {chain}), so it would wait for \
                 the turn that waits for it; make the action shared (`&self`) if it only reads, \
                 or do the work in the calling turn"
            ),
        )
        .with_metadata(serde_json::json!({
            "actor": kind,
            "id": id,
            "action": action,
            "chain": chain.0.as_deref().unwrap_or_default().iter()
                .map(|(kind, id)| serde_json::json!({ "actor": kind, "id": id }))
                .collect::<Vec<_>>(),
        })),
    )
}

/// The connection the call being polled on this thread came from, if any.
pub(crate) fn current_conn() -> Option<Connection> {
    with_scope(Scope::conn).flatten()
}

/// Holds `events` of actor `actor` in the exclusive turn of that actor being polled on
/// this thread; gives them back when there is none.
pub(crate) fn stage_events(actor: &ActorId, events: Staged) -> Result<(), Staged> {
    let mut events = Some(events);
    let staged = with_scope(|scope| {
        let held = events.take().expect("taken once");
        scope
            .stage_events(actor, held)
            .map_err(|back| events = Some(back))
    });
    match (staged, events) {
        (Some(Ok(())), _) => Ok(()),
        (_, Some(events)) => Err(events),
        (_, None) => unreachable!("given back when not staged"),
    }
}

/// Runs `write` on the write set of the exclusive turn being polled on this thread, with
/// the id of its actor: `None` outside any exclusive turn (a shared action, a task the
/// turn spawned, no turn at all).
pub(crate) fn in_write_set<R>(write: impl FnOnce(&ActorId, &mut Vec<SaveOp>) -> R) -> Option<R> {
    let mut write = Some(write);
    let mut out = None;
    let ran = with_scope(|scope| {
        scope.write_set(&mut |id, staged| {
            if let Some(write) = write.take() {
                out = Some(write(id, staged));
            }
        })
    });
    if ran == Some(true) { out } else { None }
}

/// Stages a write of one record (or a delete, or an alarm) in the running exclusive
/// turn's batch. The runtime's own capabilities use it (queue acknowledgements,
/// schedules, workflow history); it is reached through `actor::__private::stage`.
pub fn stage(op: SaveOp) -> Result<(), ActorError> {
    match &op {
        SaveOp::Put { key, .. } if &**key == keys::STATE => {
            return Err(ActorError::internal(
                "stage",
                "the state record is written by the runtime, not staged",
            ));
        }
        SaveOp::CreateActor { .. } | SaveOp::DestroyActor => {
            return Err(ActorError::internal(
                "stage",
                "a turn stages records; creating or destroying the actor is not one",
            ));
        }
        SaveOp::Put { .. }
        | SaveOp::Delete { .. }
        | SaveOp::DeletePrefix { .. }
        | SaveOp::SetAlarm { .. } => {}
    }
    if in_write_set(|_, staged| staged.push(op)).is_some() {
        return Ok(());
    }
    Err(ActorError::internal(
        "stage",
        "records can only be staged inside an exclusive turn (an action taking `&mut self`, \
         `on_create`, `on_wake` or `on_sleep`), on the turn's own task",
    ))
}
