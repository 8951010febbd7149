use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[on_create]
    async fn init(&mut self, start: i64, step: i64) {
        self.count = start + step;
    }
}

fn main() {}
