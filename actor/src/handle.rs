//! The untyped core of every typed handle.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{Address, Client, Resolved};
use crate::error::{ActorError, codes};
use crate::key::ActorId;
use tokio::sync::oneshot;

use crate::mailbox::{Asked, Mailbox, Rejected, Reply};
use crate::payload::{Encoding, Payload};

/// A handle to one actor, untyped. `#[actor]` wraps it in `<Struct>Handle`, which derefs
/// to it, so `id()`, `destroy()` and dynamic calls are there on every typed handle.
///
/// The handle follows its actor across sleeps: a call to a sleeping actor wakes it.
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
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    kind: &'static str,
    current: Mutex<Resolved>,
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

/// How often a call re-resolves an actor that stopped under it before giving up.
const MAX_RESOLVES: usize = 8;

impl fmt::Debug for ActorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorHandle")
            .field("kind", &self.inner.kind)
            .field("id", &self.id())
            .finish()
    }
}

impl ActorHandle {
    pub(crate) fn new(client: Client, kind: &'static str, resolved: Resolved) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                kind,
                current: Mutex::new(resolved),
            }),
        }
    }

    /// The actor kind's name.
    pub fn kind(&self) -> &'static str {
        self.inner.kind
    }

    /// The id of the instance this handle reaches.
    pub fn id(&self) -> ActorId {
        self.inner
            .current
            .lock()
            .expect("handle lock poisoned")
            .id
            .clone()
    }

    fn mailbox(&self) -> Mailbox {
        self.inner
            .current
            .lock()
            .expect("handle lock poisoned")
            .mailbox
            .clone()
    }

    /// Finds the instance again after the one in `stale` stopped.
    async fn refresh(&self, stale: &Mailbox) -> Result<Mailbox, ActorError> {
        {
            let current = self.inner.current.lock().expect("handle lock poisoned");
            if !current.mailbox.is_closed() && !current.mailbox.same_instance(stale) {
                return Ok(current.mailbox.clone());
            }
        }
        let address = Address::Id(self.id());
        let resolved = self
            .inner
            .client
            .transport()
            .resolve(self.inner.kind, &address)
            .await?;
        let mailbox = resolved.mailbox.clone();
        *self.inner.current.lock().expect("handle lock poisoned") = resolved;
        Ok(mailbox)
    }

    /// Calls an action with typed arguments (a tuple of the action's parameters).
    /// Typed handle methods are thin wrappers over this.
    pub async fn call<Args, R>(&self, action: &'static str, args: Args) -> Result<R, ActorError>
    where
        Args: Serialize + Send + 'static,
        R: DeserializeOwned + Send + 'static,
    {
        self.send(Cow::Borrowed(action), Payload::local(args))
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
        match self
            .send(Cow::Owned(action.into()), Payload::Encoded(encoding, args))
            .await?
        {
            Payload::Encoded(_, bytes) => Ok(bytes),
            Payload::Local(_) => Err(ActorError::internal(
                "encoded call",
                "the actor answered an encoded call with a typed value",
            )),
        }
    }

    /// Sends one call, following the actor across sleeps.
    pub async fn send(
        &self,
        action: Cow<'static, str>,
        mut args: Payload,
    ) -> Result<Payload, ActorError> {
        for _ in 0..MAX_RESOLVES {
            // Not under the handle's lock: the call may run in place, and its action may
            // call this same handle.
            let mailbox = self.mailbox();
            let asked = mailbox
                .ask(action.clone(), args)
                .map_err(|rejected| (rejected, mailbox));
            match asked {
                Ok(Asked::Ready(reply)) => {
                    // Answered in place: spend a unit of the task's cooperative budget, as
                    // a channel receive would (see `Mailbox::ask`).
                    tokio::task::consume_budget().await;
                    return reply;
                }
                Ok(Asked::Waiting(reply)) => return self.answer(&action, reply.await),
                Ok(Asked::Yielding(reply)) => {
                    return self.answer(&action, yield_awaiting(reply).await);
                }
                Err((Rejected::Overloaded { capacity }, _)) => {
                    return Err(ActorError::of(
                        codes::OVERLOADED,
                        format!(
                            "actor `{}` ({}) has {capacity} calls waiting; retry later",
                            self.inner.kind,
                            self.id()
                        ),
                    )
                    .with_metadata(serde_json::json!({ "capacity": capacity })));
                }
                Err((Rejected::Closed(returned), stale)) => {
                    args = returned;
                    self.refresh(&stale).await?;
                }
            }
        }
        Err(ActorError::of(
            codes::STOPPED,
            format!(
                "actor `{}` kept stopping while `{action}` was being delivered",
                self.inner.kind
            ),
        ))
    }

    /// The answer a queued call received, or `actor/stopped` if the instance dropped it.
    fn answer(
        &self,
        action: &str,
        received: Result<Reply, oneshot::error::RecvError>,
    ) -> Result<Payload, ActorError> {
        received.unwrap_or_else(|_| {
            Err(ActorError::of(
                codes::STOPPED,
                format!(
                    "actor `{}` stopped before answering `{action}`; it may or may not have run",
                    self.inner.kind
                ),
            ))
        })
    }

    /// Destroys the actor: calls still waiting get `actor/destroyed`, `on_destroy` runs,
    /// and every stored byte of it is removed. Returns once that is done, or
    /// `actor/storage_error` if the storage could not be removed (the actor is then still
    /// there, and wakes on the next call).
    pub async fn destroy(&self) -> Result<(), ActorError> {
        let mut mailbox = self.mailbox();
        if mailbox.is_closed() {
            mailbox = self.refresh(&mailbox).await?;
        }
        mailbox.request_destroy();
        mailbox.stopped().await;
        mailbox.destroy_failure().map_or(Ok(()), Err)
    }

    /// Asks the actor to sleep now and waits until it has.
    pub async fn sleep(&self) {
        let mailbox = self.mailbox();
        mailbox.request_sleep();
        mailbox.stopped().await;
    }
}
