//! Handles on routes: a route written outside the crate backs a generated handle, calls
//! carry their target, and kinds can be named at run time.

use actor_test_support as common;

use std::sync::{Arc, Mutex};

use actor::client::{Address, CreateMode};
use actor::prelude::*;
use actor::route::{Route, Target};
use actor::{Encoding, Payload, codes};
use common::{Counter, CounterHandle, memory};
use futures_util::future::BoxFuture;

/// A route that does what a network client does: every call leaves as JSON bytes and
/// comes back as JSON bytes. It reaches the actor through an in-process handle and
/// records what it was asked.
struct Wire {
    inner: ActorHandle,
    seen: Mutex<Vec<(Target, Vec<u8>)>>,
}

impl Route for Wire {
    fn kind(&self) -> &str {
        self.inner.kind()
    }

    fn id(&self) -> ActorId {
        self.inner.id()
    }

    fn call(&self, target: Target, payload: Payload) -> BoxFuture<'_, Result<Payload, ActorError>> {
        Box::pin(async move {
            let (encoding, bytes) = payload.into_encoded(Encoding::Json)?;
            self.seen
                .lock()
                .unwrap()
                .push((target.clone(), bytes.clone()));
            let answer = self
                .inner
                .send(target, Payload::Encoded(encoding, bytes))
                .await?;
            match answer {
                Payload::Encoded(Encoding::Json, bytes) => {
                    Ok(Payload::Encoded(Encoding::Json, bytes))
                }
                _ => Err(ActorError::internal("wire", "the answer was not JSON")),
            }
        })
    }

    fn destroy(&self) -> BoxFuture<'_, Result<(), ActorError>> {
        Box::pin(self.inner.destroy())
    }

    fn sleep(&self) -> BoxFuture<'_, Result<(), ActorError>> {
        Box::pin(self.inner.sleep())
    }
}

#[tokio::test]
async fn a_route_written_outside_the_crate_backs_a_generated_handle() {
    let registry = memory().await;
    let inner = Counter::get_or_create(&registry.client(), ["wired"])
        .await
        .unwrap();
    let wire = Arc::new(Wire {
        inner: (*inner).clone(),
        seen: Mutex::new(Vec::new()),
    });
    let counter = CounterHandle::from(ActorHandle::from_route(wire.clone()));
    assert_eq!(counter.kind(), "counter");
    assert_eq!(counter.id(), inner.id());

    // Typed calls cross the route as bytes, results come back typed.
    assert_eq!(counter.increment(5).await.unwrap(), 5);
    assert_eq!(counter.increment(2).await.unwrap(), 7);
    assert_eq!(inner.get().await.unwrap(), 7, "the same actor");
    let seen = wire.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            (Target::action("increment"), b"[5]".to_vec()),
            (Target::action("increment"), b"[2]".to_vec()),
        ]
    );

    // A user error keeps its group and code across the route.
    let err = counter.increment_if(100, 10).await.unwrap_err();
    assert_eq!((err.group(), err.code()), ("counter", "too_big"), "{err}");

    // Lifecycle requests go through the route too.
    counter.sleep().await.unwrap();
    assert_eq!(registry.awake(), 0);
    assert_eq!(counter.get().await.unwrap(), 7, "woken through the route");
    counter.destroy().await.unwrap();
    let err = Counter::get(&registry.client(), ["wired"])
        .await
        .unwrap_err();
    assert!(err.is(codes::NOT_FOUND), "{err}");
    registry.shutdown().await;
}

#[tokio::test]
async fn a_queue_the_actor_does_not_declare_is_queue_not_found() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["q"])
        .await
        .unwrap();
    for target in [
        Target::Send("tasks".into()),
        Target::SendAndWait {
            queue: "tasks".into(),
            timeout: std::time::Duration::from_secs(1),
        },
    ] {
        let err = counter
            .send(target, Payload::Encoded(Encoding::Json, b"{}".to_vec()))
            .await
            .unwrap_err();
        assert!(err.is(codes::QUEUE_NOT_FOUND), "{err}");
        assert_eq!(err.metadata().unwrap()["queue"], "tasks");
        assert!(err.message().contains("declares no queues"), "{err}");
    }
    assert_eq!(counter.get().await.unwrap(), 0, "the actor is untouched");
    registry.shutdown().await;
}

#[tokio::test]
async fn a_kind_named_at_run_time_resolves_like_a_typed_one() {
    let registry = memory().await;
    let client = registry.client();
    let typed = Counter::get_or_create(&client, ["by-name"])
        .input(3)
        .await
        .unwrap();
    // A name that arrives at run time, as from a request.
    let name: String = ["coun", "ter"].concat();
    let address = Address::Key {
        key: ActorKey::from("by-name"),
        create: CreateMode::Never,
    };
    let handle = client.handle(&name, address).await.unwrap();
    assert_eq!(handle.id(), typed.id());
    assert_eq!(handle.kind(), "counter");
    let out = handle
        .call_encoded("increment", Encoding::Json, b"[1]".to_vec())
        .await
        .unwrap();
    assert_eq!(out, b"4");
    let err = client
        .handle(&format!("{name}s"), Address::Id(typed.id()))
        .await
        .unwrap_err();
    assert!(err.is(codes::KIND_NOT_REGISTERED), "{err}");
    registry.shutdown().await;
}
