use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[action(name = "get-count")]
    async fn get(&self) -> i64 {
        self.count
    }
}

fn main() {}
