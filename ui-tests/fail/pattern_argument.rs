use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[action]
    async fn add(&mut self, (a, b): (i64, i64)) {
        self.count += a + b;
    }
}

fn main() {}
