use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[action]
    async fn increment(&mut self) {}

    #[action(name = "increment")]
    async fn increment_again(&mut self) {}
}

fn main() {}
