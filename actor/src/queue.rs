//! Durable queues: what a send returns, what a handler can read about the message it
//! handles, dead letters, and how messages are stored.
//!
//! A queue belongs to one actor instance. `#[queue]` on a method declares one; the typed
//! handle gets a method of the same name that sends to it ([`QueueSend`]). A message is
//! stored before the send returns, its handler runs as an exclusive turn in arrival order
//! (interleaved with actions), and it is removed in the same commit as the state its
//! handler produced. See `docs/queues.md`.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::driver::keys;
use crate::error::ActorError;
use crate::handle::ActorHandle;
use crate::payload::{Encoding, Payload};
use crate::route::{Calling, Target};

/// The id of a message, unique among the messages one actor was ever sent: what a send
/// returns, and how dead letters are replayed and discarded.
///
/// ```
/// let id = actor::MessageId::from(7);
/// assert_eq!(id.get(), 7);
/// assert_eq!(id.to_string(), "7");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(u64);

impl MessageId {
    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for MessageId {
    fn from(id: u64) -> Self {
        Self(id)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The message a queue handler is running on, from [`Ctx::delivery`](crate::Ctx::delivery).
///
/// A handler's effect on the state happens once, but a side effect outside the actor
/// (a request to another system) happens at least once: a handler that failed, or whose
/// process died before its commit, runs again. The attempt number lets it tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The message.
    pub id: MessageId,
    /// Its queue.
    pub queue: &'static str,
    /// 1 on the first attempt, 2 on the first retry, and so on. Failed attempts are
    /// stored, so the count survives a restart; a run cut short by a crash is not one of
    /// them (the message's record is only rewritten when an attempt fails).
    pub attempt: u32,
    /// A sender waits for the handler's result (`.wait(timeout)`); if not, the result is
    /// not encoded.
    pub(crate) awaited: bool,
}

/// A message whose handler failed on its last attempt (or that no longer decodes), kept
/// until it is replayed or discarded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The message's id.
    pub id: MessageId,
    /// Its queue.
    pub queue: String,
    /// How many times the handler ran on it.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub error: ActorError,
    /// When it was sent.
    pub sent_at: SystemTime,
    /// When its last attempt failed.
    pub failed_at: SystemTime,
    /// The message's encoding.
    pub encoding: Encoding,
    /// The message as stored.
    pub body: Vec<u8>,
}

impl DeadLetter {
    /// The message as `T`.
    ///
    /// ```
    /// use actor::{ActorError, DeadLetter, Encoding, MessageId};
    /// let letter = DeadLetter {
    ///     id: MessageId::from(1),
    ///     queue: "tasks".into(),
    ///     attempts: 3,
    ///     error: ActorError::user("boom", "the handler failed"),
    ///     sent_at: std::time::UNIX_EPOCH,
    ///     failed_at: std::time::UNIX_EPOCH,
    ///     encoding: Encoding::Json,
    ///     body: br#""hello""#.to_vec(),
    /// };
    /// assert_eq!(letter.decode::<String>().unwrap(), "hello");
    /// ```
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ActorError> {
        self.encoding.decode(&self.body)
    }
}

/// What a dead-letter call asks of an actor's queues ([`Target::DeadLetters`]).
///
/// ```
/// use actor::queue::DeadLetterOp;
/// assert_ne!(DeadLetterOp::List, DeadLetterOp::Discard(actor::MessageId::from(1)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadLetterOp {
    /// Every dead letter, oldest first; answered with a `Vec<DeadLetter>`.
    List,
    /// Sends the message to its queue again, as a new message; answered with its new
    /// [`MessageId`].
    Replay(MessageId),
    /// Drops it; answered with `()`.
    Discard(MessageId),
}

/// A send to one of an actor's queues, from a typed handle's queue method.
///
/// `.await` it to send and get the [`MessageId`] once the message is durable (its handler
/// runs later); call [`wait`](Self::wait) to get the handler's result instead.
///
/// ```
/// use actor::prelude::*;
/// use std::time::Duration;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Inbox { seen: Vec<String> }
///
/// #[actor]
/// impl Inbox {
///     #[queue]
///     async fn deliver(&mut self, text: String) -> usize {
///         self.seen.push(text);
///         self.seen.len()
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ActorError> {
/// let registry = registry::Registry::builder().memory().build().await?;
/// let inbox = registry.client().get_or_create::<Inbox>("i").await?;
/// let id: actor::MessageId = inbox.deliver("a".into()).await?;
/// let count = inbox.deliver("b".into()).wait(Duration::from_secs(5)).await?;
/// assert_eq!(count, 2);
/// # let _ = id;
/// # registry.shutdown().await;
/// # Ok(()) }
/// ```
#[must_use = "a send does nothing until it is awaited"]
pub struct QueueSend<'a, R> {
    handle: &'a ActorHandle,
    queue: &'static str,
    message: Payload,
    result: PhantomData<fn() -> R>,
}

impl<'a, R: DeserializeOwned + Send + 'static> QueueSend<'a, R> {
    /// A send of `message` to `queue` through `handle`.
    pub fn new(handle: &'a ActorHandle, queue: &'static str, message: Payload) -> Self {
        Self {
            handle,
            queue,
            message,
            result: PhantomData,
        }
    }

    /// Sends the message and waits up to `timeout` for its handler's result (RivetKit's
    /// `enqueueAndWait`). The handler's error reaches the caller with its code, once the
    /// handler's last attempt failed; past the timeout the answer is `queue/timed_out`,
    /// and the message is still handled.
    pub async fn wait(self, timeout: Duration) -> Result<R, ActorError> {
        let target = Target::SendAndWait {
            queue: self.queue.into(),
            timeout,
        };
        self.handle.send(target, self.message).await?.decode()
    }
}

impl<'a, R: Send + 'static> IntoFuture for QueueSend<'a, R> {
    type Output = Result<MessageId, ActorError>;
    type IntoFuture = Sending<'a>;

    fn into_future(self) -> Sending<'a> {
        Sending(
            self.handle
                .send(Target::Send(self.queue.into()), self.message),
        )
    }
}

/// A send on its way (a [`QueueSend`] awaited): its message's id once the message is
/// durable. A named future, so a send allocates none.
///
/// ```
/// # use actor::prelude::*;
/// # #[actor] #[derive(Clone, Default, Serialize, Deserialize)] pub struct Tray { n: u32 }
/// # #[actor] impl Tray { #[queue] async fn drop_in(&mut self, n: u32) { self.n += n; } }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), ActorError> {
/// # let registry = registry::Registry::builder().memory().build().await?;
/// use std::future::IntoFuture;
/// let tray = registry.client().get_or_create::<Tray>("t").await?;
/// let sending: actor::queue::Sending<'_> = tray.drop_in(2).into_future();
/// let id: actor::MessageId = sending.await?;
/// # let _ = id;
/// # registry.shutdown().await;
/// # Ok(()) }
/// ```
#[must_use = "a send does nothing until it is awaited"]
#[derive(Debug)]
pub struct Sending<'a>(Calling<'a>);

impl Future for Sending<'_> {
    type Output = Result<MessageId, ActorError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|sent| sent?.decode())
    }
}

impl<R> fmt::Debug for QueueSend<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueSend")
            .field("queue", &self.queue)
            .finish()
    }
}

/// The key of message `seq` of `queue`: `q/<queue>/<seq>`, the number big-endian.
pub(crate) fn message_key(queue: &str, seq: u64) -> Vec<u8> {
    record_key(keys::QUEUE, queue, seq)
}

/// The key of dead letter `seq` of `queue`: `dl/<queue>/<seq>`.
pub(crate) fn dead_letter_key(queue: &str, seq: u64) -> Vec<u8> {
    record_key(keys::DEAD_LETTERS, queue, seq)
}

fn record_key(prefix: &[u8], queue: &str, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + queue.len() + 9);
    key.extend_from_slice(prefix);
    key.extend_from_slice(queue.as_bytes());
    key.push(b'/');
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The queue and number in a key under `prefix` ([`message_key`], [`dead_letter_key`]).
pub(crate) fn parse_key<'k>(prefix: &[u8], key: &'k [u8]) -> Option<(&'k str, u64)> {
    let rest = key.strip_prefix(prefix)?;
    let (name, seq) = rest.split_at_checked(rest.len().checked_sub(9)?)?;
    let seq = seq.strip_prefix(b"/")?;
    Some((
        std::str::from_utf8(name).ok()?,
        u64::from_be_bytes(seq.try_into().ok()?),
    ))
}

/// The format version of stored messages and dead letters.
const FORMAT: u8 = 1;

fn encoding_byte(encoding: Encoding) -> u8 {
    match encoding {
        Encoding::Json => 0,
        Encoding::Cbor => 1,
    }
}

fn encoding_of(byte: u8) -> Option<Encoding> {
    match byte {
        0 => Some(Encoding::Json),
        1 => Some(Encoding::Cbor),
        _ => None,
    }
}

/// A message as stored under `q/<queue>/<seq>`: a 22-byte header (format, encoding,
/// attempts so far, sent at and next attempt at in Unix ms, big-endian), then the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredMessage {
    pub(crate) attempts: u32,
    pub(crate) sent_ms: u64,
    /// When the next attempt is due; `sent_ms` for a message not tried yet.
    pub(crate) due_ms: u64,
    pub(crate) encoding: Encoding,
    pub(crate) body: Vec<u8>,
}

const HEADER: usize = 22;

impl StoredMessage {
    /// A message sent at `now_ms`, not tried yet.
    pub(crate) fn new(encoding: Encoding, body: Vec<u8>, now_ms: u64) -> Self {
        Self {
            attempts: 0,
            sent_ms: now_ms,
            due_ms: now_ms,
            encoding,
            body,
        }
    }

    /// The record, built in place in its shared buffer (one allocation).
    pub(crate) fn encode(&self) -> std::sync::Arc<[u8]> {
        let mut header = [0u8; HEADER];
        header[0] = FORMAT;
        header[1] = encoding_byte(self.encoding);
        header[2..6].copy_from_slice(&self.attempts.to_be_bytes());
        header[6..14].copy_from_slice(&self.sent_ms.to_be_bytes());
        header[14..22].copy_from_slice(&self.due_ms.to_be_bytes());
        header.iter().chain(&self.body).copied().collect()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let (header, body) = bytes.split_at_checked(HEADER)?;
        if header[0] != FORMAT {
            return None;
        }
        Some(Self {
            encoding: encoding_of(header[1])?,
            attempts: u32::from_be_bytes(header[2..6].try_into().ok()?),
            sent_ms: u64::from_be_bytes(header[6..14].try_into().ok()?),
            due_ms: u64::from_be_bytes(header[14..22].try_into().ok()?),
            body: body.to_vec(),
        })
    }

    /// When the message stored as `bytes` is due (its next attempt), from its header.
    pub(crate) fn due_in(bytes: &[u8]) -> Option<u64> {
        let header = bytes.get(..HEADER)?;
        if header[0] != FORMAT {
            return None;
        }
        Some(u64::from_be_bytes(header[14..22].try_into().ok()?))
    }

    /// The dead letter this message becomes after failing with `error` at `failed_ms`.
    pub(crate) fn dead(&self, error: &ActorError, failed_ms: u64) -> Vec<u8> {
        let error = serde_json::to_vec(error).unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER + 4 + error.len() + self.body.len());
        out.push(FORMAT);
        out.push(encoding_byte(self.encoding));
        out.extend_from_slice(&self.attempts.to_be_bytes());
        out.extend_from_slice(&self.sent_ms.to_be_bytes());
        out.extend_from_slice(&failed_ms.to_be_bytes());
        out.extend_from_slice(&u32::try_from(error.len()).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&error);
        out.extend_from_slice(&self.body);
        out
    }
}

/// A dead letter as stored under `dl/<queue>/<seq>`: the message header with the time it
/// failed in place of the next attempt, then the error as JSON (its length first), then
/// the body.
pub(crate) fn read_dead_letter(queue: &str, seq: u64, bytes: &[u8]) -> Option<DeadLetter> {
    let (header, rest) = bytes.split_at_checked(HEADER + 4)?;
    if header[0] != FORMAT {
        return None;
    }
    let error_len = usize::try_from(u32::from_be_bytes(header[22..26].try_into().ok()?)).ok()?;
    let (error, body) = rest.split_at_checked(error_len)?;
    Some(DeadLetter {
        id: MessageId(seq),
        queue: queue.to_string(),
        attempts: u32::from_be_bytes(header[2..6].try_into().ok()?),
        error: serde_json::from_slice(error).ok()?,
        sent_at: crate::clock::system_time(u64::from_be_bytes(header[6..14].try_into().ok()?)),
        failed_at: crate::clock::system_time(u64::from_be_bytes(header[14..22].try_into().ok()?)),
        encoding: encoding_of(header[1])?,
        body: body.to_vec(),
    })
}

/// The message a dead letter held, to send again.
pub(crate) fn revive(letter: &DeadLetter, now_ms: u64) -> StoredMessage {
    StoredMessage::new(letter.encoding, letter.body.clone(), now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_sort_by_number() {
        let a = message_key("tasks", 2);
        let b = message_key("tasks", 256);
        assert!(a < b);
        assert_eq!(parse_key(keys::QUEUE, &b), Some(("tasks", 256)));
        // A number whose bytes hold a `/` still parses.
        let slash = message_key("tasks", u64::from(b'/'));
        assert_eq!(parse_key(keys::QUEUE, &slash), Some(("tasks", 47)));
        assert_eq!(parse_key(keys::DEAD_LETTERS, &b), None);
        assert_eq!(parse_key(keys::QUEUE, b"q/x"), None);
        assert_eq!(
            parse_key(keys::DEAD_LETTERS, &dead_letter_key("a", 9)),
            Some(("a", 9))
        );
    }

    #[test]
    fn records_round_trip() {
        let message = StoredMessage {
            attempts: 2,
            sent_ms: 1_000,
            due_ms: 5_000,
            encoding: Encoding::Cbor,
            body: vec![1, 2, 3],
        };
        assert_eq!(
            StoredMessage::decode(&message.encode()),
            Some(message.clone())
        );
        assert_eq!(StoredMessage::decode(&[9; 30]), None, "unknown format");
        assert_eq!(StoredMessage::decode(&[1; 5]), None, "too short");
        let error = ActorError::user("boom", "it failed");
        let letter = read_dead_letter("tasks", 4, &message.dead(&error, 7_000)).unwrap();
        assert_eq!(
            (
                letter.id,
                letter.attempts,
                letter.error.clone(),
                letter.body.clone()
            ),
            (MessageId(4), 2, error, vec![1, 2, 3])
        );
        assert_eq!(letter.failed_at, crate::clock::system_time(7_000));
        assert_eq!(revive(&letter, 9).attempts, 0);
    }
}
