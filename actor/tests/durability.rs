//! State survives sleep and restarts on SQLite; nothing acknowledged is lost in a crash.
//!
//! A crash is simulated for real: the whole tokio runtime, with every actor task and the
//! SQLite writer, is dropped mid-flight, then a new one reopens the same data directory.

use actor_test_support as common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actor::prelude::*;
use common::{Counter, Lazy, runtime, sqlite};

#[test]
fn state_survives_sleep_and_a_full_restart() {
    let dir = tempfile::tempdir().unwrap();
    let id = runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        let counter = Counter::get_or_create(&registry.client(), ["a"])
            .input(100)
            .await
            .unwrap();
        counter.increment(1).await.unwrap();
        counter.sleep().await.unwrap();
        assert_eq!(registry.awake(), 0);
        assert_eq!(
            counter.increment(1).await.unwrap(),
            102,
            "woken from SQLite"
        );
        counter.id()
    });
    // The runtime above is gone: no shutdown, no on_sleep, just dropped.
    runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        let counter = registry.client().get::<Counter>(["a"]).await.unwrap();
        assert_eq!(counter.id(), id, "same actor, same id");
        assert_eq!(counter.get().await.unwrap(), 102);
        assert_eq!(
            counter.hooks().await.unwrap(),
            ["create", "wake", "sleep", "wake", "wake"],
            "on_create ran once; the crash skipped on_sleep"
        );
        registry.shutdown().await;
    });
}

#[test]
fn no_acknowledged_write_is_lost_when_the_process_dies_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let acked: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let rt = runtime();
    rt.block_on(async {
        let registry = sqlite(dir.path()).await;
        let client = registry.client();
        for a in 0..200 {
            let (client, acked) = (client.clone(), acked.clone());
            tokio::spawn(async move {
                let key = format!("actor-{a}");
                let counter = Counter::get_or_create(&client, [key.as_str()])
                    .await
                    .unwrap();
                loop {
                    let Ok(n) = counter.increment(1).await else {
                        return;
                    };
                    acked.lock().unwrap().insert(key.clone(), n);
                }
            });
        }
        // Let the load run, then kill everything in the middle of it.
        tokio::time::sleep(Duration::from_millis(700)).await;
    });
    rt.shutdown_background();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 150,
        "most actors got acknowledged writes: {}",
        acked.len()
    );
    let total: i64 = acked.values().sum();
    assert!(
        total > 2_000,
        "the load was real: {total} acknowledged increments"
    );
    runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        let client = registry.client();
        for (key, n) in &acked {
            let stored = client
                .get::<Counter>([key.as_str()])
                .await
                .unwrap()
                .get()
                .await
                .unwrap();
            assert!(
                stored >= *n,
                "{key}: acknowledged {n}, found {stored} after the crash"
            );
        }
        registry.shutdown().await;
    });
}

#[test]
fn debounced_actors_save_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        let lazy = Lazy::get_or_create(&registry.client(), ["l"])
            .await
            .unwrap();
        for _ in 0..10 {
            lazy.bump().await.unwrap();
        }
        registry.shutdown().await;
    });
    runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        let lazy = Lazy::get(&registry.client(), ["l"]).await.unwrap();
        assert_eq!(lazy.bump().await.unwrap(), 11);
        registry.shutdown().await;
    });
}

#[tokio::test(start_paused = true)]
async fn debounced_actors_save_at_most_once_per_interval() {
    let driver = Arc::new(actor::driver::memory::MemoryDriver::new());
    let registry = registry::Registry::builder()
        .driver(driver.clone())
        .build()
        .await
        .unwrap();
    let lazy = Lazy::get_or_create(&registry.client(), ["l"])
        .await
        .unwrap();
    let id = lazy.id();
    let stored = || async {
        use actor::driver::Driver;
        let bytes = driver
            .get(&id, actor::driver::keys::STATE)
            .await
            .unwrap()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["n"]
            .as_u64()
            .unwrap()
    };
    for _ in 0..5 {
        lazy.bump().await.unwrap();
    }
    assert_eq!(stored().await, 0, "not saved before the interval");
    tokio::time::sleep(Duration::from_millis(1001)).await;
    assert_eq!(stored().await, 5, "saved once the interval passed");
}
