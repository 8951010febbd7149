use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[acton]
    async fn increment(&mut self, by: i64) -> i64 {
        self.count += by;
        self.count
    }
}

// Only the error above: the method is read as the `#[action]` it resembles, so its
// handle method exists.
#[allow(dead_code)]
async fn use_it(counter: CounterHandle) -> Result<i64, ActorError> {
    counter.increment(1).await
}

fn main() {}
