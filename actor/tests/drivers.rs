//! The storage drivers honour the same contract: atomic batches, applied in order, one
//! batch's failure isolated from the others committed with it.

use std::sync::Arc;

use actor::ActorId;
use actor::driver::memory::MemoryDriver;
use actor::driver::sqlite::SqliteDriver;
use actor::driver::{Driver, SaveBatch, SaveOp, StorageError};

fn create(id: &str, key: &str) -> SaveBatch {
    let mut batch = SaveBatch::new(ActorId::from(id), 1);
    batch.ops.push(SaveOp::CreateActor {
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
    batch.ops.push(SaveOp::DeletePrefix {
        prefix: b"q/".to_vec(),
    });
    batch.put(b"q/3".to_vec(), b"z".to_vec());
    batch.ops.push(SaveOp::Delete {
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
    batch.ops.push(SaveOp::DestroyActor);
    driver.commit(batch).await.unwrap();
    assert_eq!(driver.load(&id).await.unwrap(), None);
    assert!(driver.scan(&id, b"").await.unwrap().is_empty());
    assert_eq!(driver.lookup("k", &"key1".into()).await.unwrap(), None);
    assert_eq!(
        driver.get(&ActorId::from("a2"), b"state").await.unwrap(),
        Some(b"a2".to_vec())
    );
}

#[tokio::test]
async fn memory_driver_keeps_the_contract() {
    contract(Arc::new(MemoryDriver::new())).await;
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
