//! Create and wake: bring an actor's state into memory and run its first hooks.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use crate::definition::Actor;
use crate::driver::{SaveOp, keys};
use crate::error::ActorError;
use crate::key::ActorKey;

use futures_util::FutureExt;

use super::Start;
use super::live::Live;
use super::scope;
use super::turn::panicked;

/// The state an instance starts with, and its serialized form as last written.
pub(super) struct Started<A> {
    pub(super) state: A,
    pub(super) bytes: Arc<[u8]>,
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
            let mut state = A::default();
            let (hooks, staged) = scope::hook(ctx, async {
                bounded("on_create", limit, state.on_create(ctx, input)).await?;
                bounded("on_wake", limit, state.on_wake(ctx)).await
            })
            .await;
            hooks?;
            let mut buf = Vec::new();
            encode_state(&state, &mut buf)?;
            let bytes = Arc::<[u8]>::from(buf);
            let mut batch = live.batch();
            batch.push(SaveOp::CreateActor {
                kind: A::NAME.to_string(),
                key: key.clone(),
            });
            batch.put(keys::STATE, bytes.clone());
            batch.extend(staged);
            driver
                .commit(batch)
                .await
                .map_err(ActorError::from_storage)?;
            Ok(Started { state, bytes })
        }
        Start::Wake(stored) => {
            let stored = stored.ok_or_else(|| {
                ActorError::not_found(
                    A::NAME,
                    format_args!("with id {} (it has no stored state)", live.id()),
                )
            })?;
            let mut state: A = decode_state(&stored)?;
            let wake = bounded("on_wake", limit, state.on_wake(ctx));
            let (woken, staged) = scope::hook(ctx, wake).await;
            woken?;
            let mut buf = Vec::new();
            encode_state(&state, &mut buf)?;
            let bytes = Arc::<[u8]>::from(buf);
            if *bytes != *stored || !staged.is_empty() {
                let mut batch = live.batch();
                batch.put(keys::STATE, bytes.clone());
                batch.extend(staged);
                driver
                    .commit(batch)
                    .await
                    .map_err(ActorError::from_storage)?;
            }
            Ok(Started { state, bytes })
        }
    }
}
