use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

async fn tick() {}

#[actor]
impl Counter {
    #[action]
    async fn increment(&mut self) -> i64 {
        let local = std::rc::Rc::new(1);
        tick().await;
        self.count += *local;
        self.count
    }
}

fn main() {}
