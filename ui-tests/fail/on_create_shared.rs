use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[on_create]
    async fn init(&self, start: i64) {
        let _ = start;
    }
}

fn main() {}
