//! Destroy runs `on_destroy` and removes every stored byte of that actor, nothing else.

use actor_test_support as common;

use actor::codes;
use actor::prelude::*;
use common::{Counter, sqlite};
use sqlx::Row;

async fn rows(path: &std::path::Path, id: &str) -> (i64, i64) {
    let url = format!(
        "sqlite:{}",
        path.join(actor::driver::sqlite::DATABASE_FILE).display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let actors: i64 = sqlx::query("SELECT COUNT(*) FROM actors WHERE id = ?")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    let records: i64 = sqlx::query("SELECT COUNT(*) FROM records WHERE actor_id = ?")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    pool.close().await;
    (actors, records)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_removes_every_byte_of_that_actor_and_nothing_of_others() {
    let dir = tempfile::tempdir().unwrap();
    let registry = sqlite(dir.path()).await;
    let client = registry.client();
    let doomed = Counter::get_or_create(&client, ["doomed"]).await.unwrap();
    let kept = Counter::get_or_create(&client, ["kept"]).await.unwrap();
    doomed.increment(7).await.unwrap();
    kept.increment(9).await.unwrap();
    let (doomed_id, kept_id) = (doomed.id(), kept.id());
    assert_eq!(rows(dir.path(), doomed_id.as_str()).await, (1, 1));

    doomed.destroy().await.unwrap();

    assert_eq!(
        rows(dir.path(), doomed_id.as_str()).await,
        (0, 0),
        "nothing of it is left"
    );
    assert_eq!(rows(dir.path(), kept_id.as_str()).await, (1, 1));
    assert_eq!(kept.get().await.unwrap(), 9);
    assert!(
        client
            .get::<Counter>(["doomed"])
            .await
            .unwrap_err()
            .is(codes::NOT_FOUND)
    );
    assert!(
        Counter::get_for_id(&client, doomed_id.clone())
            .await
            .unwrap_err()
            .is(codes::NOT_FOUND)
    );
    let err = doomed.get().await.unwrap_err();
    assert!(err.is(codes::NOT_FOUND), "{err}");

    // The key is free again: a new actor with a new id.
    let reborn = Counter::get_or_create(&client, ["doomed"]).await.unwrap();
    assert_ne!(reborn.id(), doomed_id);
    assert_eq!(reborn.get().await.unwrap(), 0);
    registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroying_a_sleeping_actor_wakes_it_and_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let registry = sqlite(dir.path()).await;
    let counter = Counter::get_or_create(&registry.client(), ["z"])
        .await
        .unwrap();
    counter.increment(1).await.unwrap();
    counter.sleep().await.unwrap();
    let id = counter.id();
    counter.destroy().await.unwrap();
    assert_eq!(rows(dir.path(), id.as_str()).await, (0, 0));
    registry.shutdown().await;
}
