use actor::prelude::*;

#[actor(inbox = 0)]
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

    #[action]
    fn increment(&mut self, by: i64) -> i64 {
        self.count += by;
        self.count
    }
}

// Only the two mistakes above are reported: the handle, its methods, the options and
// the `Actor` impl still exist as stubs, so code using them adds no errors.
#[allow(dead_code)]
async fn use_it(counter: CounterHandle) -> Result<i64, ActorError> {
    let _: <Counter as Actor>::Input = 5_i64;
    let _ = Counter::config();
    counter.increment(1).await
}

fn main() {}
