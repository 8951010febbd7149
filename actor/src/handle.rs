//! The untyped core of every typed handle.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{Client, Resolved};
use crate::error::ActorError;
use crate::key::ActorId;
use crate::payload::{Encoding, Payload};
use crate::route::{InProcess, Route, Target};

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
    pub(crate) fn new(client: Client, resolved: Resolved) -> Self {
        Self {
            via: Via::InProcess(Arc::new(InProcess::new(client, resolved))),
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
        let target = Target::action(action.into());
        match self.send(target, Payload::Encoded(encoding, args)).await? {
            Payload::Encoded(_, bytes) => Ok(bytes),
            Payload::Local(_) => Err(ActorError::internal(
                "encoded call",
                "the actor answered an encoded call with a typed value",
            )),
        }
    }

    /// Delivers `args` to `target` and returns the answer, untyped.
    pub async fn send(&self, target: Target, args: Payload) -> Result<Payload, ActorError> {
        match &self.via {
            Via::InProcess(route) => route.call(target, args).await,
            Via::Route(route) => route.call(target, args).await,
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
