//! A durable counter. Run it twice: the count keeps going, because its state lives in
//! SQLite under `./data` (or the directory given as the first argument).
//!
//! ```text
//! cargo run -p counter-example
//! cargo run -p counter-example   # the count picks up where it left off
//! ```

use actor::prelude::*;

/// The counter's durable state: this struct is what survives sleep and restarts.
#[actor(sleep_timeout = "30s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
    runs: u32,
}

#[actor]
impl Counter {
    /// Starts the count at `start` when the counter is first created.
    #[on_create]
    async fn init(&mut self, _ctx: &Ctx<Self>, start: i64) {
        self.count = start;
    }

    /// Exclusive: one at a time; the reply is sent once the new count is on disk.
    #[action]
    async fn increment(&mut self, by: i64) -> i64 {
        self.count += by;
        self.runs += 1;
        self.count
    }

    /// Shared: runs concurrently on a snapshot.
    #[action]
    async fn get(&self) -> (i64, u32) {
        (self.count, self.runs)
    }
}

#[tokio::main]
async fn main() -> Result<(), ActorError> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let dir = std::env::args().nth(1).unwrap_or_else(|| "data".into());
    let registry = registry::Registry::builder().sqlite(&dir).build().await?;
    let client = registry.client();

    let counter = Counter::get_or_create(&client, ["demo"]).await?;
    let count = counter.increment(1).await?;
    let (_, runs) = client.get::<Counter>(["demo"]).await?.get().await?;
    println!(
        "counter {} in {dir}: count is {count} after {runs} run(s)",
        counter.id()
    );

    registry.shutdown().await;
    Ok(())
}
