//! Every attribute and option, compiled and checked.
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use actor::prelude::*;

#[derive(Default)]
pub struct Cache {
    hits: AtomicU32,
}

#[actor(
    name = "everything",
    sleep_timeout = "5m",
    action_timeout = "10s",
    sleep_grace = "2s",
    inbox = 16,
    max_shared = 8,
    save_interval = "500ms",
    vars = Cache
)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Everything {
    n: i64,
    log: Vec<String>,
}

#[derive(Debug, thiserror::Error, actor::ActorError)]
#[actor_error(group = "everything")]
pub enum Failure {
    #[error("too many: {0}")]
    TooMany(i64),
    #[error("gone")]
    #[actor_error(code = "vanished")]
    Gone,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Start {
    n: i64,
}

#[actor]
impl Everything {
    #[on_create]
    async fn create(&mut self, ctx: &Ctx<Self>, input: Start) {
        let _ = ctx.id();
        self.n = input.n;
    }

    #[on_wake]
    async fn wake(&mut self, ctx: &Ctx<Self>) -> Result<(), ActorError> {
        ctx.vars().hits.store(0, Ordering::Relaxed);
        Ok(())
    }

    #[on_sleep]
    async fn sleep(&mut self) {
        self.log.push("sleep".into());
    }

    #[on_destroy]
    async fn destroy(&mut self, _ctx: &Ctx<Self>) -> Result<(), Failure> {
        Ok(())
    }

    #[on_state_change]
    async fn changed(&self, ctx: &Ctx<Self>) {
        ctx.vars().hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds, failing past a limit.
    #[action]
    async fn add(&mut self, by: i64, limit: i64) -> Result<i64, Failure> {
        if self.n + by > limit {
            return Err(Failure::TooMany(self.n + by));
        }
        self.n += by;
        Ok(self.n)
    }

    #[action(name = "readAll")]
    async fn read_all(&self, ctx: &Ctx<Self>) -> (i64, Vec<String>, u32) {
        (
            self.n,
            self.log.clone(),
            ctx.vars().hits.load(Ordering::Relaxed),
        )
    }

    #[action]
    async fn reset(&mut self) {
        self.n = 0;
    }

    #[action]
    async fn fail(&self) -> Result<(), ActorError> {
        Err(ActorError::user("nope", "always fails"))
    }

    /// Not an action: an ordinary method stays as it was.
    fn helper(&self) -> i64 {
        self.n
    }
}

fn main() {
    assert_eq!(<Everything as ActorOptions>::NAME, "everything");
    let c = Everything::config();
    assert_eq!(c.sleep_timeout, Some(Duration::from_secs(300)));
    assert_eq!(c.action_timeout, Duration::from_secs(10));
    assert_eq!(c.sleep_grace, Duration::from_secs(2));
    assert_eq!(c.inbox_capacity, 16);
    assert_eq!(c.max_shared, 8);
    assert_eq!(
        c.save,
        actor::SaveMode::Debounced(Duration::from_millis(500))
    );
    let names: Vec<_> = Everything::ACTIONS
        .iter()
        .map(|a| (a.name, a.access))
        .collect();
    assert_eq!(
        names,
        [
            ("add", actor::Access::Exclusive),
            ("readAll", actor::Access::Shared),
            ("reset", actor::Access::Exclusive),
            ("fail", actor::Access::Shared),
        ]
    );
    const { assert!(Everything::HAS_ON_STATE_CHANGE) };
    let err: ActorError = Failure::Gone.into();
    assert_eq!(
        (err.group(), err.code(), err.message()),
        ("everything", "vanished", "gone")
    );
    let err: ActorError = Failure::TooMany(3).into();
    assert_eq!(err.code(), "too_many");
    assert_eq!(Everything::default().helper(), 0);
}
