//! Create and wake: bring an actor's state into memory and run its first hooks.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use crate::definition::Actor;
use crate::driver::{SaveOp, keys};
use crate::error::ActorError;
use crate::key::ActorKey;
use crate::queue::{self, StoredMessage};
use tokio::time::Instant;

use futures_util::FutureExt;

use super::Start;
use super::alarm::Alarm;
use super::live::Live;
use super::queues::{Loaded, Queues};
use super::schedules::Book;
use super::scope;
use super::turn::panicked;
use super::workflows::Index;

/// The state an instance starts with, its serialized form as last written, its queues
/// as stored, and its alarm as the index holds it once the start committed.
pub(super) struct Started<A: Actor> {
    pub(super) state: A,
    pub(super) bytes: Arc<[u8]>,
    pub(super) queues: Option<Box<Queues<A>>>,
    pub(super) alarm: Alarm,
}

/// Serializes state into `buf` (cleared first, so one buffer serves every turn); a
/// failure names the type and the fix.
pub(super) fn encode_state<A: Actor>(state: &A, buf: &mut Vec<u8>) -> Result<(), ActorError> {
    buf.clear();
    serde_json::to_writer(&mut *buf, state).map_err(|e| {
        ActorError::serialization_failed(format_args!("the state of actor `{}`", A::NAME), e)
    })
}

/// Deserializes stored state; a failure says how to evolve the struct compatibly.
pub(super) fn decode_state<A: Actor>(bytes: &[u8]) -> Result<A, ActorError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ActorError::internal(
            &format!(
                "the stored state of actor `{}` does not decode as `{}`",
                A::NAME,
                std::any::type_name::<A>()
            ),
            format_args!("{e}; when adding fields to a state struct, give them #[serde(default)]"),
        )
    })
}

/// Bounds a hook by `limit`; a timeout is `actor/action_timed_out` naming the hook.
pub(super) async fn bounded<F>(hook: &str, limit: Duration, f: F) -> Result<(), ActorError>
where
    F: Future<Output = Result<(), ActorError>>,
{
    // A panicking hook is an internal error, not the end of the instance's task.
    match tokio::time::timeout(limit, AssertUnwindSafe(f).catch_unwind()).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(panicked(hook, panic)),
        Err(_) => Err(ActorError::timed_out(hook, limit)),
    }
}

/// Creates or wakes the actor; nothing is stored unless every step succeeds.
pub(super) async fn start<A: Actor>(
    start: Start,
    key: &ActorKey,
    live: &Live<A>,
) -> Result<Started<A>, ActorError> {
    let (ctx, driver, limit) = (&live.ctx, &live.driver, live.config().action_timeout);
    match start {
        Start::Create(input) => {
            let input: A::Input = input.decode()?;
            let created = create(live, key, input).await;
            #[cfg(feature = "sqlite")]
            if created.is_err()
                && let Some(db) = ctx.database()
                && let Err(err) = db.remove().await
            {
                tracing::error!(error = %err, "the actor was not created; its database file could not be removed");
            }
            created
        }
        Start::Wake {
            state: stored,
            alarm: stored_alarm,
        } => {
            let stored = stored.ok_or_else(|| {
                ActorError::not_found(
                    A::NAME,
                    format_args!("with id {} (it has no stored state)", live.id()),
                )
            })?;
            #[cfg(feature = "sqlite")]
            let (stored, ahead) = match super::database::prepare(live, key, Some(stored)).await? {
                (Some(stored), ahead) => (stored, ahead),
                (None, _) => unreachable!("a stored state stays stored"),
            };
            let mut state: A = decode_state(&stored)?;
            // Every stored message and schedule keeps the alarm at or before its time (see
            // `alarm.rs`): an actor without an alarm has none to read.
            let due = stored_alarm.is_some();
            let (queues, unreadable) = load_queues::<A>(live, due).await?;
            if due {
                let records = driver
                    .scan(live.id(), keys::SCHEDULES)
                    .await
                    .map_err(ActorError::from_storage)?;
                ctx.with_book(|book| *book = Book::load(records));
            }
            // Workflows are read at every wake: one waiting for a message has no alarm.
            if !A::WORKFLOWS.is_empty() {
                let records = driver
                    .scan(live.id(), keys::WORKFLOWS)
                    .await
                    .map_err(ActorError::from_storage)?;
                ctx.with_workflows(|index| *index = Index::load::<A>(records));
            }
            let wake = bounded("on_wake", limit, state.on_wake(ctx));
            let (woken, mut staged) = scope::hook(ctx, wake).await;
            let encoded = woken.and_then(|()| {
                let mut buf = Vec::new();
                encode_state(&state, &mut buf).map(|()| buf)
            });
            #[cfg(feature = "sqlite")]
            let encoded = super::database::finish_hook(ctx, encoded, &mut staged).await;
            let bytes = Arc::<[u8]>::from(encoded?);
            #[cfg(feature = "sqlite")]
            staged.extend(ahead);
            staged.extend(unreadable);
            // The alarm made exactly what the stored records need: one left by a crash
            // (earlier than needed, or with nothing due any more) is corrected.
            let mut alarm = Alarm::known(stored_alarm);
            staged.extend(alarm.settle(live.wanted_alarm(queues.as_deref())));
            let covered = live.cover(&mut alarm, queues.as_deref(), &mut None, &staged);
            staged.extend(covered);
            // Workflows `on_wake` started run once the instance opens.
            live.take_workflow_records(&staged, &mut Vec::new());
            if *bytes != *stored || !staged.is_empty() {
                let mut batch = live.batch();
                batch.put(keys::STATE, bytes.clone());
                batch.extend(staged);
                driver
                    .commit(batch)
                    .await
                    .map_err(ActorError::from_storage)?;
            }
            Ok(Started {
                state,
                bytes,
                queues,
                alarm,
            })
        }
    }
}

/// Creates the actor: its database migrated, `on_create` and `on_wake` run, then the
/// actor, its state and what the hooks staged committed in one batch.
async fn create<A: Actor>(
    live: &Live<A>,
    key: &ActorKey,
    input: A::Input,
) -> Result<Started<A>, ActorError> {
    let (ctx, driver, limit) = (&live.ctx, &live.driver, live.config().action_timeout);
    #[cfg(feature = "sqlite")]
    super::database::prepare(live, key, None).await?;
    let mut state = A::default();
    #[cfg_attr(not(feature = "sqlite"), allow(unused_mut))]
    let (hooks, mut staged) = scope::hook(ctx, async {
        bounded("on_create", limit, state.on_create(ctx, input)).await?;
        bounded("on_wake", limit, state.on_wake(ctx)).await
    })
    .await;
    let encoded = hooks.and_then(|()| {
        let mut buf = Vec::new();
        encode_state(&state, &mut buf).map(|()| buf)
    });
    #[cfg(feature = "sqlite")]
    let encoded = super::database::finish_hook(ctx, encoded, &mut staged).await;
    let bytes = Arc::<[u8]>::from(encoded?);
    let queues = has_queues::<A>().then(|| {
        let clock = live.host().clock();
        Box::new(Queues::new(0, Vec::new(), Instant::now(), clock.now_ms()))
    });
    // A new actor has no alarm; the schedules its hooks made need one.
    let mut alarm = Alarm::known(None);
    let covered = live.cover(&mut alarm, queues.as_deref(), &mut None, &staged);
    // Workflows the hooks started run once the instance opens.
    live.take_workflow_records(&staged, &mut Vec::new());
    let mut batch = live.batch();
    batch.push(SaveOp::CreateActor {
        kind: A::NAME.to_string(),
        key: key.clone(),
    });
    batch.put(keys::STATE, bytes.clone());
    batch.extend(staged);
    batch.extend(covered);
    driver
        .commit(batch)
        .await
        .map_err(ActorError::from_storage)?;
    Ok(Started {
        state,
        bytes,
        queues,
        alarm,
    })
}

/// Whether an instance of `A` keeps queues: for its messages, or for the background work
/// (a run loop, workflows) whose tasks and turns are kept with them.
fn has_queues<A: Actor>() -> bool {
    !A::QUEUES.is_empty() || A::HAS_RUN || !A::WORKFLOWS.is_empty()
}

/// Reads the actor's stored messages, for a kind with queues: the last message id given
/// out, and the messages if it may have some (`stored`: it has an alarm). A message that
/// cannot be handled any more (its queue is no longer declared, or its
/// record is unreadable) is moved to the dead letters with `queue/message_invalid`, by
/// the records returned beside the queues, committed with the wake.
async fn load_queues<A: Actor>(
    live: &Live<A>,
    stored: bool,
) -> Result<(Option<Box<Queues<A>>>, Vec<SaveOp>), ActorError> {
    if A::QUEUES.is_empty() {
        // A loop or workflows without queues still have their part of them.
        let queues = has_queues::<A>().then(|| {
            let now_ms = live.host().clock().now_ms();
            Box::new(Queues::new(0, Vec::new(), Instant::now(), now_ms))
        });
        return Ok((queues, Vec::new()));
    }
    let (driver, id) = (&live.driver, live.id());
    let records = if stored {
        driver
            .scan(id, keys::QUEUE)
            .await
            .map_err(ActorError::from_storage)?
    } else {
        Vec::new()
    };
    // Read in any case: dead letters are keyed by message id, so one is never given twice.
    let last_id = driver
        .get(id, keys::QUEUE_SEQ)
        .await
        .map_err(ActorError::from_storage)?
        .and_then(|bytes| Some(u64::from_be_bytes(bytes.try_into().ok()?)))
        .unwrap_or(0);
    let now_ms = live.host().clock().now_ms();
    let mut loaded = Vec::with_capacity(records.len());
    let mut unreadable = Vec::new();
    for (key, value) in records {
        let Some((name, seq)) =
            queue::parse_key(keys::QUEUE, &key).map(|(n, s)| (n.to_string(), s))
        else {
            tracing::error!(key = ?key, "a queue record with a malformed key was dropped");
            unreadable.push(SaveOp::Delete { key });
            continue;
        };
        let name = name.as_str();
        let index = A::QUEUES.iter().position(|q| q.name == name);
        match (index, StoredMessage::decode(&value)) {
            (Some(queue), Some(stored)) => loaded.push(Loaded {
                queue,
                id: seq,
                stored,
            }),
            (index, stored) => {
                let why = if index.is_none() {
                    format!("the actor declares no queue `{name}` any more")
                } else {
                    "its record is not in a format this build reads".to_string()
                };
                let err = ActorError::message_invalid(name, "(none)", &why);
                tracing::error!(queue = name, message = seq, error = %err, "a stored message cannot be handled; moved to the dead letters");
                let stored = stored.unwrap_or_else(|| {
                    StoredMessage::new(crate::payload::Encoding::Json, value, now_ms)
                });
                unreadable.push(SaveOp::Delete { key });
                unreadable.push(SaveOp::Put {
                    key: queue::dead_letter_key(name, seq).into(),
                    value: stored.dead(&err, now_ms).into(),
                });
            }
        }
    }
    let queues = Queues::new(last_id, loaded, Instant::now(), now_ms);
    Ok((Some(Box::new(queues)), unreadable))
}
