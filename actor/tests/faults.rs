//! Storage faults inside the process: the database fills up, commits fail on purpose (a
//! wrapping driver, for the memory and SQLite drivers), the SQLite writer panics, loses
//! its connection, is interrupted or has its commit vetoed. After each, the data is
//! reopened for real and every acknowledged write must be there, with nothing of a failed
//! write applied. (Faults that need another process or a real small filesystem are in
//! `fault_lock.rs`, `fault_sigkill.rs` and `fault_tmpfs.rs`.)

use actor_test_support as common;

use std::sync::Arc;
use std::time::Duration;

use actor::driver::Driver;
use actor::driver::faults::{FaultPlan, FaultyDriver};
use actor::driver::memory::MemoryDriver;
use actor::driver::sqlite::{SqliteDriver, SqliteOptions, WriterFault};
use actor::prelude::*;
use common::{Acked, Ledger, LedgerHandle, lost_after_reopen, lost_in, report};
use registry::Registry;

/// A value whose every write has the same size, so writing it never grows the database.
#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Dial {
    value: u32,
}

#[actor]
impl Dial {
    /// Sets a value of three digits.
    #[action]
    async fn turn(&mut self, to: u32) -> u32 {
        self.value = 100 + to % 900;
        self.value
    }
}

/// Liveness, not speed: a call that does not answer within this long is a hang.
const HANG: Duration = Duration::from_secs(30);

async fn answer<T>(call: impl Future<Output = Result<T, ActorError>>) -> Result<T, ActorError> {
    tokio::time::timeout(HANG, call)
        .await
        .expect("the call answered (no hang)")
}

fn key(i: usize) -> String {
    format!("ledger-{i}")
}

/// Appends to `ledger` once; records the length if acknowledged, and checks a failure is
/// a storage error and that the ledger never answers a length it already acknowledged.
async fn append(ledger: &LedgerHandle, key: &str, pad: usize, acked: &mut Acked) -> bool {
    match answer(ledger.append(pad)).await {
        Ok(n) => {
            let before = acked.get(key).copied().unwrap_or(0);
            assert_eq!(n, before + 1, "{key}: acknowledged {before}, then {n}");
            acked.insert(key.to_string(), n);
            true
        }
        Err(e) => {
            assert!(e.is(actor::codes::STORAGE), "{key}: {e}");
            eprintln!("{key}: {e}");
            false
        }
    }
}

/// A registry on `inner` wrapped in a [`FaultyDriver`], healthy until told otherwise.
async fn on_faulty(inner: Arc<dyn Driver>) -> (Arc<FaultyDriver>, Registry) {
    let driver = Arc::new(FaultyDriver::new(inner));
    let registry = Registry::builder()
        .driver(driver.clone())
        .build()
        .await
        .unwrap();
    (driver, registry)
}

fn total(acked: &Acked) -> usize {
    acked.values().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_fills_up_under_load_from_many_actors() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions {
        max_size: Some(384 << 10),
        ..Default::default()
    };
    let registry = Registry::builder()
        .sqlite_with(dir.path(), options)
        .build()
        .await
        .unwrap();
    let client = registry.client();
    let dial = Dial::get_or_create(&client, ["dial"]).await.unwrap();

    // 24 actors grow concurrently until each has seen the store refuse three writes.
    let mut tasks = Vec::new();
    for i in 0..24 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let ledger = Ledger::get_or_create(&client, [key(i).as_str()])
                .await
                .unwrap();
            let mut acked = Acked::new();
            let mut refused = Vec::new();
            // Acknowledged after this ledger was first refused.
            let mut late = 0;
            for _ in 0..2_000 {
                match answer(ledger.append(600)).await {
                    Ok(n) => {
                        acked.insert(key(i), n);
                        late += usize::from(!refused.is_empty());
                    }
                    Err(e) => {
                        assert!(e.is(actor::codes::STORAGE), "{e}");
                        refused.push(e);
                        if refused.len() == 3 {
                            break;
                        }
                    }
                }
            }
            assert_eq!(refused.len(), 3, "{}: the store never filled up", key(i));
            (acked, refused.pop().unwrap(), late)
        }));
    }
    let mut acked = Acked::new();
    let mut after = 0;
    for task in tasks {
        let (one, refused, late) = task.await.unwrap();
        assert!(
            refused.message().contains("max_size"),
            "the error says why: {refused}"
        );
        acked.extend(one);
        after += late;
    }
    let before = total(&acked) - after;

    // While the store is full: reads answer from the last durable state, the actors
    // that failed restarted from it, and a write that does not grow the file succeeds.
    for (k, n) in acked.clone() {
        let ledger = Ledger::get(&client, [k.as_str()]).await.unwrap();
        assert_eq!(answer(ledger.len()).await.unwrap(), n, "{k}");
        assert!(
            !append(&ledger, &k, 600, &mut acked).await,
            "{k} is still full"
        );
    }
    assert_eq!(answer(dial.turn(7)).await.unwrap(), 107);
    after += 1;

    // Space returns when actors are destroyed: the others write again, no restart.
    for i in 0..12 {
        let ledger = Ledger::get(&client, [key(i).as_str()]).await.unwrap();
        answer(ledger.destroy()).await.unwrap();
        acked.remove(&key(i));
        let gone = Ledger::get(&client, [key(i).as_str()]).await.unwrap_err();
        assert!(gone.is(actor::codes::NOT_FOUND), "{gone}");
    }
    for i in 12..24 {
        let ledger = Ledger::get(&client, [key(i).as_str()]).await.unwrap();
        for _ in 0..3 {
            assert!(
                append(&ledger, &key(i), 600, &mut acked).await,
                "{}",
                key(i)
            );
            after += 1;
        }
    }
    registry.shutdown().await;
    drop(registry);

    let (lost, stored) = lost_after_reopen(dir.path(), &acked).await;
    report("database full (max_size), 24 actors", before, after, lost);
    assert_eq!(lost, 0);
    assert_eq!(stored, acked, "no refused write was applied");
}

/// Drives 16 ledgers through `plan` on `driver`, one call at a time per ledger, then with
/// the plan healed; returns what each acknowledged and how many calls were refused.
async fn under_plan(registry: &Registry, driver: &FaultyDriver, plan: FaultPlan) -> (Acked, usize) {
    driver.set_plan(plan);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let client = registry.client();
        tasks.push(tokio::spawn(async move {
            let ledger = Ledger::get_or_create(&client, [key(i).as_str()])
                .await
                .unwrap();
            let mut acked = Acked::new();
            acked.insert(key(i), answer(ledger.len()).await.unwrap());
            let mut refused = 0;
            for _ in 0..30 {
                if !append(&ledger, &key(i), 100, &mut acked).await {
                    refused += 1;
                }
            }
            (acked, refused)
        }));
    }
    let mut acked = Acked::new();
    let mut refused = 0;
    for task in tasks {
        let (one, r) = task.await.unwrap();
        acked.extend(one);
        refused += r;
    }
    driver.set_plan(FaultPlan::Healthy);
    (acked, refused)
}

/// The same faults on any driver: the 40th commit fails once, then every 7th, then
/// every commit; after each, what a new registry on the same storage finds.
async fn failed_commits(
    name: &str,
    inner: Arc<dyn Driver>,
    reopen: impl AsyncFnOnce() -> Arc<dyn Driver>,
) {
    let (driver, registry) = on_faulty(inner).await;
    let (warm, _) = under_plan(&registry, &driver, FaultPlan::Healthy).await;
    let before = total(&warm);
    let mut acked = Acked::new();
    for plan in [FaultPlan::Once(40), FaultPlan::Every(7), FaultPlan::Always] {
        let (now, refused) = under_plan(&registry, &driver, plan).await;
        assert!(refused > 0, "{plan:?} failed no call");
        if plan == FaultPlan::Always {
            assert_eq!(
                now, acked,
                "nothing is acknowledged while every commit fails"
            );
        }
        acked = now;
    }
    assert!(driver.failed() > 0);
    // Healed: writes succeed again without a restart.
    let (healed, refused) = under_plan(&registry, &driver, FaultPlan::Healthy).await;
    assert_eq!(refused, 0, "every write succeeds once the fault is gone");
    assert!(total(&healed) > total(&acked));
    registry.shutdown().await;
    drop((registry, driver));

    let registry = Registry::builder()
        .driver(reopen().await)
        .build()
        .await
        .unwrap();
    let (lost, stored) = lost_in(&registry.client(), &healed).await;
    registry.shutdown().await;
    report(
        &format!("{name}: the 40th commit fails, then every 7th, then all"),
        before,
        total(&healed) - before,
        lost,
    );
    assert_eq!(lost, 0);
    assert_eq!(stored, healed, "no refused write was applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_commits_lose_nothing_on_the_memory_driver() {
    let memory = Arc::new(MemoryDriver::new());
    let again: Arc<dyn Driver> = memory.clone();
    failed_commits("memory driver", memory, async move || again).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_commits_lose_nothing_on_the_sqlite_driver() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let sqlite = Arc::new(SqliteDriver::open(&path).await.unwrap());
    failed_commits("SQLite driver", sqlite, async move || {
        Arc::new(SqliteDriver::open(&path).await.unwrap()) as Arc<dyn Driver>
    })
    .await;
}

/// Turns whose commits were queued behind a failed one ran on its state: none of them
/// may land, or the actor would wake holding writes its callers were told had failed.
/// (One thread, so the actor's task cannot look at the failure before every call ran.)
#[tokio::test(flavor = "current_thread")]
async fn a_commit_queued_behind_a_failed_one_never_lands() {
    let memory = Arc::new(MemoryDriver::new());
    let (driver, registry) = on_faulty(memory.clone()).await;
    let ledger = Ledger::get_or_create(&registry.client(), ["pipelined"])
        .await
        .unwrap();
    // The 4th append's commit fails.
    driver.set_plan(FaultPlan::Once(4));
    // Issued together from one task, the appends run one after another in place, each
    // queuing its commit behind the previous one before any is answered.
    let calls = (0..12).map(|_| ledger.append(10));
    let results = futures_util::future::join_all(calls).await;
    let acked: Vec<usize> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(
        acked,
        [1, 2, 3],
        "the failed turn and every turn after it fail"
    );
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(err.is(actor::codes::STORAGE), "{err}");
    }
    assert_eq!(
        ledger.len().await.unwrap(),
        3,
        "restarted from what is stored"
    );
    registry.shutdown().await;

    let registry = Registry::builder().driver(memory).build().await.unwrap();
    let again = Ledger::get(&registry.client(), ["pipelined"])
        .await
        .unwrap();
    assert_eq!(again.check().await.unwrap(), 3);
    registry.shutdown().await;
}

/// Calls that were waiting in the inbox when a commit failed never ran: they run on the
/// next instance, which woke from what is stored, instead of getting the failure of a
/// write that was not theirs. A turn that was running on the failed write's state fails.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn calls_queued_behind_a_failed_commit_run_on_the_next_instance() {
    let (driver, registry) = on_faulty(Arc::new(MemoryDriver::new())).await;
    let ledger = Ledger::get_or_create(&registry.client(), ["queued"])
        .await
        .unwrap();
    driver.set_plan(FaultPlan::Once(1));
    // A's commit fails; B runs on A's state and waits; C and D queue behind B.
    let (a, b, c, d) = tokio::join!(
        ledger.append(0),
        ledger.append_after(60),
        ledger.append(0),
        ledger.append(0)
    );
    assert!(a.unwrap_err().is(actor::codes::STORAGE));
    assert!(
        b.unwrap_err().is(actor::codes::STORAGE),
        "B ran on A's lost write"
    );
    assert_eq!(
        (c.unwrap(), d.unwrap()),
        (1, 2),
        "in order, on the stored state"
    );
    assert_eq!(ledger.check().await.unwrap(), 2);
    registry.shutdown().await;
}

/// A shared call that was running when a commit failed finishes and is answered: with
/// its result if it read only durable state, with the failure if it read the lost write.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn shared_calls_running_when_a_commit_fails_are_answered() {
    let (driver, registry) = on_faulty(Arc::new(MemoryDriver::new())).await;
    let ledger = Ledger::get_or_create(&registry.client(), ["reader"])
        .await
        .unwrap();
    driver.set_plan(FaultPlan::Once(1));
    // The first read starts before the append, the second after it: it reads the write
    // whose commit fails.
    let (before, append, after) =
        tokio::join!(ledger.len_after(30), ledger.append(0), ledger.len_after(30));
    assert_eq!(before.unwrap(), 0);
    assert!(append.unwrap_err().is(actor::codes::STORAGE));
    let after = after.unwrap_err();
    assert!(after.is(actor::codes::STORAGE), "{after}");
    assert_eq!(ledger.len().await.unwrap(), 0);
    registry.shutdown().await;
}

/// A destroy whose storage cannot be removed says so, and the actor is still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destroy_that_cannot_remove_the_actor_says_so() {
    let (driver, registry) = on_faulty(Arc::new(MemoryDriver::new())).await;
    let client = registry.client();
    let ledger = Ledger::get_or_create(&client, ["kept"]).await.unwrap();
    ledger.append(0).await.unwrap();
    driver.set_plan(FaultPlan::Always);
    let err = answer(ledger.destroy()).await.unwrap_err();
    assert!(err.is(actor::codes::STORAGE), "{err}");
    assert!(err.message().contains("was not destroyed"), "{err}");
    driver.set_plan(FaultPlan::Healthy);
    let again = Ledger::get(&client, ["kept"]).await.unwrap();
    assert_eq!(again.check().await.unwrap(), 1, "still stored, woken again");
    again.destroy().await.unwrap();
    let gone = Ledger::get(&client, ["kept"]).await.unwrap_err();
    assert!(gone.is(actor::codes::NOT_FOUND), "{gone}");
    registry.shutdown().await;
}

/// Each fault the SQLite writer can meet inside a transaction fails exactly the writes in
/// it; the next write commits for real (a reader on another connection sees it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_writer_recovers_from_every_fault_inside_a_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let driver = Arc::new(SqliteDriver::open(dir.path()).await.unwrap());
    let registry = Registry::builder()
        .driver(driver.clone())
        .build()
        .await
        .unwrap();
    let client = registry.client();
    let ledger = Ledger::get_or_create(&client, ["alone"]).await.unwrap();
    let mut acked = Acked::new();
    for _ in 0..3 {
        assert!(append(&ledger, "alone", 100, &mut acked).await);
    }
    let before = total(&acked);
    // An interrupt and a vetoed commit are rolled back by SQLite itself, twice over: the
    // sequence that once left every later commit inside a transaction never committed.
    let faults = [
        (WriterFault::Interrupt, "interrupted"),
        (WriterFault::FailCommit, "constraint failed"),
        (WriterFault::Interrupt, "interrupted"),
        (WriterFault::Panic, "panicked"),
        (WriterFault::CloseConnection, "crashed"),
        (WriterFault::FailCommit, "constraint failed"),
    ];
    for (fault, says) in faults {
        driver.inject(fault);
        let err = answer(ledger.append(100)).await.unwrap_err();
        eprintln!("{fault:?} -> {err}");
        assert!(err.is(actor::codes::STORAGE), "{fault:?}: {err}");
        assert!(err.message().contains(says), "{fault:?}: {err}");
        assert!(append(&ledger, "alone", 100, &mut acked).await, "{fault:?}");
        // Asleep and woken: the length now comes from the database, not from memory.
        ledger.sleep().await.unwrap();
        assert_eq!(
            answer(ledger.check()).await.unwrap(),
            acked["alone"],
            "{fault:?}"
        );
    }

    // The same faults under load from many actors, each fault hitting a group of batches.
    // The actors exist first: the faults are for their writes, not their creation.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let ledger = Ledger::get_or_create(&client, [key(i).as_str()])
            .await
            .unwrap();
        tasks.push(tokio::spawn(async move {
            let mut acked = Acked::new();
            acked.insert(key(i), 0);
            for _ in 0..60 {
                append(&ledger, &key(i), 100, &mut acked).await;
            }
            acked
        }));
    }
    for (fault, _) in faults {
        tokio::time::sleep(Duration::from_millis(5)).await;
        driver.inject(fault);
    }
    for task in tasks {
        acked.extend(task.await.unwrap());
    }
    let after = total(&acked) - before;
    registry.shutdown().await;
    drop(registry);
    drop(driver);

    let (lost, stored) = lost_after_reopen(dir.path(), &acked).await;
    report(
        "SQLite writer: interrupt, vetoed commit, panic, closed connection",
        before,
        after,
        lost,
    );
    assert_eq!(lost, 0);
    assert_eq!(stored, acked, "no failed write was applied");
}
