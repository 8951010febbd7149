//! Schedules: an actor's calls to itself later. They commit with the turn that made them,
//! fire once or repeat, wake a sleeping actor through the alarm index, survive a restart
//! (with times missed while down handled by their policy), and are limited, checked and
//! cancellable.

use actor_test_support as common;

use std::time::{Duration, SystemTime};

use actor::prelude::*;
use actor::{Missed, Repeat, ScheduleInfo, ScheduledCall, codes};
use common::{memory, runtime, sqlite};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub text: String,
}

#[actor(
    sleep_timeout = "5s",
    max_schedules = 3,
    min_schedule_interval = "100ms"
)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Planner {
    pub log: Vec<String>,
}

/// What to schedule, from a test.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Plan {
    After(u64, String),
    Every(u64, String),
    Cron(String, String),
    At(SystemTime, String, Missed),
    Message(u64, String),
}

#[actor]
impl Planner {
    #[on_create]
    async fn start(&mut self, ctx: &Ctx<Self>, first: Option<u64>) -> Result<(), ActorError> {
        if let Some(ms) = first {
            ctx.schedule()
                .after(Duration::from_millis(ms))
                .record("created".into())?;
        }
        Ok(())
    }

    #[action]
    async fn plan(&mut self, ctx: &Ctx<Self>, plan: Plan) -> Result<ScheduleId, ActorError> {
        let s = ctx.schedule();
        match plan {
            Plan::After(ms, text) => s.after(Duration::from_millis(ms)).record(text),
            Plan::Every(ms, text) => s.every(Duration::from_millis(ms)).record(text),
            Plan::Cron(expr, text) => s.cron(&expr).record(text),
            Plan::At(at, text, missed) => s.on_missed(missed).at(at).record(text),
            Plan::Message(ms, text) => s.after(Duration::from_millis(ms)).take_note(Note { text }),
        }
    }

    /// Makes two schedules, then panics: neither may remain.
    #[action]
    async fn plan_and_panic(&mut self, ctx: &Ctx<Self>) {
        ctx.schedule()
            .after(Duration::from_secs(1))
            .record("never".into())
            .unwrap();
        ctx.schedule()
            .every(Duration::from_secs(1))
            .record("never".into())
            .unwrap();
        panic!("after scheduling");
    }

    /// Cancels `first`, then schedules another in the same turn.
    #[action]
    async fn replace(&mut self, ctx: &Ctx<Self>, first: ScheduleId) -> Result<bool, ActorError> {
        let cancelled = ctx.schedule().cancel(first)?;
        ctx.schedule()
            .after(Duration::from_secs(60))
            .record("replacement".into())?;
        Ok(cancelled)
    }

    #[action]
    async fn cancel(&mut self, ctx: &Ctx<Self>, id: ScheduleId) -> Result<bool, ActorError> {
        ctx.schedule().cancel(id)
    }

    /// Scheduling from a shared action: refused.
    #[action]
    async fn plan_shared(&self, ctx: &Ctx<Self>) -> Result<ScheduleId, ActorError> {
        ctx.schedule()
            .after(Duration::from_secs(1))
            .record("x".into())
    }

    #[action]
    async fn list(&self, ctx: &Ctx<Self>) -> Vec<(ScheduleId, ScheduledCall, Repeat, u64)> {
        ctx.schedule()
            .list()
            .into_iter()
            .map(|s: ScheduleInfo| (s.id, s.call, s.repeat, s.fired))
            .collect()
    }

    /// The scheduled action: notes `text`; cancels its own schedule when told to.
    #[action]
    async fn record(&mut self, ctx: &Ctx<Self>, text: String) -> Result<(), ActorError> {
        self.log.push(text.clone());
        if text == "fail" {
            return Err(ActorError::user("planned", "a scheduled action that fails"));
        }
        if text == "once more" {
            for s in ctx.schedule().list() {
                ctx.schedule().cancel(s.id)?;
            }
        }
        Ok(())
    }

    #[queue]
    async fn take_note(&mut self, note: Note) {
        self.log.push(format!("note:{}", note.text));
    }

    #[action]
    async fn log(&self) -> Vec<String> {
        self.log.clone()
    }
}

async fn advance(d: Duration) {
    // In steps, so timers and the alarm loop run at each.
    let step = Duration::from_millis(50);
    let mut left = d;
    while !left.is_zero() {
        let now = left.min(step);
        tokio::time::sleep(now).await;
        left -= now;
    }
}

#[tokio::test(start_paused = true)]
async fn a_schedule_calls_its_action_once_after_its_delay() {
    let registry = memory().await;
    let p = Planner::create(&registry.client(), ["once"]).await.unwrap();
    let id = p.plan(Plan::After(10_000, "ten".into())).await.unwrap();
    let listed = p.list().await.unwrap();
    assert_eq!(
        listed,
        [(id, ScheduledCall::Action("record".into()), Repeat::Once, 0)]
    );
    advance(Duration::from_millis(9_900)).await;
    assert!(p.log().await.unwrap().is_empty(), "not before its time");
    advance(Duration::from_millis(200)).await;
    assert_eq!(p.log().await.unwrap(), ["ten"]);
    assert!(
        p.list().await.unwrap().is_empty(),
        "a one-time schedule is gone"
    );
    advance(Duration::from_secs(30)).await;
    assert_eq!(p.log().await.unwrap(), ["ten"], "once");
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_due_schedule_wakes_a_sleeping_actor() {
    let registry = memory().await;
    let p = Planner::create(&registry.client(), ["sleeper"])
        .await
        .unwrap();
    p.plan(Plan::After(60_000, "woken".into())).await.unwrap();
    p.sleep().await.unwrap();
    assert_eq!(registry.awake(), 0);
    advance(Duration::from_secs(59)).await;
    assert_eq!(registry.awake(), 0, "asleep until it is due");
    advance(Duration::from_secs(2)).await;
    assert_eq!(registry.awake(), 1, "the alarm woke it");
    assert_eq!(p.log().await.unwrap(), ["woken"]);
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn hooks_schedule_and_messages_reach_their_queue() {
    let registry = memory().await;
    let p = Planner::create(&registry.client(), ["hooked"])
        .input(Some(1_000))
        .await
        .unwrap();
    p.plan(Plan::Message(2_000, "queued".into())).await.unwrap();
    advance(Duration::from_millis(2_100)).await;
    assert_eq!(p.log().await.unwrap(), ["created", "note:queued"]);
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn every_repeats_on_its_cadence_until_cancelled() {
    let registry = memory().await;
    let p = Planner::create(&registry.client(), ["every"])
        .await
        .unwrap();
    let id = p.plan(Plan::Every(10_000, "tick".into())).await.unwrap();
    // Asleep in between (its sleep timeout is 5 s): each firing wakes it.
    advance(Duration::from_millis(35_000)).await;
    assert_eq!(p.log().await.unwrap(), ["tick", "tick", "tick"]);
    let listed = p.list().await.unwrap();
    assert_eq!(listed[0].3, 3, "it counts its firings");
    assert!(p.cancel(id).await.unwrap());
    assert!(!p.cancel(id).await.unwrap(), "gone already");
    advance(Duration::from_secs(30)).await;
    assert_eq!(
        p.log().await.unwrap().len(),
        3,
        "no firing after the cancel"
    );
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_scheduled_action_can_cancel_its_own_schedule() {
    let registry = memory().await;
    let p = Planner::create(&registry.client(), ["self-cancel"])
        .await
        .unwrap();
    p.plan(Plan::Every(1_000, "once more".into()))
        .await
        .unwrap();
    advance(Duration::from_secs(5)).await;
    assert_eq!(p.log().await.unwrap(), ["once more"]);
    assert!(p.list().await.unwrap().is_empty());
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_scheduled_action_moves_on() {
    let registry = memory().await;
    let p = Planner::create(&registry.client(), ["failing"])
        .await
        .unwrap();
    p.plan(Plan::Every(1_000, "fail".into())).await.unwrap();
    p.plan(Plan::After(500, "fail".into())).await.unwrap();
    advance(Duration::from_millis(3_100)).await;
    // The one-time schedule fired once, the repeating one three times; errors keep the
    // action's changes (as for any action) and do not stop the schedule.
    assert_eq!(p.log().await.unwrap().len(), 4);
    let listed = p.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].3, 3);
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn cron_schedules_fire_on_their_times_and_respect_the_minimum_interval() {
    let registry = memory().await;
    let p = Planner::create(&registry.client(), ["cron"]).await.unwrap();
    // Every second: allowed by this kind's 100 ms minimum. Its times are the next three
    // whole seconds, all within 3 s of now.
    p.plan(Plan::Cron("* * * * * *".into(), "sec".into()))
        .await
        .unwrap();
    advance(Duration::from_millis(3_000)).await;
    assert_eq!(p.log().await.unwrap(), ["sec", "sec", "sec"]);
    registry.shutdown().await;

    // A kind whose minimum is a minute refuses what fires more often.
    let registry = memory().await;
    let s = Strict::create(&registry.client(), ["strict"])
        .await
        .unwrap();
    let err = s.plan("* * * * * *".into()).await.unwrap_err();
    assert!(err.is(codes::SCHEDULE_INTERVAL_TOO_SHORT), "{err}");
    assert_eq!(err.metadata().unwrap()["min_ms"], 60_000);
    let err = s.plan("0,30 * * * * *".into()).await.unwrap_err();
    assert!(err.is(codes::SCHEDULE_INTERVAL_TOO_SHORT), "{err}");
    let err = s.plan("not a cron".into()).await.unwrap_err();
    assert!(err.is(codes::SCHEDULE_INVALID), "{err}");
    let err = s.every(30).await.unwrap_err();
    assert!(err.is(codes::SCHEDULE_INTERVAL_TOO_SHORT), "{err}");
    s.plan("0 * * * * *".into()).await.unwrap();
    // Exactly three minutes hold three whole minutes wherever in a minute the test
    // started (181 s held four when it started in the last second of one).
    advance(Duration::from_secs(180)).await;
    assert_eq!(s.fired().await.unwrap(), 3, "once a minute");
    registry.shutdown().await;
}

#[actor(min_schedule_interval = "1m", sleep_timeout = "never")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Strict {
    pub fired: u32,
}

#[actor]
impl Strict {
    #[action]
    async fn plan(&mut self, ctx: &Ctx<Self>, expr: String) -> Result<ScheduleId, ActorError> {
        ctx.schedule().cron(&expr).fire()
    }

    #[action]
    async fn every(&mut self, ctx: &Ctx<Self>, secs: u64) -> Result<ScheduleId, ActorError> {
        ctx.schedule().every(Duration::from_secs(secs)).fire()
    }

    #[action]
    async fn fire(&mut self) {
        self.fired += 1;
    }

    #[action]
    async fn fired(&self) -> u32 {
        self.fired
    }
}

#[tokio::test(start_paused = true)]
async fn a_turn_whose_changes_are_thrown_away_schedules_nothing() {
    let registry = memory().await;
    let p = Planner::create(&registry.client(), ["panics"])
        .await
        .unwrap();
    let err = p.plan_and_panic().await.unwrap_err();
    assert!(err.is(codes::INTERNAL), "{err}");
    assert!(p.list().await.unwrap().is_empty());
    advance(Duration::from_secs(5)).await;
    assert!(p.log().await.unwrap().is_empty());
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_limit_counts_the_turns_own_changes_and_refuses_one_more() {
    let registry = memory().await;
    let p = Planner::create(&registry.client(), ["limit"])
        .await
        .unwrap();
    let first = p.plan(Plan::After(60_000, "a".into())).await.unwrap();
    p.plan(Plan::After(60_000, "b".into())).await.unwrap();
    p.plan(Plan::After(60_000, "c".into())).await.unwrap();
    let err = p.plan(Plan::After(60_000, "d".into())).await.unwrap_err();
    assert!(err.is(codes::SCHEDULE_LIMIT_REACHED), "{err}");
    assert_eq!(err.metadata().unwrap()["limit"], 3);
    assert_eq!(
        p.list().await.unwrap().len(),
        3,
        "the refused one is not kept"
    );
    // A cancel in the same turn makes room.
    assert!(p.replace(first).await.unwrap());
    let listed = p.list().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|(id, ..)| *id != first));
    registry.shutdown().await;
}

#[tokio::test]
async fn scheduling_outside_an_exclusive_turn_is_refused() {
    let registry = memory().await;
    let p = Planner::create(&registry.client(), ["shared"])
        .await
        .unwrap();
    let err = p.plan_shared().await.unwrap_err();
    assert!(err.is(codes::SCHEDULE_OUTSIDE_TURN), "{err}");
    assert!(p.list().await.unwrap().is_empty());
    registry.shutdown().await;
}

/// The registry reads the wall clock when it starts, so a time that passes while the
/// process is down has to pass on the wall clock: this test waits for it (about a
/// second), on a real SQLite reopen.
#[test]
fn schedules_survive_a_restart_and_times_missed_while_down_follow_their_policy() {
    let dir = tempfile::tempdir().unwrap();
    let due = SystemTime::now() + Duration::from_millis(700);
    let id = runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        let p = Planner::create(&registry.client(), ["restart"])
            .await
            .unwrap();
        p.plan(Plan::At(due, "fire-once".into(), Missed::FireOnce))
            .await
            .unwrap();
        p.plan(Plan::At(due, "skipped".into(), Missed::Skip))
            .await
            .unwrap();
        p.plan(Plan::Every(500, "every".into())).await.unwrap();
        assert!(p.log().await.unwrap().is_empty(), "down before any is due");
        let id = p.id();
        registry.shutdown().await;
        id
    });
    // Down past the due time, and past a time of the repeating schedule.
    let wait =
        due.duration_since(SystemTime::now()).unwrap_or_default() + Duration::from_millis(400);
    std::thread::sleep(wait);
    runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        // No call: the alarm loop wakes the actor for what is due.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while registry.awake() == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the actor was not woken"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let p = registry.client().get::<Planner>(["restart"]).await.unwrap();
        assert_eq!(p.id(), id);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let log = loop {
            let log = p.log().await.unwrap();
            if log.iter().any(|l| l == "fire-once") && log.iter().any(|l| l == "every") {
                break log;
            }
            assert!(tokio::time::Instant::now() < deadline, "{log:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(
            log.iter().filter(|l| *l == "fire-once").count(),
            1,
            "a missed one-time schedule fires once: {log:?}"
        );
        assert!(
            !log.iter().any(|l| l == "skipped"),
            "Missed::Skip drops it: {log:?}"
        );
        let listed = p.list().await.unwrap();
        assert_eq!(
            listed.len(),
            1,
            "only the repeating one is left: {listed:?}"
        );
        assert!(matches!(listed[0].2, Repeat::Every(_)));
        registry.shutdown().await;
    });
}
