use actor::prelude::*;

#[derive(Clone, Default, Serialize, Deserialize)]
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
