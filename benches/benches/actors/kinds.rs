//! The actor kinds the benchmark drives: a counter, in three saving modes, and a counter
//! fed through a durable queue.

use actor::prelude::*;

/// The benchmark's actor: one `i64` of state, durable by default (a reply to
/// `increment` waits until the new count is committed). Never sleeps on its own, so only
/// `handle.sleep()` puts it to sleep.
#[actor(name = "benchCounter", sleep_timeout = "never")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    /// Exclusive: one at a time, saved before the reply.
    #[action]
    async fn increment(&mut self, by: i64) -> i64 {
        self.count += by;
        self.count
    }

    /// Shared: runs on a snapshot, writes nothing.
    #[action]
    async fn get(&self) -> i64 {
        self.count
    }
}

/// The same counter with a debounced save (`save_interval`), long enough that it never
/// fires during a run: its round trip is the runtime without the output gate and the
/// driver's commit.
#[actor(
    name = "benchDebouncedCounter",
    sleep_timeout = "never",
    save_interval = "1h"
)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct DebouncedCounter {
    count: i64,
}

#[actor]
impl DebouncedCounter {
    /// Exclusive, replied to at once.
    #[action]
    async fn increment(&mut self, by: i64) -> i64 {
        self.count += by;
        self.count
    }
}

/// A counter carrying about 4 KiB of other state: its round trip shows what serializing
/// the whole state after every exclusive turn costs as state grows.
#[actor(name = "benchDocument", sleep_timeout = "never")]
#[derive(Clone, Serialize, Deserialize)]
pub struct Document {
    count: i64,
    lines: Vec<String>,
}

impl Default for Document {
    fn default() -> Self {
        Self {
            count: 0,
            lines: (0..64)
                .map(|i| format!("{i:>4}: {}", "x".repeat(56)))
                .collect(),
        }
    }
}

#[actor]
impl Document {
    /// Exclusive: changes one number, saves the whole state.
    #[action]
    async fn increment(&mut self, by: i64) -> i64 {
        self.count += by;
        self.count
    }
}

/// A counter fed through a durable queue: a send to `push` is acknowledged once the
/// message is committed, and its handler runs later, in arrival order, as an exclusive
/// turn whose commit saves the new count and removes the message. Never sleeps on its own.
#[actor(name = "benchInbox", sleep_timeout = "never")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Inbox {
    count: i64,
}

#[actor]
impl Inbox {
    /// Queue `push`: adds `by`, returns the new count. It holds up to 1,000,000 messages
    /// not yet handled, so senders that outrun the handler during a run are not refused.
    #[queue(capacity = 1_000_000)]
    async fn push(&mut self, by: i64) -> i64 {
        self.count += by;
        self.count
    }

    /// Shared: the count so far, that is the messages handled when each adds 1.
    #[action]
    async fn count(&self) -> i64 {
        self.count
    }
}
