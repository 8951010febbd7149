//! `&self` actions run concurrently on snapshots; `&mut self` actions take turns.

use actor_test_support as common;

use std::time::Duration;

use actor::prelude::*;
use common::{Job, memory};

#[tokio::test(start_paused = true)]
async fn a_shared_action_waiting_for_an_exclusive_one_does_not_deadlock() {
    let registry = memory().await;
    let job = Job::get_or_create(&registry.client(), ["j"]).await.unwrap();
    let waiter = job.clone();
    let waiting = tokio::spawn(async move { waiter.wait_for_finish().await });
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!waiting.is_finished());
    job.finish().await.unwrap();
    let saw = tokio::time::timeout(Duration::from_secs(1), waiting)
        .await
        .expect("the waiting shared action finishes once finish has run")
        .unwrap()
        .unwrap();
    assert!(saw);
}

#[tokio::test(start_paused = true)]
async fn a_slow_shared_action_does_not_delay_exclusive_ones_and_reads_its_snapshot() {
    let registry = memory().await;
    let job = Job::get_or_create(&registry.client(), ["j"]).await.unwrap();
    job.append("before".into()).await.unwrap();
    let reader = job.clone();
    let slow = tokio::spawn(async move { reader.slow_read(100).await });
    tokio::time::sleep(Duration::from_millis(1)).await;
    let start = tokio::time::Instant::now();
    for i in 0..10 {
        job.append(format!("during-{i}")).await.unwrap();
    }
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "exclusive turns ran while the slow read slept"
    );
    assert_eq!(
        slow.await.unwrap().unwrap(),
        1,
        "the slow read saw the state as it started"
    );
    assert_eq!(job.log().await.unwrap().len(), 11);
}

#[tokio::test]
async fn exclusive_actions_run_one_at_a_time_in_arrival_order() {
    let registry = memory().await;
    let job = Job::get_or_create(&registry.client(), ["j"]).await.unwrap();
    let calls: Vec<_> = (0..200).map(|i| job.append(i.to_string())).collect();
    let lens = futures_util::future::join_all(calls).await;
    let lens: Vec<usize> = lens.into_iter().map(Result::unwrap).collect();
    assert_eq!(lens, (1..=200).collect::<Vec<_>>());
    let log = job.log().await.unwrap();
    assert_eq!(log, (0..200).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_callers_on_many_threads_lose_no_update() {
    let registry = memory().await;
    let client = registry.client();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..100 {
                let job = Job::get_or_create(&client, [format!("j{}", i % 4)])
                    .await
                    .unwrap();
                job.append(format!("{t}-{i}")).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut total = 0;
    for k in 0..4 {
        total += Job::get(&client, [format!("j{k}")])
            .await
            .unwrap()
            .log()
            .await
            .unwrap()
            .len();
    }
    assert_eq!(total, 800);
}

/// Holds its turn until the test releases it, so calls behind it queue.
#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Tally {
    total: i64,
}

static RELEASE: tokio::sync::Notify = tokio::sync::Notify::const_new();
/// `hold_other`'s own, so tests running at once do not release each other's turns.
static RELEASE_OTHER: tokio::sync::Notify = tokio::sync::Notify::const_new();

impl Tally {
    /// Adds 100 once `release` is notified.
    async fn add_when(&mut self, release: &tokio::sync::Notify) -> i64 {
        release.notified().await;
        self.total += 100;
        self.total
    }
}

#[actor]
impl Tally {
    #[action]
    async fn hold(&mut self) -> i64 {
        self.add_when(&RELEASE).await
    }

    #[action]
    async fn add(&mut self, n: i64) -> i64 {
        self.total += n;
        self.total
    }

    #[action]
    async fn hold_other(&mut self) -> i64 {
        self.add_when(&RELEASE_OTHER).await
    }

    /// Waits a little before adding: a queued turn that does not finish on its first poll.
    #[action]
    async fn add_later(&mut self, n: i64) -> i64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.total += n;
        self.total
    }

    #[action]
    async fn total(&self) -> i64 {
        self.total
    }
}

/// Starts a held `hold` and ten `add(1)`s queued behind it; returns their tasks.
async fn queue_behind_a_held_turn(
    tally: &TallyHandle,
) -> (
    tokio::task::JoinHandle<Result<i64, ActorError>>,
    Vec<tokio::task::JoinHandle<Result<i64, ActorError>>>,
) {
    let held = tally.clone();
    let hold = tokio::spawn(async move { held.hold().await });
    tokio::time::sleep(Duration::from_millis(1)).await;
    let adds = (0..10)
        .map(|_| {
            let tally = tally.clone();
            tokio::spawn(async move { tally.add(1).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1)).await;
    (hold, adds)
}

#[tokio::test(start_paused = true)]
async fn a_run_of_queued_exclusive_calls_is_committed_once() {
    use actor::driver::Driver;
    use actor::driver::faults::{FaultPlan, FaultyDriver};
    use std::sync::Arc;
    let driver = Arc::new(FaultyDriver::new(Arc::new(
        actor::driver::memory::MemoryDriver::new(),
    )));
    let registry = registry::Registry::builder()
        .driver(driver.clone())
        .build()
        .await
        .unwrap();
    let tally = Tally::get_or_create(&registry.client(), ["t"])
        .await
        .unwrap();

    // Acknowledged together: one commit holds all eleven turns, and every reply has it.
    let (hold, adds) = queue_behind_a_held_turn(&tally).await;
    driver.set_plan(FaultPlan::Healthy);
    RELEASE.notify_one();
    assert_eq!(hold.await.unwrap().unwrap(), 100);
    let mut seen: Vec<i64> = Vec::new();
    for add in adds {
        seen.push(add.await.unwrap().unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (101..=110).collect::<Vec<_>>());
    assert_eq!(driver.commits(), 1, "one commit for the whole run");
    let stored = driver.get(&tally.id(), b"state").await.unwrap().unwrap();
    assert_eq!(stored, br#"{"total":110}"#);

    // That commit fails: every call in the run gets the error, none of it is kept.
    let (hold, adds) = queue_behind_a_held_turn(&tally).await;
    driver.set_plan(FaultPlan::Once(1));
    RELEASE.notify_one();
    let err = hold.await.unwrap().unwrap_err();
    assert!(err.is(actor::codes::STORAGE), "{err}");
    for add in adds {
        let err = add.await.unwrap().unwrap_err();
        assert!(err.is(actor::codes::STORAGE), "{err}");
    }
    assert_eq!(
        tally.add(0).await.unwrap(),
        110,
        "woken from what is stored"
    );
    registry.shutdown().await;
}

/// Exclusive calls queued behind a turn run one after another once it finishes, in
/// arrival order: behind calls the task took while the turn waited, across a queued turn
/// that waits (it finishes on the task before the next one starts), and across a queued
/// call the actor cannot take (a send to a queue it does not declare, answered in its
/// place in the order).
#[tokio::test(start_paused = true)]
async fn a_run_of_queued_calls_keeps_arrival_order_through_a_waiting_turn_and_a_refused_call() {
    use actor::Payload;
    use actor::route::Target;
    let registry = common::memory().await;
    let tally = Tally::get_or_create(&registry.client(), ["mixed"])
        .await
        .unwrap();
    let held = tally.clone();
    let hold = tokio::spawn(async move { held.hold_other().await });
    tokio::time::sleep(Duration::from_millis(1)).await;
    // Two calls the actor's task takes while the turn waits (into its own list)...
    let early: Vec<_> = [1, 2]
        .map(|n| {
            let tally = tally.clone();
            tokio::spawn(async move { tally.add(n).await })
        })
        .into();
    tokio::time::sleep(Duration::from_millis(1)).await;
    // ...and, released and queued in the same poll before the task runs again, calls
    // that wait in the inbox behind them.
    RELEASE_OTHER.notify_one();
    let send = async {
        let sent = tally
            .send(Target::Send("missing".into()), Payload::local(()))
            .await;
        sent.map(|_| 0)
    };
    let late = async { tokio::join!(tally.add(4), tally.add_later(8), send, tally.add(16)) };
    let (a, b, c, d) = tokio::time::timeout(Duration::from_secs(60), late)
        .await
        .expect("every queued call is answered");
    assert_eq!(hold.await.unwrap().unwrap(), 100);
    let mut seen = Vec::new();
    for call in early {
        seen.push(call.await.unwrap());
    }
    seen.extend([a, b, c, d]);
    let seen: Vec<_> = seen
        .into_iter()
        .map(|r| r.map_err(|e| e.code().to_owned()))
        .collect();
    assert_eq!(
        seen,
        [
            Ok(101),
            Ok(103),
            Ok(107),
            Ok(115),
            Err("not_found".to_owned()),
            Ok(131),
        ]
    );
    registry.shutdown().await;
}

/// Its shared action waits until the test releases it; two may be in flight.
#[actor(max_shared = 2)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Narrow {
    reads: u32,
}

static OPEN: tokio::sync::Notify = tokio::sync::Notify::const_new();

#[actor]
impl Narrow {
    #[action]
    async fn wait(&self) -> u32 {
        OPEN.notified().await;
        self.reads
    }

    #[action]
    async fn count(&self) -> u32 {
        self.reads
    }

    #[action]
    async fn read(&mut self) -> u32 {
        self.reads += 1;
        self.reads
    }
}

#[tokio::test(start_paused = true)]
async fn shared_calls_beyond_max_shared_are_overloaded() {
    let registry = memory().await;
    let narrow = Narrow::get_or_create(&registry.client(), ["n"])
        .await
        .unwrap();
    let waiting: Vec<_> = (0..2)
        .map(|_| {
            let narrow = narrow.clone();
            tokio::spawn(async move { narrow.wait().await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1)).await;

    // Two are in flight: a third shared call is refused at once and does not run.
    let err = narrow.wait().await.unwrap_err();
    assert!(err.is(actor::codes::OVERLOADED), "{err}");
    assert_eq!(err.metadata().unwrap()["capacity"], 2);
    assert!(err.message().contains("shared actions running"), "{err}");
    // One that would finish at once is refused too while the bound is reached, and
    // exclusive calls are not affected.
    assert!(
        narrow
            .count()
            .await
            .unwrap_err()
            .is(actor::codes::OVERLOADED)
    );
    assert_eq!(narrow.read().await.unwrap(), 1);

    // Released, they answer, and shared calls run again.
    OPEN.notify_waiters();
    for call in waiting {
        assert_eq!(call.await.unwrap().unwrap(), 0);
    }
    assert_eq!(narrow.count().await.unwrap(), 1);
    registry.shutdown().await;
}
