use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[on_wake]
    async fn woke(&mut self) -> i64 {
        self.count
    }
}

fn main() {}
