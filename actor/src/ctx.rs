//! The context every action and hook receives.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::client::Client;
use crate::definition::ActorOptions;
use crate::driver::SaveOp;
use crate::instance::cell::InstanceCell;
use crate::instance::scope::{CallChain, Scope, TurnRecord};
use crate::key::{ActorId, ActorKey};
use crate::queue::Delivery;

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
    client: Client,
    /// The exclusive turn running, if any (see `instance::scope`).
    turn: TurnRecord,
}

impl<A: ActorOptions> Scope for CtxInner<A> {
    fn chain(&self) -> CallChain {
        self.turn.chain(A::NAME, &self.id)
    }

    fn stage(&self, op: SaveOp) -> bool {
        self.turn.stage(op);
        true
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
    pub(crate) fn new(id: ActorId, key: ActorKey, cell: Arc<InstanceCell>, client: Client) -> Self {
        Self {
            inner: Arc::new(CtxInner {
                id,
                key,
                vars: A::Vars::default(),
                cell,
                client,
                turn: TurnRecord::default(),
            }),
        }
    }

    /// Begins an exclusive turn called from `chain` (a queue handler's, on `delivery`) in
    /// the instance's turn record, and
    /// returns the record as the scope the turn's future lends while it is polled:
    /// `reuse` if the instance kept the one its last turn gave back, else a new reference.
    pub(crate) fn begin_turn(
        &self,
        chain: CallChain,
        delivery: Option<Delivery>,
        reuse: Option<Arc<dyn Scope>>,
    ) -> Arc<dyn Scope> {
        self.inner.turn.begin(chain, delivery);
        reuse.unwrap_or_else(|| self.inner.clone())
    }

    /// Ends the running exclusive turn and returns what it staged.
    pub(crate) fn end_turn(&self) -> Vec<SaveOp> {
        self.inner.turn.end()
    }

    pub(crate) fn cell(&self) -> &Arc<InstanceCell> {
        &self.inner.cell
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
        self.inner.turn.delivery()
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
