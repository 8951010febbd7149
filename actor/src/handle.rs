//! The untyped core of every typed handle.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{Resolved, Transport};
use crate::connection::{EventStream, Events};
use crate::error::ActorError;
use crate::key::ActorId;
use crate::payload::{Encoding, Payload};
use crate::queue::{DeadLetter, DeadLetterOp, MessageId};
use crate::route::{Calling, InProcess, Route, Target};
use crate::workflow::{WorkflowId, WorkflowOp, WorkflowRun, WorkflowStatus};

/// A handle to one actor, untyped. `#[actor]` wraps it in `<Struct>Handle`, which derefs
/// to it, so `id()`, `destroy()` and dynamic calls are there on every typed handle.
///
/// The handle follows its actor across sleeps: a call to a sleeping actor wakes it. It
/// reaches the actor through a [`Route`]: the registry's handles use the in-process one,
/// and [`from_route`](Self::from_route) puts a handle on any other.
///
/// ```
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Echo {}
///
/// #[actor]
/// impl Echo {
///     #[action]
///     async fn echo(&self, text: String) -> String { text }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ActorError> {
/// let registry = registry::Registry::builder().memory().build().await?;
/// let echo = registry.client().get_or_create::<Echo>("e").await?;
/// // typed:
/// assert_eq!(echo.echo("hi".into()).await?, "hi");
/// // by name, as a network client would:
/// let out = echo.call_encoded("echo", actor::Encoding::Json, br#"["yo"]"#.to_vec()).await?;
/// assert_eq!(out, br#""yo""#);
/// # registry.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ActorHandle {
    via: Via,
}

/// The route under a handle. The in-process one is called directly, without the boxed
/// future a `dyn Route` call costs.
#[derive(Clone)]
enum Via {
    InProcess(Arc<InProcess>),
    Route(Arc<dyn Route>),
}

impl fmt::Debug for ActorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorHandle")
            .field("kind", &self.kind())
            .field("id", &self.id())
            .finish()
    }
}

impl ActorHandle {
    pub(crate) fn new(transport: Arc<dyn Transport>, resolved: Resolved) -> Self {
        Self {
            via: Via::InProcess(Arc::new(InProcess::new(transport, resolved))),
        }
    }

    /// A handle on `route`; wrap it in a typed handle with `From`
    /// (`CounterHandle::from(handle)`). See [`Route`] for an example.
    pub fn from_route(route: Arc<dyn Route>) -> Self {
        Self {
            via: Via::Route(route),
        }
    }

    /// The actor kind's name.
    pub fn kind(&self) -> &str {
        match &self.via {
            Via::InProcess(route) => route.kind(),
            Via::Route(route) => route.kind(),
        }
    }

    /// The id of the instance this handle reaches.
    pub fn id(&self) -> ActorId {
        match &self.via {
            Via::InProcess(route) => route.id(),
            Via::Route(route) => route.id(),
        }
    }

    /// Calls an action with typed arguments (a tuple of the action's parameters).
    /// Typed handle methods are thin wrappers over this.
    pub async fn call<Args, R>(&self, action: &'static str, args: Args) -> Result<R, ActorError>
    where
        Args: Serialize + Send + 'static,
        R: DeserializeOwned + Send + 'static,
    {
        self.send(Target::action(action), Payload::local(args))
            .await?
            .decode()
    }

    /// Calls an action by name with encoded arguments (an array of the parameters) and
    /// returns the encoded result, as the network server does.
    pub async fn call_encoded(
        &self,
        action: impl Into<String>,
        encoding: Encoding,
        args: Vec<u8>,
    ) -> Result<Vec<u8>, ActorError> {
        self.send_bytes(Target::action(action.into()), encoding, args)
            .await
    }

    /// Delivers encoded arguments to any target and returns the encoded answer, as the
    /// network server does for a connection's calls.
    pub async fn send_bytes(
        &self,
        target: Target,
        encoding: Encoding,
        args: Vec<u8>,
    ) -> Result<Vec<u8>, ActorError> {
        match self.send(target, Payload::Encoded(encoding, args)).await? {
            Payload::Encoded(_, bytes) => Ok(bytes),
            Payload::Local(_) => Err(ActorError::internal(
                "encoded call",
                "the actor answered an encoded call with a typed value",
            )),
        }
    }

    /// Sends an encoded message to a queue by name, as the network server does (and a
    /// crate that knows the queue only by name); returns once the message is durable.
    /// A name the actor does not declare is `queue/not_found`, and nothing is stored.
    ///
    /// ```
    /// # use actor::prelude::*;
    /// # #[actor] #[derive(Clone, Default, Serialize, Deserialize)] pub struct Log { lines: Vec<String> }
    /// # #[actor] impl Log {
    /// #     #[queue] async fn append(&mut self, line: String) { self.lines.push(line) }
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ActorError> {
    /// # let registry = registry::Registry::builder().memory().build().await?;
    /// let log = registry.client().get_or_create::<Log>("l").await?;
    /// let id = log.send_encoded("append", actor::Encoding::Json, br#""hi""#.to_vec()).await?;
    /// let err = log.send_encoded("apend", actor::Encoding::Json, b"1".to_vec()).await.unwrap_err();
    /// assert!(err.is(actor::codes::QUEUE_NOT_FOUND));
    /// # let _ = id; registry.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn send_encoded(
        &self,
        queue: impl Into<String>,
        encoding: Encoding,
        message: Vec<u8>,
    ) -> Result<MessageId, ActorError> {
        let target = Target::Send(queue.into().into());
        self.send(target, Payload::Encoded(encoding, message))
            .await?
            .decode()
    }

    /// Sends an encoded message to a queue by name and waits up to `timeout` for its
    /// handler's result, encoded the same way (see [`QueueSend::wait`](crate::QueueSend::wait)).
    pub async fn send_encoded_and_wait(
        &self,
        queue: impl Into<String>,
        encoding: Encoding,
        message: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, ActorError> {
        let target = Target::SendAndWait {
            queue: queue.into().into(),
            timeout,
        };
        let answer = self
            .send(target, Payload::Encoded(encoding, message))
            .await?;
        Ok(answer.into_encoded(encoding)?.1)
    }

    /// The actor's dead letters, oldest first: messages whose handler failed on its last
    /// attempt, or that no longer decode.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, ActorError> {
        self.dead_letter_op(DeadLetterOp::List).await?.decode()
    }

    /// Sends dead letter `id` to its queue again, as a new message with the attempts
    /// counted from zero; returns the new message's id. `queue/dead_letter_not_found` if
    /// there is no such dead letter.
    pub async fn replay(&self, id: MessageId) -> Result<MessageId, ActorError> {
        self.dead_letter_op(DeadLetterOp::Replay(id))
            .await?
            .decode()
    }

    /// Drops dead letter `id`. `queue/dead_letter_not_found` if there is no such dead
    /// letter.
    pub async fn discard(&self, id: MessageId) -> Result<(), ActorError> {
        self.dead_letter_op(DeadLetterOp::Discard(id))
            .await?
            .decode()
    }

    async fn dead_letter_op(&self, op: DeadLetterOp) -> Result<Payload, ActorError> {
        self.send(Target::DeadLetters(op), Payload::local(())).await
    }

    /// Workflow `id` of this actor, with its output type `T`: read its status and
    /// history, wait for its result, cancel or retry it. (A start returns one too.)
    ///
    /// ```
    /// # use actor::prelude::*;
    /// # #[actor] #[derive(Clone, Default, Serialize, Deserialize)] pub struct Jobs {}
    /// # #[actor] impl Jobs {
    /// #     #[workflow] async fn job(wf: Workflow<Self>) -> Result<u32, ActorError> { wf.step("one", |_| async { Ok::<_, ActorError>(1) }).await }
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ActorError> {
    /// # let registry = registry::Registry::builder().memory().build().await?;
    /// let jobs = registry.client().get_or_create::<Jobs>("j").await?;
    /// jobs.job().id("nightly").await?;
    /// let run = jobs.workflow::<u32>("nightly");
    /// assert_eq!(run.wait(std::time::Duration::from_secs(5)).await?, 1);
    /// assert_eq!(jobs.workflows().await?.len(), 1);
    /// # registry.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn workflow<T>(&self, id: impl Into<WorkflowId>) -> WorkflowRun<T> {
        WorkflowRun::new(self.clone(), id.into())
    }

    /// The status of every workflow the actor keeps (running ones, and the most recent
    /// finished ones), by id.
    pub async fn workflows(&self) -> Result<Vec<WorkflowStatus>, ActorError> {
        self.send(Target::Workflow(WorkflowOp::List), Payload::local(()))
            .await?
            .decode()
    }

    /// Delivers `args` to `target` and returns the answer, untyped (see [`Calling`]).
    pub fn send(&self, target: Target, args: Payload) -> Calling<'_> {
        match &self.via {
            Via::InProcess(route) => route.call(target, args),
            Via::Route(route) => Calling::boxed(route.call(target, args)),
        }
    }

    /// Destroys the actor: calls still waiting get `actor/destroyed`, `on_destroy` runs,
    /// and every stored byte of it is removed. Returns once that is done, or
    /// `actor/storage_error` if the storage could not be removed (the actor is then still
    /// there, and wakes on the next call).
    pub async fn destroy(&self) -> Result<(), ActorError> {
        match &self.via {
            Via::InProcess(route) => route.destroy().await,
            Via::Route(route) => route.destroy().await,
        }
    }

    /// Opens a connection to the actor (one WebSocket, for a remote handle) and gives a
    /// handle whose action calls travel over it; wrap it in the typed handle with `From`.
    /// The connection detects a dead server (pings with a deadline) and reconnects with
    /// backoff; an action in flight when it drops fails with `client/unreachable` (it may
    /// or may not have run), later ones wait for the next connection. Other calls (queue
    /// sends, destroy) go through the handle it was opened from. It closes when the last
    /// clone of the handle is dropped.
    ///
    /// ```no_run
    /// # use actor::prelude::*;
    /// # #[actor] #[derive(Clone, Default, Serialize, Deserialize)] pub struct Dial { n: i64 }
    /// # #[actor] impl Dial { #[action] async fn increment(&mut self, by: i64) -> i64 { self.n += by; self.n } }
    /// # #[tokio::main] async fn main() -> Result<(), ActorError> {
    /// let client = Client::remote("http://127.0.0.1:6420");
    /// let dial = Dial::get_or_create(&client, ["a"]).await?;
    /// let live = DialHandle::from(dial.connect().await?);
    /// live.increment(1).await?; // over the socket
    /// # Ok(()) }
    /// ```
    pub async fn connect(&self) -> Result<ActorHandle, ActorError> {
        self.connect_with(&()).await
    }

    /// [`connect`](Self::connect) with connection params, which the actor's
    /// `#[on_before_connect]` reads (and may refuse: then this is its error).
    ///
    /// ```
    /// use actor::prelude::*;
    ///
    /// #[actor]
    /// #[derive(Clone, Default, Serialize, Deserialize)]
    /// pub struct Door { opened: u32 }
    ///
    /// #[actor]
    /// impl Door {
    ///     #[on_before_connect]
    ///     async fn check(&self, code: u32) -> Result<(), ActorError> {
    ///         if code == 1234 { Ok(()) } else { Err(ActorError::new("door", "wrong_code", "try again")) }
    ///     }
    ///
    ///     #[action]
    ///     async fn open(&mut self) -> u32 { self.opened += 1; self.opened }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ActorError> {
    /// let registry = registry::Registry::builder().memory().build().await?;
    /// let door = registry.client().get_or_create::<Door>("front").await?;
    /// let err = door.connect_with(&9999).await.unwrap_err();
    /// assert_eq!(err.code(), "wrong_code");
    /// let inside = DoorHandle::from(door.connect_with(&1234).await?);
    /// assert_eq!(inside.open().await?, 1);
    /// # registry.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn connect_with<P: Serialize + ?Sized>(
        &self,
        params: &P,
    ) -> Result<ActorHandle, ActorError> {
        let params = Payload::Encoded(Encoding::Json, Encoding::Json.encode(params)?);
        match &self.via {
            Via::InProcess(route) => route.connect(self.clone(), params).await,
            Via::Route(route) => route.connect(params).await,
        }
    }

    /// The events of type `E` (all its names) that the actor sends this connection, as a
    /// stream; the handle must come from [`connect`](Self::connect). Over a remote
    /// connection, the subscriptions are made again after each reconnection.
    ///
    /// ```
    /// use actor::prelude::*;
    ///
    /// #[actor(events = BellEvent)]
    /// #[derive(Clone, Default, Serialize, Deserialize)]
    /// pub struct Bell { rung: u32 }
    ///
    /// #[derive(Debug, PartialEq, Events)]
    /// pub enum BellEvent { Rang(u32) }
    ///
    /// #[actor]
    /// impl Bell {
    ///     #[action]
    ///     async fn ring(&mut self, ctx: &Ctx<Self>) -> Result<(), ActorError> {
    ///         self.rung += 1;
    ///         ctx.broadcast(BellEvent::Rang(self.rung))
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ActorError> {
    /// let registry = registry::Registry::builder().memory().build().await?;
    /// let bell = registry.client().get_or_create::<Bell>("door").await?;
    /// let live = BellHandle::from(bell.connect().await?);
    /// let mut events = live.events::<BellEvent>().await?;
    /// bell.ring().await?;
    /// assert_eq!(events.next().await.transpose()?, Some(BellEvent::Rang(1)));
    /// # registry.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn events<E: Events>(&self) -> Result<EventStream<E>, ActorError> {
        let raw = match &self.via {
            Via::InProcess(route) => route.events(E::NAMES).await?,
            Via::Route(route) => route.events(E::NAMES).await?,
        };
        Ok(EventStream::new(raw))
    }

    /// Asks the actor to sleep now and waits until it has. A route that cannot reach
    /// the actor says so.
    pub async fn sleep(&self) -> Result<(), ActorError> {
        match &self.via {
            Via::InProcess(route) => {
                route.sleep().await;
                Ok(())
            }
            Via::Route(route) => route.sleep().await,
        }
    }
}
