use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[action]
    fn increment(&mut self) -> i64 {
        self.count += 1;
        self.count
    }
}

fn main() {}
