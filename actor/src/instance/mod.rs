//! The task that runs one awake actor: its inbox, its turns, its saves and its sleep.
//!
//! | file | what it holds |
//! |---|---|
//! | `cell.rs` | flags and counters shared with `Ctx`, guards and the mailbox |
//! | `inbox.rs` | the queue of calls waiting for the task |
//! | `phase.rs` | the instance's life as one state machine: starting, running, failed, stopping, retired |
//! | `live.rs` | the state, phase and gate shared by the task and callers that run turns in place, and saving |
//! | `in_place.rs` | the in-place path: a call to an idle actor runs on the caller's task |
//! | `start.rs` | create and wake: loading state, `on_create`, `on_wake` |
//! | `turn.rs` | one exclusive or shared action (or a connection's open and close) as a future |
//! | `scope.rs` | what a turn carries: its write set and its call chain |
//! | `gate.rs` | the output gate: replies wait for the writes they saw |
//! | `events.rs` | events on their way to connections, held by their turn until durable |
//! | `database.rs` | the instance's SQL database: migrated at the start, each turn's transaction ended with the turn |
//! | `queues.rs` | the messages of the instance's queues: waiting, running, backing off |
//! | `handlers.rs` | the task's side of queues and schedules: ending a handler's or a scheduled call's turn, dead-letter calls |
//! | `schedules.rs` | the instance's schedules: the stored ones by time, firing them |
//! | `alarm.rs` | what the driver's alarm index holds for the actor, and the changes that keep it right |
//! | `looping.rs` | background work: the `#[run]` loop's task and backend, the workflows' tasks, the turns they ask for |
//! | `workflows.rs` | what the instance knows of its workflows, the records that change it, the calls a handle makes |
//! | `workflow_run.rs` | one running workflow: its task, and the engine that replays and records its entries |
//! | `run.rs` | the instance task's loop: what it waits for and in what order |
//! | `intake.rs` | how the task takes calls from the inbox |
//! | `stop.rs` | what the task does once the loop ends: sleep, destroy, or stop on a failure |
//! | `dormant.rs` | an idle instance without a task, and what starts its task again |
//! | `timers.rs` | the registry's one task that wakes dormant instances at their sleep timeout |

mod alarm;
pub(crate) mod cell;
#[cfg(feature = "sqlite")]
mod database;
mod dormant;
pub(crate) mod events;
mod gate;
mod handlers;
mod in_place;
mod inbox;
mod intake;
mod live;
pub(crate) mod looping;
mod phase;
mod queues;
mod run;
pub(crate) mod schedules;
pub(crate) mod scope;
mod start;
mod stop;
mod timers;
mod turn;
pub(crate) mod workflow_run;
pub(crate) mod workflows;

pub use timers::{Timers, give_back_room};

use std::sync::Arc;

use tokio::sync::{Mutex, oneshot};
use tracing::Instrument;

use crate::client::Transport;
use crate::clock::Clock;
use crate::ctx::Ctx;
use crate::definition::Actor;
use crate::driver::Driver;
use crate::error::ActorError;
use crate::key::{ActorId, ActorKey};
use crate::mailbox::Mailbox;
use crate::payload::Payload;

/// How an instance begins.
#[derive(Debug)]
pub enum Start {
    /// A new actor: run `on_create` with this input, then `on_wake`, then commit it.
    Create(Payload),
    /// An existing actor with the state record and the alarm the directory loaded:
    /// decode it, read its queue messages and schedules if it has an alarm (it has none
    /// without one), then `on_wake`. The wake commits the alarm its records call for, so
    /// an alarm left without a cause is cleared.
    Wake {
        /// The state record (`None` if it has none).
        state: Option<Vec<u8>>,
        /// Its alarm in the driver's index.
        alarm: Option<u64>,
    },
}

/// The directory's record of one actor id: its live mailbox, if any.
#[derive(Debug, Default)]
pub struct Slot {
    /// Locked by whoever starts or retires the instance.
    pub state: Mutex<SlotState>,
}

/// What a [`Slot`] holds.
#[derive(Debug, Default)]
pub struct SlotState {
    /// The awake instance's mailbox.
    pub mailbox: Option<Mailbox>,
    /// Set when the instance stopped and the directory forgot this slot: look again.
    pub retired: bool,
}

/// The hosting side an instance reports to when it stops: the transport of its client.
pub trait Host: Send + Sync + 'static {
    /// The instance in `slot` stopped; forget the slot.
    fn retire(&self, id: &ActorId, slot: &Arc<Slot>);

    /// The timers that wake this host's dormant instances.
    fn timers(&self) -> &Timers;

    /// The wall clock stored times are read from (see [`Clock`]).
    fn clock(&self) -> &Clock;
}

/// Everything an instance needs to start.
pub struct Spawn {
    /// Its id.
    pub id: ActorId,
    /// Its key.
    pub key: ActorKey,
    /// Create or wake.
    pub start: Start,
    /// Where its records live.
    pub driver: Arc<dyn Driver>,
    /// The registry's directory: where it reports, and what `ctx.client()` calls through.
    pub host: Arc<dyn Transport>,
    /// Its directory slot.
    pub slot: Arc<Slot>,
    /// Answered once the instance is running (or failed to start).
    pub ready: oneshot::Sender<Result<(), ActorError>>,
    /// The registry's actor databases, for a kind that declares one.
    #[cfg(feature = "sqlite")]
    pub databases: Option<Arc<crate::database::Databases>>,
}

/// Starts an instance of `A` on the current tokio runtime and returns its mailbox.
pub fn spawn<A: Actor>(spawn: Spawn) -> Mailbox {
    let cell = Arc::new(cell::InstanceCell::new());
    // ERROR level: whenever errors are logged, they carry the actor they came from.
    let span = tracing::error_span!("actor", kind = A::NAME, key = %spawn.key, id = %spawn.id);
    let ctx = Ctx::<A>::new(
        spawn.id.clone(),
        spawn.key.clone(),
        cell,
        spawn.host.clone(),
        #[cfg(feature = "sqlite")]
        spawn.databases.clone(),
    );
    let live = Arc::new(live::Live::new(
        ctx,
        spawn.driver.clone(),
        span.clone(),
        spawn.slot.clone(),
    ));
    let mailbox = Mailbox::new(live.clone());
    let task = run::run::<A>(spawn, live);
    // An instrumented future enters its span on every poll: skip that when nobody listens.
    if span.is_disabled() {
        tokio::spawn(task);
    } else {
        tokio::spawn(task.instrument(span));
    }
    mailbox
}
