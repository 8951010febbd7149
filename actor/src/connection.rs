//! Connections and events: a client that stays connected to an actor (a WebSocket, or an
//! in-process [`ActorHandle::connect`](crate::ActorHandle::connect)) has a
//! [`Connection`], whose state `#[on_before_connect]` makes from the client's params,
//! and receives the typed [`Events`] it subscribed to.
//!
//! The life of a connection, as the instance runs it:
//!
//! 1. **Open** ([`ConnOp::Open`], the call's payload is the params): an exclusive turn
//!    runs `#[on_before_connect]`, which may refuse with an error, and keeps the state
//!    it returns; a connection that can receive events is then registered (it keeps the
//!    actor awake) and `#[on_connect]` runs in the same turn.
//! 2. **Actions** ([`ConnOp::Action`]) run as any call does, with
//!    [`Ctx::conn`](crate::Ctx::conn) giving the connection. An HTTP call with params is a
//!    connection opened for that one call: `#[on_before_connect]` checks it, it receives
//!    no events and `#[on_connect]` and `#[on_disconnect]` do not run.
//! 3. **Subscriptions** ([`ConnOp::Subscribe`]) name one of the actor's events;
//!    another name is refused with `connection/event_not_found` and changes nothing.
//! 4. **Close** ([`ConnOp::Close`]): `#[on_disconnect]` runs once, and the actor may
//!    sleep again. A connection still open when the actor sleeps or is destroyed is
//!    closed first, its `#[on_disconnect]` run before `#[on_sleep]` or `#[on_destroy]`.
//!
//! Events sent from an exclusive turn are held, like its reply, until what the turn wrote
//! is durable, and dropped with the turn's changes if it fails: a client never sees an
//! event of a write that was lost.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use tokio::sync::{mpsc, watch};

use crate::definition::Actor;
use crate::error::{ActorError, codes};
use crate::key::ActorId;
use crate::payload::{Encoding, Payload};

/// The typed events an actor sends to its connections (`#[actor(events = T)]`),
/// implemented by `#[derive(Events)]` on an enum: each variant is one event, named by the
/// camelCase of the variant's name (or `#[event(name = "…")]`), whose fields are the
/// event's arguments.
///
/// ```
/// use actor::prelude::*;
///
/// #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Events)]
/// pub enum RoomEvent {
///     MessagePosted(String, u32),
///     Cleared,
/// }
///
/// assert_eq!(RoomEvent::NAMES, ["messagePosted", "cleared"]);
/// let ev = RoomEvent::MessagePosted("hi".into(), 7);
/// assert_eq!(ev.name(), "messagePosted");
/// let args = ev.encode_args(Encoding::Json)?;
/// assert_eq!(args, br#"["hi",7]"#);
/// assert_eq!(RoomEvent::decode("messagePosted", Encoding::Json, &args)?, ev);
/// # Ok::<(), ActorError>(())
/// ```
pub trait Events: Send + 'static {
    /// Every event's name, in declaration order.
    const NAMES: &'static [&'static str];

    /// This event's name.
    fn name(&self) -> &'static str;

    /// This event's arguments as an encoded array.
    fn encode_args(&self, encoding: Encoding) -> Result<Vec<u8>, ActorError>;

    /// The event named `name` from its encoded arguments; a name this type does not
    /// declare, or arguments of the wrong types, are `actor/invalid_arguments`.
    fn decode(name: &str, encoding: Encoding, args: &[u8]) -> Result<Self, ActorError>
    where
        Self: Sized;
}

/// The events of an actor that declares none: no value exists.
///
/// ```
/// use actor::connection::{Events, NoEvents};
/// assert!(NoEvents::NAMES.is_empty());
/// assert!(NoEvents::decode("any", actor::Encoding::Json, b"[]").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoEvents {}

impl Events for NoEvents {
    const NAMES: &'static [&'static str] = &[];

    fn name(&self) -> &'static str {
        match *self {}
    }

    fn encode_args(&self, _: Encoding) -> Result<Vec<u8>, ActorError> {
        match *self {}
    }

    fn decode(name: &str, _: Encoding, _: &[u8]) -> Result<Self, ActorError> {
        Err(unknown_event(name, Self::NAMES))
    }
}

/// The error for an event name a type does not declare.
#[doc(hidden)]
pub fn unknown_event(name: &str, names: &[&str]) -> ActorError {
    ActorError::invalid_arguments(format!(
        "there is no event `{name}`; the events are: {}",
        if names.is_empty() {
            "(none)".to_string()
        } else {
            names.join(", ")
        }
    ))
}

/// One event on its way to a connection: its name and its arguments, encoded in the
/// connection's encoding.
///
/// ```
/// let ev = actor::connection::Event { name: "cleared".into(), args: b"[]".to_vec() };
/// assert_eq!(ev.name, "cleared");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The event's name.
    pub name: Cow<'static, str>,
    /// Its arguments: an encoded array.
    pub args: Vec<u8>,
}

/// What a connection does in a call to its actor ([`Target::Connection`]).
///
/// [`Target::Connection`]: crate::route::Target::Connection
///
/// ```
/// use actor::connection::{ConnOp, Connection};
/// let (conn, _events) = Connection::open(actor::Encoding::Json, 16);
/// let op = ConnOp::Close(conn.clone());
/// assert_eq!(op, ConnOp::Close(conn));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnOp {
    /// Opens the connection; the call's payload is its params.
    Open(Connection),
    /// Calls an action, by name, from the connection.
    Action {
        /// The connection, opened before.
        conn: Connection,
        /// The action.
        name: Cow<'static, str>,
    },
    /// Starts or stops the events of one name.
    Subscribe {
        /// The connection.
        conn: Connection,
        /// The event's name.
        event: String,
        /// Whether to subscribe (or unsubscribe).
        subscribe: bool,
    },
    /// Closes the connection: `#[on_disconnect]` runs if it was open.
    Close(Connection),
}

impl ConnOp {
    /// The connection the operation is about.
    ///
    /// ```
    /// use actor::connection::{ConnOp, Connection};
    /// let conn = Connection::once();
    /// assert_eq!(ConnOp::Open(conn.clone()).conn(), &conn);
    /// ```
    pub fn conn(&self) -> &Connection {
        match self {
            Self::Open(conn) | Self::Close(conn) => conn,
            Self::Action { conn, .. } | Self::Subscribe { conn, .. } => conn,
        }
    }
}

/// One client's connection to one actor, as the runtime and the server share it: its id,
/// the state `#[on_before_connect]` made, its subscriptions and where its events go.
/// Inside the actor it is seen as a typed [`Conn`]. Cheap to clone; two clones are
/// equal.
///
/// ```
/// use actor::connection::Connection;
/// let (conn, _events) = Connection::open(actor::Encoding::Cbor, 64);
/// assert_eq!(conn.id().len(), 32);
/// assert!(!conn.is_closed());
/// assert_ne!(conn, Connection::once());
/// ```
#[derive(Clone)]
pub struct Connection(Arc<Shared>);

struct Shared {
    id: String,
    /// Where events go: `None` for an HTTP call's connection, which receives none.
    outbox: Option<(Encoding, mpsc::Sender<Event>)>,
    /// The actor it was opened on, and the state its `on_before_connect` made.
    opened: OnceLock<(ActorId, Box<dyn Any + Send + Sync>)>,
    subscribed: Mutex<HashSet<String>>,
    /// Why the runtime closed it (`None` while open).
    closed: watch::Sender<Option<ActorError>>,
}

impl PartialEq for Connection {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Connection {}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Connection").field(&self.0.id).finish()
    }
}

impl Connection {
    fn new(outbox: Option<(Encoding, mpsc::Sender<Event>)>) -> Self {
        Self(Arc::new(Shared {
            id: uuid::Uuid::new_v4().simple().to_string(),
            outbox,
            opened: OnceLock::new(),
            subscribed: Mutex::new(HashSet::new()),
            closed: watch::Sender::new(None),
        }))
    }

    /// A connection that receives events, encoded in `encoding`, through the returned
    /// receiver, which holds up to `capacity` of them: a client that reads slower is
    /// disconnected (`actor/overloaded`) rather than buffered without bound.
    ///
    /// ```
    /// let (conn, events) = actor::connection::Connection::open(actor::Encoding::Json, 8);
    /// assert_eq!(conn.encoding(), Some(actor::Encoding::Json));
    /// # drop(events);
    /// ```
    pub fn open(encoding: Encoding, capacity: usize) -> (Self, EventReceiver) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let conn = Self::new(Some((encoding, tx)));
        let closed = conn.0.closed.subscribe();
        (conn, EventReceiver { events: rx, closed })
    }

    /// The connection of one HTTP call: checked by `#[on_before_connect]`, seen by the
    /// action through [`Ctx::conn`](crate::Ctx::conn), and sent no events.
    ///
    /// ```
    /// assert_eq!(actor::connection::Connection::once().encoding(), None);
    /// ```
    pub fn once() -> Self {
        Self::new(None)
    }

    /// The connection's id (32 hex digits).
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The encoding of its events; `None` for a connection that receives none.
    pub fn encoding(&self) -> Option<Encoding> {
        self.0.outbox.as_ref().map(|(encoding, _)| *encoding)
    }

    /// Whether the runtime closed it (see [`closed_reason`](Self::closed_reason)).
    pub fn is_closed(&self) -> bool {
        self.0.closed.borrow().is_some()
    }

    /// Why the runtime closed it: the actor stopped, or the client read its events too
    /// slowly. `None` while it is open.
    pub fn closed_reason(&self) -> Option<ActorError> {
        self.0.closed.borrow().clone()
    }

    /// Waits until the runtime closes it, and says why (as
    /// [`closed_reason`](Self::closed_reason)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (conn, _events) = actor::connection::Connection::open(actor::Encoding::Json, 8);
    /// let waiting = conn.closed();
    /// tokio::pin!(waiting);
    /// assert!(futures_util::poll!(&mut waiting).is_pending(), "open");
    /// # }
    /// ```
    pub async fn closed(&self) -> ActorError {
        let mut closed = self.0.closed.subscribe();
        loop {
            if let Some(reason) = closed.borrow_and_update().clone() {
                return reason;
            }
            if closed.changed().await.is_err() {
                // Not reached: the sender lives as long as `self`.
                return ActorError::stopped("the connection closed");
            }
        }
    }

    /// The answer to an action called through it once it is closed: `actor/stopped`,
    /// "connect again". `None` while it is open.
    pub(crate) fn refusal(&self) -> Option<ActorError> {
        self.closed_reason().map(|reason| {
            ActorError::stopped(format!(
                "connection {} is closed ({}); connect again",
                self.id(),
                reason.message()
            ))
        })
    }

    /// Whether it subscribed to the event `name`.
    ///
    /// ```
    /// assert!(!actor::connection::Connection::once().is_subscribed("messagePosted"));
    /// ```
    pub fn is_subscribed(&self, name: &str) -> bool {
        self.subscriptions().contains(name)
    }

    fn subscriptions(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // Never held across user code.
        self.0
            .subscribed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a subscription change the actor accepted.
    pub(crate) fn set_subscribed(&self, name: &str, subscribe: bool) {
        let mut subscribed = self.subscriptions();
        if subscribe {
            subscribed.insert(name.to_string());
        } else {
            subscribed.remove(name);
        }
    }

    /// Keeps the state `on_before_connect` made for it on actor `id`; `false` if it was
    /// opened already.
    pub(crate) fn set_opened(&self, id: ActorId, state: Box<dyn Any + Send + Sync>) -> bool {
        self.0.opened.set((id, state)).is_ok()
    }

    /// Whether it was opened on actor `id`.
    pub(crate) fn opened_on(&self, id: &ActorId) -> bool {
        self.0.opened.get().is_some_and(|(on, _)| on == id)
    }

    /// Marks it closed by the runtime, with `reason`; the first reason stays.
    pub(crate) fn close(&self, reason: ActorError) {
        self.0.closed.send_if_modified(|closed| {
            if closed.is_some() {
                return false;
            }
            *closed = Some(reason);
            true
        });
    }

    /// Hands `event` to the connection's receiver; a full receiver closes the connection
    /// (`actor/overloaded`), a connection without one ignores it.
    pub(crate) fn deliver(&self, event: Event) {
        let Some((_, tx)) = &self.0.outbox else {
            return;
        };
        if self.is_closed() {
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(event) {
            self.close(ActorError::of(
                codes::OVERLOADED,
                format!(
                    "connection {} reads its events slower than they come; it was closed",
                    self.id()
                ),
            ));
        }
    }
}

/// The receiving end of a [`Connection`]'s events.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (conn, mut events) = actor::connection::Connection::open(actor::Encoding::Json, 8);
/// drop(conn);
/// assert!(events.recv().await.is_none());
/// # }
/// ```
#[derive(Debug)]
pub struct EventReceiver {
    events: mpsc::Receiver<Event>,
    closed: watch::Receiver<Option<ActorError>>,
}

impl EventReceiver {
    /// The next event; `None` once the connection is closed by the runtime (its reason in
    /// [`Connection::closed_reason`]) or dropped. Events already queued come first.
    pub async fn recv(&mut self) -> Option<Event> {
        loop {
            if let Ok(event) = self.events.try_recv() {
                return Some(event);
            }
            if self.closed.borrow().is_some() {
                return None;
            }
            tokio::select! {
                event = self.events.recv() => return event,
                changed = self.closed.changed() => {
                    if changed.is_err() {
                        return self.events.try_recv().ok();
                    }
                }
            }
        }
    }
}

/// A connection as an actor's code sees it ([`Ctx::conn`](crate::Ctx::conn) and the
/// connection hooks): its id, its state and a way to send it an event.
///
/// The state is what `#[on_before_connect]` returned; it is read-only, and lives as long
/// as the connection (in memory: a connection does not outlive its actor's instance). For
/// state that changes, give it interior mutability (a `Mutex`, atomics).
///
/// ```
/// use actor::prelude::*;
///
/// #[actor(events = ChatEvent)]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Chat { said: u32 }
///
/// #[derive(Serialize, Deserialize, Events)]
/// pub enum ChatEvent { Said(String, String) }
///
/// pub struct Member { name: String }
///
/// #[actor]
/// impl Chat {
///     #[on_before_connect]
///     async fn check(&self, name: String) -> Result<Member, ActorError> {
///         if name.is_empty() {
///             return Err(ActorError::new("chat", "no_name", "say who you are"));
///         }
///         Ok(Member { name })
///     }
///
///     #[action]
///     async fn say(&mut self, ctx: &Ctx<Self>, text: String) -> Result<u32, ActorError> {
///         let Some(conn) = ctx.conn() else {
///             return Err(ActorError::new("chat", "not_connected", "connect to speak"));
///         };
///         self.said += 1;
///         ctx.broadcast(ChatEvent::Said(conn.state().name.clone(), text));
///         Ok(self.said)
///     }
/// }
/// ```
pub struct Conn<A: Actor> {
    conn: Connection,
    actor: PhantomData<fn() -> A>,
}

impl<A: Actor> Clone for Conn<A> {
    fn clone(&self) -> Self {
        Self {
            conn: self.conn.clone(),
            actor: PhantomData,
        }
    }
}

impl<A: Actor> fmt::Debug for Conn<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Conn").field(&self.conn.id()).finish()
    }
}

impl<A: Actor> Conn<A> {
    /// The view of `conn`, which must have been opened on an actor of kind `A`.
    pub(crate) fn new(conn: Connection) -> Self {
        Self {
            conn,
            actor: PhantomData,
        }
    }

    /// The connection's id.
    pub fn id(&self) -> &str {
        self.conn.id()
    }

    /// The state `#[on_before_connect]` made for it.
    pub fn state(&self) -> &A::ConnState {
        self.conn
            .0
            .opened
            .get()
            .and_then(|(_, state)| state.downcast_ref::<A::ConnState>())
            .expect("a `Conn` is made only for a connection opened on its kind")
    }

    /// Whether it subscribed to the event `name`.
    pub fn is_subscribed(&self, name: &str) -> bool {
        self.conn.is_subscribed(name)
    }

    /// Sends `event` to this connection if it subscribed to it. From an exclusive turn the
    /// event waits, like the turn's reply, until what the turn wrote is durable.
    pub fn send(&self, event: A::Events) -> Result<(), ActorError> {
        if !self.conn.is_subscribed(event.name()) {
            return Ok(());
        }
        let actor = &self.conn.0.opened.get().expect("opened").0;
        crate::instance::events::send(actor, vec![self.conn.clone()], &event)
    }

    /// Closes the connection from the actor's side: the client is told `reason`, and
    /// `#[on_disconnect]` runs when the client's side has gone.
    pub fn disconnect(&self, reason: ActorError) {
        self.conn.close(reason);
    }
}

/// The error for a subscription to an event the actor does not declare.
pub(crate) fn event_not_found(kind: &str, event: &str, names: &[&str]) -> ActorError {
    ActorError::of(
        codes::EVENT_NOT_FOUND,
        format!(
            "actor `{kind}` declares no event `{event}`; nothing was subscribed. Its events: {}",
            if names.is_empty() {
                "(none; declare them with `#[actor(events = T)]`)".to_string()
            } else {
                names.join(", ")
            }
        ),
    )
    .with_metadata(serde_json::json!({ "event": event, "events": names }))
}

/// The params a connection gives, as the payload of its open: `null` when it gives none.
///
/// ```
/// let p = actor::connection::params(None);
/// assert_eq!(p.decode::<Option<String>>()?, None);
/// let p = actor::connection::params(Some(br#""ann""#.to_vec()));
/// assert_eq!(p.decode::<String>()?, "ann");
/// # Ok::<(), actor::ActorError>(())
/// ```
pub fn params(json: Option<Vec<u8>>) -> Payload {
    Payload::Encoded(Encoding::Json, json.unwrap_or_else(|| b"null".to_vec()))
}

/// Events of a connected handle as they arrive, before they are typed: what a
/// [`Route`](crate::route::Route) hands [`ActorHandle::events`](crate::ActorHandle::events).
///
/// ```
/// let (tx, rx) = tokio::sync::mpsc::channel(4);
/// let raw = actor::connection::RawEvents::new(actor::Encoding::Json, rx);
/// # drop((tx, raw));
/// ```
#[derive(Debug)]
pub struct RawEvents {
    encoding: Encoding,
    events: mpsc::Receiver<Event>,
}

impl RawEvents {
    /// Events whose arguments are encoded in `encoding`, arriving on `events`.
    pub fn new(encoding: Encoding, events: mpsc::Receiver<Event>) -> Self {
        Self { encoding, events }
    }
}

/// The typed events of a connected handle ([`ActorHandle::events`]): each item is an
/// event, or the error of one whose arguments did not decode. It ends when the connection
/// closes for good, or when the stream falls [`STREAM_BUFFER`] events behind.
///
/// [`ActorHandle::events`]: crate::ActorHandle::events
#[derive(Debug)]
pub struct EventStream<E> {
    raw: RawEvents,
    events: PhantomData<fn() -> E>,
}

impl<E: Events> EventStream<E> {
    pub(crate) fn new(raw: RawEvents) -> Self {
        Self {
            raw,
            events: PhantomData,
        }
    }

    /// The next event; `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<Result<E, ActorError>> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<E, ActorError>>> {
        self.raw
            .events
            .poll_recv(cx)
            .map(|event| event.map(|event| E::decode(&event.name, self.raw.encoding, &event.args)))
    }
}

impl<E: Events> futures_util::Stream for EventStream<E> {
    type Item = Result<E, ActorError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_event(cx)
    }
}

/// How many events an [`EventStream`] holds before it is ended as too slow.
pub const STREAM_BUFFER: usize = 1024;

/// The event streams of one connected handle, each with the names it wants.
#[derive(Default)]
pub(crate) struct Subscribers {
    streams: Vec<(&'static [&'static str], mpsc::Sender<Event>)>,
}

impl Subscribers {
    /// A new stream of the events named `names`.
    pub(crate) fn add(&mut self, names: &'static [&'static str]) -> mpsc::Receiver<Event> {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        self.streams.push((names, tx));
        rx
    }

    /// Every name some stream wants.
    #[cfg(feature = "client")]
    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        let mut seen = HashSet::new();
        self.streams
            .iter()
            .flat_map(|(names, _)| names.iter().copied())
            .filter(move |name| seen.insert(*name))
    }

    /// Hands `event` to the streams that want it; a dropped stream is forgotten, and one
    /// too far behind is ended.
    pub(crate) fn deliver(&mut self, event: &Event) {
        self.streams.retain(|(names, tx)| {
            if !names.contains(&event.name.as_ref()) {
                return !tx.is_closed();
            }
            match tx.try_send(event.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(event = %event.name, "an event stream fell {STREAM_BUFFER} events behind; it was ended");
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }
}
