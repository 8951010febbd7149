//! The alarm index across a restart: an alarm a turn set is found due by the registry
//! that starts on the same data directory, also when it came due while nothing ran.

use actor_test_support as common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actor::driver::SaveOp;
use actor::prelude::*;
use common::{runtime, sqlite};

/// Sets its own alarm, as schedules will, in the same turn as the state naming it.
#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Reminder {
    due_at: Option<u64>,
}

#[actor]
impl Reminder {
    #[action]
    async fn remind_at(&mut self, at: u64) -> Result<(), ActorError> {
        self.due_at = Some(at);
        actor::__private::stage(SaveOp::SetAlarm { at: Some(at) })
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[test]
fn an_alarm_set_before_a_restart_is_found_due_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    // Due seconds after the restart, so the registry's alarm loop (which wakes an actor
    // whose alarm is due, and clears an alarm no record calls for) leaves it alone while
    // the test reads the index. Acting on alarms that came due while nothing ran is
    // `queues.rs`'s restart test.
    let (soon, later) = (
        unix_ms(now + Duration::from_secs(30)),
        unix_ms(now + Duration::from_secs(3600)),
    );
    let (soon_id, later_id) = runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        let client = registry.client();
        let a = Reminder::get_or_create(&client, ["soon"]).await.unwrap();
        a.remind_at(soon).await.unwrap();
        let b = Reminder::get_or_create(&client, ["later"]).await.unwrap();
        b.remind_at(later).await.unwrap();
        let due = registry.due(now, 10).await.unwrap();
        assert!(due.is_empty(), "nothing is due yet: {due:?}");
        (a.id(), b.id())
        // The runtime is dropped here without a shutdown: a crash.
    });
    // Started again, and asked as of the time the first alarm comes (no real wait).
    runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        let due = registry
            .due(UNIX_EPOCH + Duration::from_millis(soon + 10), 10)
            .await
            .unwrap();
        assert_eq!(due.len(), 1, "{due:?}");
        assert_eq!(
            (&due[0].id, due[0].kind.as_str(), due[0].at),
            (&soon_id, "reminder", soon)
        );
        let all = registry
            .due(UNIX_EPOCH + Duration::from_millis(later), 10)
            .await
            .unwrap();
        let ids: Vec<_> = all.iter().map(|a| a.id.clone()).collect();
        assert_eq!(ids, [soon_id, later_id], "earliest first");
        registry.shutdown().await;
    });
}

#[test]
fn a_data_directory_from_before_the_alarm_index_opens_and_gets_one() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        Reminder::get_or_create(&registry.client(), ["old"])
            .await
            .unwrap();
        registry.shutdown().await;
    });
    // Make it look like a version-1 file: no alarms table.
    runtime().block_on(async {
        let url = format!("sqlite:{}", dir.path().join("actors.sqlite3").display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::raw_sql("DROP TABLE alarms; PRAGMA user_version = 1")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    runtime().block_on(async {
        let registry = sqlite(dir.path()).await;
        let old = Reminder::get(&registry.client(), ["old"]).await.unwrap();
        old.remind_at(1).await.unwrap();
        let due = registry.due(SystemTime::now(), 10).await.unwrap();
        assert_eq!(due.len(), 1, "{due:?}");
        registry.shutdown().await;
    });
}
