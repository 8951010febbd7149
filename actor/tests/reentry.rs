//! An exclusive action that calls an exclusive action of its own actor, directly or
//! through other actors, would wait for itself: it fails at once with `actor/deadlock`
//! naming the call chain, instead of waiting out its action timeout. Shared actions may
//! be called from anywhere.

use actor_test_support as common;

use std::time::Duration;

use actor::codes;
use actor::prelude::*;
use common::memory;

#[actor(action_timeout = "5s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Looper {
    n: i64,
}

#[actor]
impl Looper {
    #[action]
    async fn bump(&mut self) -> i64 {
        self.n += 1;
        self.n
    }

    #[action]
    async fn peek(&self) -> i64 {
        self.n
    }

    /// Calls its own exclusive `bump`.
    #[action]
    async fn bump_self(&mut self, ctx: &Ctx<Self>) -> Result<i64, ActorError> {
        let me = Looper::get(ctx.client(), ctx.key().clone()).await?;
        me.bump().await
    }

    /// Calls its own shared `peek`: allowed.
    #[action]
    async fn peek_self(&mut self, ctx: &Ctx<Self>) -> Result<i64, ActorError> {
        self.n += 10;
        let me = Looper::get(ctx.client(), ctx.key().clone()).await?;
        me.peek().await
    }

    /// Asks a relay to call this actor's `bump` back.
    #[action]
    async fn through(
        &mut self,
        ctx: &Ctx<Self>,
        relay: String,
        wait: bool,
    ) -> Result<i64, ActorError> {
        let relay = Relay::get_or_create(ctx.client(), [relay]).await?;
        relay.call_back(ctx.key().parts()[0].clone(), wait).await
    }
}

#[actor(action_timeout = "5s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Relay {}

#[actor]
impl Relay {
    /// Calls `bump` of the looper under `key`; with `wait`, only after a yield, so the
    /// turn has left the caller's task for the relay's own.
    #[action]
    async fn call_back(
        &mut self,
        ctx: &Ctx<Self>,
        key: String,
        wait: bool,
    ) -> Result<i64, ActorError> {
        if wait {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Looper::get(ctx.client(), [key]).await?.bump().await
    }

    /// Holds the relay's turn for a while.
    #[action]
    async fn hold(&mut self, secs: u64) {
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
}

fn assert_deadlock(err: &ActorError, hops: usize) {
    assert!(err.is(codes::DEADLOCK), "{err}");
    assert!(err.message().contains("call chain"), "{err}");
    let chain = err.metadata().unwrap()["chain"].as_array().unwrap().len();
    assert_eq!(chain, hops, "{err}");
}

#[tokio::test(start_paused = true)]
async fn an_exclusive_action_calling_its_own_actor_fails_at_once() {
    let registry = memory().await;
    let looper = Looper::get_or_create(&registry.client(), ["l"])
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let err = looper.bump_self().await.unwrap_err();
    assert_deadlock(&err, 1);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "no wait for the timeout"
    );
    // The turn returned the error and kept its state; the actor goes on working.
    assert_eq!(looper.bump().await.unwrap(), 1);
    // A shared action of its own is fine, and sees the last committed state.
    assert_eq!(looper.peek_self().await.unwrap(), 1);
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_call_back_through_another_actor_fails_at_once() {
    let registry = memory().await;
    let client = registry.client();
    let looper = Looper::get_or_create(&client, ["l"]).await.unwrap();
    // The relay's turn runs in place, on the looper's caller's task.
    let err = looper.through("r".into(), false).await.unwrap_err();
    assert_deadlock(&err, 2);
    // The relay waits first, so its turn finishes on the relay's own task.
    let err = looper.through("r".into(), true).await.unwrap_err();
    assert_deadlock(&err, 2);
    // The relay is busy, so the call waits in its inbox and carries its chain there.
    let relay = Relay::get_or_create(&client, ["busy"]).await.unwrap();
    let held = tokio::spawn(async move { relay.hold(2).await });
    tokio::time::sleep(Duration::from_millis(1)).await;
    let started = tokio::time::Instant::now();
    let err = looper.through("busy".into(), false).await.unwrap_err();
    assert_deadlock(&err, 2);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "not the action timeout"
    );
    held.await.unwrap().unwrap();
    assert_eq!(looper.peek().await.unwrap(), 0, "no bump ever ran");
    registry.shutdown().await;
}
