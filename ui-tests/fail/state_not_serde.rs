use actor::prelude::*;

#[actor]
#[derive(Clone, Default)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[action]
    async fn get(&self) -> i64 {
        self.count
    }
}

fn main() {}
