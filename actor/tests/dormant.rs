//! An idle awake actor keeps no tokio task (once idle for 50 ms after work, at once
//! after a start with nothing to do): calls run in place, and whatever needs the task (a
//! call through the inbox, an action that waits, the sleep timeout) starts it again. Counted with tokio's runtime metrics, on the paused clock.

use actor_test_support as common;

use std::time::Duration;

use actor::prelude::*;
use common::{Counter, Job, memory};
use tokio::time::sleep;

/// Tasks alive on the current runtime.
fn tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Lets every task that can run, run (the paused clock does not move).
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// Longer than an idle instance keeps its task before it goes dormant.
const PAST_LINGER: Duration = Duration::from_millis(60);

/// Lets idle instances go dormant.
async fn linger() {
    sleep(PAST_LINGER).await;
    settle().await;
}

#[tokio::test(start_paused = true)]
async fn idle_actors_keep_no_task_and_still_sleep_on_time() {
    let registry = memory().await;
    settle().await;
    let before = tasks();
    let mut counters = Vec::new();
    for i in 0..50 {
        let key = format!("c{i}");
        counters.push(
            Counter::get_or_create(&registry.client(), [key.as_str()])
                .await
                .unwrap(),
        );
    }
    // A task that has had nothing to do since it started does not linger.
    settle().await;
    assert_eq!(registry.awake(), 50);
    assert_eq!(
        tasks(),
        before,
        "fifty awake idle actors, no task among them"
    );

    for counter in &counters {
        assert_eq!(counter.increment(2).await.unwrap(), 2);
    }
    settle().await;
    assert_eq!(
        tasks(),
        before,
        "calls to idle actors run in the caller's task"
    );

    // The sleep timeout still runs from the last call: the registry's timers start a
    // task for each actor when it is due, and that task puts it to sleep.
    sleep(Duration::from_secs(29) - PAST_LINGER).await;
    assert_eq!(registry.awake(), 50);
    sleep(Duration::from_secs(2)).await;
    settle().await;
    assert_eq!(
        registry.awake(),
        0,
        "every dormant actor slept after 30s idle"
    );
    assert_eq!(tasks(), before);
    assert_eq!(
        counters[7].hooks().await.unwrap(),
        ["create", "wake", "sleep", "wake"],
        "on_sleep ran for a dormant actor"
    );
    assert_eq!(counters[7].get().await.unwrap(), 2, "its state was saved");
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_action_that_waits_starts_the_task_and_the_task_ends_after_it() {
    let registry = memory().await;
    let job = Job::get_or_create(&registry.client(), ["j"]).await.unwrap();
    linger().await;
    let before = tasks();

    let reader = job.clone();
    let read = tokio::spawn(async move { reader.slow_read(10).await });
    settle().await;
    assert_eq!(
        tasks(),
        before + 2,
        "the caller's task, and the actor's, which finishes the read"
    );
    // The clock moves on to the read's end (10 s), not further.
    assert_eq!(read.await.unwrap().unwrap(), 0);
    settle().await;
    assert_eq!(tasks(), before + 1, "the actor's task lingers a moment");
    linger().await;
    assert_eq!(tasks(), before, "idle again: the actor's task ended");
    assert_eq!(job.append("x".into()).await.unwrap(), 1);
    registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_from_another_runtime_wakes_a_dormant_actor_through_its_inbox() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["far"])
        .await
        .unwrap();
    assert_eq!(counter.increment(1).await.unwrap(), 1);
    // Calls from outside the actor's runtime never run in place: each goes through the
    // inbox, and the first message into an empty inbox starts the task.
    let far = counter.clone();
    let answers = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut answers = Vec::new();
            for _ in 0..3 {
                answers.push(far.increment(1).await.unwrap());
                // Long enough for the actor to go idle, and dormant, in between.
                tokio::time::sleep(Duration::from_millis(80)).await;
            }
            answers
        })
    })
    .join()
    .unwrap();
    assert_eq!(answers, [2, 3, 4]);
    assert_eq!(counter.get().await.unwrap(), 4);
    registry.shutdown().await;
}

/// A counter with room in its inbox for every caller below.
#[actor(inbox = 128)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Tally {
    total: u64,
}

#[actor]
impl Tally {
    #[action]
    async fn increment(&mut self, by: u64) -> u64 {
        self.total += by;
        self.total
    }

    #[action]
    async fn get(&self) -> u64 {
        self.total
    }
}

/// Many callers on two workers, with the actor going dormant whenever it runs dry: every
/// call is answered (a lost wake-up leaves callers waiting forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_callers_racing_dormancy_are_all_answered() {
    let registry = memory().await;
    let counter = Tally::get_or_create(&registry.client(), ["busy"])
        .await
        .unwrap();
    let callers: Vec<_> = (0..64)
        .map(|_| {
            let counter = counter.clone();
            tokio::spawn(async move {
                for _ in 0..2_000 {
                    counter.increment(1).await.unwrap();
                }
            })
        })
        .collect();
    let all = futures_util::future::join_all(callers);
    tokio::time::timeout(Duration::from_secs(60), all)
        .await
        .expect("every caller is answered");
    assert_eq!(counter.get().await.unwrap(), 64 * 2_000);
    registry.shutdown().await;
}
