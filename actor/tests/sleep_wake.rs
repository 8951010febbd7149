//! Sleep timing, keep-awake guards and wake, on tokio's paused clock.

use actor_test_support as common;

use std::time::Duration;

use actor::prelude::*;
use common::{Counter, Job, memory};
use tokio::time::sleep;

#[tokio::test(start_paused = true)]
async fn an_idle_actor_sleeps_after_its_timeout_and_wakes_with_its_state() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["k"])
        .input(10)
        .await
        .unwrap();
    assert_eq!(counter.increment(5).await.unwrap(), 15);
    sleep(Duration::from_secs(29)).await;
    assert_eq!(
        registry.awake(),
        1,
        "still awake before sleep_timeout = 30s"
    );
    sleep(Duration::from_secs(2)).await;
    assert_eq!(
        registry.awake(),
        0,
        "asleep after 30s idle; nothing held in the directory"
    );
    assert_eq!(
        counter.get().await.unwrap(),
        15,
        "the call wakes it with its state"
    );
    assert_eq!(registry.awake(), 1);
    assert_eq!(
        counter.hooks().await.unwrap(),
        ["create", "wake", "sleep", "wake"]
    );
}

#[tokio::test(start_paused = true)]
async fn every_call_restarts_the_idle_clock() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["k"])
        .await
        .unwrap();
    for _ in 0..5 {
        sleep(Duration::from_secs(20)).await;
        counter.increment(1).await.unwrap();
    }
    assert_eq!(registry.awake(), 1, "100s passed, but never 30s idle");
    sleep(Duration::from_secs(31)).await;
    assert_eq!(registry.awake(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_keep_awake_guard_holds_the_actor_until_dropped() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["k"])
        .await
        .unwrap();
    counter.work_in_background(100).await.unwrap();
    sleep(Duration::from_secs(99)).await;
    assert_eq!(registry.awake(), 1, "the guard lives for 100s");
    sleep(Duration::from_secs(2 + 29)).await;
    assert_eq!(
        registry.awake(),
        1,
        "idle only since the guard dropped at 100s"
    );
    sleep(Duration::from_secs(2)).await;
    assert_eq!(registry.awake(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_action_in_flight_holds_the_actor_awake() {
    let registry = memory().await;
    let job = Job::get_or_create(&registry.client(), ["j"]).await.unwrap();
    let reader = job.clone();
    let read = tokio::spawn(async move { reader.slow_read(90).await });
    sleep(Duration::from_secs(89)).await;
    assert_eq!(registry.awake(), 1);
    assert_eq!(read.await.unwrap().unwrap(), 0);
    sleep(Duration::from_secs(29)).await;
    assert_eq!(registry.awake(), 1);
    sleep(Duration::from_secs(2)).await;
    assert_eq!(registry.awake(), 0);
}

#[tokio::test(start_paused = true)]
async fn ctx_sleep_puts_the_actor_to_sleep_after_the_call() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["k"])
        .await
        .unwrap();
    counter.increment(3).await.unwrap();
    counter.nap().await.unwrap();
    counter.sleep().await.unwrap();
    assert_eq!(registry.awake(), 0);
    assert_eq!(counter.get().await.unwrap(), 3);
    assert_eq!(
        counter.hooks().await.unwrap(),
        ["create", "wake", "sleep", "wake"]
    );
}

#[tokio::test(start_paused = true)]
async fn calls_racing_a_sleep_are_all_answered() {
    let registry = memory().await;
    let job = Job::get_or_create(&registry.client(), ["j"]).await.unwrap();
    let mut calls = Vec::new();
    for i in 0..100 {
        if i == 50 {
            job.nap().await.unwrap();
        }
        let j = job.clone();
        calls.push(tokio::spawn(async move { j.append(i.to_string()).await }));
    }
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let mut log = job.log().await.unwrap();
    log.sort_by_key(|s| s.parse::<u32>().unwrap());
    assert_eq!(log, (0..100).map(|i| i.to_string()).collect::<Vec<_>>());
}
