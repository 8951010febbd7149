use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[on_create]
    async fn init(&mut self) {}

    #[on_create]
    async fn init_again(&mut self) {}
}

fn main() {}
