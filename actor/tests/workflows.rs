//! Durable workflows: recorded steps that replay, retries and timeouts, durable sleeps
//! and message waits that let the actor sleep, loops with bounded history, versioning,
//! and a real crash in the middle of a workflow.

use actor_test_support as common;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use actor::codes;
use actor::driver::Driver;
use actor::driver::memory::MemoryDriver;
use actor::prelude::*;
use actor::workflow::{Branch, EntryKind, EntryStatus, Waiting, WorkflowState};
use registry::Registry;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Side effects counted outside the actors (a step's work is an outside effect), by
/// workflow id and step.
static EFFECTS: LazyLock<Mutex<HashMap<String, u32>>> = LazyLock::new(Default::default);

fn effect(id: &WorkflowId, step: &str) -> u32 {
    let mut effects = EFFECTS.lock().unwrap();
    let n = effects.entry(format!("{id}/{step}")).or_default();
    *n += 1;
    *n
}

fn effects(id: &str, step: &str) -> u32 {
    EFFECTS
        .lock()
        .unwrap()
        .get(&format!("{id}/{step}"))
        .copied()
        .unwrap_or(0)
}

/// How a test wants a workflow's flaky step to behave, by workflow id.
#[derive(Default)]
struct Script {
    /// Attempts that fail before one succeeds.
    fail_first: AtomicU32,
    /// Attempts that hang (for timeouts) before the others.
    hang_first: AtomicU32,
    /// When each attempt started.
    attempts: Mutex<Vec<Instant>>,
    /// Released to let a long step finish.
    release: Notify,
}

static SCRIPTS: LazyLock<Mutex<HashMap<String, Arc<Script>>>> = LazyLock::new(Default::default);

fn script(id: &str) -> Arc<Script> {
    SCRIPTS
        .lock()
        .unwrap()
        .entry(id.to_string())
        .or_default()
        .clone()
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Options {
    retries: u32,
    timeout_ms: Option<u64>,
    retry_timeouts: bool,
}

#[actor(name = "provisioner", sleep_timeout = "30s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Provisioner {
    steps: Vec<String>,
    bumps: u32,
    total: u64,
}

#[actor]
impl Provisioner {
    #[action]
    async fn bump(&mut self) -> u32 {
        self.bumps += 1;
        self.bumps
    }

    #[action]
    async fn steps(&self) -> Vec<String> {
        self.steps.clone()
    }

    #[action]
    async fn total(&self) -> u64 {
        self.total
    }

    /// Starts `flaky` in the turn, under `id`: once, however often it is called.
    #[action]
    async fn start_flaky(&mut self, ctx: &Ctx<Self>, id: String) -> Result<WorkflowId, ActorError> {
        self.bumps += 1;
        ctx.workflow_with_id(id).flaky(Options::default())
    }

    /// Starts `flaky`, then panics: the turn is thrown away, and nothing starts.
    #[action]
    async fn start_and_panic(&mut self, ctx: &Ctx<Self>) {
        ctx.workflow_with_id("never")
            .flaky(Options::default())
            .unwrap();
        panic!("the turn fails after starting a workflow");
    }

    /// A flaky step with the given retries and timeout, then a state step.
    #[workflow]
    async fn flaky(wf: Workflow<Self>, options: Options) -> Result<u32, ActorError> {
        let id = wf.id().to_string();
        let s = script(&id);
        let mut step = wf
            .step("flaky", move |step| {
                let s = s.clone();
                async move {
                    s.attempts.lock().unwrap().push(Instant::now());
                    if s.hang_first.load(Ordering::SeqCst) >= step.attempt() {
                        std::future::pending::<()>().await;
                    }
                    if s.fail_first.load(Ordering::SeqCst) >= step.attempt() {
                        return Err(ActorError::user(
                            "flaky",
                            format!("attempt {} failed", step.attempt()),
                        ));
                    }
                    Ok(step.attempt())
                }
            })
            .retries(options.retries)
            .backoff(Duration::from_secs(1), Duration::from_secs(10))
            .retry_timeouts(options.retry_timeouts);
        if let Some(ms) = options.timeout_ms {
            step = step.timeout(Duration::from_millis(ms));
        }
        let attempt = step.await?;
        wf.turn("record", move |state: &mut Provisioner, _| {
            state.steps.push(format!("flaky#{attempt}"));
        })
        .await?;
        Ok(attempt)
    }

    /// A step that returns `()`, a durable sleep, then another step.
    #[workflow]
    async fn napper(wf: Workflow<Self>, nap_secs: u64) -> Result<(), ActorError> {
        let id = wf.id().clone();
        wf.step("before", move |_| {
            let id = id.clone();
            async move {
                effect(&id, "before");
                Ok::<_, ActorError>(())
            }
        })
        .apply(|state, _, ()| state.steps.push("before".into()))
        .await?;
        wf.sleep("nap", Duration::from_secs(nap_secs)).await?;
        let id = wf.id().clone();
        wf.step("after", move |_| {
            let id = id.clone();
            async move {
                effect(&id, "after");
                Ok::<_, ActorError>(())
            }
        })
        .apply(|state, _, ()| state.steps.push("after".into()))
        .await?;
        Ok(())
    }

    /// A step that runs until the test releases it.
    #[workflow]
    async fn long(wf: Workflow<Self>) -> Result<String, ActorError> {
        let s = script(wf.id().as_str());
        wf.step("long", move |_| {
            let s = s.clone();
            async move {
                s.release.notified().await;
                Ok::<_, ActorError>("done".to_string())
            }
        })
        .timeout(Duration::from_secs(3600))
        .await
    }

    /// Counts to `n` in a loop whose every iteration changes the state.
    #[workflow]
    async fn counter(wf: Workflow<Self>, n: u64) -> Result<u64, ActorError> {
        wf.repeat("count", 0u64, move |wf, i| async move {
            wf.turn("add", |state: &mut Provisioner, _| state.total += 1)
                .await?;
            Ok(if i + 1 == n {
                ControlFlow::Break(i + 1)
            } else {
                ControlFlow::Continue(i + 1)
            })
        })
        .await
    }

    /// Branches: a join of two, then a race a sleep loses.
    #[workflow]
    async fn fan_out(wf: Workflow<Self>) -> Result<(Vec<u32>, String), ActorError> {
        let both = wf
            .join(
                "both",
                vec![
                    Branch::new("one", |wf: Workflow<Self>| async move {
                        wf.step("x", |_| async { Ok::<_, ActorError>(1u32) }).await
                    }),
                    Branch::new("two", |wf: Workflow<Self>| async move {
                        wf.sleep("wait", Duration::from_secs(1)).await?;
                        wf.step("x", |_| async { Ok::<_, ActorError>(2u32) }).await
                    }),
                ],
            )
            .await?;
        let (winner, _) = wf
            .race(
                "first",
                vec![
                    Branch::new("slow", |wf: Workflow<Self>| async move {
                        wf.sleep("wait", Duration::from_secs(60)).await?;
                        Ok(0u32)
                    }),
                    Branch::new("fast", |wf: Workflow<Self>| async move {
                        wf.step("x", |_| async { Ok::<_, ActorError>(7u32) }).await
                    }),
                ],
            )
            .await?;
        Ok((both, winner))
    }

    /// A step allowed to fail returns its error as a value.
    #[workflow]
    async fn tolerant(wf: Workflow<Self>) -> Result<String, ActorError> {
        let tried = wf
            .step("doomed", |_| async {
                Err::<u32, _>(ActorError::user("nope", "this never works"))
            })
            .retries(0)
            .allow_failure()
            .await?;
        Ok(match tried {
            Ok(_) => "worked".into(),
            Err(err) => err.code().to_string(),
        })
    }
}

/// A builder without the versions of the `versioned` kind, which share one name (see
/// [`versioned`]).
fn plain(builder: registry::RegistryBuilder) -> registry::RegistryBuilder {
    builder
        .without::<V1>()
        .without::<Renamed>()
        .without::<Reordered>()
        .without::<Migrated>()
}

async fn memory() -> Registry {
    plain(Registry::builder().memory()).build().await.unwrap()
}

async fn on_memory() -> (Arc<MemoryDriver>, Registry) {
    let memory = Arc::new(MemoryDriver::new());
    let registry = plain(Registry::builder().driver(memory.clone()))
        .build()
        .await
        .unwrap();
    (memory, registry)
}

async fn sqlite(dir: &std::path::Path) -> Registry {
    plain(Registry::builder().sqlite(dir))
        .build()
        .await
        .unwrap()
}

fn wait() -> Duration {
    Duration::from_secs(3600)
}

/// Retries wait with a doubling backoff on the paused clock, each attempt's number
/// reaches the step, and only the attempt that succeeded is recorded; the status shows
/// the retry that is waiting, and the history the attempts and the last error.
#[tokio::test(start_paused = true)]
async fn a_failing_step_is_retried_with_backoff_and_recorded_once() {
    let registry = memory().await;
    let p = Provisioner::get_or_create(&registry.client(), ["retry"])
        .await
        .unwrap();
    let s = script("retry-ok");
    s.fail_first.store(2, Ordering::SeqCst);
    let run = p
        .flaky(Options {
            retries: 3,
            ..Options::default()
        })
        .id("retry-ok")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = run.status().await.unwrap();
    assert_eq!(status.state, WorkflowState::Running);
    assert!(
        matches!(&status.waiting[..], [Waiting::Retry { location, .. }] if location == "flaky"),
        "{status:?}"
    );
    assert_eq!(run.wait(wait()).await.unwrap(), 3);
    let at = s.attempts.lock().unwrap().clone();
    assert_eq!(at.len(), 3);
    assert_eq!(at[1] - at[0], Duration::from_secs(1), "first backoff");
    assert_eq!(at[2] - at[1], Duration::from_secs(2), "doubled");
    assert_eq!(p.steps().await.unwrap(), ["flaky#3"]);
    let history = run.history().await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[0].name.as_str(), history[0].attempts),
        ("flaky", 3)
    );
    assert_eq!(history[0].status, EntryStatus::Completed);
    let last = history[0]
        .error
        .as_ref()
        .expect("why the attempts before failed");
    assert_eq!(last.code(), "flaky");
    assert!(last.message().contains("attempt 2"), "{last}");
    assert_eq!(history[1].name, "record");
    registry.shutdown().await;
}

/// A step out of attempts fails the workflow with `workflow/step_failed` naming the
/// step, its attempts and the last cause; `retry` resumes it from that step.
#[tokio::test(start_paused = true)]
async fn an_exhausted_step_fails_the_workflow_with_its_cause_and_retry_resumes_it() {
    let registry = memory().await;
    let p = Provisioner::get_or_create(&registry.client(), ["exhaust"])
        .await
        .unwrap();
    let s = script("exhaust");
    s.fail_first.store(10, Ordering::SeqCst);
    let run = p
        .flaky(Options {
            retries: 2,
            ..Options::default()
        })
        .id("exhaust")
        .await
        .unwrap();
    let err = run.wait(wait()).await.unwrap_err();
    assert!(err.is(codes::WORKFLOW_STEP_FAILED), "{err}");
    assert!(err.message().contains("step `flaky`"), "{err}");
    assert!(err.message().contains("after 3 attempts"), "{err}");
    assert!(
        err.message().contains("attempt 3 failed"),
        "the last cause: {err}"
    );
    let meta = err.metadata().unwrap();
    assert_eq!(meta["attempts"], 3);
    assert_eq!(meta["cause"]["code"], "flaky");
    let status = run.status().await.unwrap();
    assert_eq!(status.state, WorkflowState::Failed);
    assert!(status.error.unwrap().is(codes::WORKFLOW_STEP_FAILED));
    let history = run.history().await.unwrap();
    assert_eq!(history[0].status, EntryStatus::Failed);
    assert_eq!(history[0].error.as_ref().unwrap().code(), "flaky");
    assert!(
        p.steps().await.unwrap().is_empty(),
        "nothing after the failed step ran"
    );

    // The cause is gone: `retry` runs the step again, from attempt 1.
    s.fail_first.store(0, Ordering::SeqCst);
    run.retry().await.unwrap();
    assert_eq!(run.wait(wait()).await.unwrap(), 1);
    assert_eq!(p.steps().await.unwrap(), ["flaky#1"]);
    let err = run.retry().await.unwrap_err();
    assert!(err.is(codes::WORKFLOW_INVALID_STATUS), "{err}");
    registry.shutdown().await;
}

/// An attempt past its timeout fails with `workflow/step_timed_out` and is retried;
/// with `retry_timeouts(false)` the first timeout fails the step.
#[tokio::test(start_paused = true)]
async fn timeouts_fail_an_attempt_and_are_retried_unless_told_not_to() {
    let registry = memory().await;
    let p = Provisioner::get_or_create(&registry.client(), ["timeouts"])
        .await
        .unwrap();
    script("t-retried").hang_first.store(1, Ordering::SeqCst);
    let retried = p
        .flaky(Options {
            retries: 1,
            timeout_ms: Some(5_000),
            retry_timeouts: true,
        })
        .id("t-retried")
        .await
        .unwrap();
    let started = Instant::now();
    assert_eq!(retried.wait(wait()).await.unwrap(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "a 5 s timeout, a 1 s backoff"
    );
    let history = retried.history().await.unwrap();
    assert_eq!(history[0].attempts, 2);

    script("t-once").hang_first.store(5, Ordering::SeqCst);
    let once = p
        .flaky(Options {
            retries: 3,
            timeout_ms: Some(5_000),
            retry_timeouts: false,
        })
        .id("t-once")
        .await
        .unwrap();
    let err = once.wait(wait()).await.unwrap_err();
    assert!(err.is(codes::WORKFLOW_STEP_FAILED), "{err}");
    assert_eq!(err.metadata().unwrap()["attempts"], 1);
    assert_eq!(err.metadata().unwrap()["cause"]["code"], "step_timed_out");
    assert_eq!(script("t-once").attempts.lock().unwrap().len(), 1);
    registry.shutdown().await;
}

/// While a step waits on something slow, the actor's actions answer at once, and the
/// status shows the step in flight: which, which attempt, since when, until when.
#[tokio::test(start_paused = true)]
async fn actions_answer_while_a_workflow_waits_inside_a_long_step() {
    let registry = memory().await;
    let p = Provisioner::get_or_create(&registry.client(), ["long"])
        .await
        .unwrap();
    let run = p.long().id("long").await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let answered = tokio::time::timeout(Duration::from_millis(10), p.bump()).await;
    assert_eq!(answered.expect("the action answered at once").unwrap(), 1);
    let status = run.status().await.unwrap();
    assert_eq!(status.in_flight.len(), 1, "{status:?}");
    let step = &status.in_flight[0];
    assert_eq!((step.location.as_str(), step.attempt), ("long", 1));
    let deadline = step.deadline.expect("the step has a timeout");
    assert_eq!(
        deadline.duration_since(step.started).unwrap(),
        Duration::from_secs(3600)
    );
    script("long").release.notify_one();
    assert_eq!(run.wait(wait()).await.unwrap(), "done");
    assert!(run.status().await.unwrap().in_flight.is_empty());
    registry.shutdown().await;
}

/// A start through the handle or from a turn is idempotent on its id; a turn thrown
/// away starts nothing.
#[tokio::test(start_paused = true)]
async fn starts_are_idempotent_on_their_id_and_commit_with_their_turn() {
    let registry = memory().await;
    let p = Provisioner::get_or_create(&registry.client(), ["starts"])
        .await
        .unwrap();
    let first = p.start_flaky("once".into()).await.unwrap();
    let second = p.start_flaky("once".into()).await.unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("once", "once"));
    let through_handle = p.flaky(Options::default()).id("once").await.unwrap();
    assert_eq!(through_handle.id().as_str(), "once");
    through_handle.wait(wait()).await.unwrap();
    assert_eq!(
        script("once").attempts.lock().unwrap().len(),
        1,
        "it ran once"
    );
    assert_eq!(p.workflows().await.unwrap().len(), 1);

    let err = p.start_and_panic().await.unwrap_err();
    assert!(err.is(codes::INTERNAL), "{err}");
    let err = p.workflow::<u32>("never").status().await.unwrap_err();
    assert!(err.is(codes::WORKFLOW_NOT_FOUND), "{err}");

    let err = p.flaky(Options::default()).id("").await.unwrap_err();
    assert!(err.is(codes::WORKFLOW_INVALID), "{err}");
    let generated = p.flaky(Options::default()).await.unwrap();
    assert_eq!(generated.id().as_str().len(), 32);
    registry.shutdown().await;
}

/// A loop of 10,000 iterations keeps only its last iteration's entries (and its own):
/// the history stays bounded, and every iteration's change happened once.
#[tokio::test(start_paused = true)]
async fn a_long_loop_keeps_its_history_bounded() {
    let (memory, registry) = on_memory().await;
    let p = Provisioner::get_or_create(&registry.client(), ["loop"])
        .await
        .unwrap();
    let run = p.counter(10_000).id("count").await.unwrap();
    assert_eq!(run.wait(wait()).await.unwrap(), 10_000);
    assert_eq!(p.total().await.unwrap(), 10_000);
    let stored = memory.scan(&p.id(), b"wh/").await.unwrap();
    assert!(stored.len() <= 2, "{} history records kept", stored.len());
    let history = run.history().await.unwrap();
    assert_eq!(history[0].kind, EntryKind::Loop);
    assert_eq!(history[0].attempts, 10_000, "iterations finished");
    registry.shutdown().await;
}

/// A join waits for both branches; a race returns the first and drops the other; a
/// step allowed to fail returns its error as a value.
#[tokio::test(start_paused = true)]
async fn joins_races_and_failures_as_values() {
    let registry = memory().await;
    let p = Provisioner::get_or_create(&registry.client(), ["branches"])
        .await
        .unwrap();
    let run = p.fan_out().id("fan").await.unwrap();
    let (both, winner) = run.wait(wait()).await.unwrap();
    assert_eq!((both, winner.as_str()), (vec![1, 2], "fast"));
    let locations: Vec<String> = run
        .history()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.location)
        .collect();
    for expected in [
        "both/one/x",
        "both/two/wait",
        "both/two/x",
        "both",
        "first/fast/x",
        "first",
    ] {
        assert!(
            locations.iter().any(|l| l == expected),
            "{expected} in {locations:?}"
        );
    }
    let tolerant = p.tolerant().await.unwrap();
    assert_eq!(tolerant.wait(wait()).await.unwrap(), "nope");
    registry.shutdown().await;
}

/// A durable sleep lets the actor sleep: the alarm index wakes it at the sleep's end
/// and the workflow goes on; a `()` step before it does not run again.
#[tokio::test(start_paused = true)]
async fn a_durable_sleep_lets_the_actor_sleep_and_wakes_it() {
    let registry = memory().await;
    let p = Provisioner::get_or_create(&registry.client(), ["nap"])
        .await
        .unwrap();
    let run = p.napper(600).id("nap").await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        registry.awake(),
        0,
        "the actor slept while its workflow waits"
    );
    assert!(matches!(
        &run.status().await.unwrap().waiting[..],
        [Waiting::Sleep { location, .. }] if location == "nap"
    ));
    // The status call woke it; let it sleep again, then reach the end of the nap.
    tokio::time::sleep(Duration::from_secs(600)).await;
    run.wait(wait()).await.unwrap();
    assert_eq!((effects("nap", "before"), effects("nap", "after")), (1, 1));
    assert_eq!(p.steps().await.unwrap(), ["before", "after"]);
    registry.shutdown().await;
}

/// A restart in the middle of a durable sleep: the new registry finds the running
/// workflow through the alarm index, replays its `()` step without running it, and
/// sleeps only what is left.
#[tokio::test(start_paused = true)]
async fn a_workflow_resumes_after_a_restart_without_running_finished_steps() {
    let memory = Arc::new(MemoryDriver::new());
    let on = |memory: Arc<MemoryDriver>| async move {
        plain(Registry::builder().driver(memory))
            .build()
            .await
            .unwrap()
    };
    let registry = on(memory.clone()).await;
    let p = Provisioner::get_or_create(&registry.client(), ["restart"])
        .await
        .unwrap();
    p.napper(600).id("restart").await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(effects("restart", "before"), 1);
    registry.shutdown().await;
    drop(p);

    let registry = on(memory).await;
    let p = Provisioner::get(&registry.client(), ["restart"])
        .await
        .unwrap();
    let run = p.workflow::<()>("restart");
    run.wait(wait()).await.unwrap();
    assert_eq!(
        effects("restart", "before"),
        1,
        "the `()` step did not run again"
    );
    assert_eq!(effects("restart", "after"), 1);
    assert_eq!(p.steps().await.unwrap(), ["before", "after"]);
    registry.shutdown().await;
}

/// A kind whose loop-less workflow waits for an approval message.
#[actor(name = "approvals", sleep_timeout = "30s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Approvals {
    decided: Option<String>,
}

#[actor]
impl Approvals {
    /// Taken by the workflow.
    #[queue]
    fn approve(decision: String);

    #[action]
    async fn decided(&self) -> Option<String> {
        self.decided.clone()
    }

    #[workflow]
    async fn review(wf: Workflow<Self>, timeout_secs: Option<u64>) -> Result<String, ActorError> {
        let message = wf
            .message(
                "approval",
                &["approve"],
                timeout_secs.map(Duration::from_secs),
            )
            .await?;
        let decision = match message {
            Some(message) => message.decode::<String>()?,
            None => "timed out".to_string(),
        };
        let recorded = decision.clone();
        wf.turn("decide", move |state: &mut Approvals, _| {
            state.decided = Some(recorded)
        })
        .await?;
        Ok(decision)
    }
}

/// A workflow waiting for a message lets the actor sleep; the send wakes it, and the
/// message is removed in the commit that records it in the history.
#[tokio::test(start_paused = true)]
async fn a_workflow_waiting_for_a_message_lets_the_actor_sleep_and_wakes_on_send() {
    let (memory, registry) = on_memory().await;
    let a = Approvals::get_or_create(&registry.client(), ["a"])
        .await
        .unwrap();
    let run = a.review(None).id("review").await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        registry.awake(),
        0,
        "asleep while its workflow waits for a message"
    );
    a.approve("yes".into()).await.unwrap();
    assert_eq!(run.wait(wait()).await.unwrap(), "yes");
    assert_eq!(a.decided().await.unwrap().as_deref(), Some("yes"));
    assert!(
        memory.scan(&a.id(), b"q/").await.unwrap().is_empty(),
        "the message is gone"
    );
    let history = run.history().await.unwrap();
    assert_eq!(
        (history[0].kind, history[0].status),
        (EntryKind::Message, EntryStatus::Completed)
    );

    // With a timeout that passes first: `None`, recorded.
    let timed = a.review(Some(120)).id("timed").await.unwrap();
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!(timed.wait(wait()).await.unwrap(), "timed out");
    registry.shutdown().await;
}

/// `cancel` stops a running workflow: its waiters get `workflow/cancelled`.
#[tokio::test(start_paused = true)]
async fn a_cancelled_workflow_stops_and_says_so() {
    let registry = memory().await;
    let a = Approvals::get_or_create(&registry.client(), ["c"])
        .await
        .unwrap();
    let run = a.review(None).id("cancel-me").await.unwrap();
    let waiter = {
        let run = run.clone();
        tokio::spawn(async move { run.wait(wait()).await })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    run.cancel().await.unwrap();
    let err = waiter.await.unwrap().unwrap_err();
    assert!(err.is(codes::WORKFLOW_CANCELLED), "{err}");
    assert_eq!(run.status().await.unwrap().state, WorkflowState::Cancelled);
    a.approve("late".into()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        a.decided().await.unwrap(),
        None,
        "a cancelled workflow takes nothing"
    );
    let err = run.cancel().await.unwrap_err();
    assert!(err.is(codes::WORKFLOW_INVALID_STATUS), "{err}");
    registry.shutdown().await;
}

// Versions of one kind, `versioned`, as its code changes under a running workflow.

/// The first version: steps `a` and `b`, then a wait for a message.
#[actor(name = "versioned")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct V1 {}

#[actor]
impl V1 {
    #[queue]
    fn go(go: ());

    #[workflow]
    async fn flow(wf: Workflow<Self>) -> Result<(), ActorError> {
        let id = wf.id().clone();
        for step in ["a", "b"] {
            let id = id.clone();
            wf.step(step, move |_| {
                let id = id.clone();
                async move {
                    effect(&id, step);
                    Ok::<_, ActorError>(())
                }
            })
            .await?;
        }
        wf.message("gate", &["go"], Some(Duration::from_secs(3600)))
            .await?;
        Ok(())
    }
}

/// `b` renamed to `c`.
#[actor(name = "versioned")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Renamed {}

#[actor]
impl Renamed {
    #[queue]
    fn go(go: ());

    #[workflow]
    async fn flow(wf: Workflow<Self>) -> Result<(), ActorError> {
        wf.step("a", |_| async { Ok::<_, ActorError>(()) }).await?;
        wf.step("c", |_| async { Ok::<_, ActorError>(()) }).await?;
        wf.message("gate", &["go"], Some(Duration::from_secs(3600)))
            .await?;
        Ok(())
    }
}

/// `a` and `b` swapped.
#[actor(name = "versioned")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Reordered {}

#[actor]
impl Reordered {
    #[queue]
    fn go(go: ());

    #[workflow]
    async fn flow(wf: Workflow<Self>) -> Result<(), ActorError> {
        wf.step("b", |_| async { Ok::<_, ActorError>(()) }).await?;
        wf.step("a", |_| async { Ok::<_, ActorError>(()) }).await?;
        wf.message("gate", &["go"], Some(Duration::from_secs(3600)))
            .await?;
        Ok(())
    }
}

/// `b` replaced by `c`, with `removed("b")` where `b` was, and a version marker.
#[actor(name = "versioned")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Migrated {
    #[serde(default)]
    version: u32,
}

#[actor]
impl Migrated {
    #[queue]
    fn go(go: ());

    #[action]
    async fn version(&self) -> u32 {
        self.version
    }

    #[workflow]
    async fn flow(wf: Workflow<Self>) -> Result<(), ActorError> {
        let id = wf.id().clone();
        wf.step("a", move |_| {
            let id = id.clone();
            async move {
                effect(&id, "a");
                Ok::<_, ActorError>(())
            }
        })
        .await?;
        wf.removed("b")?;
        // New workflows run `c`; one whose history predates the marker keeps the old path.
        let version = wf.version("with-c", 2).await?;
        if version >= 2 {
            let id = wf.id().clone();
            wf.step("c", move |_| {
                let id = id.clone();
                async move {
                    effect(&id, "c");
                    Ok::<_, ActorError>(())
                }
            })
            .await?;
        }
        wf.message("gate", &["go"], Some(Duration::from_secs(3600)))
            .await?;
        wf.turn("finish", move |state: &mut Migrated, _| {
            state.version = version
        })
        .await?;
        Ok(())
    }
}

/// A registry on `memory` that runs `A` as the `versioned` kind.
async fn versioned<A: Actor>(memory: &Arc<MemoryDriver>) -> Registry {
    fn unless<A: Actor, B: Actor>(builder: registry::RegistryBuilder) -> registry::RegistryBuilder {
        if std::any::TypeId::of::<A>() == std::any::TypeId::of::<B>() {
            builder
        } else {
            builder.without::<B>()
        }
    }
    let builder = Registry::builder().driver(memory.clone());
    let builder = unless::<A, V1>(builder);
    let builder = unless::<A, Renamed>(builder);
    let builder = unless::<A, Reordered>(builder);
    let builder = unless::<A, Migrated>(builder);
    builder.build().await.unwrap()
}

/// Runs `V1`'s workflow `id` up to its wait on a fresh memory driver and stops the
/// registry there.
async fn started_under_v1(id: &str) -> Arc<MemoryDriver> {
    let memory = Arc::new(MemoryDriver::new());
    let registry = versioned::<V1>(&memory).await;
    let v1 = V1::get_or_create(&registry.client(), [id]).await.unwrap();
    v1.flow().id(id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!((effects(id, "a"), effects(id, "b")), (1, 1));
    registry.shutdown().await;
    memory
}

/// A renamed step and reordered steps no longer match the history: the workflow fails
/// with `workflow/history_diverged`, naming the recorded entry, its location and what
/// the code asked for, and suggesting `removed`.
#[tokio::test(start_paused = true)]
async fn renamed_or_reordered_steps_fail_with_history_diverged() {
    let memory = started_under_v1("renamed").await;
    let registry = versioned::<Renamed>(&memory).await;
    let renamed = Renamed::get(&registry.client(), ["renamed"]).await.unwrap();
    let err = renamed
        .workflow::<()>("renamed")
        .wait(wait())
        .await
        .unwrap_err();
    assert!(err.is(codes::WORKFLOW_HISTORY_DIVERGED), "{err}");
    let meta = err.metadata().unwrap();
    assert_eq!(meta["location"], "b");
    assert_eq!(meta["place"], 2);
    assert_eq!(meta["recorded"]["name"], "b");
    assert_eq!(meta["requested"]["name"], "c");
    assert!(err.message().contains(r#"wf.removed("b")"#), "{err}");
    registry.shutdown().await;

    let memory = started_under_v1("reordered").await;
    let registry = versioned::<Reordered>(&memory).await;
    let reordered = Reordered::get(&registry.client(), ["reordered"])
        .await
        .unwrap();
    let err = reordered
        .workflow::<()>("reordered")
        .wait(wait())
        .await
        .unwrap_err();
    assert!(err.is(codes::WORKFLOW_HISTORY_DIVERGED), "{err}");
    let meta = err.metadata().unwrap();
    assert_eq!(
        (meta["location"].as_str(), meta["place"].as_u64()),
        (Some("a"), Some(1))
    );
    assert_eq!(meta["requested"]["name"], "b");
    registry.shutdown().await;
}

/// With `removed("b")` where `b` was, the old history replays cleanly: `a` is not run
/// again, `b` is skipped, and the version marker reads 0 (the history has the old code's
/// next entry there), so the old path goes on without `c`; a new workflow records the
/// marker's latest version and runs `c`.
#[tokio::test(start_paused = true)]
async fn removed_lets_an_old_history_replay() {
    let memory = started_under_v1("migrated").await;
    let registry = versioned::<Migrated>(&memory).await;
    let m = Migrated::get(&registry.client(), ["migrated"])
        .await
        .unwrap();
    m.go(()).await.unwrap();
    m.workflow::<()>("migrated").wait(wait()).await.unwrap();
    assert_eq!(effects("migrated", "a"), 1, "`a` replayed, not run");
    assert_eq!(effects("migrated", "c"), 0, "the old path has no `c`");
    assert_eq!(
        m.version().await.unwrap(),
        0,
        "the old history predates the marker"
    );

    let fresh = Migrated::get_or_create(&registry.client(), ["fresh"])
        .await
        .unwrap();
    let run = fresh.flow().id("fresh").await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    fresh.go(()).await.unwrap();
    run.wait(wait()).await.unwrap();
    assert_eq!(fresh.version().await.unwrap(), 2);
    assert_eq!(effects("fresh", "c"), 1);
    registry.shutdown().await;
}

// A real crash: a child process runs workflows and is killed in the middle of them.

#[actor(name = "pipeline", sleep_timeout = "never")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Pipeline {
    applied: Vec<String>,
}

/// Appends `line` to the effects file in the data directory: an effect outside the
/// process, which a kill does not undo.
fn log_effect(dir: &str, line: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(std::path::Path::new(dir).join("effects.log"))
        .unwrap();
    // One write of the whole line: appends from several tasks never interleave.
    file.write_all(format!("{line}\n").as_bytes()).unwrap();
}

#[actor]
impl Pipeline {
    #[action]
    async fn applied(&self) -> Vec<String> {
        self.applied.clone()
    }

    /// Five steps; in the child process the third never finishes.
    #[workflow]
    async fn pipe(wf: Workflow<Self>, dir: String) -> Result<(), ActorError> {
        for step in ["s1", "s2", "s3", "s4", "s5"] {
            let (id, dir) = (wf.id().clone(), dir.clone());
            wf.step(step, move |_| {
                let (id, dir) = (id.clone(), dir.clone());
                async move {
                    log_effect(&dir, &format!("{id} {step}"));
                    if step == "s3" && std::env::var(CHILD_DIR).is_ok() {
                        println!("ack {id} s3");
                        std::future::pending::<()>().await;
                    }
                    Ok::<_, ActorError>(())
                }
            })
            .apply(move |state, _, ()| state.applied.push(step.to_string()))
            .await?;
        }
        Ok(())
    }
}

const CHILD_DIR: &str = "ACTOR_WORKFLOW_CHILD_DIR";

/// The child's body: run by the parent test in a separate process, never on its own.
#[test]
#[ignore = "run as a child process by workflows::a_killed_process_resumes_its_workflows_at_the_unfinished_step"]
fn child_runs_workflows_until_killed() {
    let dir = std::env::var(CHILD_DIR).expect("the parent sets the data directory");
    common::runtime().block_on(async move {
        let registry = sqlite(std::path::Path::new(&dir)).await;
        for n in 0..4 {
            let p = Pipeline::get_or_create(&registry.client(), [format!("p{n}").as_str()])
                .await
                .unwrap();
            p.pipe(dir.clone()).id(format!("w{n}")).await.unwrap();
        }
        std::future::pending::<()>().await;
    });
}

/// A child process runs four workflows and is killed with SIGKILL while each is in its
/// third step. The parent reopens the directory: every workflow resumes at that step;
/// the first two steps did not run again (counted in a file outside the process) and
/// their state changes are there once.
#[test]
fn a_killed_process_resumes_its_workflows_at_the_unfinished_step() {
    let dir = tempfile::tempdir().unwrap();
    let acked = common::acks_until_killed(
        "child_runs_workflows_until_killed",
        CHILD_DIR,
        dir.path(),
        4,
    );
    assert_eq!(acked.len(), 4);
    let path = dir.path().to_str().unwrap().to_string();
    common::runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        for n in 0..4 {
            let p = Pipeline::get(&registry.client(), [format!("p{n}").as_str()])
                .await
                .unwrap();
            p.workflow::<()>(format!("w{n}"))
                .wait(Duration::from_secs(30))
                .await
                .unwrap();
            assert_eq!(p.applied().await.unwrap(), ["s1", "s2", "s3", "s4", "s5"]);
        }
        registry.shutdown().await;
    });
    let log = std::fs::read_to_string(std::path::Path::new(&path).join("effects.log")).unwrap();
    for n in 0..4 {
        let count = |step: &str| log.lines().filter(|l| *l == format!("w{n} {step}")).count();
        assert_eq!(
            (count("s1"), count("s2")),
            (1, 1),
            "finished steps ran once:\n{log}"
        );
        assert_eq!(
            count("s3"),
            2,
            "the unfinished step ran again (at least once):\n{log}"
        );
        assert_eq!((count("s4"), count("s5")), (1, 1));
    }
}

/// A main workflow that ticks, workflows started from a queue message, and a small
/// `keep_workflows`.
#[actor(name = "supervisor", sleep_timeout = "30s", keep_workflows = 2)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Supervisor {
    ticks: u32,
    jobs: Vec<String>,
}

#[actor]
impl Supervisor {
    /// Starts the workflow `job` under the job's name: once per name.
    #[queue]
    async fn job_received(
        &mut self,
        ctx: &Ctx<Self>,
        job: String,
    ) -> Result<WorkflowId, ActorError> {
        ctx.workflow_with_id(job.clone()).job(job)
    }

    #[action]
    async fn ticks(&self) -> u32 {
        self.ticks
    }

    #[action]
    async fn jobs(&self) -> Vec<String> {
        self.jobs.clone()
    }

    #[workflow]
    async fn job(wf: Workflow<Self>, job: String) -> Result<String, ActorError> {
        let name = job.clone();
        wf.turn("record", move |state: &mut Supervisor, _| {
            state.jobs.push(name)
        })
        .await?;
        Ok(job)
    }

    /// Ticks every 10 s for the actor's whole life.
    #[workflow(main)]
    async fn supervise(wf: Workflow<Self>) -> Result<(), ActorError> {
        wf.repeat("tick", (), |wf, ()| async move {
            wf.sleep("wait", Duration::from_secs(10)).await?;
            wf.turn("tick", |state: &mut Supervisor, _| state.ticks += 1)
                .await?;
            Ok(ControlFlow::<(), ()>::Continue(()))
        })
        .await
    }
}

/// The main workflow starts with the actor, under its name, and resumes after the
/// actor sleeps: the alarm of its durable sleep wakes it.
#[tokio::test(start_paused = true)]
async fn the_main_workflow_starts_at_create_and_resumes_after_a_sleep() {
    let registry = memory().await;
    let s = Supervisor::get_or_create(&registry.client(), ["main"])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(35)).await;
    assert_eq!(s.ticks().await.unwrap(), 3);
    let main = s.workflow::<()>("supervise").status().await.unwrap();
    assert_eq!(
        (main.name.as_str(), main.state),
        ("supervise", WorkflowState::Running)
    );
    s.sleep().await.unwrap();
    assert_eq!(registry.awake(), 0);
    // Nobody calls it: its alarm wakes it for each tick.
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(s.ticks().await.unwrap(), 5);
    let history = s.workflow::<()>("supervise").history().await.unwrap();
    // The loop's own entry, its last finished iteration's two, and the running one's.
    assert!(
        history.len() <= 5,
        "the loop keeps one finished iteration: {history:?}"
    );
    registry.shutdown().await;
}

/// A queue handler starts a workflow in its turn, once per id; past `keep_workflows`
/// finished ones, the oldest is removed with its history.
#[tokio::test(start_paused = true)]
async fn queue_messages_start_workflows_and_finished_ones_are_bounded() {
    let (memory, registry) = on_memory().await;
    let s = Supervisor::get_or_create(&registry.client(), ["jobs"])
        .await
        .unwrap();
    let id = s.job_received("j1".into()).wait(wait()).await.unwrap();
    assert_eq!(s.workflow::<String>(id).wait(wait()).await.unwrap(), "j1");
    // The same message again: the workflow exists, so nothing starts.
    s.job_received("j1".into()).wait(wait()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(s.jobs().await.unwrap(), ["j1"]);
    for job in ["j2", "j3"] {
        let id = s.job_received(job.into()).wait(wait()).await.unwrap();
        s.workflow::<String>(id).wait(wait()).await.unwrap();
    }
    let err = s.workflow::<String>("j1").status().await.unwrap_err();
    assert!(err.is(codes::WORKFLOW_NOT_FOUND), "{err}");
    let mut kept: Vec<String> = s
        .workflows()
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.id.to_string())
        .collect();
    kept.sort();
    assert_eq!(kept, ["j2", "j3", "supervise"]);
    let records = memory.scan(&s.id(), b"wf/").await.unwrap();
    assert_eq!(records.len(), 3);
    let j1_history = memory.scan(&s.id(), b"wh/j1\0").await.unwrap();
    assert!(j1_history.is_empty(), "j1's history went with it");
    registry.shutdown().await;
}
