//! `#[run]` loops: they take their queues' messages in order, reach the state through
//! turns while actions keep running, let the actor sleep while they wait, coalesce ticks,
//! are restarted with backoff when they fail, and get a message they took but did not
//! complete again after a crash.

use actor_test_support as common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actor::prelude::*;
use actor::{Encoding, codes};
use common::{Keyed, memory, runtime, sqlite, until};
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

/// What the loop of the actor under one key does, set by the test that owns the key.
#[derive(Default)]
struct Script {
    /// Times the loop fails on a `fail` command before it completes it.
    failures: AtomicU32,
    /// Held by a `stall` command until the test adds a permit.
    gate: Mutex<Option<Arc<Semaphore>>>,
    /// When each loop run began.
    runs: Mutex<Vec<Instant>>,
    /// Commands the loop took, completed or not.
    taken: AtomicU32,
    completed: Notify,
}

static SCRIPTS: Keyed<Script> = Keyed::new();

fn script(key: &str) -> Arc<Script> {
    SCRIPTS.get(key)
}

#[actor(sleep_timeout = "5s", sleep_grace = "1s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Poller {
    pub log: Vec<String>,
    pub timeouts: u32,
}

#[actor]
impl Poller {
    /// Taken by the loop.
    #[queue]
    fn command(command: String);

    /// Taken by the loop, bursts coalesced.
    #[queue]
    fn tick(n: u32);

    /// A queue with a handler beside the loop's.
    #[queue]
    async fn direct(&mut self, text: String) {
        self.log.push(format!("direct:{text}"));
    }

    #[action]
    async fn act(&mut self, text: String) {
        self.log.push(format!("act:{text}"));
    }

    #[action]
    async fn log(&self) -> Vec<String> {
        self.log.clone()
    }

    #[run]
    async fn run(lp: Loop<Self>) -> Result<(), ActorError> {
        let s = script(lp.ctx().key().parts()[0].as_str());
        s.runs.lock().unwrap().push(Instant::now());
        loop {
            let next = lp
                .next_coalesced(
                    &["command", "tick"],
                    &["tick"],
                    Duration::from_millis(100),
                    Duration::from_secs(60),
                )
                .await?;
            let Some(message) = next else {
                lp.turn(|state, _| state.timeouts += 1).await?;
                continue;
            };
            match message.queue {
                "tick" => {
                    let folded = message.absorbed();
                    lp.complete(message, move |state, _| {
                        state.log.push(format!("tick+{folded}"));
                    })
                    .await?;
                }
                _ => {
                    let command: String = message.decode()?;
                    s.taken.fetch_add(1, Ordering::SeqCst);
                    if command == "fail"
                        && s.failures
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok()
                    {
                        return Err(ActorError::user("loop_failed", "told to fail"));
                    }
                    let gate = s.gate.lock().unwrap().clone();
                    if command == "stall"
                        && let Some(gate) = gate
                    {
                        gate.acquire().await.unwrap().forget();
                    }
                    let attempt = message.attempt;
                    lp.complete(message, move |state, _| {
                        state.log.push(format!("cmd:{command}#{attempt}"));
                    })
                    .await?;
                    s.completed.notify_waiters();
                }
            }
        }
    }
}

/// Waits until the loop of `key` has taken `n` commands (in steps of the clock, so a
/// paused one moves on while the loop waits for a timer).
async fn taken(key: &str, n: u32) {
    let s = script(key);
    while s.taken.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_loop_takes_its_queues_in_order_and_actions_run_beside_it() {
    let registry = memory().await;
    let p = Poller::get_or_create(&registry.client(), ["order"])
        .await
        .unwrap();
    p.command("a".into()).await.unwrap();
    p.command("b".into()).await.unwrap();
    p.direct("c".into()).await.unwrap();
    taken("order", 2).await;
    // The loop waits in `next` now; an action runs at once.
    p.act("d".into()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let log = p.log().await.unwrap();
    let commands: Vec<&String> = log.iter().filter(|l| l.starts_with("cmd:")).collect();
    assert_eq!(commands, ["cmd:a#1", "cmd:b#1"]);
    assert!(log.contains(&"direct:c".to_string()) && log.contains(&"act:d".to_string()));
    // Waiting for a loop queue's handler makes no sense: there is none.
    let err = p
        .command("e".into())
        .wait(Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(err.is(codes::QUEUE_NO_HANDLER), "{err}");
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_ticks_runs_once_and_a_command_among_them_keeps_its_place() {
    let registry = memory().await;
    let p = Poller::get_or_create(&registry.client(), ["ticks"])
        .await
        .unwrap();
    p.tick(1).await.unwrap();
    p.tick(2).await.unwrap();
    p.command("x".into()).await.unwrap();
    for n in 3..=5 {
        p.tick(n).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Later, outside the window: a tick of its own.
    p.tick(6).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(p.log().await.unwrap(), ["tick+4", "cmd:x#1", "tick+0"]);
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_loop_waiting_lets_the_actor_sleep_and_a_send_wakes_it() {
    let registry = memory().await;
    let p = Poller::get_or_create(&registry.client(), ["sleepy"])
        .await
        .unwrap();
    p.command("first".into()).await.unwrap();
    taken("sleepy", 1).await;
    // Idle past the sleep timeout (5 s) with the loop waiting in `next` (60 s).
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(registry.awake(), 0, "the loop's wait did not keep it awake");
    p.command("later".into()).await.unwrap();
    taken("sleepy", 2).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let s = script("sleepy");
    assert_eq!(
        s.runs.lock().unwrap().len(),
        2,
        "the loop started again on the wake"
    );
    let log = p.log().await.unwrap();
    assert_eq!(log, ["cmd:first#1", "cmd:later#1"]);
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_loop_restarts_with_backoff_and_gets_its_message_again() {
    let registry = memory().await;
    let s = script("fails");
    s.failures.store(2, Ordering::SeqCst);
    let p = Poller::get_or_create(&registry.client(), ["fails"])
        .await
        .unwrap();
    p.command("fail".into()).await.unwrap();
    taken("fails", 3).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let runs = s.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[1] - runs[0], Duration::from_secs(1), "first restart");
    assert_eq!(runs[2] - runs[1], Duration::from_secs(2), "doubled");
    assert_eq!(p.log().await.unwrap(), ["cmd:fail#3"], "completed once");
    registry.shutdown().await;
}

#[tokio::test]
async fn a_loop_names_only_its_own_queues_at_run_time() {
    #[actor(sleep_timeout = "never")]
    #[derive(Clone, Default, Serialize, Deserialize)]
    pub struct Asker {
        pub error: Option<String>,
    }

    #[actor]
    impl Asker {
        #[queue]
        fn mine(n: u32);

        #[queue]
        async fn handled(&mut self, n: u32) {
            let _ = n;
        }

        #[action]
        async fn error(&self) -> Option<String> {
            self.error.clone()
        }

        #[run]
        async fn run(lp: Loop<Self>) -> Result<(), ActorError> {
            // Built at run time, so the macro cannot check it.
            let name = String::from("handled");
            let err = lp
                .next(&[name.as_str()], Duration::from_secs(1))
                .await
                .unwrap_err();
            lp.turn(move |state, _| state.error = Some(err.code().to_string()))
                .await?;
            lp.cancelled().await;
            Ok(())
        }
    }

    let registry = memory().await;
    let a = Asker::get_or_create(&registry.client(), ["names"])
        .await
        .unwrap();
    let mut error = None;
    while error.is_none() {
        tokio::task::yield_now().await;
        error = a.error().await.unwrap();
    }
    assert_eq!(error.as_deref(), Some("not_found"));
    registry.shutdown().await;
}

/// The process dies while the loop holds a message it has not completed; the registry
/// on the same directory wakes the actor, and the loop gets the message again.
#[test]
fn a_message_taken_and_not_completed_before_a_crash_is_delivered_again() {
    let dir = tempfile::tempdir().unwrap();
    let s = script("crash");
    *s.gate.lock().unwrap() = Some(Arc::new(Semaphore::new(0)));
    runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        let p = Poller::get_or_create(&registry.client(), ["crash"])
            .await
            .unwrap();
        p.command("stall".into()).await.unwrap();
        p.send_encoded("command", Encoding::Json, br#""after""#.to_vec())
            .await
            .unwrap();
        taken("crash", 1).await;
    });
    *s.gate.lock().unwrap() = None;
    runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        until(
            &s.completed,
            Duration::from_secs(20),
            "the alarm loop woke the actor and its loop took the messages again",
            || s.taken.load(Ordering::SeqCst) >= 3,
        )
        .await;
        let p = registry.client().get::<Poller>(["crash"]).await.unwrap();
        let mut log = p.log().await.unwrap();
        while log.len() < 2 {
            tokio::task::yield_now().await;
            log = p.log().await.unwrap();
        }
        assert_eq!(log, ["cmd:stall#1", "cmd:after#1"], "each once");
        registry.shutdown().await;
    });
}
