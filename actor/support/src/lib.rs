//! Actor kinds and helpers shared by `actor`'s integration tests (`actor/tests/`). A
//! crate of its own, so its actors are compiled once, not into each of the test
//! binaries that use them; each test file names it `common`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use actor::prelude::*;
use tokio::sync::Notify;

/// A counter with every hook recorded in its own state.
#[actor(sleep_timeout = "30s", action_timeout = "5s", inbox = 8)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    pub count: i64,
    pub hooks: Vec<String>,
    pub created_with: i64,
}

/// Passed to `increment_if` to show typed errors.
#[derive(Debug, thiserror::Error, actor::ActorError)]
#[actor_error(group = "counter")]
pub enum CounterError {
    #[error("the count would exceed {limit}")]
    TooBig { limit: i64 },
}

#[actor]
impl Counter {
    #[on_create]
    async fn init(&mut self, _ctx: &Ctx<Self>, start: i64) {
        self.count = start;
        self.created_with = start;
        self.hooks.push("create".into());
    }

    #[on_wake]
    async fn woke(&mut self) {
        self.hooks.push("wake".into());
    }

    #[on_sleep]
    async fn slept(&mut self) {
        self.hooks.push("sleep".into());
    }

    #[action]
    async fn increment(&mut self, by: i64) -> i64 {
        self.count += by;
        self.count
    }

    #[action]
    async fn increment_if(&mut self, by: i64, limit: i64) -> Result<i64, CounterError> {
        if self.count + by > limit {
            return Err(CounterError::TooBig { limit });
        }
        self.count += by;
        Ok(self.count)
    }

    #[action]
    async fn get(&self) -> i64 {
        self.count
    }

    #[action]
    async fn hooks(&self) -> Vec<String> {
        self.hooks.clone()
    }

    /// Never finishes on its own: for timeouts.
    #[action]
    async fn hang(&mut self) {
        self.count += 1000;
        std::future::pending::<()>().await;
    }

    #[action]
    async fn nap(&mut self, ctx: &Ctx<Self>) {
        ctx.sleep();
    }

    #[action]
    async fn self_destruct(&mut self, ctx: &Ctx<Self>) {
        ctx.destroy();
    }

    #[action]
    async fn work_in_background(&self, ctx: &Ctx<Self>, secs: u64) {
        let guard = ctx.keep_awake();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            drop(guard);
        });
    }

    #[action]
    async fn panic_now(&mut self) {
        self.count = -1;
        panic!("boom");
    }
}

/// Runtime-only signals for the concurrency tests.
#[derive(Default)]
pub struct Signals {
    pub done: Notify,
    pub finished: AtomicU32,
}

/// A job whose shared actions wait on, and race with, exclusive ones.
#[actor(vars = Signals, action_timeout = "120s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Job {
    pub finished: bool,
    pub log: Vec<String>,
}

#[actor]
impl Job {
    /// Waits until `finish` has run, then reports what it saw.
    #[action]
    async fn wait_for_finish(&self, ctx: &Ctx<Self>) -> bool {
        loop {
            let notified = ctx.vars().done.notified();
            if ctx.vars().finished.load(Ordering::Acquire) > 0 {
                return true;
            }
            notified.await;
        }
    }

    #[action]
    async fn finish(&mut self, ctx: &Ctx<Self>) {
        self.finished = true;
        ctx.vars().finished.fetch_add(1, Ordering::AcqRel);
        ctx.vars().done.notify_waiters();
    }

    /// A slow read.
    #[action]
    async fn slow_read(&self, secs: u64) -> usize {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        self.log.len()
    }

    #[action]
    async fn append(&mut self, entry: String) -> usize {
        self.log.push(entry);
        self.log.len()
    }

    #[action]
    async fn nap(&self, ctx: &Ctx<Self>) {
        ctx.sleep();
    }

    #[action]
    async fn log(&self) -> Vec<String> {
        self.log.clone()
    }
}

/// Saves on a debounce instead of before each reply.
#[actor(save_interval = "1s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Lazy {
    pub n: u64,
}

#[actor]
impl Lazy {
    #[action]
    async fn bump(&mut self) -> u64 {
        self.n += 1;
        self.n
    }
}

/// Counts state changes seen by `on_state_change` in its vars.
#[actor(vars = ChangeCount)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Watched {
    pub value: u32,
}

#[derive(Default)]
pub struct ChangeCount(pub AtomicU32);

#[actor]
impl Watched {
    #[on_state_change]
    async fn changed(&self, ctx: &Ctx<Self>) {
        ctx.vars().0.fetch_add(1, Ordering::AcqRel);
    }

    #[action]
    async fn set(&mut self, value: u32) {
        self.value = value;
    }

    #[action]
    async fn changes(&self, ctx: &Ctx<Self>) -> u32 {
        ctx.vars().0.load(Ordering::Acquire)
    }
}

/// A runtime with two worker threads, built by hand: tests drop it to crash every actor
/// task at once, or run it in a child process.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// This test binary again, running only its ignored test `test`, with `dir` in the
/// environment variable `env`: how a test makes a child process to crash or to compete.
pub fn child(test: &str, env: &str, dir: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(env, dir);
    command
}

/// Runs this binary's ignored test `test` as a child process (see [`child`]), reads the
/// `ack <who> <value>` lines it prints until `count` came, then kills it with SIGKILL (no
/// shutdown, no `on_sleep`, no flush). Returns the last value acknowledged for each who.
pub fn acks_until_killed(
    test: &str,
    env: &str,
    dir: &std::path::Path,
    count: usize,
) -> HashMap<String, String> {
    use std::io::{BufRead, BufReader};
    let mut child = child(test, env, dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = HashMap::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = 0;
    while seen < count {
        let line = lines
            .next()
            .expect("the child keeps acknowledging")
            .unwrap();
        // The test harness's own output precedes the first line without a newline.
        let Some((_, rest)) = line.split_once("ack ") else {
            continue;
        };
        let (who, value) = rest.split_once(' ').unwrap();
        acked.insert(who.to_string(), value.to_string());
        seen += 1;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    acked
}

/// Kills a child process when dropped, so a test that fails leaves none behind.
pub struct Reap(pub Option<std::process::Child>);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub async fn memory() -> registry::Registry {
    registry::Registry::builder()
        .memory()
        .build()
        .await
        .expect("memory registry")
}

/// A registry on a memory driver the test can read behind the actors' backs.
pub async fn on_memory() -> (
    std::sync::Arc<actor::driver::memory::MemoryDriver>,
    registry::Registry,
) {
    let memory = std::sync::Arc::new(actor::driver::memory::MemoryDriver::new());
    let registry = registry::Registry::builder()
        .driver(memory.clone())
        .build()
        .await
        .expect("memory registry");
    (memory, registry)
}

pub async fn sqlite(dir: &std::path::Path) -> registry::Registry {
    registry::Registry::builder()
        .sqlite(dir)
        .build()
        .await
        .expect("sqlite registry")
}

/// State that grows with every write, so a lost, torn or reordered write shows: entry `i`
/// always starts with `i + 1`, so a consistent ledger is exactly `1..=len`.
#[actor(inbox = 256, sleep_timeout = "never")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Ledger {
    pub entries: Vec<String>,
}

#[actor]
impl Ledger {
    /// Appends the next entry padded with `pad` bytes and returns the new length.
    #[action]
    async fn append(&mut self, pad: usize) -> usize {
        let n = self.entries.len() + 1;
        self.entries.push(format!("{n:08}{}", "x".repeat(pad)));
        n
    }

    /// Waits `secs`, then appends like `append`.
    #[action]
    async fn append_after(&mut self, secs: u64) -> usize {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        self.append(0).await
    }

    #[action]
    async fn len(&self) -> usize {
        self.entries.len()
    }

    /// Reads the length, then waits `secs` before answering.
    #[action]
    async fn len_after(&self, secs: u64) -> usize {
        let n = self.entries.len();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        n
    }

    /// The length, or `user/corrupt` naming the first entry out of place.
    #[action]
    async fn check(&self) -> Result<usize, ActorError> {
        for (i, entry) in self.entries.iter().enumerate() {
            if !entry.starts_with(&format!("{:08}", i + 1)) {
                return Err(ActorError::user(
                    "corrupt",
                    format!("entry {i} is {entry:.8}…, not {:08}", i + 1),
                ));
            }
        }
        Ok(self.entries.len())
    }
}

/// The highest length each ledger acknowledged, by key.
pub type Acked = std::collections::HashMap<String, usize>;

/// Opens the data directory again (no size limit), checks every ledger is consistent and
/// holds at least what it acknowledged, and returns how many acknowledged writes are
/// missing (the tests assert 0) and what each ledger holds.
pub async fn lost_after_reopen(dir: &std::path::Path, acked: &Acked) -> (usize, Acked) {
    let registry = sqlite(dir).await;
    let found = lost_in(&registry.client(), acked).await;
    registry.shutdown().await;
    found
}

/// [`lost_after_reopen`] on a registry that is already open.
pub async fn lost_in(client: &Client, acked: &Acked) -> (usize, Acked) {
    let mut lost = 0;
    let mut stored = Acked::new();
    for (key, n) in acked {
        let held = match Ledger::get(client, [key.as_str()]).await {
            Ok(ledger) => ledger
                .check()
                .await
                .unwrap_or_else(|e| panic!("ledger {key} after reopen: {e}")),
            Err(e) if e.is(actor::codes::NOT_FOUND) => 0,
            Err(e) => panic!("ledger {key} after reopen: {e}"),
        };
        lost += n.saturating_sub(held);
        stored.insert(key.clone(), held);
    }
    (lost, stored)
}

/// How many ledgers hold more than they acknowledged: writes that committed although
/// their caller never heard (in flight at a kill), or failed writes that landed.
pub fn ahead(acked: &Acked, stored: &Acked) -> usize {
    acked.iter().filter(|(key, n)| stored[*key] > **n).count()
}

/// Prints one row of the fault table in `docs/durability.md`:
/// `cargo test -p actor --test <file> -- --nocapture | grep '^fault'`.
pub fn report(fault: &str, before: usize, after: usize, lost: usize) {
    println!(
        "fault | {fault} | acked before {before} | acked during and after {after} | lost {lost}"
    );
}

/// What a test tells the actors under its own keys to do, kept outside the actors (their
/// handlers read it by their key), one value per key.
pub struct Keyed<T>(LazyLock<Mutex<HashMap<String, Arc<T>>>>);

impl<T: Default> Default for Keyed<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Default> Keyed<T> {
    /// Empty; `const`, for a `static` in the test.
    pub const fn new() -> Self {
        Self(LazyLock::new(Default::default))
    }

    /// The value for `key`, made on first use.
    pub fn get(&self, key: &str) -> Arc<T> {
        self.0
            .lock()
            .unwrap()
            .entry(key.to_string())
            .or_default()
            .clone()
    }
}

/// Waits (up to `within`, real time) until `done` holds, looking again each time `notify`
/// is notified; panics naming `what` if it never does.
pub async fn until(notify: &Notify, within: Duration, what: &str, done: impl Fn() -> bool) {
    let waited = tokio::time::timeout(within, async {
        loop {
            let notified = notify.notified();
            if done() {
                return;
            }
            notified.await;
        }
    });
    waited.await.unwrap_or_else(|_| panic!("{what}"));
}
