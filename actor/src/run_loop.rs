//! `#[run]` loops: one long-running method per actor that takes messages itself, from the
//! queues declared for it (`#[queue] fn tick(tick: Tick);`, without a body), and reaches
//! the state only through exclusive turns it opens ([`Loop::turn`], [`Loop::complete`]),
//! so actions and handlers keep running while it waits. See `docs/queues.md`.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::{self, BoxStream, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::ctx::{Ctx, KeepAwake};
use crate::definition::Actor;
use crate::error::ActorError;
use crate::instance::looping::Backend;
use crate::payload::{Encoding, Payload};
use crate::queue::MessageId;

/// What a `#[run]` loop receives: its way to the actor's messages and state.
///
/// Cloning is cheap; a clone may be moved into tasks the loop spawns.
///
/// ```
/// use std::time::Duration;
/// use actor::prelude::*;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Poller { polls: u32, commands: Vec<String> }
///
/// #[actor]
/// impl Poller {
///     /// Consumed by the loop below: no body.
///     #[queue]
///     fn command(command: String);
///
///     #[run]
///     async fn run(lp: Loop<Self>) -> Result<(), ActorError> {
///         loop {
///             match lp.next(&["command"], Duration::from_secs(5)).await? {
///                 Some(message) => {
///                     let command: String = message.decode()?;
///                     lp.complete(message, move |state, _| state.commands.push(command)).await?;
///                 }
///                 // The timeout is the loop's tick.
///                 None => lp.turn(|state, _| state.polls += 1).await?,
///             }
///         }
///     }
/// }
/// ```
pub struct Loop<A: Actor> {
    backend: Arc<Backend<A>>,
    /// Held while the loop works, given back while it waits for messages: a loop
    /// waiting in `next` does not keep the actor awake.
    awake: Arc<Mutex<Option<KeepAwake>>>,
}

impl<A: Actor> Clone for Loop<A> {
    fn clone(&self) -> Self {
        Self {
            backend: self.backend.clone(),
            awake: self.awake.clone(),
        }
    }
}

impl<A: Actor> fmt::Debug for Loop<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loop").field("actor", &A::NAME).finish()
    }
}

/// A message a loop took from one of its queues. Complete it in a turn
/// ([`Loop::complete`]): it is removed in that turn's commit. One the loop does not
/// complete is delivered again when the loop restarts or the actor wakes.
pub struct Received {
    /// The message's id.
    pub id: MessageId,
    /// Its queue.
    pub queue: &'static str,
    /// 1 the first time this instance delivers it, more each time the loop restarted
    /// after taking it (a wake counts from 1 again).
    pub attempt: u32,
    encoding: Encoding,
    body: Vec<u8>,
    /// Messages of the same queue folded into this one ([`Loop::next_coalesced`]),
    /// removed with it.
    absorbed: Vec<u64>,
}

impl fmt::Debug for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Received")
            .field("id", &self.id)
            .field("queue", &self.queue)
            .field("attempt", &self.attempt)
            .field("absorbed", &self.absorbed.len())
            .finish()
    }
}

impl Received {
    pub(crate) fn new(id: u64, queue: &'static str, attempt: u32, message: Payload) -> Self {
        let (encoding, body) = match message {
            Payload::Encoded(encoding, body) => (encoding, body),
            Payload::Local(_) => (Encoding::Json, Vec::new()),
        };
        Self {
            id: MessageId::from(id),
            queue,
            attempt,
            encoding,
            body,
            absorbed: Vec::new(),
        }
    }

    /// The message as `T`; `queue/message_invalid` if it does not decode.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ActorError> {
        self.encoding.decode(&self.body).map_err(|err| {
            ActorError::message_invalid(self.queue, std::any::type_name::<T>(), err.message())
        })
    }

    /// How many later messages of its queue were folded into it.
    pub fn absorbed(&self) -> usize {
        self.absorbed.len()
    }

    /// The ids removed when this message is completed: its own and those folded into it.
    pub(crate) fn ids(&self) -> Vec<u64> {
        std::iter::once(self.id.get())
            .chain(self.absorbed.iter().copied())
            .collect()
    }
}

/// A wait that never ends on its own, for [`Loop::stream`].
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl<A: Actor> Loop<A> {
    pub(crate) fn new(backend: Arc<Backend<A>>, awake: KeepAwake) -> Self {
        Self {
            backend,
            awake: Arc::new(Mutex::new(Some(awake))),
        }
    }

    /// The actor's context: its id, key, vars and client.
    pub fn ctx(&self) -> &Ctx<A> {
        self.backend.ctx()
    }

    /// The next message of any of `queues`, oldest first, or `None` after `timeout` (a
    /// loop's tick). `actor/stopped` once the actor is going to sleep or being
    /// destroyed: return from the loop then (with `?`). A name that is not one of the
    /// loop's queues is `queue/not_found`.
    pub async fn next(
        &self,
        queues: &[&str],
        timeout: Duration,
    ) -> Result<Option<Received>, ActorError> {
        Ok(self.next_batch(queues, 1, timeout).await?.pop())
    }

    /// Up to `max` messages of any of `queues`, oldest first, once at least one is
    /// there; empty after `timeout`.
    pub async fn next_batch(
        &self,
        queues: &[&str],
        max: usize,
        timeout: Duration,
    ) -> Result<Vec<Received>, ActorError> {
        let indexes = self.backend.queue_indexes(queues)?;
        let deadline = Instant::now() + timeout;
        loop {
            let arrived = self.backend.arrived();
            let mut arrived = std::pin::pin!(arrived.notified());
            arrived.as_mut().enable();
            let taken = self.backend.take(&indexes, max.max(1))?;
            if !taken.is_empty() {
                return Ok(taken);
            }
            let waited = self.waiting(async {
                tokio::select! {
                    () = arrived => Ok(true),
                    () = tokio::time::sleep_until(deadline) => Ok(false),
                    () = self.backend.cancelled() => Err(self.backend.stopped()),
                }
            });
            if !waited.await? {
                return Ok(Vec::new());
            }
        }
    }

    /// The messages of `queues` as a stream, each as it arrives; it ends with
    /// `actor/stopped` when the actor stops.
    pub fn stream(
        &self,
        queues: &'static [&'static str],
    ) -> BoxStream<'static, Result<Received, ActorError>> {
        let lp = self.clone();
        stream::unfold(Some(lp), move |lp| async move {
            let lp = lp?;
            match lp.next(queues, FOREVER).await {
                Ok(Some(message)) => Some((Ok(message), Some(lp))),
                Ok(None) => Some((Err(lp.backend.stopped()), None)),
                Err(err) => Some((Err(err), None)),
            }
        })
        .boxed()
    }

    /// Like [`next`](Self::next), but a message of one of `coalesce` waits `window` for
    /// more of its queue and takes them with it, so a burst of ticks runs once; messages
    /// of other queues keep their order and come on the next call.
    pub async fn next_coalesced(
        &self,
        queues: &[&str],
        coalesce: &[&str],
        window: Duration,
        timeout: Duration,
    ) -> Result<Option<Received>, ActorError> {
        let Some(mut first) = self.next(queues, timeout).await? else {
            return Ok(None);
        };
        if coalesce.contains(&first.queue) {
            tokio::select! {
                () = tokio::time::sleep(window) => {}
                () = self.backend.cancelled() => return Err(self.backend.stopped()),
            }
            first.absorbed = self.backend.take_rest_of(first.queue, first.id.get())?;
        }
        Ok(Some(first))
    }

    /// Runs `change` as an exclusive turn on the state, in order with the actor's calls
    /// and messages, and returns its result once the turn's writes are durable. It is a
    /// plain closure: do the waiting (requests, timers) in the loop, and the change here.
    pub async fn turn<R, F>(&self, change: F) -> Result<R, ActorError>
    where
        R: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce(&mut A, &Ctx<A>) -> R + Send + 'static,
    {
        self.backend.turn(Vec::new(), change).await
    }

    /// Completes `message`: runs `change` as an exclusive turn, and removes the message
    /// (with those folded into it) in the same commit as the state it produced.
    pub async fn complete<R, F>(&self, message: Received, change: F) -> Result<R, ActorError>
    where
        R: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce(&mut A, &Ctx<A>) -> R + Send + 'static,
    {
        self.backend.turn(message.ids(), change).await
    }

    /// Completes several messages in one turn (see [`complete`](Self::complete)).
    pub async fn complete_all<R, F>(
        &self,
        messages: Vec<Received>,
        change: F,
    ) -> Result<R, ActorError>
    where
        R: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce(&mut A, &Ctx<A>) -> R + Send + 'static,
    {
        let ids = messages.iter().flat_map(Received::ids).collect();
        self.backend.turn(ids, change).await
    }

    /// Resolves when the actor is going to sleep or being destroyed: the loop then has
    /// the kind's `sleep_grace` to finish (it may still run turns) before it is stopped.
    pub async fn cancelled(&self) {
        self.waiting(self.backend.cancelled()).await;
    }

    /// Whether the actor is going to sleep or being destroyed.
    pub fn is_cancelled(&self) -> bool {
        self.backend.is_cancelled()
    }

    /// Runs `wait` with the actor free to sleep, and holds it awake again after.
    async fn waiting<F: Future>(&self, wait: F) -> F::Output {
        let held = self.awake.lock().expect("loop guard").take();
        drop(held);
        let out = wait.await;
        let mut awake = self.awake.lock().expect("loop guard");
        if awake.is_none() {
            *awake = Some(self.backend.ctx().keep_awake());
        }
        out
    }
}
