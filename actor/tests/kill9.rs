//! A real crash: a child process drives actors on SQLite and prints every acknowledged
//! value; the parent kills it with SIGKILL mid-load, reopens the data directory and checks
//! that every acknowledged write is there.

use actor_test_support as common;

use std::collections::HashMap;

use actor::prelude::*;
use common::{Counter, acks_until_killed, runtime, sqlite};

const CHILD_DIR: &str = "ACTOR_KILL9_CHILD_DIR";

/// The child's body: run by the parent test in a separate process, never on its own.
#[test]
#[ignore = "run as a child process by kill9::acknowledged_writes_survive_sigkill"]
fn child_drives_load_until_killed() {
    let dir = std::env::var(CHILD_DIR).expect("the parent sets the data directory");
    let rt = runtime();
    rt.block_on(async move {
        let registry = sqlite(std::path::Path::new(&dir)).await;
        let client = registry.client();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, i64)>();
        for a in 0..50 {
            let (client, tx) = (client.clone(), tx.clone());
            tokio::spawn(async move {
                let counter = Counter::get_or_create(&client, [format!("k{a}")])
                    .await
                    .unwrap();
                loop {
                    let n = counter.increment(1).await.unwrap();
                    tx.send((a, n)).unwrap();
                }
            });
        }
        while let Some((a, n)) = rx.recv().await {
            println!("ack {a} {n}");
        }
    });
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let acked: HashMap<usize, i64> = acks_until_killed(
        "child_drives_load_until_killed",
        CHILD_DIR,
        dir.path(),
        3_000,
    )
    .into_iter()
    .map(|(a, n)| (a.parse().unwrap(), n.parse().unwrap()))
    .collect();

    let rt = runtime();
    rt.block_on(async {
        let registry = sqlite(dir.path()).await;
        let client = registry.client();
        for (a, n) in &acked {
            let stored = client
                .get::<Counter>([format!("k{a}")])
                .await
                .unwrap()
                .get()
                .await
                .unwrap();
            assert!(
                stored >= *n,
                "k{a}: acknowledged {n} before the kill, found {stored}"
            );
        }
        registry.shutdown().await;
    });
    assert!(
        acked.len() >= 40,
        "the load reached most actors: {}",
        acked.len()
    );
}
