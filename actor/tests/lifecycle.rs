//! Hooks run in RivetKit's order, `on_create` once, `on_state_change` after real changes.

use actor_test_support as common;

use actor::prelude::*;
use common::{Counter, Watched, memory};

#[tokio::test]
async fn create_runs_on_create_once_with_its_input_then_on_wake() {
    let registry = memory().await;
    let client = registry.client();
    let counter = Counter::create(&client, ["c"]).input(42).await.unwrap();
    assert_eq!(counter.get().await.unwrap(), 42);
    assert_eq!(counter.hooks().await.unwrap(), ["create", "wake"]);
    let same = Counter::get_or_create(&client, ["c"])
        .input(7)
        .await
        .unwrap();
    assert_eq!(same.get().await.unwrap(), 42);
    let by_id = Counter::get_for_id(&client, counter.id()).await.unwrap();
    assert_eq!(by_id.get().await.unwrap(), 42);
    assert_eq!(counter.hooks().await.unwrap(), ["create", "wake"]);
}

#[tokio::test]
async fn get_or_create_without_input_uses_the_default() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["d"])
        .await
        .unwrap();
    assert_eq!(counter.get().await.unwrap(), 0);
}

#[tokio::test]
async fn on_state_change_runs_only_when_the_state_changed() {
    let registry = memory().await;
    let watched = Watched::get_or_create(&registry.client(), ["w"])
        .await
        .unwrap();
    watched.set(1).await.unwrap();
    watched.set(1).await.unwrap();
    watched.set(2).await.unwrap();
    assert_eq!(watched.changes().await.unwrap(), 2);
}

#[tokio::test]
async fn shutdown_runs_on_sleep_and_refuses_new_calls() {
    let registry = memory().await;
    let client = registry.client();
    let counter = Counter::get_or_create(&client, ["s"]).await.unwrap();
    counter.increment(1).await.unwrap();
    registry.shutdown().await;
    assert_eq!(registry.awake(), 0);
    let err = counter.get().await.unwrap_err();
    assert!(err.is(actor::codes::STOPPED), "{err}");
}
