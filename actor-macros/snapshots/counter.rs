use actor::prelude::*;

#[actor(sleep_timeout = "5m", inbox = 256)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[on_create]
    async fn init(&mut self, start: i64) {
        self.count = start;
    }

    /// Adds `by` and returns the new count.
    #[action]
    async fn increment(&mut self, by: i64) -> i64 {
        self.count += by;
        self.count
    }

    #[action]
    async fn get(&self, ctx: &Ctx<Self>) -> Result<i64, ActorError> {
        let _ = ctx.key();
        Ok(self.count)
    }
}
