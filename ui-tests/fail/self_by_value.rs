use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[action]
    async fn take(self) -> i64 {
        self.count
    }
}

fn main() {}
