//! The actor kinds the benchmark drives: a counter, in three saving modes, a counter fed
//! through a durable queue, a planner of schedules, a counter that writes each note it
//! counts to its own SQL database, and a counter whose work also runs as durable
//! workflows.

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

/// When each scheduled `fire` ran, against the time it was due: (due, fired), Unix ms.
pub static FIRINGS: std::sync::Mutex<Vec<(u64, u64)>> = std::sync::Mutex::new(Vec::new());

/// Unix time now, in milliseconds (the wall clock the registry's clock follows).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An actor holding one-time schedules of its own `fire` action. Sleeps after 30 s idle,
/// the default, so between being planned and its first schedule it is put to sleep by
/// the benchmark and woken by the alarm index.
#[actor(name = "benchPlanner")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Planner {
    fired: u32,
}

#[actor]
impl Planner {
    /// Schedules `fire` at each of `dues` (Unix ms).
    #[action]
    async fn plan(&mut self, ctx: &Ctx<Self>, dues: Vec<u64>) -> Result<(), ActorError> {
        for due in dues {
            ctx.schedule()
                .at(actor::clock::system_time(due))
                .fire(due)?;
        }
        Ok(())
    }

    /// The scheduled action: notes when it ran against when it was due.
    #[action]
    async fn fire(&mut self, due: u64) {
        self.fired += 1;
        FIRINGS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((due, unix_ms()));
    }
}

/// The statement a [`Notes`] actor runs in each `add`, and the sqlx baselines beside it.
pub const INSERT_NOTE: &str = "INSERT INTO notes (text) VALUES (?)";

/// The text of note `n`, for [`Notes`] and the sqlx baselines alike.
pub fn note(n: u64) -> String {
    format!("note {n}")
}

/// A counter with a database of its own (`migrations/bench_notes`: one migration, the
/// `notes` table): each `add` inserts a note and counts it in one exclusive turn, whose
/// SQL commits with the state. Never sleeps on its own.
#[actor(
    name = "benchNotes",
    migrations = "migrations/bench_notes",
    sleep_timeout = "never"
)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Notes {
    added: u64,
}

#[actor]
impl Notes {
    /// Exclusive: one `INSERT` and the new count, committed together before the reply.
    #[action]
    async fn add(&mut self, ctx: &Ctx<Self>) -> Result<u64, ActorError> {
        let mut db = ctx.db().await?;
        sqlx::query(INSERT_NOTE)
            .bind(note(self.added))
            .execute(&mut *db)
            .await?;
        self.added += 1;
        Ok(self.added)
    }

    /// Shared: the notes added so far, from the state (the database is not read).
    #[action]
    async fn get(&self) -> u64 {
        self.added
    }
}

/// A small result, as a step might return (an id, a name, a flag): the struct output of
/// the workflows section's bytes table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// Which step made it.
    pub id: u64,
    /// A short name.
    pub sandbox: String,
    /// A flag.
    pub ok: bool,
}

impl Receipt {
    /// The receipt of step `i`.
    pub fn of(i: u64) -> Self {
        Self {
            id: i,
            sandbox: format!("sbx-{i}"),
            ok: true,
        }
    }
}

/// A counter whose work also runs as durable workflows: `increment` is the exclusive
/// action the workflows' steps are compared with, on the same state. Each workflow takes
/// its step count and returns it. Never sleeps on its own, so only `handle.sleep()` puts
/// it to sleep.
#[actor(name = "benchFlow", sleep_timeout = "never")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Flow {
    count: i64,
}

#[actor]
impl Flow {
    /// Taken by `gated`'s wait; declared without a handler.
    #[queue]
    fn go(go: ());

    /// Exclusive: one at a time, saved before the reply (as `Counter::increment`).
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

    /// `steps` steps `t0`, `t1`, … one after another, each a `wf.turn` adding 1 to the
    /// count: an exclusive turn whose commit saves the state with the step's record.
    #[workflow]
    async fn turns(wf: Workflow<Self>, steps: u32) -> Result<u32, ActorError> {
        for i in 0..steps {
            wf.turn(format!("t{i}"), |state: &mut Flow, _| state.count += 1)
                .await?;
        }
        Ok(steps)
    }

    /// `steps` steps `s0`, `s1`, … one after another, each a `wf.step` whose work
    /// returns `()` at once: the step's record alone, no state change.
    #[workflow]
    async fn steps(wf: Workflow<Self>, steps: u32) -> Result<u32, ActorError> {
        for i in 0..steps {
            wf.step(format!("s{i}"), |_| async { Ok::<_, ActorError>(()) })
                .await?;
        }
        Ok(steps)
    }

    /// `steps` steps `s0`, `s1`, … each returning a [`Receipt`].
    #[workflow]
    async fn receipts(wf: Workflow<Self>, steps: u32) -> Result<u32, ActorError> {
        for i in 0..steps {
            wf.step(format!("s{i}"), move |_| async move {
                Ok::<_, ActorError>(Receipt::of(u64::from(i)))
            })
            .await?;
        }
        Ok(steps)
    }

    /// `steps` steps as in `steps`, then a wait for one message on `go`: once it waits,
    /// a wake replays the recorded steps before the wait takes the message.
    #[workflow]
    async fn gated(wf: Workflow<Self>, steps: u32) -> Result<u32, ActorError> {
        for i in 0..steps {
            wf.step(format!("s{i}"), |_| async { Ok::<_, ActorError>(()) })
                .await?;
        }
        wf.message("gate", &["go"], None).await?;
        Ok(steps)
    }
}
