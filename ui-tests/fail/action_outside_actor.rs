use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

impl Counter {
    #[action]
    async fn increment(&mut self) {}
}

fn main() {}
