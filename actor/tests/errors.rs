//! Every failure reaches the caller as a structured error and leaves state intact.

use actor_test_support as common;

use std::time::Duration;

use actor::client::{Address, CreateMode};
use actor::prelude::*;
use actor::{Encoding, codes};
use common::{Counter, memory};

#[tokio::test]
async fn get_of_a_missing_key_is_not_found() {
    let registry = memory().await;
    let err = registry
        .client()
        .get::<Counter>(["nobody"])
        .await
        .unwrap_err();
    assert!(err.is(codes::NOT_FOUND), "{err}");
    assert_eq!(
        err.metadata().unwrap()["key"],
        serde_json::json!(["nobody"])
    );
    let err = Counter::get_for_id(&registry.client(), "no-such-id")
        .await
        .unwrap_err();
    assert!(err.is(codes::NOT_FOUND), "{err}");
}

#[tokio::test]
async fn create_of_an_existing_key_is_already_exists_and_keeps_the_first() {
    let registry = memory().await;
    let client = registry.client();
    let first = Counter::create(&client, ["k"]).input(3).await.unwrap();
    let err = Counter::create(&client, ["k"]).input(99).await.unwrap_err();
    assert!(err.is(codes::ALREADY_EXISTS), "{err}");
    assert_eq!(first.get().await.unwrap(), 3);
    let again = Counter::get_or_create(&client, ["k"])
        .input(50)
        .await
        .unwrap();
    assert_eq!(again.id(), first.id());
    assert_eq!(
        again.get().await.unwrap(),
        3,
        "get_or_create must not re-run on_create"
    );
}

#[tokio::test]
async fn unknown_action_is_action_not_found() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["k"])
        .await
        .unwrap();
    let err = counter
        .call_encoded("explode", Encoding::Json, b"[]".to_vec())
        .await
        .unwrap_err();
    assert!(err.is(codes::ACTION_NOT_FOUND), "{err}");
    assert_eq!(err.metadata().unwrap()["action"], "explode");
}

#[tokio::test]
async fn wrong_argument_types_are_invalid_arguments_and_change_nothing() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["k"])
        .await
        .unwrap();
    counter.increment(2).await.unwrap();
    for bad in [&br#"["two"]"#[..], b"{}", b"not json", b"[1, 2, 3]"] {
        let err = counter
            .call_encoded("increment", Encoding::Json, bad.to_vec())
            .await
            .unwrap_err();
        assert!(err.is(codes::INVALID_ARGUMENTS), "{err}");
    }
    assert_eq!(counter.get().await.unwrap(), 2);
    let out = counter
        .call_encoded("increment", Encoding::Json, b"[5]".to_vec())
        .await
        .unwrap();
    assert_eq!(out, b"7");
    let cbor = Encoding::Cbor.encode(&(1i64,)).unwrap();
    let out = counter
        .call_encoded("increment", Encoding::Cbor, cbor)
        .await
        .unwrap();
    assert_eq!(Encoding::Cbor.decode::<i64>(&out).unwrap(), 8);
}

#[tokio::test(start_paused = true)]
async fn a_slow_action_times_out_and_its_changes_are_discarded() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["k"])
        .await
        .unwrap();
    counter.increment(1).await.unwrap();
    let started = tokio::time::Instant::now();
    let err = counter.hang().await.unwrap_err();
    assert!(err.is(codes::ACTION_TIMED_OUT), "{err}");
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(5),
        "action_timeout = \"5s\""
    );
    assert_eq!(
        counter.get().await.unwrap(),
        1,
        "the timed-out turn's +1000 must be rolled back"
    );
    assert_eq!(counter.increment(1).await.unwrap(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_full_inbox_answers_overloaded_at_once_and_loses_nothing_accepted() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["k"])
        .await
        .unwrap();
    let blocker = counter.clone();
    let hang = tokio::spawn(async move { blocker.hang().await });
    tokio::time::sleep(Duration::from_millis(1)).await;
    // inbox = 8: eight calls wait behind the hanging turn.
    let mut waiting = Vec::new();
    for _ in 0..8 {
        let c = counter.clone();
        waiting.push(tokio::spawn(async move { c.increment(1).await }));
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
    let before = tokio::time::Instant::now();
    let err = counter.increment(1).await.unwrap_err();
    assert!(err.is(codes::OVERLOADED), "{err}");
    assert_eq!(
        before.elapsed(),
        Duration::ZERO,
        "overloaded must answer without waiting"
    );
    assert_eq!(err.metadata().unwrap()["capacity"], 8);
    assert!(hang.await.unwrap().unwrap_err().is(codes::ACTION_TIMED_OUT));
    let mut results: Vec<i64> = Vec::new();
    for w in waiting {
        results.push(w.await.unwrap().unwrap());
    }
    results.sort();
    assert_eq!(results, (1..=8).collect::<Vec<_>>());
    assert_eq!(counter.get().await.unwrap(), 8);
}

#[tokio::test]
async fn user_errors_keep_their_group_code_and_message() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["k"])
        .await
        .unwrap();
    assert_eq!(counter.increment_if(5, 10).await.unwrap(), 5);
    let err = counter.increment_if(6, 10).await.unwrap_err();
    assert_eq!((err.group(), err.code()), ("counter", "too_big"));
    assert_eq!(err.message(), "the count would exceed 10");
    assert_eq!(counter.get().await.unwrap(), 5);
}

#[tokio::test]
async fn a_panicking_action_is_an_internal_error_and_rolls_back() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["k"])
        .await
        .unwrap();
    counter.increment(4).await.unwrap();
    let err = counter.panic_now().await.unwrap_err();
    assert!(err.is(codes::INTERNAL), "{err}");
    assert!(err.message().contains("boom"), "{err}");
    assert_eq!(counter.get().await.unwrap(), 4);
}

#[tokio::test]
async fn bad_keys_and_unknown_kinds_are_rejected_before_storage() {
    let registry = memory().await;
    let client = registry.client();
    let err = Counter::get_or_create(&client, ["bad\0key"])
        .await
        .unwrap_err();
    assert!(err.is(codes::INVALID_KEY), "{err}");
    let huge = "x".repeat(actor::key::MAX_KEY_BYTES + 1);
    let err = Counter::get_or_create(&client, [huge.as_str()])
        .await
        .unwrap_err();
    assert!(err.is(codes::INVALID_KEY), "{err}");
    let address = Address::Key {
        key: "k".into(),
        create: CreateMode::Never,
    };
    let err = client.handle("noSuchKind", address).await.unwrap_err();
    assert!(err.is(codes::KIND_NOT_REGISTERED), "{err}");
    assert!(
        err.message().contains("counter"),
        "lists the registered kinds: {err}"
    );
}

#[tokio::test]
async fn keys_are_limited_by_what_is_stored() {
    let registry = memory().await;
    let client = registry.client();
    // 400 empty parts hold no bytes, but take 1,201 as stored.
    let err = Counter::get_or_create(&client, vec![String::new(); 400])
        .await
        .unwrap_err();
    assert!(err.is(codes::INVALID_KEY), "{err}");
    assert_eq!(err.metadata().unwrap()["bytes"], 801 + 400);
    assert_eq!(err.metadata().unwrap()["parts"], 400);
    // 600 quotes are 600 bytes, 1,204 escaped.
    let err = Counter::get_or_create(&client, ["\"".repeat(600)])
        .await
        .unwrap_err();
    assert!(err.is(codes::INVALID_KEY), "{err}");
    let err = Counter::get_or_create(&client, ["ok", "nul\0"])
        .await
        .unwrap_err();
    assert_eq!(err.metadata().unwrap()["part"], 1, "{err}");
    // Just under the limit is fine.
    let fits = "x".repeat(actor::key::MAX_KEY_BYTES - 4);
    Counter::get_or_create(&client, [fits.as_str()])
        .await
        .unwrap();
}

#[tokio::test]
async fn arguments_of_the_wrong_shape_say_what_was_expected() {
    let registry = memory().await;
    let counter = Counter::get_or_create(&registry.client(), ["k"])
        .await
        .unwrap();
    let call = |action: &'static str, encoding, body: &[u8]| {
        let (counter, body) = (counter.clone(), body.to_vec());
        async move { counter.call_encoded(action, encoding, body).await }
    };
    let err = call("increment", Encoding::Json, b"[1, 2]")
        .await
        .unwrap_err();
    assert!(err.is(codes::INVALID_ARGUMENTS), "{err}");
    assert!(
        err.message().contains("takes 1 argument, and 2 came"),
        "{err}"
    );
    let err = call("increment", Encoding::Json, b"5").await.unwrap_err();
    assert!(err.message().contains("a single value came"), "{err}");
    // A CBOR array of two, cut short: said in words, not Rust debug text.
    let err = call("increment", Encoding::Cbor, &[0x82, 0x01])
        .await
        .unwrap_err();
    assert!(err.is(codes::INVALID_ARGUMENTS), "{err}");
    assert!(err.message().contains("ends before"), "{err}");
    assert!(!err.message().contains("Io("), "{err}");

    // An action without parameters takes nothing, `[]` or `null`, and nothing else.
    for ok in [&b""[..], b"[]", b" null "] {
        call("get", Encoding::Json, ok).await.unwrap();
    }
    call("get", Encoding::Cbor, &[0x80]).await.unwrap();
    for bad in [&b"{oops"[..], b"[1]", b"{}"] {
        let err = call("get", Encoding::Json, bad).await.unwrap_err();
        assert!(err.is(codes::INVALID_ARGUMENTS), "{bad:?}: {err}");
    }
    assert_eq!(counter.get().await.unwrap(), 0, "nothing ran");
}

#[tokio::test]
async fn calls_after_destroy_get_destroyed_or_not_found() {
    let registry = memory().await;
    let client = registry.client();
    let counter = Counter::get_or_create(&client, ["k"]).await.unwrap();
    counter.increment(1).await.unwrap();
    counter.self_destruct().await.unwrap();
    let err = counter.get().await.unwrap_err();
    assert!(
        err.is(codes::DESTROYED) || err.is(codes::NOT_FOUND),
        "{err}"
    );
    let err = client.get::<Counter>(["k"]).await.unwrap_err();
    assert!(err.is(codes::NOT_FOUND), "{err}");
}

#[tokio::test]
async fn every_error_code_is_documented() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/errors.md");
    let doc = std::fs::read_to_string(path).expect("docs/errors.md exists");
    for ((group, code), status) in codes::ALL {
        let row = doc
            .lines()
            .find(|line| line.starts_with(&format!("| `{group}/{code}` |")))
            .unwrap_or_else(|| panic!("docs/errors.md has no row for `{group}/{code}`"));
        assert!(
            row.contains(&format!("| {status} |")),
            "docs/errors.md gives `{group}/{code}` another HTTP status than {status}: {row}"
        );
        assert_eq!(codes::http_status((group, code)), *status);
    }
}

/// A kind whose `Actor` impl is written by hand, and wrongly says its actions never wait
/// (`exclusive_now`, `shared_now`) while they do.
#[actor(name = "misdeclared")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Misdeclared {
    n: i64,
}

impl actor::Actor for Misdeclared {
    type Input = ();
    type ConnState = ();
    type Schedule = actor::schedule::Scheduling;
    type Workflows = actor::workflow::Starting;
    const ACTIONS: &'static [actor::ActionInfo] = &[
        actor::ActionInfo {
            name: "bump",
            access: actor::Access::Exclusive,
        },
        actor::ActionInfo {
            name: "peek",
            access: actor::Access::Shared,
        },
    ];

    fn exclusive_now(_: usize) -> bool {
        true
    }

    fn shared_now(_: usize) -> bool {
        true
    }

    async fn call_shared(
        &self,
        _: &actor::Ctx<Self>,
        _: usize,
        _: actor::Payload,
    ) -> Result<actor::Payload, ActorError> {
        tokio::task::yield_now().await;
        Ok(actor::Payload::local(self.n))
    }

    async fn call_exclusive(
        &mut self,
        _: &actor::Ctx<Self>,
        _: usize,
        _: actor::Payload,
    ) -> Result<actor::Payload, ActorError> {
        self.n += 1;
        tokio::task::yield_now().await;
        Ok(actor::Payload::local(self.n))
    }
}

actor::__private::inventory::submit! { actor::__private::ActorKind::of::<Misdeclared>() }

#[tokio::test]
async fn an_action_that_waits_though_declared_never_to_is_an_internal_error_and_changes_nothing() {
    let registry = memory().await;
    let h = Misdeclared::get_or_create(&registry.client(), ["m"])
        .await
        .unwrap();
    for _ in 0..2 {
        let err = h.call::<(), i64>("bump", ()).await.unwrap_err();
        assert!(err.is(codes::INTERNAL), "{err}");
        assert!(err.message().contains("exclusive_now"), "{err}");
    }
    let stored = registry
        .driver()
        .get(&h.id(), b"state")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored, br#"{"n":0}"#,
        "the half-run turn's change was discarded"
    );
}

#[tokio::test]
async fn a_shared_action_that_waits_though_declared_never_to_is_an_internal_error() {
    let registry = memory().await;
    let h = Misdeclared::get_or_create(&registry.client(), ["s"])
        .await
        .unwrap();
    // Twice: the first call leaves nothing behind that the second trips over.
    for _ in 0..2 {
        let err = h.call::<(), i64>("peek", ()).await.unwrap_err();
        assert!(err.is(codes::INTERNAL), "{err}");
        assert!(err.message().contains("shared_now"), "{err}");
    }
    registry.shutdown().await;
}
