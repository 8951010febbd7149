//! The context every action and hook receives.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::client::{Client, Transport};
use crate::connection::{Conn, Connection, Events};
use crate::definition::Actor;
use crate::definition::ActorOptions;
use crate::driver::SaveOp;
use crate::error::ActorError;
use crate::instance::cell::InstanceCell;
use crate::instance::events::Staged;
use crate::instance::schedules::Book;
use crate::instance::scope::{self, CallChain, Scope, TurnRecord};
use crate::instance::workflows::Index;
use crate::key::{ActorId, ActorKey};
use crate::payload::Payload;
use crate::queue::{Delivery, MessageId};
use crate::route::Target;
use crate::schedule::{
    self, Meta, Missed, ScheduleId, ScheduleInfo, ScheduleOwner, ScheduledCall, Schedules,
    StoredSchedule, When, schedule_key,
};
use crate::workflow::{StartOwner, Starting, WorkflowId};

/// What an action can reach besides its state: its identity, its runtime-only vars,
/// keep-awake guards, and the means to sleep or destroy itself.
///
/// Cloning is cheap; a clone may be moved into spawned tasks.
///
/// ```
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Session { visits: u32 }
///
/// #[actor]
/// impl Session {
///     #[action]
///     async fn whoami(&self, ctx: &Ctx<Self>) -> String {
///         format!("{} {}", ctx.name(), ctx.key())
///     }
/// }
/// ```
pub struct Ctx<A: ActorOptions> {
    inner: Arc<CtxInner<A>>,
}

struct CtxInner<A: ActorOptions> {
    id: ActorId,
    key: ActorKey,
    vars: A::Vars,
    cell: Arc<InstanceCell>,
    /// A client of the registry that runs it, for `ctx.client()`: its transport is the
    /// instance's host (directory, timers and clock), so the context keeps it once.
    client: Client,
    /// The exclusive turn running, if any (see `instance::scope`).
    turn: TurnRecord,
    /// The stored schedules and workflows, once the instance has any (see
    /// `instance::schedules`, `instance::workflows`).
    durable: Mutex<Option<Box<Durable>>>,
    /// The open connections that receive events, each holding the actor awake (boxed,
    /// and only while there are any: every awake instance carries the field).
    conns: Mutex<Option<Box<Conns>>>,
    /// The actor's SQL database, for a kind that declares one (boxed: every awake
    /// instance carries the field, few kinds have a database).
    #[cfg(feature = "sqlite")]
    db: Option<Box<crate::database::instance::InstanceDb>>,
}

/// An instance's open connections that receive events, each with the guard that holds the
/// actor awake for it.
type Conns = Vec<(Connection, KeepAwake)>;

impl<A: ActorOptions> Scope for CtxInner<A> {
    fn chain(&self) -> CallChain {
        self.turn.chain(A::NAME, &self.id)
    }

    fn write_set(&self, write: &mut dyn FnMut(&ActorId, &mut Vec<SaveOp>)) -> bool {
        self.turn.with_staged(|staged| write(&self.id, staged));
        true
    }

    fn conn(&self) -> Option<Connection> {
        self.turn.conn()
    }

    fn stage_events(&self, actor: &ActorId, events: Staged) -> Result<(), Staged> {
        if actor != &self.id {
            return Err(events);
        }
        self.turn.stage_events(events);
        Ok(())
    }
}

/// What the instance knows of its stored schedules and workflows: boxed only while it
/// holds any, so an instance without them (most of them) keeps no allocation for it.
#[derive(Default)]
struct Durable {
    book: Book,
    workflows: Index,
}

impl Durable {
    fn is_empty(&self) -> bool {
        self.book.is_empty() && self.workflows.is_empty()
    }
}

impl<A: ActorOptions> CtxInner<A> {
    fn host(&self) -> &dyn Transport {
        &**self
            .client
            .transport()
            .expect("an instance's client is built on its registry's transport")
    }

    fn with_durable<R>(&self, f: impl FnOnce(&mut Durable) -> R) -> R {
        // Never held across user code: a poisoned lock only means a panic in the book.
        let mut durable = self
            .durable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // An empty one is made on the stack (empty maps allocate nothing), boxed only if
        // `f` leaves something in it, and unboxed once `f` leaves it empty.
        match durable.as_deref_mut() {
            Some(working) => {
                let result = f(working);
                if working.is_empty() {
                    *durable = None;
                }
                result
            }
            None => {
                let mut working = Durable::default();
                let result = f(&mut working);
                if !working.is_empty() {
                    *durable = Some(Box::new(working));
                }
                result
            }
        }
    }

    fn with_book<R>(&self, f: impl FnOnce(&mut Book) -> R) -> R {
        self.with_durable(|d| f(&mut d.book))
    }

    fn with_workflows<R>(&self, f: impl FnOnce(&mut Index) -> R) -> R {
        self.with_durable(|d| f(&mut d.workflows))
    }

    /// Runs `change` on the running exclusive turn's write set, if this actor's turn is
    /// the one on this task; `schedule/outside_turn` (naming `what`) otherwise.
    fn in_turn<R>(
        &self,
        what: &str,
        change: impl FnOnce(&mut Vec<SaveOp>) -> Result<R, ActorError>,
    ) -> Result<R, ActorError> {
        let outside = || ActorError::schedule_outside_turn(A::NAME, what);
        scope::in_write_set(|id, staged| {
            if id != &self.id {
                return Err(outside());
            }
            change(staged)
        })
        .unwrap_or_else(|| Err(outside()))
    }
}

impl<A: Actor> StartOwner for CtxInner<A> {
    fn start(
        &self,
        id: Option<WorkflowId>,
        name: &'static str,
        input: Payload,
    ) -> Result<WorkflowId, ActorError> {
        let outside = || {
            ActorError::workflow_invalid(format_args!(
                "workflow `{name}` of actor `{}` was not started: a workflow is started in an \
                 exclusive turn of its actor (an action taking `&mut self`, a queue handler, a \
                 hook), where the start commits with the turn; from outside, start it through \
                 the actor's handle",
                A::NAME
            ))
        };
        let now_ms = self.host().clock().now_ms();
        scope::in_write_set(|actor, staged| {
            if actor != &self.id {
                return Err(outside());
            }
            let started = crate::instance::workflows::start_id::<A>(name, id, |id| {
                let key = crate::workflow::record::workflow_key(id.as_str());
                let staged_here = staged
                    .iter()
                    .any(|op| matches!(op, SaveOp::Put { key: k, .. } if **k == *key));
                if staged_here {
                    return Some(name.to_string());
                }
                self.with_workflows(|index| index.get(id).map(|run| run.stored.meta.name.clone()))
            })?;
            if let Some(existing) = started.existing {
                return Ok(existing);
            }
            let stored = crate::instance::workflows::new_record(name, input, now_ms)?;
            staged.push(crate::instance::workflows::put(&started.id, &stored));
            Ok(started.id)
        })
        .unwrap_or_else(|| Err(outside()))
    }
}

impl<A: Actor> ScheduleOwner for CtxInner<A> {
    fn create(
        &self,
        when: When,
        missed: Missed,
        target: Target,
        args: Payload,
    ) -> Result<ScheduleId, ActorError> {
        let config = A::config();
        let now_ms = self.host().clock().now_ms();
        let call = match &target {
            Target::Action(name) if A::ACTIONS.iter().any(|a| a.name == *name) => {
                ScheduledCall::Action(name.to_string())
            }
            Target::Send(name) if A::QUEUES.iter().any(|q| q.name == *name) => {
                ScheduledCall::Queue(name.to_string())
            }
            other => {
                return Err(ActorError::schedule_invalid(format_args!(
                    "actor kind `{}` has no {other} to schedule",
                    A::NAME
                )));
            }
        };
        let (next_ms, repeat) = schedule::first(&when, now_ms, config.min_schedule_interval)?;
        let (encoding, args) = schedule::encode_args(args, &target)?;
        if let ScheduledCall::Queue(name) = &call
            && let Some(queue) = A::QUEUES.iter().find(|q| q.name == *name)
            && args.len() > queue.max_message_size
        {
            return Err(ActorError::message_too_large(
                A::NAME,
                name,
                args.len(),
                queue.max_message_size,
            ));
        }
        let stored = StoredSchedule {
            meta: Meta {
                call,
                encoding,
                next_ms,
                repeat,
                missed,
                created_ms: now_ms,
                fired: 0,
            },
            args,
        };
        self.in_turn("a new schedule", |staged| {
            let held = self.with_book(|book| book.ids(staged));
            if held.len() >= config.max_schedules {
                return Err(ActorError::schedule_limit(
                    A::NAME,
                    &self.id,
                    config.max_schedules,
                ));
            }
            // Random, so an id is never given out twice, also across restarts, without a
            // counter to store.
            let id = loop {
                let id = uuid::Uuid::new_v4().as_u64_pair().0 >> 11;
                if id != 0 && !held.contains_key(&id) {
                    break id;
                }
            };
            staged.push(SaveOp::Put {
                key: schedule_key(id).into(),
                value: stored.encode().into(),
            });
            Ok(ScheduleId::from(id))
        })
    }

    fn cancel(&self, id: ScheduleId) -> Result<bool, ActorError> {
        self.in_turn("cancel", |staged| {
            let held = self.with_book(|book| book.ids(staged).contains_key(&id.get()));
            if held {
                staged.push(SaveOp::Delete {
                    key: schedule_key(id.get()),
                });
            }
            Ok(held)
        })
    }

    fn list(&self) -> Vec<ScheduleInfo> {
        let mut staged = Vec::new();
        let _ = scope::in_write_set(|id, turn| {
            if id == &self.id {
                staged.clone_from(turn);
            }
        });
        let view = self.with_book(|book| book.view(&staged));
        let mut list: Vec<ScheduleInfo> = view.iter().map(|(id, s)| s.info(*id)).collect();
        list.sort_by_key(|s| (s.next, s.id));
        list
    }
}

impl<A: ActorOptions> Clone for Ctx<A> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<A: ActorOptions> fmt::Debug for Ctx<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("actor", &A::NAME)
            .field("id", &self.inner.id)
            .field("key", &self.inner.key)
            .finish()
    }
}

impl<A: ActorOptions> Ctx<A> {
    pub(crate) fn new(
        id: ActorId,
        key: ActorKey,
        cell: Arc<InstanceCell>,
        host: Arc<dyn Transport>,
        #[cfg(feature = "sqlite")] databases: Option<Arc<crate::database::Databases>>,
    ) -> Self {
        #[cfg(feature = "sqlite")]
        let db = A::DATABASE.zip(databases).map(|(spec, databases)| {
            Box::new(crate::database::instance::InstanceDb::new(
                databases,
                spec,
                A::NAME,
                id.clone(),
            ))
        });
        Self {
            inner: Arc::new(CtxInner {
                id,
                key,
                vars: A::Vars::default(),
                cell,
                client: Client::new(host),
                turn: TurnRecord::default(),
                durable: Mutex::new(None),
                conns: Mutex::new(None),
                #[cfg(feature = "sqlite")]
                db,
            }),
        }
    }

    /// The instance's database, for a kind that declares one (and a host that keeps
    /// databases).
    #[cfg(feature = "sqlite")]
    pub(crate) fn database(&self) -> Option<&crate::database::instance::InstanceDb> {
        self.inner.db.as_deref()
    }

    /// Begins an exclusive turn called from `chain` (a queue handler's, on `delivery`) in
    /// the instance's turn record, and
    /// returns the record as the scope the turn's future lends while it is polled:
    /// `reuse` if the instance kept the one its last turn gave back, else a new reference.
    pub(crate) fn begin_turn(
        &self,
        chain: CallChain,
        delivery: Option<(usize, Delivery)>,
        conn: Option<Connection>,
        reuse: Option<Arc<dyn Scope>>,
    ) -> Arc<dyn Scope> {
        self.inner.turn.begin(chain, delivery, conn);
        #[cfg(feature = "sqlite")]
        if let Some(db) = &self.inner.db {
            db.abandon();
        }
        reuse.unwrap_or_else(|| self.inner.clone())
    }

    /// Ends the running exclusive turn and returns what it staged and the events it
    /// sent.
    pub(crate) fn end_turn(&self) -> (Vec<SaveOp>, Vec<Staged>) {
        self.inner.turn.end()
    }

    fn conns(&self) -> std::sync::MutexGuard<'_, Option<Box<Conns>>> {
        // Never held across user code.
        self.inner
            .conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers an opened connection that receives events: it holds the actor awake
    /// until [`unregister`](Self::unregister).
    pub(crate) fn register(&self, conn: Connection) {
        let guard = self.keep_awake();
        self.conns().get_or_insert_default().push((conn, guard));
    }

    /// Takes `conn` out of the open connections; `false` if it was not among them.
    pub(crate) fn unregister(&self, conn: &Connection) -> bool {
        let mut conns = self.conns();
        let Some(open) = conns.as_deref_mut() else {
            return false;
        };
        let before = open.len();
        open.retain(|(c, _)| c != conn);
        let taken = open.len() != before;
        if open.is_empty() {
            *conns = None;
        }
        taken
    }

    /// Takes every open connection out (the instance is stopping).
    pub(crate) fn take_conns(&self) -> Vec<Connection> {
        let open = self.conns().take().map(|open| *open).unwrap_or_default();
        open.into_iter().map(|(conn, _)| conn).collect()
    }

    pub(crate) fn cell(&self) -> &Arc<InstanceCell> {
        &self.inner.cell
    }

    /// Runs `f` on the instance's schedules (made empty on first use).
    pub(crate) fn with_book<R>(&self, f: impl FnOnce(&mut Book) -> R) -> R {
        self.inner.with_book(f)
    }

    /// Runs `f` on what the instance knows of its workflows (made empty on first use).
    pub(crate) fn with_workflows<R>(&self, f: impl FnOnce(&mut Index) -> R) -> R {
        self.inner.with_workflows(f)
    }

    /// Starts a workflow in the running exclusive turn, under a generated id: one method
    /// per `#[workflow]` of the kind, taking its input, returning its id. The start
    /// commits with the turn (a turn whose changes are thrown away starts nothing), and
    /// the workflow runs once it has. `workflow/invalid` outside an exclusive turn.
    ///
    /// ```
    /// # use actor::prelude::*;
    /// # #[actor] #[derive(Clone, Default, Serialize, Deserialize)] pub struct Intake { tasks: u32 }
    /// # #[actor] impl Intake {
    /// #[queue]
    /// async fn task_received(&mut self, ctx: &Ctx<Self>, task: String) -> Result<WorkflowId, ActorError> {
    ///     self.tasks += 1;
    ///     ctx.workflow().process(task)
    /// }
    ///
    /// #[workflow]
    /// async fn process(wf: Workflow<Self>, task: String) -> Result<usize, ActorError> {
    ///     wf.step("measure", move |_| { let n = task.len(); async move { Ok::<_, ActorError>(n) } }).await
    /// }
    /// # }
    /// ```
    pub fn workflow(&self) -> A::Workflows
    where
        A: Actor,
    {
        A::Workflows::from(Starting::new(self.inner.clone(), None))
    }

    /// Like [`workflow`](Self::workflow), under `id`: a start under an id the actor keeps
    /// returns that workflow's id and starts nothing, so a retried handler starts its
    /// workflow once.
    pub fn workflow_with_id(&self, id: impl Into<WorkflowId>) -> A::Workflows
    where
        A: Actor,
    {
        A::Workflows::from(Starting::new(self.inner.clone(), Some(id.into())))
    }

    /// The actor kind's name.
    pub fn name(&self) -> &'static str {
        A::NAME
    }

    /// This instance's id.
    pub fn id(&self) -> &ActorId {
        &self.inner.id
    }

    /// This instance's key.
    pub fn key(&self) -> &ActorKey {
        &self.inner.key
    }

    /// The actor's schedules: make one to call an action or send a message later, once
    /// or repeating; list them; cancel one. See [`Schedules`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use actor::prelude::*;
    /// # #[actor] #[derive(Clone, Default, Serialize, Deserialize)] pub struct Heartbeat { polls: u32 }
    /// # #[actor] impl Heartbeat {
    /// #[on_create]
    /// async fn start(&mut self, ctx: &Ctx<Self>) -> Result<(), ActorError> {
    ///     ctx.schedule().every(Duration::from_secs(30)).poll()?;
    ///     Ok(())
    /// }
    ///
    /// #[action]
    /// async fn poll(&mut self) {
    ///     self.polls += 1;
    /// }
    /// # }
    /// ```
    pub fn schedule(&self) -> Schedules<'_, A>
    where
        A: Actor,
    {
        Schedules::new(self)
    }

    /// The actor's SQL database (a kind with `#[actor(migrations = "…")]`; see
    /// [`Db`](crate::database::Db)). In an exclusive turn it is the turn's transaction,
    /// committed with the state the turn produced; elsewhere a connection of its own.
    /// `database/unavailable` if the database cannot be opened, `database/in_use` if the
    /// turn still holds it from an earlier call.
    ///
    /// ```
    /// # use actor::prelude::*;
    /// # #[actor(migrations = "tests/migrations/notes")]
    /// # #[derive(Clone, Default, Serialize, Deserialize)]
    /// # pub struct DocLog { last: Option<String> }
    /// #[actor]
    /// impl DocLog {
    ///     #[action]
    ///     async fn write(&mut self, ctx: &Ctx<Self>, text: String) -> Result<(), ActorError> {
    ///         let mut db = ctx.db().await?;
    ///         sqlx::query("INSERT INTO notes (text) VALUES (?)").bind(&text).execute(&mut *db).await?;
    ///         // Committed with `last`, or not at all.
    ///         self.last = Some(text);
    ///         Ok(())
    ///     }
    /// }
    /// ```
    #[cfg(feature = "sqlite")]
    pub async fn db(&self) -> Result<crate::database::Db<'_>, ActorError>
    where
        A: crate::database::HasDatabase,
    {
        let Some(db) = self.database() else {
            return Err(ActorError::of(
                crate::codes::DATABASE_UNAVAILABLE,
                format!(
                    "actor `{}` declares a database, and the registry it runs in keeps none",
                    A::NAME
                ),
            ));
        };
        let in_turn = scope::in_write_set(|id, _| id == &self.inner.id).unwrap_or(false);
        db.db(in_turn).await
    }

    pub(crate) fn schedule_owner(&self) -> Arc<dyn ScheduleOwner>
    where
        A: Actor,
    {
        self.inner.clone()
    }

    /// The runtime-only vars (`#[actor(vars = T)]`), rebuilt on every wake, never saved.
    /// Use interior mutability (a `Mutex`, an atomic, a `Notify`) to change them.
    pub fn vars(&self) -> &A::Vars {
        &self.inner.vars
    }

    /// A client for calling other actors (or this one) through their typed handles.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The registry that runs the actor: its directory, timers and clock.
    pub(crate) fn host(&self) -> &dyn Transport {
        self.inner.host()
    }

    /// Holds the actor awake until the guard is dropped, for background work the
    /// runtime cannot see. A cancelled future drops its guard, so it never leaks.
    ///
    /// ```
    /// # use actor::prelude::*;
    /// # #[actor] #[derive(Clone, Default, Serialize, Deserialize)] pub struct Job {}
    /// # #[actor] impl Job {
    /// #[action]
    /// async fn start(&self, ctx: &Ctx<Self>) {
    ///     let guard = ctx.keep_awake();
    ///     tokio::spawn(async move {
    ///         // ... long background work ...
    ///         drop(guard);
    ///     });
    /// }
    /// # }
    /// ```
    pub fn keep_awake(&self) -> KeepAwake {
        self.inner.cell.hold();
        KeepAwake {
            cell: self.inner.cell.clone(),
        }
    }

    /// Runs `future` with the actor held awake, releasing it when the future finishes or
    /// is dropped.
    pub async fn keep_awake_while<F: Future>(&self, future: F) -> F::Output {
        let _guard = self.keep_awake();
        future.await
    }

    /// Sends `event` to every open connection subscribed to it. From an exclusive turn the
    /// event waits, like the turn's reply, until what the turn wrote is durable, and is
    /// dropped if the turn's changes are (it panicked, timed out, or its save failed).
    ///
    /// ```
    /// use actor::prelude::*;
    ///
    /// #[actor(events = ScoreEvent)]
    /// #[derive(Clone, Default, Serialize, Deserialize)]
    /// pub struct Scoreboard { points: u32 }
    ///
    /// #[derive(Serialize, Deserialize, Events)]
    /// pub enum ScoreEvent { Scored(u32) }
    ///
    /// #[actor]
    /// impl Scoreboard {
    ///     #[action]
    ///     async fn score(&mut self, ctx: &Ctx<Self>) -> Result<u32, ActorError> {
    ///         self.points += 1;
    ///         ctx.broadcast(ScoreEvent::Scored(self.points))?;
    ///         Ok(self.points)
    ///     }
    /// }
    /// ```
    pub fn broadcast(&self, event: A::Events) -> Result<(), ActorError>
    where
        A: Actor,
    {
        let name = event.name();
        let to: Vec<Connection> = self
            .conns()
            .iter()
            .flat_map(|open| open.iter())
            .filter(|(conn, _)| conn.is_subscribed(name))
            .map(|(conn, _)| conn.clone())
            .collect();
        crate::instance::events::send(&self.inner.id, to, &event)
    }

    /// The connection the running call came from: a client connected over a WebSocket or
    /// through `connect()`, or an HTTP call checked by `#[on_before_connect]`. `None` for
    /// a call through a handle, a queue handler, a schedule or a workflow.
    pub fn conn(&self) -> Option<Conn<A>>
    where
        A: Actor,
    {
        scope::current_conn()
            .filter(|conn| conn.opened_on(&self.inner.id))
            .map(Conn::new)
    }

    /// The open connections that receive events.
    pub fn connections(&self) -> Vec<Conn<A>>
    where
        A: Actor,
    {
        self.conns()
            .iter()
            .flat_map(|open| open.iter())
            .map(|(conn, _)| Conn::new(conn.clone()))
            .collect()
    }

    /// Asks the runtime to put this actor to sleep once the current calls finish.
    pub fn sleep(&self) {
        self.inner.cell.request_sleep();
    }

    /// Asks the runtime to destroy this actor once the current call finishes: calls
    /// still waiting get `actor/destroyed`, `on_destroy` runs, and all its storage is removed.
    pub fn destroy(&self) {
        self.inner.cell.request_destroy();
    }
}

// What needs the kind's `Actor` impl (its queues), not only its options.
impl<A: Actor> Ctx<A> {
    /// The message the running queue handler is working on: its id, its queue and the
    /// attempt (1 the first time). `None` outside a queue handler's turn.
    ///
    /// ```
    /// # use actor::prelude::*;
    /// # #[actor] #[derive(Clone, Default, Serialize, Deserialize)] pub struct Mailer { sent: u32 }
    /// # #[actor] impl Mailer {
    /// #[queue]
    /// async fn send_mail(&mut self, ctx: &Ctx<Self>, to: String) {
    ///     let delivery = ctx.delivery().expect("inside a handler");
    ///     if delivery.attempt > 1 {
    ///         // The mail may have gone out already: check before sending it again.
    ///     }
    ///     self.sent += 1;
    /// }
    /// # }
    /// ```
    pub fn delivery(&self) -> Option<Delivery> {
        let (id, queue, attempt, awaited) = self.inner.turn.delivery()?;
        Some(Delivery {
            id: MessageId::from(id),
            queue: A::QUEUES.get(queue)?.name,
            attempt,
            awaited,
        })
    }
}

/// Holds an actor awake while it lives; see [`Ctx::keep_awake`].
///
/// ```
/// # use actor::prelude::*;
/// # #[actor] #[derive(Clone, Default, Serialize, Deserialize)] pub struct Worker {}
/// # #[actor] impl Worker {
/// #[action]
/// async fn hold(&self, ctx: &Ctx<Self>) {
///     let guard: KeepAwake = ctx.keep_awake();
///     drop(guard); // the actor may sleep again
/// }
/// # }
/// ```
#[must_use = "the actor is held awake only while the guard lives"]
pub struct KeepAwake {
    cell: Arc<InstanceCell>,
}

impl Drop for KeepAwake {
    fn drop(&mut self) {
        self.cell.release();
    }
}

impl fmt::Debug for KeepAwake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeepAwake")
    }
}
