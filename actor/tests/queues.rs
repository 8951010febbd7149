//! Durable queues: a send is stored before it is acknowledged, handlers run in arrival
//! order among actions, a message is removed in the commit of the state its handler
//! produced, failures are retried with backoff and then dead-lettered, limits refuse a
//! send and leave the queue as it was, and messages survive sleep and a crash.

use actor_test_support as common;

use std::collections::HashMap;
use std::future::IntoFuture;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actor::driver::Driver;
use actor::prelude::*;
use actor::{Encoding, codes};
use common::{Keyed, memory, on_memory, runtime, sqlite, until};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// What a handler is told to do, per actor key, by the test that owns the key.
#[derive(Default)]
struct Script {
    /// Attempts of `runTask` that fail before one succeeds.
    fail_first: AtomicU32,
    /// When set, `slow` waits for a permit before it finishes.
    gate: Mutex<Option<Arc<Semaphore>>>,
    /// When each attempt of `runTask` began.
    attempts: Mutex<Vec<Instant>>,
    /// Handler runs of `slow` that began, finished or not: side effects outside the actor.
    began: AtomicU32,
    handled: tokio::sync::Notify,
    /// The task each run of `whereAmI` ran on.
    ran_on: Mutex<Vec<Option<tokio::task::Id>>>,
}

static SCRIPTS: Keyed<Script> = Keyed::new();

fn script(key: &str) -> Arc<Script> {
    SCRIPTS.get(key)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub name: String,
}

#[actor(sleep_timeout = "5s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Worker {
    pub log: Vec<String>,
}

#[actor]
impl Worker {
    /// Fails its first `fail_first` attempts; each attempt writes to the state first, so
    /// a failed attempt whose changes were kept would show.
    #[queue(max_attempts = 3, backoff = "1s", max_backoff = "10s")]
    async fn run_task(&mut self, ctx: &Ctx<Self>, task: Task) -> Result<usize, ActorError> {
        let s = script(ctx.key().parts()[0].as_str());
        let attempt = ctx.delivery().expect("a handler has its delivery").attempt;
        s.attempts.lock().unwrap().push(Instant::now());
        self.log.push(format!("{}#{attempt}", task.name));
        if attempt <= s.fail_first.load(Ordering::SeqCst) {
            return Err(ActorError::user(
                "flaky",
                format!("attempt {attempt} failed"),
            ));
        }
        Ok(self.log.len())
    }

    #[queue(name = "noteDown")]
    async fn note(&mut self, text: String) {
        self.log.push(format!("note:{text}"));
    }

    /// Waits for the script's gate, if it has one, after writing to the state.
    #[queue(capacity = 2, max_message_size = 64)]
    async fn slow(&mut self, ctx: &Ctx<Self>, text: String) {
        let s = script(ctx.key().parts()[0].as_str());
        s.began.fetch_add(1, Ordering::SeqCst);
        self.log.push(format!("slow:{text}"));
        let gate = s.gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            gate.acquire().await.unwrap().forget();
        }
        s.handled.notify_waiters();
    }

    /// Notes the task it runs on.
    #[queue]
    async fn where_am_i(&mut self, ctx: &Ctx<Self>, tag: String) {
        let s = script(ctx.key().parts()[0].as_str());
        s.ran_on.lock().unwrap().push(tokio::task::try_id());
        self.log.push(format!("where:{tag}"));
    }

    /// Logs the message it runs on, as its delivery tells it, and returns its id.
    #[queue]
    async fn stamp(&mut self, ctx: &Ctx<Self>, tag: String) -> u64 {
        let d = ctx.delivery().expect("a handler has its delivery");
        self.log
            .push(format!("stamp:{tag}:{}:{}:{}", d.queue, d.id, d.attempt));
        d.id.get()
    }

    /// Whether an action sees no delivery: none outside a handler's turn.
    #[action]
    async fn sees_no_delivery(&mut self, ctx: &Ctx<Self>) -> bool {
        ctx.delivery().is_none()
    }

    #[action]
    async fn act(&mut self, text: String) {
        self.log.push(format!("act:{text}"));
    }

    #[action]
    async fn log(&self) -> Vec<String> {
        self.log.clone()
    }

    /// The log, from an exclusive turn: it comes after every message sent before it.
    #[action]
    async fn flushed(&mut self) -> Vec<String> {
        self.log.clone()
    }
}

fn task(name: &str) -> Task {
    Task { name: name.into() }
}

#[tokio::test]
async fn handlers_run_in_arrival_order_among_actions() {
    let registry = memory().await;
    let w = Worker::get_or_create(&registry.client(), ["order"])
        .await
        .unwrap();
    let a = w.run_task(task("a")).await.unwrap();
    w.act("b".into()).await.unwrap();
    let c = w.note("c".into()).await.unwrap();
    w.act("d".into()).await.unwrap();
    assert!(c > a, "ids grow: {a} {c}");
    let n = w
        .run_task(task("e"))
        .wait(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(
        w.log().await.unwrap(),
        ["a#1", "act:b", "note:c", "act:d", "e#1"]
    );
    registry.shutdown().await;
}

#[tokio::test]
async fn a_handler_reads_its_own_message_and_queue_and_an_action_after_it_none() {
    let registry = memory().await;
    let w = Worker::get_or_create(&registry.client(), ["delivery"])
        .await
        .unwrap();
    // Handled in place (the actor is idle), then through the actor's task (a sender
    // that waits always goes through it), each turn followed by an action's.
    let first = w.stamp("a".into()).await.unwrap();
    assert!(w.sees_no_delivery().await.unwrap());
    let second = w
        .stamp("b".into())
        .wait(Duration::from_secs(5))
        .await
        .unwrap();
    assert!(w.sees_no_delivery().await.unwrap());
    assert!(second > first.get(), "{first} {second}");
    assert_eq!(
        w.log().await.unwrap(),
        [
            format!("stamp:a:stamp:{first}:1"),
            format!("stamp:b:stamp:{second}:1"),
        ]
    );
    registry.shutdown().await;
}

#[tokio::test]
async fn a_handled_message_is_removed_with_the_state_it_produced() {
    let (driver, registry) = on_memory().await;
    let w = Worker::get_or_create(&registry.client(), ["atomic"])
        .await
        .unwrap();
    let id = w.note("x".into()).await.unwrap();
    // Stored once the send returned; handled before this exclusive call.
    w.flushed().await.unwrap();
    let records = driver.scan(&w.id(), b"q/").await.unwrap();
    assert!(records.is_empty(), "handled and removed: {records:?}");
    let state = driver.get(&w.id(), b"state").await.unwrap().unwrap();
    assert!(String::from_utf8(state).unwrap().contains("note:x"));
    // Ids are reserved 1,024 at a time: the first send reserved 1 to 1,024.
    let seq = driver.get(&w.id(), b"qseq").await.unwrap().unwrap();
    assert_eq!((id.get(), seq), (1, 1_024u64.to_be_bytes().to_vec()));
    assert_eq!(w.note("y".into()).await.unwrap().get(), 2);
    registry.shutdown().await;

    // After a restart no id is given again: the next comes after the reservation.
    let registry = registry::Registry::builder()
        .driver(driver.clone())
        .build()
        .await
        .unwrap();
    let w = Worker::get(&registry.client(), ["atomic"]).await.unwrap();
    assert_eq!(w.note("z".into()).await.unwrap().get(), 1_025);
    let seq = driver.get(&w.id(), b"qseq").await.unwrap().unwrap();
    assert_eq!(seq, 2_048u64.to_be_bytes().to_vec());
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_handler_is_retried_with_backoff_and_its_error_reaches_a_waiting_sender() {
    let registry = memory().await;
    let s = script("retry");
    s.fail_first.store(2, Ordering::SeqCst);
    let w = Worker::get_or_create(&registry.client(), ["retry"])
        .await
        .unwrap();
    let n = w
        .run_task(task("t"))
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(n, 1, "only the attempt that succeeded left its change");
    assert_eq!(w.log().await.unwrap(), ["t#3"]);
    let at = s.attempts.lock().unwrap().clone();
    assert_eq!(at.len(), 3);
    assert_eq!(at[1] - at[0], Duration::from_secs(1), "first backoff");
    assert_eq!(at[2] - at[1], Duration::from_secs(2), "doubled");

    // Three failures: the sender gets the handler's error, with its code.
    s.fail_first.store(10, Ordering::SeqCst);
    let err = w
        .run_task(task("u"))
        .wait(Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(err.is(("user", "flaky")), "{err}");
    assert!(err.message().contains("attempt 3 failed"), "{err}");
    assert_eq!(
        w.log().await.unwrap(),
        ["t#3"],
        "no failed attempt kept its changes"
    );
    registry.shutdown().await;
}

/// A send to an idle actor runs its handler on the sender's task, like an action (the
/// message and its removal then cancel before anything is written), but never ahead of
/// a message of its queue that is stored: that one backs off, and the new one waits
/// behind it.
#[tokio::test(start_paused = true)]
async fn a_send_to_an_idle_actor_is_handled_in_place_but_never_ahead_of_its_queue() {
    let registry = memory().await;
    let s = script("in-place");
    let w = Worker::get_or_create(&registry.client(), ["in-place"])
        .await
        .unwrap();
    let sender = tokio::spawn({
        let w = w.clone();
        async move {
            w.where_am_i("a".into()).await.unwrap();
            tokio::task::id()
        }
    })
    .await
    .unwrap();
    assert_eq!(
        *s.ran_on.lock().unwrap(),
        [Some(sender)],
        "on the sender's task"
    );
    assert_eq!(
        w.log().await.unwrap(),
        ["where:a"],
        "handled before the send returned"
    );

    // The first message fails and backs off for 1 s; the second, sent meanwhile, is
    // acknowledged at once and handled after the first's retry.
    s.fail_first.store(1, Ordering::SeqCst);
    w.run_task(task("first")).await.unwrap();
    w.run_task(task("second")).await.unwrap();
    assert_eq!(
        w.log().await.unwrap(),
        ["where:a"],
        "both wait for the retry"
    );
    assert_eq!(
        s.attempts.lock().unwrap().len(),
        1,
        "the second did not run"
    );
    // Only the first attempt of the first message fails.
    s.fail_first.store(0, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        w.flushed().await.unwrap(),
        ["where:a", "first#2", "second#1"],
        "in order, each once"
    );
    registry.shutdown().await;
}

/// On the paused clock: while a handler holds the state, sends and actions queue in the
/// inbox; once it finishes, the task runs them one after another (a queued run), in
/// arrival order, as if each had come alone: a handler that fails is retried after its
/// backoff, one that waits is finished on the task before the next call.
#[tokio::test(start_paused = true)]
async fn sends_queued_behind_a_turn_run_in_arrival_order_among_actions() {
    let registry = memory().await;
    let key = "queued-run";
    let s = script(key);
    let gate = Arc::new(Semaphore::new(0));
    *s.gate.lock().unwrap() = Some(gate.clone());
    s.fail_first.store(1, Ordering::SeqCst);
    let w = Worker::get_or_create(&registry.client(), [key])
        .await
        .unwrap();
    // Answered once the message is stored; its handler holds the state until a permit.
    w.slow("hold".into()).await.unwrap();
    assert_eq!(s.began.load(Ordering::SeqCst), 1);
    // In one poll, before the actor's task runs again: the holding handler gets its
    // permit, then the calls are made in this order (each future's first poll queues it),
    // so they wait in the inbox when the handler's turn ends. `slow:w` gets its own
    // permit once it began.
    let open = async {
        gate.add_permits(1);
        while s.began.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        gate.add_permits(1);
        Ok(())
    };
    let ((), a, (), c, (), ()) = tokio::try_join!(
        open,
        w.run_task(task("a")).into_future(),
        w.act("b".into()),
        w.note("c".into()).into_future(),
        async { w.slow("w".into()).await.map(drop) },
        w.act("d".into()),
    )
    .unwrap();
    assert!(c > a, "ids grow: {a} {c}");
    // `a` failed its first attempt (its change thrown away) and backs off for 1 s.
    s.fail_first.store(0, Ordering::SeqCst);
    assert_eq!(
        w.flushed().await.unwrap(),
        ["slow:hold", "act:b", "note:c", "slow:w", "act:d"]
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        w.flushed().await.unwrap(),
        ["slow:hold", "act:b", "note:c", "slow:w", "act:d", "a#2"],
        "in arrival order, each once"
    );
    assert_eq!(s.attempts.lock().unwrap().len(), 2);
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn spent_messages_are_dead_letters_that_can_be_replayed_once_or_discarded() {
    let registry = memory().await;
    let s = script("dead");
    s.fail_first.store(10, Ordering::SeqCst);
    let w = Worker::get_or_create(&registry.client(), ["dead"])
        .await
        .unwrap();
    let first = w.run_task(task("one")).await.unwrap();
    let second = w.run_task(task("two")).await.unwrap();
    // Both fail three times, one after the other (the second waits for the first).
    tokio::time::sleep(Duration::from_secs(30)).await;
    let letters = w.dead_letters().await.unwrap();
    let ids: Vec<_> = letters.iter().map(|l| l.id).collect();
    assert_eq!(ids, [first, second]);
    assert_eq!(letters[0].queue, "runTask");
    assert_eq!(letters[0].attempts, 3);
    assert!(
        letters[0].error.is(("user", "flaky")),
        "{:?}",
        letters[0].error
    );
    assert_eq!(letters[0].decode::<Task>().unwrap(), task("one"));
    assert!(w.log().await.unwrap().is_empty());

    s.fail_first.store(0, Ordering::SeqCst);
    let again = w.replay(first).await.unwrap();
    assert!(again > second, "a replay is a new message");
    let err = w.replay(first).await.unwrap_err();
    assert!(err.is(codes::DEAD_LETTER_NOT_FOUND), "{err}");
    w.discard(second).await.unwrap();
    assert!(
        w.discard(second)
            .await
            .unwrap_err()
            .is(codes::DEAD_LETTER_NOT_FOUND)
    );
    assert!(w.dead_letters().await.unwrap().is_empty());
    assert_eq!(
        w.flushed().await.unwrap(),
        ["one#1"],
        "replayed and handled once"
    );
    registry.shutdown().await;
}

#[tokio::test]
async fn a_message_that_does_not_decode_is_a_dead_letter_with_its_code() {
    let registry = memory().await;
    let w = Worker::get_or_create(&registry.client(), ["invalid"])
        .await
        .unwrap();
    let err = w
        .send_encoded_and_wait(
            "runTask",
            Encoding::Json,
            br#"{"title": 1}"#.to_vec(),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert!(err.is(codes::QUEUE_MESSAGE_INVALID), "{err}");
    assert!(err.message().contains("Task"), "names the type: {err}");
    let letters = w.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].attempts, 1, "not retried");
    assert!(letters[0].error.is(codes::QUEUE_MESSAGE_INVALID));
    assert_eq!(letters[0].body, br#"{"title": 1}"#);
    assert!(w.log().await.unwrap().is_empty(), "the handler never ran");
    registry.shutdown().await;
}

#[tokio::test]
async fn full_queues_and_large_messages_are_refused_and_leave_the_queue_intact() {
    let (driver, registry) = on_memory().await;
    let s = script("limits");
    let gate = Arc::new(Semaphore::new(0));
    *s.gate.lock().unwrap() = Some(gate.clone());
    let w = Worker::get_or_create(&registry.client(), ["limits"])
        .await
        .unwrap();
    w.slow("1".into()).await.unwrap();
    w.slow("2".into()).await.unwrap();
    let err = w.slow("3".into()).await.unwrap_err();
    assert!(err.is(codes::QUEUE_FULL), "{err}");
    assert_eq!(err.metadata().unwrap()["capacity"], 2);
    let err = w.slow("x".repeat(100)).await.unwrap_err();
    assert!(err.is(codes::QUEUE_MESSAGE_TOO_LARGE), "{err}");
    assert_eq!(err.metadata().unwrap()["max"], 64);
    let stored = driver.scan(&w.id(), b"q/slow/").await.unwrap();
    assert_eq!(stored.len(), 2, "the two accepted messages, and only they");
    gate.add_permits(2);
    assert_eq!(w.flushed().await.unwrap(), ["slow:1", "slow:2"]);
    assert!(driver.scan(&w.id(), b"q/").await.unwrap().is_empty());
    registry.shutdown().await;
}

#[tokio::test]
async fn unknown_queues_and_missing_actors_are_refused() {
    let (driver, registry) = on_memory().await;
    let w = Worker::get_or_create(&registry.client(), ["names"])
        .await
        .unwrap();
    let err = w
        .send_encoded("run_task", Encoding::Json, b"{}".to_vec())
        .await
        .unwrap_err();
    assert!(err.is(codes::QUEUE_NOT_FOUND), "{err}");
    assert_eq!(
        err.metadata().unwrap()["declared"],
        serde_json::json!(["runTask", "noteDown", "slow", "whereAmI", "stamp"])
    );
    assert!(driver.scan(&w.id(), b"q/").await.unwrap().is_empty());
    let missing = registry
        .client()
        .get::<Worker>(["nobody"])
        .await
        .unwrap_err();
    assert!(missing.is(codes::NOT_FOUND), "{missing}");
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_send_that_waits_times_out_and_its_message_is_still_handled() {
    let registry = memory().await;
    let s = script("timeout");
    let gate = Arc::new(Semaphore::new(0));
    *s.gate.lock().unwrap() = Some(gate.clone());
    let w = Worker::get_or_create(&registry.client(), ["timeout"])
        .await
        .unwrap();
    let err = w
        .slow("late".into())
        .wait(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(err.is(codes::QUEUE_TIMED_OUT), "{err}");
    assert_eq!(err.metadata().unwrap()["messageId"], 1);
    gate.add_permits(1);
    assert_eq!(w.flushed().await.unwrap(), ["slow:late"]);
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_retry_due_while_the_actor_sleeps_wakes_it() {
    let registry = memory().await;
    let s = script("asleep");
    s.fail_first.store(1, Ordering::SeqCst);
    let w = Worker::get_or_create(&registry.client(), ["asleep"])
        .await
        .unwrap();
    w.run_task(task("t")).await.unwrap();
    // The first attempt fails; its retry is due in 1 s. Asleep before that:
    tokio::time::sleep(Duration::from_millis(100)).await;
    w.sleep().await.unwrap();
    assert_eq!(registry.awake(), 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(s.attempts.lock().unwrap().len(), 2, "woken for the retry");
    assert_eq!(w.log().await.unwrap(), ["t#2"]);
    registry.shutdown().await;
}

#[tokio::test]
async fn sends_racing_sleeps_are_neither_lost_nor_handled_twice() {
    let registry = memory().await;
    let w = Worker::get_or_create(&registry.client(), ["race"])
        .await
        .unwrap();
    let sleeper = {
        let w = w.clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                let _ = w.sleep().await;
                tokio::task::yield_now().await;
            }
        })
    };
    let mut sent = Vec::new();
    for i in 0..200 {
        sent.push((i, w.note(i.to_string()).await.unwrap()));
    }
    sleeper.await.unwrap();
    let log = w.flushed().await.unwrap();
    let expected: Vec<String> = (0..200).map(|i| format!("note:{i}")).collect();
    assert_eq!(log, expected, "each acknowledged message once, in order");
    registry.shutdown().await;
}

/// A send is answered once its message is durable, also while the handler of an earlier
/// message waits: on SQLite its commit is watched, not left for whatever wakes the actor
/// next (it waited for the stuck handler's `action_timeout`, 60 s, before).
#[test]
fn a_send_is_acknowledged_while_a_handler_waits() {
    let dir = tempfile::tempdir().unwrap();
    let s = script("prompt");
    let gate = Arc::new(Semaphore::new(0));
    *s.gate.lock().unwrap() = Some(gate.clone());
    runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        let w = Worker::get_or_create(&registry.client(), ["prompt"])
            .await
            .unwrap();
        for text in ["stuck", "behind it"] {
            tokio::time::timeout(Duration::from_secs(10), w.slow(text.into()))
                .await
                .expect("acknowledged once durable, not after the handler")
                .unwrap();
        }
        let note = tokio::time::timeout(Duration::from_secs(10), w.note("other".into())).await;
        note.expect("another queue's send too").unwrap();
        gate.add_permits(2);
        assert_eq!(
            w.flushed().await.unwrap(),
            ["slow:stuck", "slow:behind it", "note:other"],
            "in arrival order"
        );
        registry.shutdown().await;
    });
}

/// The crash: messages are stored while their handler is stuck, the runtime is dropped,
/// and a new registry on the same directory handles every one of them without any call:
/// its alarm loop wakes the actor. The message whose handler was running is delivered
/// again, and its effect on the state happens once.
#[test]
fn stored_messages_are_handled_after_a_crash_in_order_without_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let s = script("crash");
    let gate = Arc::new(Semaphore::new(0));
    *s.gate.lock().unwrap() = Some(gate.clone());
    let id = runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        let w = Worker::get_or_create(&registry.client(), ["crash"])
            .await
            .unwrap();
        for i in 0..2 {
            w.slow(i.to_string()).await.unwrap();
        }
        w.note("after".into()).await.unwrap();
        while s.began.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        w.id()
    });
    assert_eq!(
        s.began.load(Ordering::SeqCst),
        1,
        "stuck in the first handler"
    );
    *s.gate.lock().unwrap() = None;
    runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        until(
            &s.handled,
            Duration::from_secs(20),
            "the alarm loop woke the actor and its handlers ran",
            || s.began.load(Ordering::SeqCst) >= 3,
        )
        .await;
        let w = registry.client().get::<Worker>(["crash"]).await.unwrap();
        assert_eq!(w.id(), id);
        assert_eq!(
            w.flushed().await.unwrap(),
            ["slow:0", "slow:1", "note:after"],
            "each once, in order"
        );
        registry.shutdown().await;
    });
}

/// Many senders to many actors, the process dies mid-flight; every acknowledged message
/// is handled after the reopen, exactly once in the state.
#[test]
fn no_acknowledged_send_is_lost_when_the_process_dies_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let acked: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
    let rt = runtime();
    rt.block_on(async {
        let registry = sqlite(dir.path()).await;
        let client = registry.client();
        for a in 0..20 {
            let (client, acked) = (client.clone(), acked.clone());
            tokio::spawn(async move {
                let key = format!("load-{a}");
                let w = Worker::get_or_create(&client, [key.as_str()])
                    .await
                    .unwrap();
                for i in 0.. {
                    let text = format!("{a}-{i}");
                    if w.note(text.clone()).await.is_ok() {
                        acked
                            .lock()
                            .unwrap()
                            .entry(key.clone())
                            .or_default()
                            .push(text);
                    }
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    });
    drop(rt);
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.values().map(Vec::len).sum::<usize>() > 100,
        "the load ran"
    );
    runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        for (key, sent) in &acked {
            let w = registry
                .client()
                .get::<Worker>([key.as_str()])
                .await
                .unwrap();
            // Waking it loads what was stored; its handlers run before this call.
            let log = w.flushed().await.unwrap();
            let notes: Vec<&str> = log.iter().filter_map(|l| l.strip_prefix("note:")).collect();
            let mut seen = std::collections::HashSet::new();
            assert!(
                notes.iter().all(|n| seen.insert(*n)),
                "{key}: handled twice: {notes:?}"
            );
            for text in sent {
                assert!(
                    seen.contains(text.as_str()),
                    "{key}: acknowledged {text} was lost"
                );
            }
            // In order: the acknowledged ones are a prefix of what was handled.
            assert_eq!(&notes[..sent.len()], sent.as_slice(), "{key}: out of order");
        }
        registry.shutdown().await;
    });
}
