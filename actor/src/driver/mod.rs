//! Storage drivers: where actors, their state and (later) their queues, schedules and
//! workflow history live.
//!
//! Every record of an actor is a key/value pair in that actor's own keyspace, so one
//! [`SaveBatch`] commits state and any other record atomically, and destroying an actor
//! removes one keyspace. [`memory`] keeps it in a map (tests); [`sqlite`] keeps it in a
//! SQLite file through sqlx (the embedded default), batching many actors' writes into one
//! transaction.
//!
//! | module | what it holds |
//! |---|---|
//! | [`batch`] | [`SaveBatch`] and [`SaveOp`]: what one commit writes |
//! | [`fence`] | [`Fences`]: refusing the batches built on a failed one |
//! | [`faults`] | [`FaultyDriver`](faults::FaultyDriver): fails commits on purpose, for tests |
//! | [`memory`] | the in-memory driver |
//! | [`sqlite`] | the SQLite driver and its group commit (feature `sqlite`, on by default) |

pub mod batch;
pub mod faults;
pub mod fence;
pub mod memory;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::future::Future;
use std::pin::Pin;

use futures_util::future::BoxFuture;
use tokio::sync::oneshot;

pub use batch::{SaveBatch, SaveOp};
pub use fence::Fences;

use crate::key::{ActorId, ActorKey};

/// The layout of an actor's keyspace: every record the runtime keeps for one actor, in
/// one place. All of them commit in the actor's batches, so a turn's state and the
/// records it staged are atomic together. Keys sort as bytes: numbers inside keys are
/// big-endian, so a prefix scan returns them in order. No prefix is a prefix of another.
///
/// | key | record | written by |
/// |---|---|---|
/// | `state` | the state struct, as JSON | every turn that changes it |
/// | `q/<queue>/<seq>` | a message waiting in a queue: a 22-byte header (format, encoding, attempts, sent at, next attempt at), then the body | a send; rewritten by a failed attempt; removed by the turn that handles it |
/// | `qseq` | the last message id the actor reserved (ids are reserved 1,024 at a time, so none is given out twice) | the first send past the last reservation |
/// | `dl/<queue>/<seq>` | a dead letter: a message whose retries ran out, or that no longer decodes (the header, the error as JSON, the body) | the handler's last failed attempt; removed by a replay or a discard |
/// | `s/<id>` | a schedule: what to call, when, how often | `ctx.schedule()`, a firing |
/// | `wf/<id>` | a workflow: a 13-byte header (format, due at, description length), its name, status, times and error as JSON, its input, its output | its start, its end, a cancel or a retry |
/// | `wh/<id>\0<seq>` | one entry of a workflow's history, numbered in the order it was first recorded: the header, its location, kind, status, attempts, error and times as JSON, its result | the turn that records the entry; removed with its loop's old iterations, or with its workflow |
/// | `c/<connection>` | reserved: connection state is kept in memory, with the instance (`docs/connections.md`) | nothing yet |
///
/// When an actor is due (a schedule, a workflow's durable sleep) is not a record of its
/// own keyspace but the driver's cross-actor alarm index.
///
/// ```
/// use actor::driver::keys;
/// let all = [keys::STATE, keys::QUEUE, keys::QUEUE_SEQ, keys::DEAD_LETTERS, keys::SCHEDULES, keys::WORKFLOWS, keys::WORKFLOW_HISTORY, keys::CONNECTIONS, keys::DATABASE_SEQ];
/// for a in all {
///     for b in all {
///         assert!(a == b || !b.starts_with(a), "{:?} is a prefix of {:?}", a, b);
///     }
/// }
/// ```
pub mod keys {
    /// The serialized state struct.
    pub const STATE: &[u8] = b"state";
    /// Queue messages: `q/<queue>/<seq>`.
    pub const QUEUE: &[u8] = b"q/";
    /// The last message id reserved.
    pub const QUEUE_SEQ: &[u8] = b"qseq";
    /// Dead letters: `dl/<queue>/<seq>`.
    pub const DEAD_LETTERS: &[u8] = b"dl/";
    /// Schedules: `s/<id>`.
    pub const SCHEDULES: &[u8] = b"s/";
    /// Workflows: `wf/<id>`.
    pub const WORKFLOWS: &[u8] = b"wf/";
    /// Workflow history entries: `wh/<id>\0<seq>`.
    pub const WORKFLOW_HISTORY: &[u8] = b"wh/";
    /// Reserved for persisted connection data, `c/<connection>`; unused (connection state
    /// lives in memory with its instance).
    pub const CONNECTIONS: &[u8] = b"c/";
    /// The turn of the actor's SQL database whose state this keyspace holds, big-endian
    /// (see `docs/database.md`): written with the state of every turn that changed both.
    pub const DATABASE_SEQ: &[u8] = b"dbseq";
}

/// A failure inside a driver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// A `CreateActor` named a kind and key that already has an actor.
    #[error("an actor of kind `{kind}` already exists under key {key}")]
    AlreadyExists {
        /// The kind.
        kind: String,
        /// The key.
        key: ActorKey,
    },
    /// The backend failed; the message carries its cause.
    #[error("{0}")]
    Backend(String),
    /// Refused without being tried: an earlier batch of the same actor and epoch failed,
    /// and this one was built on it (see [`Fences`]).
    #[error(
        "not committed: an earlier write of this actor failed ({cause}) and this one was built on it"
    )]
    Fenced {
        /// Why the earlier batch failed.
        cause: String,
    },
}

/// One stored record: its key and value.
pub type Record = (Vec<u8>, Vec<u8>);

/// What the directory knows of a stored actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorRecord {
    /// Its id.
    pub id: ActorId,
    /// Its kind's name.
    pub kind: String,
    /// Its key.
    pub key: ActorKey,
}

/// A stored actor with its state record and its alarm, as a wake reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The actor.
    pub record: ActorRecord,
    /// Its `keys::STATE` record, if it has one.
    pub state: Option<Vec<u8>>,
    /// Its entry in the alarm index, if it has one (Unix ms).
    pub alarm: Option<u64>,
}

/// An actor's entry in the alarm index: it is due at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    /// The actor.
    pub id: ActorId,
    /// Its kind's name, to wake it by.
    pub kind: String,
    /// When it is due, Unix time in milliseconds.
    pub at: u64,
}

/// The outcome of [`Driver::commit`]: already known, or arriving when the batch's
/// transaction commits.
pub enum Commit {
    /// The driver applied the batch during the call.
    Done(Result<(), StorageError>),
    /// The batch is queued; the receiver answers once it is durable.
    Pending(oneshot::Receiver<Result<(), StorageError>>),
}

impl Future for Commit {
    type Output = Result<(), StorageError>;

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.get_mut() {
            Self::Done(result) => std::task::Poll::Ready(std::mem::replace(result, Ok(()))),
            Self::Pending(rx) => Pin::new(rx).poll(cx).map(|r| {
                r.unwrap_or_else(|_| {
                    Err(StorageError::Backend("the storage writer stopped".into()))
                })
            }),
        }
    }
}

/// A place to keep actors.
///
/// The contract every implementation keeps (checked for the built-in drivers by
/// `actor/tests/drivers.rs` and `actor/tests/faults.rs`):
///
/// - each batch is applied atomically: all of its ops or none, its alarm included;
/// - the batches one caller commits are applied in the order of its `commit` calls;
/// - a [`Commit`] resolves `Ok` only once its batch is durable, and every batch it
///   reports failed left nothing behind;
/// - once a batch fails, the later batches of the same actor and epoch are refused
///   with [`StorageError::Fenced`] (keep a [`Fences`]);
/// - a failure leaves the driver usable: when the cause goes away, later batches commit
///   without reopening it.
pub trait Driver: Send + Sync + 'static {
    /// The id of the actor of `kind` under `key`, if one exists.
    fn lookup<'a>(
        &'a self,
        kind: &'a str,
        key: &'a ActorKey,
    ) -> BoxFuture<'a, Result<Option<ActorId>, StorageError>>;

    /// The stored actor with this id, its state record and its alarm, in one read (what
    /// a wake needs), if the actor exists.
    fn load<'a>(&'a self, id: &'a ActorId) -> BoxFuture<'a, Result<Option<Loaded>, StorageError>>;

    /// One record of an actor.
    fn get<'a>(
        &'a self,
        id: &'a ActorId,
        key: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>>;

    /// Every record of an actor whose key starts with `prefix`, in key order.
    fn scan<'a>(
        &'a self,
        id: &'a ActorId,
        prefix: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<Record>, StorageError>>;

    /// Up to `limit` actors of `kind` in id order, starting after `after` (a page of a
    /// listing: pass the last id of the previous page).
    fn list<'a>(
        &'a self,
        kind: &'a str,
        after: Option<&'a ActorId>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<ActorRecord>, StorageError>>;

    /// The alarm index: up to `limit` actors due at or before `until` (Unix ms), earliest
    /// first (ties by id). `earliest_alarms(u64::MAX, 1)` is the next alarm of all.
    fn earliest_alarms(
        &self,
        until: u64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Alarm>, StorageError>>;

    /// Queues `batch` for an atomic commit. The ordering is fixed when this returns; the
    /// [`Commit`] says when the batch is durable.
    fn commit(&self, batch: SaveBatch) -> Commit;
}
