//! The storage drivers honour the same contract: atomic batches, applied in order, one
//! batch's failure isolated from the others committed with it.

use std::sync::Arc;

use actor::ActorId;
use actor::driver::memory::MemoryDriver;
use actor::driver::sqlite::{SqliteDriver, SqliteOptions, WriterFault};
use actor::driver::{Driver, SaveBatch, SaveOp, StorageError};

fn create(id: &str, key: &str) -> SaveBatch {
    let mut batch = SaveBatch::new(ActorId::from(id), 1);
    batch.push(SaveOp::CreateActor {
        kind: "k".into(),
        key: key.into(),
    });
    batch.put(b"state".to_vec(), id.as_bytes().to_vec());
    batch
}

async fn contract(driver: Arc<dyn Driver>) {
    // Many batches committed together; the conflicting one fails alone.
    let mut commits = Vec::new();
    for i in 0..50 {
        commits.push(driver.commit(create(&format!("a{i}"), &format!("key{i}"))));
    }
    commits.push(driver.commit(create("dup", "key7")));
    let results = futures_util::future::join_all(commits).await;
    for (i, r) in results.iter().enumerate().take(50) {
        assert!(r.is_ok(), "batch {i}: {r:?}");
    }
    assert!(
        matches!(results[50], Err(StorageError::AlreadyExists { .. })),
        "{:?}",
        results[50]
    );
    assert_eq!(driver.load(&ActorId::from("dup")).await.unwrap(), None);
    assert!(
        driver
            .get(&ActorId::from("dup"), b"state")
            .await
            .unwrap()
            .is_none(),
        "nothing of a failed batch is kept"
    );
    assert_eq!(
        driver.lookup("k", &"key7".into()).await.unwrap(),
        Some(ActorId::from("a7"))
    );
    // A batch of the failed one's actor and epoch was built on it: refused untried.
    let mut later = SaveBatch::new(ActorId::from("dup"), 1);
    later.put(b"state".to_vec(), b"later".to_vec());
    assert!(
        matches!(driver.commit(later).await, Err(StorageError::Fenced { .. })),
        "fenced"
    );
    assert!(
        driver
            .get(&ActorId::from("dup"), b"state")
            .await
            .unwrap()
            .is_none()
    );
    // The actor's next life (a newer epoch) writes again.
    let mut next = create("dup", "key-dup");
    next.epoch = 2;
    driver.commit(next).await.unwrap();
    assert_eq!(
        driver.lookup("k", &"key-dup".into()).await.unwrap(),
        Some(ActorId::from("dup"))
    );
    // A wake's one read: the record and the state together.
    let loaded = driver.load(&ActorId::from("a7")).await.unwrap().unwrap();
    assert_eq!(loaded.record.kind, "k");
    assert_eq!(loaded.record.key, "key7".into());
    assert_eq!(loaded.state.as_deref(), Some(&b"a7"[..]));

    // Ops apply in order within a batch.
    let id = ActorId::from("a1");
    let mut batch = SaveBatch::new(id.clone(), 1);
    batch.put(b"q/1".to_vec(), b"x".to_vec());
    batch.put(b"q/2".to_vec(), b"y".to_vec());
    batch.push(SaveOp::DeletePrefix {
        prefix: b"q/".to_vec(),
    });
    batch.put(b"q/3".to_vec(), b"z".to_vec());
    batch.push(SaveOp::Delete {
        key: b"state".to_vec(),
    });
    batch.put(b"state".to_vec(), b"new".to_vec());
    driver.commit(batch).await.unwrap();
    let rows = driver.scan(&id, b"q/").await.unwrap();
    assert_eq!(rows, vec![(b"q/3".to_vec(), b"z".to_vec())]);
    assert_eq!(
        driver.get(&id, b"state").await.unwrap(),
        Some(b"new".to_vec())
    );
    assert_eq!(driver.scan(&id, b"").await.unwrap().len(), 2);

    // The same key written twice in one group: the later write wins.
    let (mut b1, mut b2) = (SaveBatch::new(id.clone(), 1), SaveBatch::new(id.clone(), 1));
    b1.put(b"state".to_vec(), b"first".to_vec());
    b2.put(b"state".to_vec(), b"second".to_vec());
    let (c1, c2) = (driver.commit(b1), driver.commit(b2));
    c1.await.unwrap();
    c2.await.unwrap();
    assert_eq!(
        driver.get(&id, b"state").await.unwrap(),
        Some(b"second".to_vec())
    );

    // Destroy removes the actor and all its records, nothing of its neighbours.
    let mut batch = SaveBatch::new(id.clone(), 1);
    batch.push(SaveOp::DestroyActor);
    driver.commit(batch).await.unwrap();
    assert_eq!(driver.load(&id).await.unwrap(), None);
    assert!(driver.scan(&id, b"").await.unwrap().is_empty());
    assert_eq!(driver.lookup("k", &"key1".into()).await.unwrap(), None);
    assert_eq!(
        driver.get(&ActorId::from("a2"), b"state").await.unwrap(),
        Some(b"a2".to_vec())
    );
}

/// The alarm index: set in a batch (atomically with it), found by due time, earliest
/// first, updated, cleared, and gone with its actor.
async fn alarms(driver: Arc<dyn Driver>) {
    let alarm = |id: &str, at| {
        let mut batch = create(id, &format!("alarm-{id}"));
        batch.push(SaveOp::SetAlarm { at });
        batch
    };
    for (id, at) in [("late", Some(300)), ("early", Some(100)), ("never", None)] {
        driver.commit(alarm(id, at)).await.unwrap();
    }
    // A batch that fails sets no alarm.
    let mut taken = alarm("dup-alarm", Some(50));
    taken.ops_mut()[0] = SaveOp::CreateActor {
        kind: "k".into(),
        key: "alarm-late".into(),
    };
    assert!(driver.commit(taken).await.is_err());

    let due = |until, limit| {
        let driver = driver.clone();
        async move {
            driver
                .earliest_alarms(until, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|a| (a.id.as_str().to_string(), a.kind, a.at))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(due(99, 10).await, vec![]);
    assert_eq!(due(100, 10).await, [("early".into(), "k".into(), 100)]);
    assert_eq!(
        due(u64::MAX, 10).await,
        [
            ("early".into(), "k".into(), 100),
            ("late".into(), "k".into(), 300)
        ]
    );
    assert_eq!(due(u64::MAX, 1).await, [("early".into(), "k".into(), 100)]);

    // Moved later, then cleared, then gone with a destroyed actor.
    let mut moved = SaveBatch::new(ActorId::from("early"), 1);
    moved.push(SaveOp::SetAlarm { at: Some(500) });
    driver.commit(moved).await.unwrap();
    assert_eq!(due(u64::MAX, 1).await, [("late".into(), "k".into(), 300)]);
    let mut cleared = SaveBatch::new(ActorId::from("late"), 1);
    cleared.push(SaveOp::SetAlarm { at: None });
    driver.commit(cleared).await.unwrap();
    let mut destroyed = SaveBatch::new(ActorId::from("early"), 1);
    destroyed.push(SaveOp::DestroyActor);
    driver.commit(destroyed).await.unwrap();
    assert_eq!(due(u64::MAX, 10).await, vec![]);
}

#[tokio::test]
async fn memory_driver_keeps_the_contract() {
    contract(Arc::new(MemoryDriver::new())).await;
    alarms(Arc::new(MemoryDriver::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_driver_keeps_the_alarm_index() {
    let dir = tempfile::tempdir().unwrap();
    alarms(Arc::new(SqliteDriver::open(dir.path()).await.unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_driver_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(Arc::new(SqliteDriver::open(dir.path()).await.unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let driver = SqliteDriver::open(dir.path()).await.unwrap();
        driver.commit(create("a", "k")).await.unwrap();
    }
    let driver = SqliteDriver::open(dir.path()).await.unwrap();
    assert_eq!(
        driver.get(&ActorId::from("a"), b"state").await.unwrap(),
        Some(b"a".to_vec())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_a_data_directory_from_a_newer_version() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteDriver::open(dir.path()).await.unwrap());
    let url = format!("sqlite:{}", dir.path().join("actors.sqlite3").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("PRAGMA user_version = 99")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let err = SqliteDriver::open(dir.path()).await.unwrap_err();
    assert!(err.to_string().contains("newer version"), "{err}");
}

/// Opens a driver whose database may grow to `bytes`.
async fn limited(dir: &std::path::Path, bytes: u64) -> SqliteDriver {
    let options = SqliteOptions {
        max_size: Some(bytes),
        ..Default::default()
    };
    SqliteDriver::open_with(dir, options).await.unwrap()
}

fn put(id: &str, epoch: u64, key: &str, bytes: usize) -> SaveBatch {
    let mut batch = SaveBatch::new(ActorId::from(id), epoch);
    batch.put(key.as_bytes().to_vec(), vec![b'x'; bytes]);
    batch
}

/// After transactions that failed, the next commit is really committed: the read pool
/// (other connections) sees it at once, and so does a reopened driver. An interrupted
/// write (which SQLite rolls back whole) followed by one that does not fit is the
/// sequence after which sqlx's own transactions nested every later commit inside one
/// that never committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_commits_after_a_refused_transaction_are_durable() {
    let dir = tempfile::tempdir().unwrap();
    let driver = limited(dir.path(), 64 << 10).await;
    let id = ActorId::from("a");
    driver.inject(WriterFault::Interrupt);
    let err = driver.commit(put("a", 1, "first", 10)).await.unwrap_err();
    assert!(err.to_string().contains("interrupted"), "{err}");
    for round in 0..10u64 {
        // Each batch from a newer epoch, so none is fenced by the one before.
        let err = driver
            .commit(put("a", 2 + 2 * round, "big", 256 << 10))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("full"), "{err}");
        let small = format!("small-{round}");
        driver
            .commit(put("a", 3 + 2 * round, &small, 10))
            .await
            .unwrap();
        assert!(
            driver.get(&id, small.as_bytes()).await.unwrap().is_some(),
            "round {round}: another connection sees the commit"
        );
    }
    drop(driver);
    let driver = SqliteDriver::open(dir.path()).await.unwrap();
    assert_eq!(driver.scan(&id, b"small-").await.unwrap().len(), 10);
    assert!(driver.get(&id, b"big").await.unwrap().is_none());
}

/// A batch that does not fit fails; the later batch of its actor and epoch is fenced even
/// though it would fit; another actor's batch commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_fences_what_was_built_on_a_batch_that_did_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let driver = limited(dir.path(), 64 << 10).await;
    let big = driver.commit(put("x", 1, "state", 256 << 10));
    // Another record: a later write of the same one would replace the big value within
    // the group commit, which then fits.
    let built_on_it = driver.commit(put("x", 1, "later", 10));
    let other = driver.commit(put("y", 1, "state", 10));
    assert!(big.await.unwrap_err().to_string().contains("full"));
    assert!(matches!(
        built_on_it.await,
        Err(StorageError::Fenced { .. })
    ));
    other.await.unwrap();
    assert!(
        driver
            .get(&ActorId::from("x"), b"state")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        driver
            .get(&ActorId::from("y"), b"state")
            .await
            .unwrap()
            .is_some()
    );
}

/// Many actors' batches of eight records each, while the database fills up: after a
/// reopen every batch is there whole or not at all, and every acknowledged one is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_batches_stay_whole_when_the_database_fills_up() {
    let dir = tempfile::tempdir().unwrap();
    let driver = limited(dir.path(), 256 << 10).await;
    let mut commits = Vec::new();
    for a in 0..60 {
        let mut batch = SaveBatch::new(ActorId::from(format!("a{a}")), 1);
        for r in 0..8 {
            batch.put(format!("r{r}").into_bytes(), vec![b'x'; 1000]);
        }
        commits.push(driver.commit(batch));
    }
    let results = futures_util::future::join_all(commits).await;
    let acked: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert!(acked.iter().any(|ok| *ok), "some batches fit");
    assert!(acked.iter().any(|ok| !*ok), "the database filled up");
    drop(driver);

    let driver = SqliteDriver::open(dir.path()).await.unwrap();
    for (a, ok) in acked.iter().enumerate() {
        let rows = driver
            .scan(&ActorId::from(format!("a{a}")), b"r")
            .await
            .unwrap()
            .len();
        assert_eq!(rows, if *ok { 8 } else { 0 }, "a{a}: acknowledged {ok}");
    }
}
