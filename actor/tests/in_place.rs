//! Calls to an idle actor run in the caller's task; an action that waits is handed to the
//! actor's task, so dropping the caller never cancels a turn. These tests pin down what
//! that must not change: turns finish and are saved, arrival order holds, sleep timing
//! counts in-place calls, other runtimes go through the inbox, and destroy and panics
//! behave as they do on the actor's task.

use actor_test_support as common;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use actor::codes;
use actor::driver::keys;
use actor::prelude::*;
use futures_util::poll;
use tokio::sync::Notify;
use tokio::time::{sleep, timeout};

/// Runtime-only gates the waiting actions of [`Ledger`] wait on, and what they leave behind.
#[derive(Default)]
pub struct Gates {
    /// `append_when_let_through` waits here; `let_through` lets one waiter (or the next) in.
    turn: Notify,
    /// `read_when_let_through` waits here; `let_reader_through` lets one in.
    reader: Notify,
    /// Shared reads that got past `reader`.
    readers_done: AtomicU32,
}

/// A log whose exclusive actions can wait on the clock or on a gate in its vars.
#[actor(name = "inPlaceLedger", vars = Gates, sleep_timeout = "30s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Ledger {
    pub log: Vec<String>,
    pub hooks: Vec<String>,
    pub ticks: u64,
}

#[actor]
impl Ledger {
    #[on_wake]
    async fn woke(&mut self) {
        self.hooks.push("wake".into());
    }

    #[on_sleep]
    async fn slept(&mut self) {
        self.hooks.push("sleep".into());
    }

    #[action]
    async fn append(&mut self, entry: String) -> usize {
        self.log.push(entry);
        self.log.len()
    }

    #[action]
    async fn log(&self) -> Vec<String> {
        self.log.clone()
    }

    #[action]
    async fn hooks(&self) -> Vec<String> {
        self.hooks.clone()
    }

    /// Marks its start, waits `secs` on the clock, then appends `entry`.
    #[action]
    async fn append_after(&mut self, entry: String, secs: u64) -> usize {
        self.log.push(format!("{entry}:start"));
        tokio::time::sleep(Duration::from_secs(secs)).await;
        self.log.push(entry);
        self.log.len()
    }

    /// Waits until `let_through` is called, then appends `entry`.
    #[action]
    async fn append_when_let_through(&mut self, ctx: &Ctx<Self>, entry: String) -> usize {
        ctx.vars().turn.notified().await;
        self.log.push(entry);
        self.log.len()
    }

    /// Shared, so it runs while an exclusive turn waits.
    #[action]
    async fn let_through(&self, ctx: &Ctx<Self>) {
        ctx.vars().turn.notify_one();
    }

    /// Waits until `let_reader_through` is called, then reports the log length it saw.
    #[action]
    async fn read_when_let_through(&self, ctx: &Ctx<Self>) -> usize {
        ctx.vars().reader.notified().await;
        ctx.vars().readers_done.fetch_add(1, Ordering::AcqRel);
        self.log.len()
    }

    #[action]
    async fn let_reader_through(&self, ctx: &Ctx<Self>) {
        ctx.vars().reader.notify_one();
    }

    #[action]
    async fn readers_done(&self, ctx: &Ctx<Self>) -> u32 {
        ctx.vars().readers_done.load(Ordering::Acquire)
    }

    /// Counts: an exclusive action that changes the state and costs the same every time.
    #[action]
    async fn tick(&mut self) -> u64 {
        self.ticks += 1;
        self.ticks
    }

    /// The tokio task that ran this exclusive action.
    #[action]
    async fn task(&mut self) -> Option<String> {
        tokio::task::try_id().map(|id| id.to_string())
    }

    /// The tokio task that ran this shared action.
    #[action]
    async fn task_shared(&self) -> Option<String> {
        tokio::task::try_id().map(|id| id.to_string())
    }

    /// The runtime this exclusive action ran on, and the one a task it spawns runs on.
    #[action]
    async fn runtimes(&mut self) -> (String, String) {
        runtimes_seen().await
    }

    /// The same, from a shared action.
    #[action]
    async fn runtimes_shared(&self) -> (String, String) {
        runtimes_seen().await
    }

    #[action]
    async fn nap(&mut self, ctx: &Ctx<Self>) {
        ctx.sleep();
    }

    #[action]
    async fn self_destruct(&mut self, ctx: &Ctx<Self>) {
        self.log.push("destroying".into());
        ctx.destroy();
    }

    /// Asks for its own destruction, then waits `secs` before finishing.
    #[action]
    async fn self_destruct_slowly(&mut self, ctx: &Ctx<Self>, secs: u64) -> usize {
        ctx.destroy();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        self.log.push("destroyed slowly".into());
        self.log.len()
    }

    /// Changes the state, then panics on its first poll.
    #[action]
    async fn panic_now(&mut self, entry: String) {
        self.log.push(entry);
        panic!("in-place boom");
    }

    /// Changes the state, waits `secs`, then panics on the actor's task.
    #[action]
    async fn panic_after(&mut self, entry: String, secs: u64) {
        self.log.push(entry);
        tokio::time::sleep(Duration::from_secs(secs)).await;
        panic!("handed boom");
    }

    #[action]
    async fn panic_shared(&self) -> usize {
        panic!("shared boom");
    }
}

async fn runtimes_seen() -> (String, String) {
    let here = tokio::runtime::Handle::current().id().to_string();
    let spawned = tokio::spawn(async { tokio::runtime::Handle::current().id().to_string() })
        .await
        .expect("the spawned task runs");
    (here, spawned)
}

/// A latch a test holds an action's first poll on: the action blocks its thread in
/// `enter` until the test calls `release`, as a long synchronous first poll would.
pub struct Latch {
    state: Mutex<(bool, bool)>,
    changed: Condvar,
}

impl Latch {
    const fn new() -> Self {
        Self {
            state: Mutex::new((false, false)),
            changed: Condvar::new(),
        }
    }

    /// Called by the action: says it is in, and blocks until released.
    fn enter(&self) {
        let mut state = self.state.lock().unwrap();
        state.0 = true;
        self.changed.notify_all();
        while !state.1 {
            state = self.changed.wait(state).unwrap();
        }
    }

    /// Called by the test: blocks until the action is in.
    fn wait_entered(&self) {
        let mut state = self.state.lock().unwrap();
        while !state.0 {
            state = self.changed.wait(state).unwrap();
        }
    }

    fn release(&self) {
        self.state.lock().unwrap().1 = true;
        self.changed.notify_all();
    }
}

/// One latch per test that uses one: tests in this file run in parallel.
static SHARED_STALL: Latch = Latch::new();
static EXCLUSIVE_STALL: Latch = Latch::new();

/// Actions whose first poll is held on a [`Latch`], and which then wait once more.
#[actor(name = "inPlaceStaller")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Staller {
    pub n: u32,
}

#[actor]
impl Staller {
    #[action]
    async fn stall_shared(&self) -> u32 {
        SHARED_STALL.enter();
        yield_a_few_times().await;
        self.n + 7
    }

    #[action]
    async fn stall_exclusive(&mut self) -> u32 {
        EXCLUSIVE_STALL.enter();
        yield_a_few_times().await;
        self.n += 1;
        self.n
    }

    #[action]
    async fn get(&self) -> u32 {
        self.n
    }
}

/// Pending for its first few polls: more than a caller makes in place, so the action is
/// handed to the actor's task.
async fn yield_a_few_times() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

/// The handle [`Looper::outer_via_stored_handle`] calls through.
static LOOPER: std::sync::OnceLock<LooperHandle> = std::sync::OnceLock::new();

/// Actions that call their own actor again: through the handle the test called them
/// with, kept in a static as an application might keep a handle to a service, or
/// through a handle of their own.
#[actor(name = "inPlaceLooper")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Looper {
    pub n: u32,
}

#[actor]
impl Looper {
    #[action]
    async fn inner(&self) -> u32 {
        self.n + 1
    }

    #[action]
    async fn outer_via_stored_handle(&self) -> Result<u32, ActorError> {
        let stored = LOOPER.get().expect("the test stored the handle");
        Ok(stored.inner().await? + 10)
    }

    #[action]
    async fn outer_via_own_handle(&self, ctx: &Ctx<Self>) -> Result<u32, ActorError> {
        let own = ctx.client().get_for_id::<Looper>(ctx.id().clone()).await?;
        Ok(own.inner().await? + 100)
    }
}

async fn ledger(registry: &registry::Registry, key: &str) -> LedgerHandle {
    Ledger::get_or_create(&registry.client(), [key])
        .await
        .unwrap()
}

/// The state as the driver holds it.
async fn stored(registry: &registry::Registry, id: &ActorId) -> serde_json::Value {
    let bytes = registry
        .driver()
        .get(id, keys::STATE)
        .await
        .unwrap()
        .expect("the actor has a stored state");
    serde_json::from_slice(&bytes).unwrap()
}

async fn stored_log(registry: &registry::Registry, id: &ActorId) -> Vec<String> {
    serde_json::from_value(stored(registry, id).await["log"].clone()).unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// Where calls run.

#[tokio::test(start_paused = true)]
async fn an_idle_actor_runs_calls_in_the_callers_task_and_queued_ones_on_its_own() {
    let registry = common::memory().await;
    let h = ledger(&registry, "where").await;

    let caller = h.clone();
    let (me, ran) = tokio::spawn(async move {
        let me = tokio::task::id().to_string();
        (me, caller.task().await.unwrap())
    })
    .await
    .unwrap();
    assert_eq!(ran.as_deref(), Some(me.as_str()), "idle: run in place");

    // While a turn waits, an exclusive call queues and the actor's task runs it; a shared
    // one still runs in place, on the last committed state.
    let mut waiting = pin!(h.append_when_let_through("w".into()));
    assert!(poll!(waiting.as_mut()).is_pending());
    let caller = h.clone();
    let queued = tokio::spawn(async move {
        let me = tokio::task::id().to_string();
        (me, caller.task().await.unwrap())
    });
    let caller = h.clone();
    let (me_shared, ran_shared) = tokio::spawn(async move {
        let me = tokio::task::id().to_string();
        (me, caller.task_shared().await.unwrap())
    })
    .await
    .unwrap();
    assert_eq!(ran_shared.as_deref(), Some(me_shared.as_str()));
    h.let_through().await.unwrap();
    assert_eq!(waiting.await.unwrap(), 1);
    let (me, ran) = queued.await.unwrap();
    let ran = ran.expect("the actor's task is a tokio task");
    assert_ne!(
        ran, me,
        "a call queued behind a turn runs on the actor's task"
    );
}

// ---------------------------------------------------------------------------------------
// 1. A turn that waits outlives its caller.

#[tokio::test(start_paused = true)]
async fn a_waiting_turn_whose_caller_timed_out_still_finishes_and_is_saved() {
    let registry = common::memory().await;
    let h = ledger(&registry, "dropped-by-timeout").await;
    let id = h.id();

    let started = tokio::time::Instant::now();
    let gave_up = timeout(Duration::from_secs(1), h.append_after("a".into(), 10)).await;
    assert!(gave_up.is_err(), "the caller gave up after 1s");
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert_eq!(
        h.log().await.unwrap(),
        Vec::<String>::new(),
        "the turn has not finished: its changes are not visible yet"
    );

    sleep(Duration::from_secs(10)).await;
    assert_eq!(
        h.log().await.unwrap(),
        strings(&["a:start", "a"]),
        "the turn finished on the actor's task"
    );
    assert_eq!(stored_log(&registry, &id).await, strings(&["a:start", "a"]));

    h.sleep().await.unwrap();
    assert_eq!(registry.awake(), 0);
    assert_eq!(h.log().await.unwrap(), strings(&["a:start", "a"]));
    assert_eq!(h.hooks().await.unwrap(), ["wake", "sleep", "wake"]);
}

#[tokio::test(start_paused = true)]
async fn a_turn_dropped_after_its_first_poll_finishes_once_let_through() {
    let registry = common::memory().await;
    let h = ledger(&registry, "dropped-after-poll").await;
    let id = h.id();

    {
        let mut call = pin!(h.append_when_let_through("b".into()));
        assert!(poll!(call.as_mut()).is_pending(), "it waits for the gate");
    }
    // The caller is gone; the turn is not.
    h.let_through().await.unwrap();
    assert_eq!(
        h.append("c".into()).await.unwrap(),
        2,
        "the next turn runs after the dropped one"
    );
    assert_eq!(h.log().await.unwrap(), strings(&["b", "c"]));
    assert_eq!(stored_log(&registry, &id).await, strings(&["b", "c"]));

    h.sleep().await.unwrap();
    assert_eq!(h.log().await.unwrap(), strings(&["b", "c"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_waiting_turn_is_durable_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let registry = common::sqlite(dir.path()).await;
    let h = ledger(&registry, "sqlite").await;
    let id = h.id();
    {
        let mut call = pin!(h.append_when_let_through("s".into()));
        assert!(poll!(call.as_mut()).is_pending(), "it waits for the gate");
    }
    h.let_through().await.unwrap();
    assert_eq!(h.append("t".into()).await.unwrap(), 2);
    assert_eq!(stored_log(&registry, &id).await, strings(&["s", "t"]));
    h.sleep().await.unwrap();
    assert_eq!(registry.awake(), 0);
    assert_eq!(
        h.log().await.unwrap(),
        strings(&["s", "t"]),
        "woken from SQLite"
    );
    registry.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// 2. Arrival order.

#[tokio::test(start_paused = true)]
async fn calls_made_while_a_turn_waits_run_after_it_in_the_order_they_were_made() {
    let registry = common::memory().await;
    let h = ledger(&registry, "order").await;

    let mut a = pin!(h.append_when_let_through("a".into()));
    assert!(poll!(a.as_mut()).is_pending());
    let mut b = pin!(h.append("b".into()));
    assert!(
        poll!(b.as_mut()).is_pending(),
        "b must not run in place ahead of the waiting turn"
    );
    let mut c = pin!(h.append("c".into()));
    assert!(poll!(c.as_mut()).is_pending());
    let mut d = pin!(h.append("d".into()));
    assert!(poll!(d.as_mut()).is_pending());
    assert_eq!(
        h.log().await.unwrap(),
        Vec::<String>::new(),
        "a shared read runs meanwhile, on the last committed state"
    );

    h.let_through().await.unwrap();
    // Made after the gate opened but before the actor's task ran: still after d.
    let mut e = pin!(h.append("e".into()));
    assert!(poll!(e.as_mut()).is_pending());

    assert_eq!(e.await.unwrap(), 5);
    assert_eq!(a.await.unwrap(), 1);
    assert_eq!(b.await.unwrap(), 2);
    assert_eq!(c.await.unwrap(), 3);
    assert_eq!(d.await.unwrap(), 4);
    assert_eq!(h.log().await.unwrap(), strings(&["a", "b", "c", "d", "e"]));
    // Idle again: the next call runs in place at once.
    let mut f = pin!(h.append("f".into()));
    assert_eq!(poll!(f.as_mut()).map(Result::unwrap), Poll::Ready(6));
}

/// Spawns `call` in its own task and returns once that task has polled it once.
async fn made_in_a_task<T: Send + 'static>(
    call: impl Future<Output = T> + Send + 'static,
) -> tokio::task::JoinHandle<T> {
    let (made, was_made) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut call = pin!(call);
        if let Poll::Ready(out) = poll!(call.as_mut()) {
            let _ = made.send(());
            return out;
        }
        let _ = made.send(());
        call.await
    });
    was_made.await.unwrap();
    task
}

#[tokio::test(start_paused = true)]
async fn callers_in_other_tasks_keep_their_order_behind_a_timed_turn() {
    let registry = common::memory().await;
    let h = ledger(&registry, "order-tasks").await;
    let first = h.clone();
    let slow = made_in_a_task(async move { first.append_after("slow".into(), 5).await }).await;
    let mut calls = Vec::new();
    for i in 0..10 {
        let caller = h.clone();
        calls.push(made_in_a_task(async move { caller.append(format!("{i}")).await }).await);
    }
    assert_eq!(slow.await.unwrap().unwrap(), 2);
    let lens: Vec<usize> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(lens, (3..=12).collect::<Vec<_>>());
    let mut expected = strings(&["slow:start", "slow"]);
    expected.extend((0..10).map(|i| i.to_string()));
    assert_eq!(h.log().await.unwrap(), expected);
}

#[test]
fn a_call_queued_from_another_runtime_is_not_overtaken_by_an_in_place_call() {
    let home = current_thread();
    let other = current_thread();
    let (registry, h) = home.block_on(async {
        let registry = common::memory().await;
        let h = ledger(&registry, "other-runtime-order").await;
        (registry, h)
    });
    // Queued from the other runtime while the actor's runtime is not running.
    let mut queued = Box::pin({
        let h = h.clone();
        async move { h.append("queued".into()).await }
    });
    other.block_on(async {
        assert!(poll!(queued.as_mut()).is_pending());
    });
    home.block_on(async {
        let mut local = pin!(h.append("local".into()));
        assert!(
            poll!(local.as_mut()).is_pending(),
            "a call is queued: the local call must not run in place ahead of it"
        );
        assert_eq!(local.await.unwrap(), 2);
    });
    assert_eq!(other.block_on(queued).unwrap(), 1);
    home.block_on(async {
        assert_eq!(h.log().await.unwrap(), strings(&["queued", "local"]));
        registry.shutdown().await;
    });
}

// ---------------------------------------------------------------------------------------
// 3. Shared actions that wait.

#[tokio::test(start_paused = true)]
async fn a_waiting_shared_action_is_answered_and_exclusive_calls_proceed_meanwhile() {
    let registry = common::memory().await;
    let h = ledger(&registry, "shared").await;
    h.append("before".into()).await.unwrap();

    let mut read = pin!(h.read_when_let_through());
    assert!(poll!(read.as_mut()).is_pending());
    for i in 0..3 {
        let len = timeout(Duration::from_secs(1), h.append(format!("during-{i}")))
            .await
            .expect("an exclusive call is not blocked by a waiting shared one")
            .unwrap();
        assert_eq!(len, i + 2);
    }
    h.let_reader_through().await.unwrap();
    let saw = timeout(Duration::from_secs(1), read)
        .await
        .expect("the shared action is answered once let through")
        .unwrap();
    assert_eq!(saw, 1, "it read the state as it was when it started");
    assert_eq!(h.log().await.unwrap().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_shared_action_finishes_after_its_caller_is_dropped() {
    let registry = common::memory().await;
    let h = ledger(&registry, "shared-dropped").await;
    {
        let mut read = pin!(h.read_when_let_through());
        assert!(poll!(read.as_mut()).is_pending());
    }
    assert_eq!(h.readers_done().await.unwrap(), 0);
    h.let_reader_through().await.unwrap();
    timeout(Duration::from_secs(1), async {
        while h.readers_done().await.unwrap() == 0 {
            sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the dropped caller's shared action still ran to its end");
    assert_eq!(h.append("x".into()).await.unwrap(), 1);
}

// ---------------------------------------------------------------------------------------
// 4. Sleep timing counts in-place calls.

#[tokio::test(start_paused = true)]
async fn an_exclusive_call_in_place_restarts_the_idle_clock() {
    let registry = common::memory().await;
    let h = ledger(&registry, "idle-exclusive").await;
    sleep(Duration::from_secs(20)).await;
    h.append("t=20".into()).await.unwrap();
    sleep(Duration::from_secs(11)).await;
    assert_eq!(registry.awake(), 1, "t=31: idle for 11s only");
    sleep(Duration::from_secs(18)).await;
    assert_eq!(registry.awake(), 1, "t=49: idle for 29s");
    sleep(Duration::from_secs(2)).await;
    assert_eq!(registry.awake(), 0, "t=51: asleep after 30s idle");
    assert_eq!(h.hooks().await.unwrap(), ["wake", "sleep", "wake"]);
    assert_eq!(h.log().await.unwrap(), ["t=20"]);
}

#[tokio::test(start_paused = true)]
async fn a_shared_call_in_place_restarts_the_idle_clock() {
    let registry = common::memory().await;
    let h = ledger(&registry, "idle-shared").await;
    sleep(Duration::from_secs(20)).await;
    h.log().await.unwrap();
    sleep(Duration::from_secs(29)).await;
    assert_eq!(registry.awake(), 1, "t=49: idle for 29s");
    sleep(Duration::from_secs(2)).await;
    assert_eq!(registry.awake(), 0, "t=51: asleep after 30s idle");
    assert_eq!(h.hooks().await.unwrap(), ["wake", "sleep", "wake"]);
}

#[tokio::test(start_paused = true)]
async fn a_turn_handed_to_the_task_counts_until_it_finishes() {
    let registry = common::memory().await;
    let h = ledger(&registry, "idle-handed").await;
    sleep(Duration::from_secs(20)).await;
    // Started in place at t=20, finished on the actor's task at t=25; the caller left.
    let gave_up = timeout(Duration::from_secs(1), h.append_after("w".into(), 5)).await;
    assert!(gave_up.is_err());
    sleep(Duration::from_secs(33)).await;
    assert_eq!(registry.awake(), 1, "t=54: idle since 25");
    sleep(Duration::from_secs(2)).await;
    assert_eq!(registry.awake(), 0, "t=56: asleep");
    assert_eq!(h.log().await.unwrap(), ["w:start", "w"]);
    assert_eq!(h.hooks().await.unwrap(), ["wake", "sleep", "wake"]);
}

// ---------------------------------------------------------------------------------------
// 5. Other runtimes.

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn calls_from_another_runtime_run_on_the_actors_runtime() {
    let home = multi_thread();
    let other = current_thread();
    let home_id = home.handle().id().to_string();
    assert_ne!(home_id, other.handle().id().to_string());
    let (registry, h) = home.block_on(async {
        let registry = common::memory().await;
        let h = ledger(&registry, "runtimes").await;
        (registry, h)
    });
    other.block_on(async {
        let (seen, spawned) = h.runtimes().await.unwrap();
        assert_eq!(seen, home_id, "exclusive action ran on the actor's runtime");
        assert_eq!(spawned, home_id, "what it spawned landed there too");
        let (seen, spawned) = h.runtimes_shared().await.unwrap();
        assert_eq!(seen, home_id, "shared action ran on the actor's runtime");
        assert_eq!(spawned, home_id);
        assert_eq!(h.append("from other".into()).await.unwrap(), 1);
        let mut waiting = pin!(h.append_when_let_through("gated".into()));
        assert!(poll!(waiting.as_mut()).is_pending());
        h.let_through().await.unwrap();
        assert_eq!(waiting.await.unwrap(), 2);
    });
    home.block_on(async {
        let (seen, spawned) = h.runtimes().await.unwrap();
        assert_eq!((seen.as_str(), spawned.as_str()), (&*home_id, &*home_id));
        assert_eq!(h.log().await.unwrap(), strings(&["from other", "gated"]));
        registry.shutdown().await;
    });
}

/// Drives a future on this thread with no tokio runtime at all.
fn block_on_without_runtime<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    assert!(tokio::runtime::Handle::try_current().is_err());
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

#[test]
fn calls_from_outside_any_runtime_run_on_the_actors_runtime() {
    let home = multi_thread();
    let home_id = home.handle().id().to_string();
    let (registry, h) = home.block_on(async {
        let registry = common::memory().await;
        let h = ledger(&registry, "no-runtime").await;
        (registry, h)
    });
    let (seen, spawned) = block_on_without_runtime(h.runtimes()).unwrap();
    assert_eq!((seen.as_str(), spawned.as_str()), (&*home_id, &*home_id));
    let (seen, spawned) = block_on_without_runtime(h.runtimes_shared()).unwrap();
    assert_eq!((seen.as_str(), spawned.as_str()), (&*home_id, &*home_id));
    assert_eq!(block_on_without_runtime(h.append("x".into())).unwrap(), 1);
    home.block_on(async {
        assert_eq!(h.log().await.unwrap(), ["x"]);
        registry.shutdown().await;
    });
}

// ---------------------------------------------------------------------------------------
// 6. Destroy from inside an action.

/// Waits (on the paused clock) until no instance is awake.
async fn all_asleep(registry: &registry::Registry) {
    timeout(Duration::from_secs(1), async {
        while registry.awake() != 0 {
            sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("every instance stopped");
}

fn gone(err: &ActorError) -> bool {
    err.is(codes::DESTROYED) || err.is(codes::NOT_FOUND)
}

#[tokio::test(start_paused = true)]
async fn calls_right_after_ctx_destroy_are_destroyed_or_not_found() {
    let registry = common::memory().await;
    let client = registry.client();
    let h = ledger(&registry, "doomed").await;
    let id = h.id();
    h.append("x".into()).await.unwrap();
    h.self_destruct().await.unwrap();
    let err = h.log().await.unwrap_err();
    assert!(gone(&err), "shared follow-up: {err}");
    let err = h.append("y".into()).await.unwrap_err();
    assert!(gone(&err), "exclusive follow-up: {err}");
    let err = h.log().await.unwrap_err();
    assert!(err.is(codes::NOT_FOUND), "{err}");
    assert!(registry.driver().load(&id).await.unwrap().is_none());
    assert!(
        registry
            .driver()
            .get(&id, keys::STATE)
            .await
            .unwrap()
            .is_none()
    );
    let err = client.get::<Ledger>(["doomed"]).await.unwrap_err();
    assert!(err.is(codes::NOT_FOUND), "{err}");
}

#[tokio::test(start_paused = true)]
async fn calls_made_before_the_task_sees_ctx_destroy_are_not_run() {
    let registry = common::memory().await;
    let h = ledger(&registry, "doomed-at-once").await;
    let id = h.id();
    h.self_destruct().await.unwrap();
    // Both made before the actor's task has run since the destroy request.
    let mut shared = pin!(h.log());
    let mut exclusive = pin!(h.append("never".into()));
    assert!(
        poll!(shared.as_mut()).is_pending(),
        "a shared call must not run in place once destroy was requested"
    );
    assert!(
        poll!(exclusive.as_mut()).is_pending(),
        "an exclusive call must not run in place once destroy was requested"
    );
    let err = shared.await.unwrap_err();
    assert!(gone(&err), "{err}");
    let err = exclusive.await.unwrap_err();
    assert!(gone(&err), "{err}");
    all_asleep(&registry).await;
    assert!(registry.driver().load(&id).await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_turn_that_destroys_its_actor_and_waits_is_answered_and_later_calls_are_not_run() {
    let registry = common::memory().await;
    let h = ledger(&registry, "doomed-slowly").await;
    let id = h.id();
    let mut turn = pin!(h.self_destruct_slowly(5));
    assert!(poll!(turn.as_mut()).is_pending());
    let mut shared = pin!(h.log());
    assert!(poll!(shared.as_mut()).is_pending());
    let mut exclusive = pin!(h.append("never".into()));
    assert!(poll!(exclusive.as_mut()).is_pending());
    assert_eq!(turn.await.unwrap(), 1);
    let err = shared.await.unwrap_err();
    assert!(gone(&err), "{err}");
    let err = exclusive.await.unwrap_err();
    assert!(gone(&err), "{err}");
    all_asleep(&registry).await;
    assert!(registry.driver().load(&id).await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_call_right_after_ctx_sleep_is_answered_by_the_actors_task_before_it_sleeps() {
    let registry = common::memory().await;
    let h = ledger(&registry, "napper").await;
    h.append("x".into()).await.unwrap();
    h.nap().await.unwrap();
    // Made before the actor's task has seen the request.
    let mut call = pin!(h.append("after nap".into()));
    assert!(
        poll!(call.as_mut()).is_pending(),
        "not run in place once sleep was requested"
    );
    assert_eq!(
        call.await.unwrap(),
        2,
        "answered by the instance going to sleep"
    );
    all_asleep(&registry).await;
    assert_eq!(h.hooks().await.unwrap(), ["wake", "sleep", "wake"]);
    assert_eq!(h.log().await.unwrap(), ["x", "after nap"]);
}

// ---------------------------------------------------------------------------------------
// 7. Panics.

#[tokio::test(start_paused = true)]
async fn a_panic_in_place_is_internal_rolls_back_and_the_actor_keeps_working() {
    let registry = common::memory().await;
    let h = ledger(&registry, "panicky").await;
    let id = h.id();
    h.append("kept".into()).await.unwrap();

    let mut call = pin!(h.panic_now("lost".into()));
    let err = match poll!(call.as_mut()) {
        Poll::Ready(result) => result.unwrap_err(),
        Poll::Pending => panic!("an action that panics on its first poll answers at once"),
    };
    assert!(err.is(codes::INTERNAL), "{err}");
    assert!(err.message().contains("in-place boom"), "{err}");

    assert_eq!(h.log().await.unwrap(), ["kept"], "rolled back");
    assert_eq!(stored_log(&registry, &id).await, ["kept"]);
    assert_eq!(h.append("after".into()).await.unwrap(), 2);
    assert_eq!(h.log().await.unwrap(), ["kept", "after"]);
    assert_eq!(stored_log(&registry, &id).await, ["kept", "after"]);
    assert_eq!(registry.awake(), 1);
    assert_eq!(
        h.hooks().await.unwrap(),
        ["wake"],
        "the same instance kept running: no crash and re-wake"
    );

    let err = h.panic_shared().await.unwrap_err();
    assert!(err.is(codes::INTERNAL), "{err}");
    assert!(err.message().contains("shared boom"), "{err}");
    assert_eq!(h.append("after shared".into()).await.unwrap(), 3);
    assert_eq!(h.hooks().await.unwrap(), ["wake"]);
}

#[tokio::test(start_paused = true)]
async fn a_handed_turn_that_panics_rolls_back_even_with_its_caller_gone() {
    let registry = common::memory().await;
    let h = ledger(&registry, "panicky-later").await;
    let id = h.id();
    h.append("kept".into()).await.unwrap();

    let err = h.panic_after("lost".into(), 2).await.unwrap_err();
    assert!(err.is(codes::INTERNAL), "{err}");
    assert!(err.message().contains("handed boom"), "{err}");
    assert_eq!(h.log().await.unwrap(), ["kept"]);

    let gave_up = timeout(Duration::from_secs(1), h.panic_after("lost".into(), 2)).await;
    assert!(gave_up.is_err());
    sleep(Duration::from_secs(2)).await;
    assert_eq!(h.log().await.unwrap(), ["kept"]);
    assert_eq!(h.append("after".into()).await.unwrap(), 2);
    assert_eq!(stored_log(&registry, &id).await, ["kept", "after"]);
    assert_eq!(h.hooks().await.unwrap(), ["wake"]);
}

// ---------------------------------------------------------------------------------------
// An action calling its own actor.

#[test]
fn a_shared_action_may_call_its_own_actor_through_the_handle_it_was_called_with() {
    let (answered, answers) = std::sync::mpsc::channel();
    // On a thread of its own: if the call deadlocks, only that thread hangs.
    std::thread::spawn(move || {
        current_thread().block_on(async {
            let registry = common::memory().await;
            let h = Looper::get_or_create(&registry.client(), ["loop"])
                .await
                .unwrap();
            let own = h.outer_via_own_handle().await;
            answered.send(("own handle", own)).unwrap();
            assert!(LOOPER.set(h.clone()).is_ok());
            let stored = h.outer_via_stored_handle().await;
            answered.send(("stored handle", stored)).unwrap();
        })
    });
    for (how, expected) in [("own handle", 101), ("stored handle", 11)] {
        let (which, answer) = answers
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("calling itself through the {how} deadlocked"));
        assert_eq!(which, how);
        assert_eq!(answer.unwrap(), expected, "{how}");
    }
}

// ---------------------------------------------------------------------------------------
// Stopping while a caller is in the middle of a first poll (multi-threaded).

/// Gives the actor's task, on another worker, a fair chance to act on a request.
async fn until_asleep_or_a_while(registry: &registry::Registry) {
    for _ in 0..100_000 {
        if registry.awake() == 0 {
            return;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exclusive_call_in_its_first_poll_when_sleep_is_requested_is_answered_and_saved() {
    let registry = common::memory().await;
    let h = Staller::get_or_create(&registry.client(), ["exclusive"])
        .await
        .unwrap();
    let id = h.id();
    let caller = h.clone();
    let call = tokio::spawn(async move { caller.stall_exclusive().await });
    EXCLUSIVE_STALL.wait_entered();
    // A separate handle, so the request waits on nothing of the caller's.
    let sleeper = registry
        .client()
        .get::<Staller>(["exclusive"])
        .await
        .unwrap();
    let sleeping = tokio::spawn(async move { sleeper.sleep().await.unwrap() });
    until_asleep_or_a_while(&registry).await;
    EXCLUSIVE_STALL.release();
    let answer = timeout(Duration::from_secs(10), call)
        .await
        .expect("the call is answered")
        .unwrap();
    assert_eq!(answer.unwrap(), 1);
    timeout(Duration::from_secs(10), sleeping)
        .await
        .expect("the actor goes to sleep")
        .unwrap();
    assert_eq!(
        stored(&registry, &id).await["n"],
        1,
        "saved before sleeping"
    );
    assert_eq!(h.get().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_call_in_its_first_poll_when_sleep_is_requested_is_answered() {
    let registry = common::memory().await;
    let h = Staller::get_or_create(&registry.client(), ["shared"])
        .await
        .unwrap();
    let caller = h.clone();
    let call = tokio::spawn(async move { caller.stall_shared().await });
    SHARED_STALL.wait_entered();
    // A separate handle, so the request waits on nothing of the caller's.
    let sleeper = registry.client().get::<Staller>(["shared"]).await.unwrap();
    let sleeping = tokio::spawn(async move { sleeper.sleep().await.unwrap() });
    until_asleep_or_a_while(&registry).await;
    SHARED_STALL.release();
    let answer = timeout(Duration::from_secs(10), call)
        .await
        .expect("the shared call is answered, not left waiting forever")
        .unwrap();
    match answer {
        Ok(n) => assert_eq!(n, 7),
        Err(err) => assert!(err.is(codes::STOPPED), "{err}"),
    }
    timeout(Duration::from_secs(10), sleeping)
        .await
        .expect("the actor goes to sleep")
        .unwrap();
}

#[test]
fn an_actor_woken_by_a_call_from_another_runtime_lives_on_the_registrys() {
    let home = multi_thread();
    let other = current_thread();
    let home_id = home.handle().id().to_string();
    let registry = home.block_on(common::memory());
    let client = registry.client();
    // Created (and so started) by a call made on the other runtime.
    let h = other.block_on(async {
        let h = Ledger::get_or_create(&client, ["born-elsewhere"])
            .await
            .unwrap();
        let (seen, spawned) = h.runtimes().await.unwrap();
        assert_eq!(seen, home_id, "the action ran on the registry's runtime");
        assert_eq!(spawned, home_id);
        h
    });
    // The other runtime going away takes nothing of the actor with it.
    drop(other);
    home.block_on(async {
        assert_eq!(h.append("still here".into()).await.unwrap(), 1);
        registry.shutdown().await;
    });
}

// ---------------------------------------------------------------------------------------
// 8. Panics outside the action's body.

/// Makes [`Fragile`]'s `Serialize` panic when its count is 2.
static SERIALIZE_PANICS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// State whose `Serialize` can panic, and whose `on_wake`/`on_sleep` can too.
#[actor(name = "inPlaceFragile", vars = HookPanics)]
#[derive(Clone, Default, Deserialize)]
pub struct Fragile {
    pub n: u32,
}

/// Which hooks of [`Fragile`] panic; vars are rebuilt on every wake, so these are statics.
#[derive(Default)]
pub struct HookPanics;

static WAKE_PANICS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static SLEEP_PANICS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Serialize for Fragile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if SERIALIZE_PANICS.load(Ordering::SeqCst) && self.n == 2 {
            panic!("serialize boom");
        }
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Fragile", 1)?;
        st.serialize_field("n", &self.n)?;
        st.end()
    }
}

#[actor]
impl Fragile {
    #[on_wake]
    async fn woke(&mut self) {
        if WAKE_PANICS.load(Ordering::SeqCst) {
            panic!("wake boom");
        }
    }

    #[on_sleep]
    async fn slept(&mut self) {
        self.n += 100;
        if SLEEP_PANICS.load(Ordering::SeqCst) {
            panic!("sleep boom");
        }
    }

    #[action]
    async fn bump(&mut self) -> u32 {
        self.n += 1;
        self.n
    }

    #[action]
    async fn value(&self) -> u32 {
        self.n
    }
}

/// One test drives every panic of [`Fragile`], so the statics are never shared by tests
/// running at once.
#[tokio::test(start_paused = true)]
async fn panics_in_serialize_and_hooks_are_internal_errors_and_the_actor_keeps_working() {
    let registry = common::memory().await;
    let h = Fragile::get_or_create(&registry.client(), ["f"])
        .await
        .unwrap();
    assert_eq!(h.bump().await.unwrap(), 1);

    // `Serialize` panics after the action changed the state: rolled back, not stuck.
    SERIALIZE_PANICS.store(true, Ordering::SeqCst);
    let err = timeout(Duration::from_secs(5), h.bump())
        .await
        .expect("answered, not hung")
        .unwrap_err();
    assert!(err.is(codes::INTERNAL), "{err}");
    assert!(err.message().contains("serialize boom"), "{err}");
    SERIALIZE_PANICS.store(false, Ordering::SeqCst);
    assert_eq!(
        h.value().await.unwrap(),
        1,
        "the turn's change was discarded"
    );
    let again = timeout(Duration::from_secs(5), h.bump()).await;
    assert_eq!(again.expect("the state was put back").unwrap(), 2);

    // `on_sleep` panics: the actor still goes to sleep, without the hook's change.
    SLEEP_PANICS.store(true, Ordering::SeqCst);
    timeout(Duration::from_secs(5), h.sleep())
        .await
        .expect("the actor sleeps even though on_sleep panicked")
        .unwrap();
    SLEEP_PANICS.store(false, Ordering::SeqCst);
    assert_eq!(registry.awake(), 0);

    // `on_wake` panics: the waking call gets the error; the next wake works.
    WAKE_PANICS.store(true, Ordering::SeqCst);
    let err = timeout(Duration::from_secs(5), h.value())
        .await
        .expect("answered, not hung")
        .unwrap_err();
    assert!(err.is(codes::INTERNAL), "{err}");
    assert!(err.message().contains("wake boom"), "{err}");
    WAKE_PANICS.store(false, Ordering::SeqCst);
    assert_eq!(h.value().await.unwrap(), 2, "stored state intact");
    registry.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// 9. Cooperative scheduling.

#[tokio::test(flavor = "current_thread")]
async fn a_caller_looping_over_in_place_calls_lets_other_tasks_run() {
    let registry = common::memory().await;
    let h = ledger(&registry, "loop").await;
    let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let setter = tokio::spawn({
        let flag = flag.clone();
        async move { flag.store(true, Ordering::SeqCst) }
    });
    // Every call is answered in place; without a yield point the spawned task above
    // would not run before the loop ends.
    let mut calls = 0u32;
    while !flag.load(Ordering::SeqCst) && calls < 100_000 {
        h.log().await.unwrap();
        calls += 1;
    }
    assert!(
        flag.load(Ordering::SeqCst),
        "the other task never ran during {calls} calls"
    );
    assert!(calls < 1_000, "it ran only after {calls} calls");
    setter.await.unwrap();
    registry.shutdown().await;
}

/// On a one-worker multi-thread runtime (the scheduler with the LIFO slot and stealing),
/// a task looping over calls answered in place lets the timer driver run: a 1 ms sleep
/// in another task ends while the loop is still going.
#[test]
fn a_caller_looping_over_in_place_calls_lets_timers_fire() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let registry = common::memory().await;
        let h = ledger(&registry, "timers").await;
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let looping = tokio::spawn({
            let flag = flag.clone();
            async move {
                let mut calls = 0u32;
                while !flag.load(Ordering::SeqCst) && calls < 5_000_000 {
                    h.tick().await.unwrap();
                    calls += 1;
                }
                calls
            }
        });
        let timer = tokio::spawn({
            let flag = flag.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                flag.store(true, Ordering::SeqCst);
            }
        });
        let calls = looping.await.unwrap();
        assert!(
            flag.load(Ordering::SeqCst),
            "the timer never fired during {calls} calls"
        );
        timer.await.unwrap();
        registry.shutdown().await;
    });
}
