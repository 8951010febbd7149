//! A turn's write set: records a turn stages commit in the same batch as the state it
//! produced, or neither does, and the reply waits for them.

use actor_test_support as common;

use std::sync::Arc;

use actor::driver::faults::{FaultPlan, FaultyDriver};
use actor::driver::memory::MemoryDriver;
use actor::driver::{Driver, SaveOp};
use actor::prelude::*;
use common::runtime;
use registry::Registry;

/// Counts notes in its state and keeps each note's text in a record of its own.
#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Notes {
    count: u32,
}

fn record(n: u32) -> Vec<u8> {
    format!("s/note-{n}").into_bytes()
}

fn note(n: u32, text: &str) -> Result<(), ActorError> {
    actor::__private::stage(SaveOp::Put {
        key: record(n).into(),
        value: text.as_bytes().into(),
    })
}

#[actor]
impl Notes {
    #[on_create]
    async fn created(&mut self) -> Result<(), ActorError> {
        note(0, "created")
    }

    #[action]
    async fn add(&mut self, text: String) -> Result<u32, ActorError> {
        self.count += 1;
        note(self.count, &text)?;
        Ok(self.count)
    }

    /// Stages a note, then panics: neither the note nor the count may survive.
    #[action]
    async fn add_then_panic(&mut self, text: String) -> Result<u32, ActorError> {
        self.count += 1;
        note(self.count, &text)?;
        panic!("after staging");
    }

    #[action]
    async fn count(&self) -> u32 {
        self.count
    }

    /// Shared actions have no write set.
    #[action]
    async fn add_shared(&self, text: String) -> Result<(), ActorError> {
        note(99, &text)
    }

    /// Stages a note, has another actor stage one of its own in a turn that runs in
    /// place inside this one, then stages another: each turn keeps its own write set.
    #[action]
    async fn add_around(&mut self, ctx: &Ctx<Self>, other: String) -> Result<u32, ActorError> {
        self.count += 1;
        note(self.count, "before")?;
        let other = Notes::get_or_create(ctx.client(), [other.as_str()]).await?;
        other.add("theirs".into()).await?;
        self.count += 1;
        note(self.count, "after")?;
        Ok(self.count)
    }

    /// Stages a note (under 100 + its count), then outlives its action timeout: the
    /// note goes with the turn.
    #[action]
    async fn add_then_hang(&mut self, text: String) -> Result<u32, ActorError> {
        self.count += 1;
        note(100 + self.count, &text)?;
        std::future::pending::<()>().await;
        Ok(self.count)
    }
}

/// Staged on the same batch as a debounced state, the records still commit before the reply.
#[actor(save_interval = "1h")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct LazyNotes {
    count: u32,
}

#[actor]
impl LazyNotes {
    #[action]
    async fn add(&mut self, text: String) -> Result<u32, ActorError> {
        self.count += 1;
        note(self.count, &text)?;
        Ok(self.count)
    }
}

async fn stored(driver: &dyn Driver, id: &ActorId, n: u32) -> Option<String> {
    let value = driver.get(id, &record(n)).await.unwrap()?;
    Some(String::from_utf8(value).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_records_commit_with_the_state_or_not_at_all() {
    let memory = Arc::new(MemoryDriver::new());
    let driver = Arc::new(FaultyDriver::new(memory.clone()));
    let registry = Registry::builder()
        .driver(driver.clone())
        .build()
        .await
        .unwrap();
    let notes = Notes::get_or_create(&registry.client(), ["n"])
        .await
        .unwrap();
    let id = notes.id();
    assert_eq!(stored(&*memory, &id, 0).await.as_deref(), Some("created"));

    // Acknowledged: both the record and the state are stored.
    assert_eq!(notes.add("first".into()).await.unwrap(), 1);
    assert_eq!(stored(&*memory, &id, 1).await.as_deref(), Some("first"));

    // The commit fails: the caller is told, and neither the record nor the count is kept.
    driver.set_plan(FaultPlan::Once(1));
    let err = notes.add("lost".into()).await.unwrap_err();
    assert!(err.is(actor::codes::STORAGE), "{err}");
    assert_eq!(stored(&*memory, &id, 2).await, None);
    assert_eq!(
        notes.count().await.unwrap(),
        1,
        "restarted from what is stored"
    );

    // A turn that panics after staging keeps neither.
    let err = notes.add_then_panic("lost too".into()).await.unwrap_err();
    assert!(err.is(actor::codes::INTERNAL), "{err}");
    assert_eq!(stored(&*memory, &id, 2).await, None);
    assert_eq!(notes.count().await.unwrap(), 1);

    // The next turn's record lands under the count it stored with.
    assert_eq!(notes.add("second".into()).await.unwrap(), 2);
    assert_eq!(stored(&*memory, &id, 2).await.as_deref(), Some("second"));

    // Shared actions cannot stage.
    let err = notes.add_shared("no".into()).await.unwrap_err();
    assert!(err.message().contains("exclusive turn"), "{err}");
    assert_eq!(stored(&*memory, &id, 99).await, None);
    registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_records_are_committed_before_the_reply_in_debounced_mode() {
    let (memory, registry) = common::on_memory().await;
    let notes = LazyNotes::get_or_create(&registry.client(), ["n"])
        .await
        .unwrap();
    assert_eq!(notes.add("kept".into()).await.unwrap(), 1);
    assert_eq!(
        stored(&*memory, &notes.id(), 1).await.as_deref(),
        Some("kept")
    );
    let state = memory.get(&notes.id(), b"state").await.unwrap().unwrap();
    assert_eq!(state, br#"{"count":1}"#, "the state went with the records");
    registry.shutdown().await;
}

/// After a real reopen of SQLite, the record and the state of every acknowledged turn are
/// there together.
#[test]
fn staged_records_survive_a_restart_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let id = runtime().block_on(async {
        let registry = common::sqlite(dir.path()).await;
        let notes = Notes::get_or_create(&registry.client(), ["n"])
            .await
            .unwrap();
        for i in 1..=5 {
            assert_eq!(notes.add(format!("note {i}")).await.unwrap(), i);
        }
        notes.id()
        // Dropped without shutdown: a crash.
    });
    runtime().block_on(async {
        let registry = common::sqlite(dir.path()).await;
        let notes = Notes::get(&registry.client(), ["n"]).await.unwrap();
        assert_eq!(notes.count().await.unwrap(), 5);
        let driver = registry.driver().clone();
        for i in 1..=5 {
            assert_eq!(
                stored(&*driver, &id, i).await,
                Some(format!("note {i}")),
                "note {i}"
            );
        }
        registry.shutdown().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_run_in_place_inside_another_keeps_its_own_write_set() {
    let (memory, registry) = common::on_memory().await;
    let notes = Notes::get_or_create(&registry.client(), ["outer"])
        .await
        .unwrap();
    let inner = Notes::get_or_create(&registry.client(), ["inner"])
        .await
        .unwrap();
    assert_eq!(notes.add_around("inner".into()).await.unwrap(), 2);
    let (outer, inner) = (notes.id(), inner.id());
    assert_eq!(stored(&*memory, &outer, 1).await.as_deref(), Some("before"));
    assert_eq!(stored(&*memory, &outer, 2).await.as_deref(), Some("after"));
    assert_eq!(stored(&*memory, &inner, 1).await.as_deref(), Some("theirs"));
    assert_eq!(
        stored(&*memory, &inner, 2).await,
        None,
        "nothing crossed over"
    );
    registry.shutdown().await;
}

/// What a turn staged before it timed out is not committed, then or with a later turn.
#[tokio::test(start_paused = true)]
async fn a_timed_out_turn_leaves_nothing_staged_behind() {
    let (memory, registry) = common::on_memory().await;
    let notes = Notes::get_or_create(&registry.client(), ["n"])
        .await
        .unwrap();
    let err = notes.add_then_hang("hung".into()).await.unwrap_err();
    assert!(err.is(actor::codes::ACTION_TIMED_OUT), "{err}");
    let id = notes.id();
    assert_eq!(stored(&*memory, &id, 101).await, None);
    // The next turn commits its own note; the hung turn's stays out.
    assert_eq!(notes.add("next".into()).await.unwrap(), 1);
    assert_eq!(stored(&*memory, &id, 1).await.as_deref(), Some("next"));
    assert_eq!(stored(&*memory, &id, 101).await, None);
    registry.shutdown().await;
}
