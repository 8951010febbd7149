//! Clients: how callers find actors and get typed handles to them.
//!
//! A [`Client`] is built by a registry and resolves an address (kind + key, or id) to a
//! live instance through the registry's directory; the handles it returns reach their
//! actor over the in-process [`route`](crate::route). A handle over any other route (the
//! network client, a test's) is made with [`ActorHandle::from_route`], and the typed
//! handles on top do not change.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::definition::Actor;
use crate::error::ActorError;
use crate::handle::ActorHandle;
use crate::key::{ActorId, ActorKey};
use crate::mailbox::Mailbox;
use crate::payload::{Encoding, Payload};

/// Where a handle points.
#[derive(Clone, Debug)]
pub enum Address {
    /// The actor of a kind under a key.
    Key {
        /// The key.
        key: ActorKey,
        /// Whether to create it when missing.
        create: CreateMode,
    },
    /// One instance by id.
    Id(ActorId),
}

/// What to do when no actor lives under a key.
#[derive(Clone, Debug)]
pub enum CreateMode {
    /// Fail with `actor/not_found`.
    Never,
    /// Create it with this input (JSON).
    IfMissing(Vec<u8>),
    /// Create it with this input (JSON); fail with `actor/already_exists` if it exists.
    Always(Vec<u8>),
}

impl CreateMode {
    /// The input to create with, as a payload.
    pub fn input(&self) -> Option<Payload> {
        match self {
            Self::Never => None,
            Self::IfMissing(bytes) | Self::Always(bytes) => {
                Some(Payload::Encoded(Encoding::Json, bytes.clone()))
            }
        }
    }
}

/// A live instance found for an address (the registry's side of a client).
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Its id.
    pub id: ActorId,
    /// Its kind's name, as registered.
    pub kind: &'static str,
    /// Its inbox.
    pub mailbox: Mailbox,
}

/// Finds, wakes and creates actors for a [`Client`]: the registry's directory, which is
/// also the host its instances report to.
#[doc(hidden)]
pub trait Transport: crate::instance::Host {
    /// Resolves `address` within `kind` to an awake instance.
    fn resolve<'a>(
        &'a self,
        kind: &'a str,
        address: &'a Address,
    ) -> BoxFuture<'a, Result<Resolved, ActorError>>;
}

/// The entry point to actors: cheap to clone, shareable across tasks.
///
/// ```
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Room { messages: Vec<String> }
///
/// #[actor]
/// impl Room {
///     #[action]
///     async fn post(&mut self, text: String) -> usize {
///         self.messages.push(text);
///         self.messages.len()
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ActorError> {
/// let registry = registry::Registry::builder().memory().build().await?;
/// let client: Client = registry.client();
/// let room = client.get_or_create::<Room>(["lobby"]).await?;
/// assert_eq!(room.post("hi".into()).await?, 1);
/// let same = client.get::<Room>(["lobby"]).await?;
/// assert_eq!(same.id(), room.id());
/// # registry.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    reach: Reach,
}

/// How a client reaches actors.
#[derive(Clone)]
enum Reach {
    /// Through a registry in this process.
    InProcess(Arc<dyn Transport>),
    /// Through a server, over the network (feature `client`).
    #[cfg(feature = "client")]
    Remote(Arc<crate::remote::Remote>),
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Client")
    }
}

impl Client {
    /// A client over `transport` (built by the registry).
    #[doc(hidden)]
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Self {
            reach: Reach::InProcess(transport),
        }
    }

    /// The registry's transport, for a client in this process.
    pub(crate) fn transport(&self) -> Option<&Arc<dyn Transport>> {
        match &self.reach {
            Reach::InProcess(transport) => Some(transport),
            #[cfg(feature = "client")]
            Reach::Remote(_) => None,
        }
    }

    /// A client over a server (see [`crate::remote`]).
    #[cfg(feature = "client")]
    pub(crate) fn over(remote: Arc<crate::remote::Remote>) -> Self {
        Self {
            reach: Reach::Remote(remote),
        }
    }

    /// Resolves an untyped handle; the typed constructors below are built on it.
    ///
    /// The kind is named at run time (a name from a request, say); an unknown one is
    /// `actor/kind_not_registered`.
    pub async fn handle(&self, kind: &str, address: Address) -> Result<ActorHandle, ActorError> {
        // From now on the handle follows this instance by id: a destroyed actor is not
        // silently re-created behind a handle that pointed at it.
        match &self.reach {
            Reach::InProcess(transport) => {
                let resolved = transport.resolve(kind, &address).await?;
                Ok(ActorHandle::new(transport.clone(), resolved))
            }
            #[cfg(feature = "client")]
            Reach::Remote(remote) => remote.handle(kind, address).await,
        }
    }

    /// A handle to the existing actor of kind `A` under `key`; `actor/not_found` if none.
    pub async fn get<A: Actor>(&self, key: impl Into<ActorKey>) -> Result<A::Handle, ActorError> {
        let address = Address::Key {
            key: key.into(),
            create: CreateMode::Never,
        };
        self.handle(A::NAME, address).await.map(A::Handle::from)
    }

    /// A handle to the actor of kind `A` with this id; `actor/not_found` if none.
    pub async fn get_for_id<A: Actor>(
        &self,
        id: impl Into<ActorId>,
    ) -> Result<A::Handle, ActorError> {
        self.handle(A::NAME, Address::Id(id.into()))
            .await
            .map(A::Handle::from)
    }

    /// Creates the actor of kind `A` under `key`; `actor/already_exists` if one lives there.
    /// Await it directly when the input has a default, or give one with
    /// [`Create::input`].
    pub fn create<A: Actor>(&self, key: impl Into<ActorKey>) -> Create<A> {
        Create {
            client: self.clone(),
            key: key.into(),
            input: DefaultInput,
            if_missing: false,
            actor: PhantomData,
        }
    }

    /// A handle to the actor of kind `A` under `key`, creating it first if it is missing.
    /// The input (see [`Create::input`]) is used only if it creates.
    pub fn get_or_create<A: Actor>(&self, key: impl Into<ActorKey>) -> Create<A> {
        Create {
            if_missing: true,
            ..self.create(key)
        }
    }
}

/// The input a [`Create`] will use: the default, or one given.
pub trait CreateInput<A: Actor>: Send {
    /// The value.
    fn into_input(self) -> A::Input;
}

/// No input given: use `Default`.
#[derive(Debug, Clone, Copy)]
pub struct DefaultInput;

/// An input given with [`Create::input`].
#[derive(Debug, Clone)]
pub struct GivenInput<T>(T);

impl<A: Actor> CreateInput<A> for DefaultInput
where
    A::Input: Default,
{
    fn into_input(self) -> A::Input {
        A::Input::default()
    }
}

impl<A: Actor> CreateInput<A> for GivenInput<A::Input> {
    fn into_input(self) -> A::Input {
        self.0
    }
}

/// A pending `create` or `get_or_create`; await it.
#[must_use = "a Create does nothing until awaited"]
pub struct Create<A: Actor, I = DefaultInput> {
    client: Client,
    key: ActorKey,
    input: I,
    if_missing: bool,
    actor: PhantomData<fn() -> A>,
}

impl<A: Actor> Create<A, DefaultInput> {
    /// The value `#[on_create]` receives.
    pub fn input(self, input: A::Input) -> Create<A, GivenInput<A::Input>> {
        Create {
            client: self.client,
            key: self.key,
            input: GivenInput(input),
            if_missing: self.if_missing,
            actor: PhantomData,
        }
    }
}

impl<A: Actor, I: CreateInput<A> + 'static> IntoFuture for Create<A, I> {
    type Output = Result<A::Handle, ActorError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let input = serde_json::to_vec(&self.input.into_input()).map_err(|e| {
                ActorError::serialization_failed(
                    format_args!("the create input of `{}`", A::NAME),
                    e,
                )
            })?;
            let create = if self.if_missing {
                CreateMode::IfMissing(input)
            } else {
                CreateMode::Always(input)
            };
            let address = Address::Key {
                key: self.key,
                create,
            };
            self.client
                .handle(A::NAME, address)
                .await
                .map(A::Handle::from)
        })
    }
}

/// `Counter::get_or_create(&client, key)` and friends, on every actor type.
///
/// If an actor has an action of the same name (`get`, say), the inherent method wins:
/// write `client.get::<Counter>(key)` instead.
///
/// ```
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Tally { n: u64 }
///
/// #[actor]
/// impl Tally {
///     #[action]
///     async fn bump(&mut self) -> u64 { self.n += 1; self.n }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ActorError> {
/// let registry = registry::Registry::builder().memory().build().await?;
/// let client = registry.client();
/// let tally = Tally::get_or_create(&client, ["t"]).await?;
/// assert_eq!(tally.bump().await?, 1);
/// assert!(Tally::create(&client, ["t"]).await.unwrap_err().is(actor::codes::ALREADY_EXISTS));
/// # registry.shutdown().await;
/// # Ok(()) }
/// ```
pub trait ActorLookup: Actor {
    /// See [`Client::get`].
    fn get(
        client: &Client,
        key: impl Into<ActorKey>,
    ) -> impl Future<Output = Result<Self::Handle, ActorError>> + Send {
        let (client, key) = (client.clone(), key.into());
        async move { client.get::<Self>(key).await }
    }

    /// See [`Client::get_for_id`].
    fn get_for_id(
        client: &Client,
        id: impl Into<ActorId>,
    ) -> impl Future<Output = Result<Self::Handle, ActorError>> + Send {
        let (client, id) = (client.clone(), id.into());
        async move { client.get_for_id::<Self>(id).await }
    }

    /// See [`Client::create`].
    fn create(client: &Client, key: impl Into<ActorKey>) -> Create<Self> {
        client.create::<Self>(key)
    }

    /// See [`Client::get_or_create`].
    fn get_or_create(client: &Client, key: impl Into<ActorKey>) -> Create<Self> {
        client.get_or_create::<Self>(key)
    }
}

impl<A: Actor> ActorLookup for A {}
