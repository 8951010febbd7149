//! Events on their way to connections: encoded once per encoding their recipients read,
//! held by the running exclusive turn until its writes are durable (the gate releases
//! them with its reply), sent at once from anywhere else.

use std::borrow::Cow;

use crate::connection::{Connection, Event, Events};
use crate::error::ActorError;
use crate::key::ActorId;
use crate::payload::Encoding;

use super::scope;

/// One event for a list of connections, encoded for each encoding among them.
pub(crate) struct Staged {
    to: Vec<Connection>,
    name: &'static str,
    json: Option<Vec<u8>>,
    cbor: Option<Vec<u8>>,
}

impl Staged {
    fn new<E: Events>(to: Vec<Connection>, event: &E) -> Result<Self, ActorError> {
        let wants = |encoding| to.iter().any(|c| c.encoding() == Some(encoding));
        let json = match wants(Encoding::Json) {
            true => Some(event.encode_args(Encoding::Json)?),
            false => None,
        };
        let cbor = match wants(Encoding::Cbor) {
            true => Some(event.encode_args(Encoding::Cbor)?),
            false => None,
        };
        Ok(Self {
            name: event.name(),
            to,
            json,
            cbor,
        })
    }

    /// Hands the event to each of its connections.
    pub(crate) fn release(self) {
        for conn in &self.to {
            let args = match conn.encoding() {
                Some(Encoding::Json) => self.json.as_ref(),
                Some(Encoding::Cbor) => self.cbor.as_ref(),
                None => None,
            };
            if let Some(args) = args {
                conn.deliver(Event {
                    name: Cow::Borrowed(self.name),
                    args: args.clone(),
                });
            }
        }
    }
}

/// Sends `event` of actor `actor` to `to`: held by the actor's exclusive turn running
/// on this thread, if there is one, else at once.
pub(crate) fn send<E: Events>(
    actor: &ActorId,
    to: Vec<Connection>,
    event: &E,
) -> Result<(), ActorError> {
    if to.is_empty() {
        return Ok(());
    }
    let staged = Staged::new(to, event)?;
    if let Err(now) = scope::stage_events(actor, staged) {
        now.release();
    }
    Ok(())
}
