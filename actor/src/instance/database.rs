//! Where the instance meets its SQL database (see `database/`): migrated and reconciled
//! with storage at the start, and each exclusive turn's transaction ended with the turn,
//! before its batch is built.

use crate::definition::Actor;
use crate::driver::{SaveOp, keys};
use crate::error::ActorError;
use crate::key::ActorKey;

use super::live::Live;
use super::turn::TurnDone;

/// Readies the database of an instance starting from `stored` (its stored state, none on
/// create): runs its pending migrations and reads its journal. Returns the state to start
/// from, and the record to store with it when the database was a turn ahead of storage.
pub(super) async fn prepare<A: Actor>(
    live: &Live<A>,
    key: &ActorKey,
    stored: Option<Vec<u8>>,
) -> Result<(Option<Vec<u8>>, Option<SaveOp>), ActorError> {
    let Some(spec) = A::DATABASE else {
        return Ok((stored, None));
    };
    let Some(db) = live.ctx.database() else {
        return Err(ActorError::of(
            crate::codes::DATABASE_UNAVAILABLE,
            format!(
                "actor `{}` declares a database (namespace `{}`), and the registry it runs in keeps none",
                A::NAME,
                spec.namespace
            ),
        ));
    };
    let seq = match stored {
        Some(_) => {
            let bytes = live
                .driver
                .get(live.id(), keys::DATABASE_SEQ)
                .await
                .map_err(ActorError::from_storage)?;
            crate::database::instance::stored_seq(bytes.as_deref())
        }
        None => 0,
    };
    match db.prepare(key, seq).await? {
        Some(ahead) if stored.is_some() => {
            let seq = db.seq();
            let record = SaveOp::Put {
                key: keys::DATABASE_SEQ.into(),
                value: seq.to_be_bytes().to_vec().into(),
            };
            Ok((Some(ahead), Some(record)))
        }
        _ => Ok((stored, None)),
    }
}

/// Ends the database transaction of the exclusive turn `done`, if it opened one:
/// committed with the state it produced, or rolled back when its changes are thrown away.
/// The record of the turn's number joins its batch; a failed commit turns the turn into a
/// failure whose changes are all thrown away.
pub(super) async fn finish_turn<A: Actor>(ctx: &crate::Ctx<A>, done: &mut TurnDone<A>) {
    let Some(db) = ctx.database() else {
        return;
    };
    let keep = done.state.is_some();
    match db.finish(keep, done.changed.as_deref()).await {
        Ok(record) => done.staged.extend(record),
        Err(err) => {
            tracing::error!(error = %err, "the turn's SQL could not be committed; its changes were discarded");
            done.state = None;
            done.changed = None;
            done.staged.clear();
            done.result = Err(err);
        }
    }
}

/// Ends the database transaction of a hook, given the state it left serialized
/// (`encoded`; an error if the hook failed): committed with that state, whose turn number
/// joins `staged`, or rolled back.
pub(super) async fn finish_hook<A: Actor>(
    ctx: &crate::Ctx<A>,
    encoded: Result<Vec<u8>, ActorError>,
    staged: &mut Vec<SaveOp>,
) -> Result<Vec<u8>, ActorError> {
    let Some(db) = ctx.database() else {
        return encoded;
    };
    match encoded {
        Ok(bytes) => {
            staged.extend(db.finish(true, Some(&bytes)).await?);
            Ok(bytes)
        }
        Err(err) => {
            db.finish(false, None).await?;
            Err(err)
        }
    }
}
