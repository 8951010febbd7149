//! Durable, key-addressed actors for Rust, declared with macros.

//!
//! An actor is a struct whose value is its durable state. `#[actor]` on the struct and on
//! its `impl` block turns it into a kind: one instance per key, created on first use,
//! asleep when idle, woken on the next call, with its state surviving sleep and restarts.
//!
//! ```
//! use actor::prelude::*;
//!
//! #[actor(sleep_timeout = "30s")]
//! #[derive(Clone, Default, Serialize, Deserialize)]
//! pub struct Counter { count: i64 }
//!
//! #[actor]
//! impl Counter {
//!     #[action]
//!     async fn increment(&mut self, by: i64) -> i64 {
//!         self.count += by;
//!         self.count
//!     }
//!
//!     #[action]
//!     async fn get(&self) -> i64 {
//!         self.count
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ActorError> {
//! let registry = registry::Registry::builder().memory().build().await?;
//! let counter = registry.client().get_or_create::<Counter>(["user-1"]).await?;
//! assert_eq!(counter.increment(5).await?, 5);
//! assert_eq!(counter.get().await?, 5);
//! # registry.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! | module | what it holds |
//! |---|---|
//! | [`definition`] | the traits `#[actor]` implements |
//! | [`ctx`] | the context actions and hooks receive |
//! | `database` | per-actor SQL databases and their migrations (feature `sqlite`) |
//! | [`client`] | clients and the typed handles' untyped core |
//! | [`driver`] | storage drivers: memory and SQLite |
//! | `remote` | the remote client: typed handles over HTTP to a server (feature `client`) |
//! | [`route`] | how a handle reaches its actor: in-process or any other [`route::Route`] |
//! | [`queue`](mod@queue) | durable queues: sends, deliveries, dead letters |
//! | [`run_loop`] | `#[run]` loops: taking messages, turns on the state |
//! | [`schedule`](mod@schedule) | schedules: calls an actor makes to itself later, once or repeating |
//! | [`clock`] | the wall clock stored times are read from |
//! | [`error`] | errors and their codes |
//! | [`protocol`] | RivetKit's client protocol v4: HTTP bodies and WebSocket messages in json, cbor and bare |

#![warn(missing_docs)]

pub mod client;
pub mod clock;
pub mod config;
pub mod connection;
pub mod ctx;
#[cfg(feature = "sqlite")]
pub mod database;
pub mod definition;
pub mod driver;
pub mod error;
pub mod handle;
pub(crate) mod instance;
pub mod key;
pub mod kind;
pub(crate) mod mailbox;
pub mod payload;
pub mod protocol;
pub mod queue;
#[cfg(feature = "client")]
pub mod remote;
pub mod route;
pub mod run_loop;
pub mod schedule;
pub mod workflow;

#[doc(hidden)]
pub mod __private;

/// What the `registry` crate builds instances and directories from. Not public API:
/// names here change without notice.
#[doc(hidden)]
pub mod __runtime {
    pub use crate::client::{Resolved, Transport};
    pub use crate::instance::{Host, Slot, Spawn, Start, Timers, give_back_room};
    pub use crate::mailbox::Mailbox;
}

pub use actor_macros::{
    ActorError, Events, action, actor, on_before_connect, on_connect, on_create, on_destroy,
    on_disconnect, on_sleep, on_state_change, on_wake, queue, run, workflow,
};
// The trait beside the derive of the same name (different namespaces, as serde's).
pub use client::{ActorLookup, Client};
pub use config::{ActorConfig, SaveMode};
pub use connection::{Conn, Connection, Events};
pub use ctx::{Ctx, KeepAwake};
pub use definition::{
    Access, ActionInfo, Actor, ActorOptions, ActorState, DeadLetters, QueueInfo, WorkflowInfo,
};
pub use error::{ActorError, codes};
pub use handle::ActorHandle;
pub use key::{ActorId, ActorKey};
pub use payload::{Encoding, Payload, ReplyShape};
pub use queue::{DeadLetter, Delivery, MessageId, QueueSend};
pub use run_loop::{Loop, Received};
pub use schedule::{Missed, Repeat, ScheduleId, ScheduleInfo, ScheduledCall, Schedules};
pub use workflow::{Workflow, WorkflowId};

/// Everything an actor author needs: `use actor::prelude::*;`.
pub mod prelude {
    pub use crate::{Actor, ActorOptions, Encoding};
    pub use crate::{
        ActorError, ActorHandle, ActorId, ActorKey, ActorLookup, Client, Conn, Ctx, Events,
        KeepAwake, Loop, MessageId, ScheduleId, Workflow, WorkflowId, action, actor,
        on_before_connect, on_connect, on_create, on_destroy, on_disconnect, on_sleep,
        on_state_change, on_wake, queue, run, workflow,
    };
    pub use serde::{Deserialize, Serialize};
}
