//! How a handle reaches its actor: a [`Route`] delivers a [`Target`] and its payload.
//!
//! Every handle, typed or not, sits on a route. The registry's handles use the
//! in-process route ([`InProcess`]): the actor's mailbox, the in-place path and the
//! retry loop that follows an actor across sleeps. A route to an actor in another
//! process (the network client) implements the same trait, and the typed handles
//! `#[actor]` generates work unchanged on top of it: see [`ActorHandle::from_route`].
//!
//! [`ActorHandle::from_route`]: crate::ActorHandle::from_route

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::oneshot;

use crate::client::{Address, Resolved, Transport};
use crate::connection::{ConnOp, Connection, RawEvents, Subscribers};
use crate::error::{ActorError, codes};
use crate::handle::ActorHandle;
use crate::key::ActorId;
use crate::mailbox::{Asked, Mailbox, Rejected, Reply};
use crate::payload::{Encoding, Payload};
use crate::queue::DeadLetterOp;
use crate::workflow::WorkflowOp;

/// What a call reaches on an actor.
///
/// `#[non_exhaustive]`: workflow starts and connections join it later, and a [`Route`]
/// answers a target it does not know with an error.
///
/// ```
/// use actor::route::Target;
/// let t = Target::action("increment");
/// assert_eq!(t.name(), "increment");
/// assert_eq!(t.to_string(), "action `increment`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// An action, by name; the payload is its arguments, the answer its result.
    Action(Cow<'static, str>),
    /// A message for a queue, by name; answered once the message is durable.
    Send(Cow<'static, str>),
    /// A message for a queue, by name, answered with its handler's result, or
    /// `queue/timed_out` when the handler has not finished within `timeout`.
    SendAndWait {
        /// The queue.
        queue: Cow<'static, str>,
        /// How long to wait for the handler.
        timeout: Duration,
    },
    /// The actor's dead letters: list, replay or discard them.
    DeadLetters(DeadLetterOp),
    /// The actor's workflows: start one, read its status or history, wait for it,
    /// cancel or retry it, list them.
    Workflow(WorkflowOp),
    /// A connection's open, action calls, subscriptions and close (see
    /// [`connection`](crate::connection)).
    Connection(ConnOp),
}

impl Target {
    /// An action by name.
    ///
    /// ```
    /// let t = actor::route::Target::action(String::from("get"));
    /// assert_eq!(t.name(), "get");
    /// ```
    pub fn action(name: impl Into<Cow<'static, str>>) -> Self {
        Self::Action(name.into())
    }

    /// The action's or the queue's name (`deadLetters` for a dead-letter call).
    ///
    /// ```
    /// use actor::route::Target;
    /// assert_eq!(Target::Send("tasks".into()).name(), "tasks");
    /// ```
    pub fn name(&self) -> &str {
        match self {
            Self::Action(name) | Self::Send(name) => name,
            Self::SendAndWait { queue, .. } => queue,
            Self::DeadLetters(_) => "deadLetters",
            Self::Workflow(WorkflowOp::Start { name, .. }) => name,
            Self::Workflow(_) => "workflows",
            Self::Connection(ConnOp::Action { name, .. }) => name,
            Self::Connection(ConnOp::Subscribe { event, .. }) => event,
            Self::Connection(_) => "connection",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Action(name) => write!(f, "action `{name}`"),
            Self::Send(queue) | Self::SendAndWait { queue, .. } => write!(f, "queue `{queue}`"),
            Self::DeadLetters(op) => write!(f, "dead letters ({op:?})"),
            Self::Workflow(op) => write!(f, "workflows ({op:?})"),
            Self::Connection(ConnOp::Action { name, .. }) => write!(f, "action `{name}`"),
            Self::Connection(ConnOp::Open(conn)) => {
                write!(f, "the open of connection {}", conn.id())
            }
            Self::Connection(ConnOp::Subscribe { event, .. }) => {
                write!(f, "a subscription to event `{event}`")
            }
            Self::Connection(ConnOp::Close(conn)) => {
                write!(f, "the close of connection {}", conn.id())
            }
        }
    }
}

/// A way to reach one actor: in-process, over the network, or a test's own.
///
/// Typed handles hand a route their arguments as [`Payload::Local`] values; a route that
/// leaves the process encodes them with [`Payload::into_encoded`] and answers with
/// [`Payload::Encoded`] bytes, which the handle decodes into the result type.
///
/// ```
/// use actor::prelude::*;
/// use actor::route::{Route, Target};
/// use actor::{Encoding, Payload};
/// use futures_util::future::BoxFuture;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Repeater {}
///
/// #[actor]
/// impl Repeater {
///     #[action]
///     async fn repeat(&self, text: String) -> String { text }
/// }
///
/// /// Answers every action with its arguments' first element, without any actor.
/// struct Parrot;
///
/// impl Route for Parrot {
///     fn kind(&self) -> &str { "repeater" }
///     fn id(&self) -> ActorId { ActorId::from("parrot") }
///     fn call(&self, _: Target, args: Payload) -> BoxFuture<'_, Result<Payload, ActorError>> {
///         Box::pin(async move {
///             // What a network route would put on the wire:
///             let (encoding, bytes) = args.into_encoded(Encoding::Cbor)?;
///             let (text,): (String,) = Payload::Encoded(encoding, bytes).decode()?;
///             Ok(Payload::Encoded(encoding, encoding.encode(&text)?))
///         })
///     }
///     fn destroy(&self) -> BoxFuture<'_, Result<(), ActorError>> { Box::pin(async { Ok(()) }) }
///     fn sleep(&self) -> BoxFuture<'_, Result<(), ActorError>> { Box::pin(async { Ok(()) }) }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ActorError> {
/// let repeater = RepeaterHandle::from(ActorHandle::from_route(std::sync::Arc::new(Parrot)));
/// assert_eq!(repeater.repeat("hi".into()).await?, "hi");
/// # Ok(()) }
/// ```
pub trait Route: Send + Sync + 'static {
    /// The actor kind's name.
    fn kind(&self) -> &str;

    /// The id of the instance the route reaches.
    fn id(&self) -> ActorId;

    /// Delivers `payload` to `target` and returns the answer.
    fn call(&self, target: Target, payload: Payload) -> BoxFuture<'_, Result<Payload, ActorError>>;

    /// Destroys the actor (see [`ActorHandle::destroy`](crate::ActorHandle::destroy)).
    fn destroy(&self) -> BoxFuture<'_, Result<(), ActorError>>;

    /// Asks the actor to sleep now and waits until it has.
    fn sleep(&self) -> BoxFuture<'_, Result<(), ActorError>>;

    /// Opens a connection to the actor with `params` (JSON; `null` for none) and gives a
    /// handle whose action calls travel over it (see
    /// [`ActorHandle::connect`](crate::ActorHandle::connect)). A route without connections
    /// answers `request/route_not_found`, the default.
    fn connect(&self, params: Payload) -> BoxFuture<'_, Result<ActorHandle, ActorError>> {
        let _ = params;
        let kind = self.kind().to_string();
        Box::pin(async move {
            Err(ActorError::of(
                codes::ROUTE_NOT_FOUND,
                format!("actor `{kind}` is reached through a route without connections"),
            ))
        })
    }

    /// Subscribes the connection to the events named `names` and gives them as they
    /// come (see [`ActorHandle::events`](crate::ActorHandle::events)). A route that is not
    /// a connection answers `request/route_not_found`, the default.
    fn events(
        &self,
        names: &'static [&'static str],
    ) -> BoxFuture<'_, Result<RawEvents, ActorError>> {
        let _ = names;
        let kind = self.kind().to_string();
        Box::pin(async move { Err(not_connected(&kind)) })
    }
}

/// The answer of a handle asked for events without a connection.
fn not_connected(kind: &str) -> ActorError {
    ActorError::of(
        codes::ROUTE_NOT_FOUND,
        format!(
            "events of actor `{kind}` come through a connection: call `connect()` on the handle \
             and ask the connected handle for them"
        ),
    )
}

/// How often a call re-resolves an actor that stopped under it before giving up.
const MAX_RESOLVES: usize = 8;

/// The in-process route: the mailbox of the actor's awake instance, found again by id
/// when that instance sleeps or stops.
pub struct InProcess {
    transport: Arc<dyn Transport>,
    kind: &'static str,
    /// The instance it reaches now (its kind is `kind`, kept once). Every call reads it
    /// and only a refresh after the instance stopped replaces it: an `ArcSwap`, so a
    /// call takes neither a lock nor a reference count, atomic writes to lines that
    /// every caller of the actor shares (at 64 callers on two workers they were a tenth
    /// of the time).
    current: ArcSwap<Reached>,
}

/// The instance an [`InProcess`] route reaches now.
struct Reached {
    id: ActorId,
    mailbox: Mailbox,
}

impl From<Resolved> for Reached {
    fn from(Resolved { id, mailbox, .. }: Resolved) -> Self {
        Self { id, mailbox }
    }
}

impl fmt::Debug for InProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcess")
            .field("kind", &self.kind)
            .field("id", &self.id())
            .finish()
    }
}

/// A call on its way through a handle ([`ActorHandle::send`](crate::ActorHandle::send)):
/// answered at once (in place, or refused), waiting for the reply of a call the actor's
/// task took or of a commit, or on a longer path (an actor found again after it stopped,
/// a route of another kind). A named type, so what is built on it (a queue send) needs no
/// boxed future; like any future it does nothing until polled.
///
/// ```
/// # use actor::prelude::*;
/// # #[actor] #[derive(Clone, Default, Serialize, Deserialize)] pub struct Chime { rung: u32 }
/// # #[actor] impl Chime { #[action] async fn ring(&mut self) -> u32 { self.rung += 1; self.rung } }
/// # #[tokio::main] async fn main() -> Result<(), ActorError> {
/// # let registry = registry::Registry::builder().memory().build().await?;
/// let chime = registry.client().get_or_create::<Chime>("door").await?;
/// // A typed handle derefs to its `ActorHandle`.
/// let calling: actor::route::Calling<'_> =
///     chime.send(actor::route::Target::action("ring"), actor::Payload::local(()));
/// assert_eq!(calling.await?.decode::<u32>()?, 1);
/// # registry.shutdown().await;
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct Calling<'a>(Step<'a>);

enum Step<'a> {
    /// Not delivered yet: the next attempt.
    Ask {
        route: &'a InProcess,
        target: Target,
        args: Payload,
        attempt: usize,
    },
    /// Taken; the answer comes through `reply`.
    Waiting {
        route: &'a InProcess,
        target: Target,
        reply: oneshot::Receiver<Reply>,
    },
    Boxed(BoxFuture<'a, Reply>),
    Answered(Reply),
    Done,
}

impl<'a> Calling<'a> {
    /// A call on a route that gives its own future.
    pub(crate) fn boxed(call: BoxFuture<'a, Reply>) -> Self {
        Self(Step::Boxed(call))
    }
}

impl Future for Calling<'_> {
    type Output = Reply;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        let step = &mut self.get_mut().0;
        // A step is moved out only to be consumed: a step that waits is polled where it is.
        loop {
            let answer = match step {
                Step::Ask { .. } => {
                    let Step::Ask {
                        route,
                        target,
                        args,
                        attempt,
                    } = std::mem::replace(step, Step::Done)
                    else {
                        unreachable!("matched as an ask")
                    };
                    *step = route.ask(target, args, attempt);
                    continue;
                }
                Step::Waiting {
                    route,
                    target,
                    reply,
                } => {
                    let received = ready!(Pin::new(reply).poll(cx));
                    route.answer(target, received)
                }
                Step::Boxed(call) => ready!(call.as_mut().poll(cx)),
                Step::Answered(_) => {
                    // Answered at once: a unit of the task's cooperative budget, as a
                    // channel receive would spend, so a loop of calls answered in place
                    // still yields (see `Mailbox::ask`). The call ran already, in the
                    // order it was made; only its answer waits.
                    ready!(tokio::task::coop::poll_proceed(cx)).made_progress();
                    let Step::Answered(answer) = std::mem::replace(step, Step::Done) else {
                        unreachable!("matched as answered")
                    };
                    return Poll::Ready(answer);
                }
                Step::Done => panic!("a `Calling` was polled after it finished"),
            };
            *step = Step::Done;
            return Poll::Ready(answer);
        }
    }
}

impl fmt::Debug for Calling<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match &self.0 {
            Step::Ask { .. } => "ask",
            Step::Waiting { .. } => "waiting",
            Step::Boxed(_) => "boxed",
            Step::Answered(_) => "answered",
            Step::Done => "done",
        };
        f.debug_tuple("Calling").field(&step).finish()
    }
}

/// Waits for `reply` as the yield of a task whose cooperative budget is spent: outside
/// the budget (which would refuse the wait with tokio's forced yield), and with a plain
/// `yield_now` if the answer was somehow there without waiting.
async fn yield_awaiting<T>(reply: oneshot::Receiver<T>) -> Result<T, oneshot::error::RecvError> {
    let mut waited = false;
    let mut reply = std::pin::pin!(tokio::task::unconstrained(reply));
    let answer = std::future::poll_fn(|cx| {
        let polled = reply.as_mut().poll(cx);
        waited |= polled.is_pending();
        polled
    })
    .await;
    if !waited {
        tokio::task::yield_now().await;
    }
    answer
}

impl InProcess {
    pub(crate) fn new(transport: Arc<dyn Transport>, resolved: Resolved) -> Self {
        Self {
            transport,
            kind: resolved.kind,
            current: ArcSwap::from_pointee(resolved.into()),
        }
    }

    /// The actor kind's name.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The id of the instance this route reaches.
    pub fn id(&self) -> ActorId {
        self.current.load().id.clone()
    }

    fn mailbox(&self) -> Mailbox {
        self.current.load().mailbox.clone()
    }

    /// Finds the instance again after the one in `stale` stopped.
    async fn refresh(&self, stale: &Mailbox) -> Result<Mailbox, ActorError> {
        {
            let current = self.current.load();
            if !current.mailbox.is_closed() && !current.mailbox.same_instance(stale) {
                return Ok(current.mailbox.clone());
            }
        }
        let address = Address::Id(self.id());
        let resolved = self.transport.resolve(self.kind, &address).await?;
        let mailbox = resolved.mailbox.clone();
        self.current.store(Arc::new(resolved.into()));
        Ok(mailbox)
    }

    /// Delivers one call, following the actor across sleeps: a named future (no box for
    /// the common paths), which does nothing until it is polled.
    pub fn call(&self, target: Target, args: Payload) -> Calling<'_> {
        Calling(Step::Ask {
            route: self,
            target,
            args,
            attempt: 0,
        })
    }

    /// One attempt at delivering the call: its answer, or what the call waits for next.
    fn ask(&self, target: Target, args: Payload, attempt: usize) -> Step<'_> {
        if attempt == MAX_RESOLVES {
            return Step::Answered(Err(ActorError::of(
                codes::STOPPED,
                format!(
                    "actor `{}` kept stopping while {target} was being delivered",
                    self.kind
                ),
            )));
        }
        // The call may run in place, and its action may call this same handle: a load
        // inside it reads the route again, as this one does.
        let current = self.current.load();
        match current.mailbox.ask(&target, args) {
            Ok(Asked::Ready(reply)) => Step::Answered(reply),
            Ok(Asked::Waiting(reply)) => Step::Waiting {
                route: self,
                target,
                reply,
            },
            Ok(Asked::Yielding(reply)) => Step::Boxed(
                async move { self.answer(&target, yield_awaiting(reply).await) }.boxed(),
            ),
            Err(Rejected::Overloaded { capacity }) => Step::Answered(Err(ActorError::overloaded(
                self.kind,
                &self.id(),
                capacity,
                "calls waiting",
            ))),
            Err(Rejected::Closed(returned)) => {
                let mailbox = current.mailbox.clone();
                // A connection lives on one instance: it closed with it.
                if let Target::Connection(op) = &target
                    && !matches!(op, ConnOp::Open(_))
                {
                    return Step::Answered(Err(ActorError::stopped(format!(
                        "connection {} to actor `{}` closed when the actor stopped; connect again",
                        op.conn().id(),
                        self.kind
                    ))));
                }
                Step::Boxed(
                    async move {
                        self.refresh(&mailbox).await?;
                        Calling(Step::Ask {
                            route: self,
                            target,
                            args: returned,
                            attempt: attempt + 1,
                        })
                        .await
                    }
                    .boxed(),
                )
            }
        }
    }

    /// The answer a queued call received, or `actor/stopped` if the instance dropped it.
    fn answer(
        &self,
        target: &Target,
        received: Result<Reply, oneshot::error::RecvError>,
    ) -> Result<Payload, ActorError> {
        received.unwrap_or_else(|_| {
            Err(ActorError::stopped(format!(
                "actor `{}` stopped before answering {target}; it may or may not have run",
                self.kind
            )))
        })
    }

    /// See [`ActorHandle::destroy`](crate::ActorHandle::destroy).
    pub async fn destroy(&self) -> Result<(), ActorError> {
        let mut mailbox = self.mailbox();
        if mailbox.is_closed() {
            mailbox = self.refresh(&mailbox).await?;
        }
        mailbox.request_destroy();
        mailbox.stopped().await;
        mailbox.destroy_failure().map_or(Ok(()), Err)
    }

    /// See [`ActorHandle::sleep`](crate::ActorHandle::sleep).
    pub async fn sleep(&self) {
        let mailbox = self.mailbox();
        mailbox.request_sleep();
        mailbox.stopped().await;
    }
}

impl Route for InProcess {
    fn kind(&self) -> &str {
        self.kind
    }

    fn id(&self) -> ActorId {
        InProcess::id(self)
    }

    fn call(&self, target: Target, payload: Payload) -> BoxFuture<'_, Result<Payload, ActorError>> {
        InProcess::call(self, target, payload).boxed()
    }

    fn destroy(&self) -> BoxFuture<'_, Result<(), ActorError>> {
        InProcess::destroy(self).boxed()
    }

    fn sleep(&self) -> BoxFuture<'_, Result<(), ActorError>> {
        InProcess::sleep(self).map(Ok).boxed()
    }
}

/// Events an in-process connection holds for its client before they are read.
const LOCAL_OUTBOX: usize = 256;

impl InProcess {
    /// Opens an in-process connection: the same open, hooks, subscriptions and close a
    /// WebSocket has, with events handed over in CBOR.
    pub(crate) async fn connect(
        &self,
        via: ActorHandle,
        params: Payload,
    ) -> Result<ActorHandle, ActorError> {
        let (conn, mut incoming) = Connection::open(Encoding::Cbor, LOCAL_OUTBOX);
        self.call(Target::Connection(ConnOp::Open(conn.clone())), params)
            .await?;
        let subscribers = Arc::new(Mutex::new(Subscribers::default()));
        let (feed, owner, closing) = (subscribers.clone(), via.clone(), conn.clone());
        // Hands each event to the streams that want it, until the actor closes the
        // connection: then the streams end, and the close reaches the actor (whose
        // `on_disconnect` runs, unless it stopped and ran it already).
        let pump = tokio::spawn(async move {
            let feed = || {
                feed.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            };
            while let Some(event) = incoming.recv().await {
                feed().deliver(&event);
            }
            *feed() = Subscribers::default();
            close(owner, closing).await;
        });
        let carrier = LocalConnection {
            via: via.clone(),
            conn,
            subscribers,
            pump,
        };
        Ok(Connected::handle(via, carrier))
    }
}

/// What a connection carries itself: the action calls of the handle connected through
/// it, and the events it is subscribed to. Anything else the connected handle does
/// (queue sends, destroy, sleep) goes through the handle it was opened from.
pub(crate) trait Carrier: Send + Sync + 'static {
    /// Calls the action `name` over the connection.
    fn action(
        &self,
        name: Cow<'static, str>,
        payload: Payload,
    ) -> BoxFuture<'_, Result<Payload, ActorError>>;

    /// Subscribes the connection to the events named `names`.
    fn events(
        &self,
        names: &'static [&'static str],
    ) -> BoxFuture<'_, Result<RawEvents, ActorError>>;
}

/// The route of a connected handle, in-process or over a socket: actions and events
/// through its [`Carrier`], the rest through `via`, the handle it was opened from.
pub(crate) struct Connected<C> {
    via: ActorHandle,
    carrier: C,
}

impl<C: Carrier> Connected<C> {
    /// The connected handle.
    pub(crate) fn handle(via: ActorHandle, carrier: C) -> ActorHandle {
        ActorHandle::from_route(Arc::new(Self { via, carrier }))
    }
}

impl<C: Carrier> Route for Connected<C> {
    fn kind(&self) -> &str {
        self.via.kind()
    }

    fn id(&self) -> ActorId {
        self.via.id()
    }

    fn call(&self, target: Target, payload: Payload) -> BoxFuture<'_, Result<Payload, ActorError>> {
        match target {
            Target::Action(name) => self.carrier.action(name, payload),
            other => self.via.send(other, payload).boxed(),
        }
    }

    fn destroy(&self) -> BoxFuture<'_, Result<(), ActorError>> {
        self.via.destroy().boxed()
    }

    fn sleep(&self) -> BoxFuture<'_, Result<(), ActorError>> {
        self.via.sleep().boxed()
    }

    fn events(
        &self,
        names: &'static [&'static str],
    ) -> BoxFuture<'_, Result<RawEvents, ActorError>> {
        self.carrier.events(names)
    }
}

/// An in-process connection: its actions carry it to the actor. Dropped, it closes the
/// connection.
struct LocalConnection {
    via: ActorHandle,
    conn: Connection,
    subscribers: Arc<Mutex<Subscribers>>,
    pump: tokio::task::JoinHandle<()>,
}

impl Carrier for LocalConnection {
    fn action(
        &self,
        name: Cow<'static, str>,
        payload: Payload,
    ) -> BoxFuture<'_, Result<Payload, ActorError>> {
        let action = Target::Connection(ConnOp::Action {
            conn: self.conn.clone(),
            name,
        });
        self.via.send(action, payload).boxed()
    }

    fn events(
        &self,
        names: &'static [&'static str],
    ) -> BoxFuture<'_, Result<RawEvents, ActorError>> {
        async move {
            for name in names {
                let subscribe = Target::Connection(ConnOp::Subscribe {
                    conn: self.conn.clone(),
                    event: (*name).to_string(),
                    subscribe: true,
                });
                self.via.send(subscribe, Payload::local(())).await?;
            }
            let rx = self
                .subscribers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .add(names);
            Ok(RawEvents::new(Encoding::Cbor, rx))
        }
        .boxed()
    }
}

impl Drop for LocalConnection {
    fn drop(&mut self) {
        self.pump.abort();
        let (via, conn) = (self.via.clone(), self.conn.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(close(via, conn));
        }
    }
}

/// Closes an in-process connection on its actor; a second close does nothing there.
async fn close(via: ActorHandle, conn: Connection) {
    let close = Target::Connection(ConnOp::Close(conn));
    if let Err(err) = via.send(close, Payload::local(())).await {
        tracing::debug!(error = %err, "closing an in-process connection failed");
    }
}
