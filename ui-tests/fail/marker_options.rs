use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[action(nmae = "get")]
    async fn get(&self) -> i64 {
        self.count
    }

    #[action = "reset"]
    async fn reset(&mut self) {
        self.count = 0;
    }

    #[on_wake(quickly)]
    async fn woke(&mut self) {}
}

fn main() {}
