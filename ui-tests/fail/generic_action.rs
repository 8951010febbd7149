use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[action]
    async fn add<T: Into<i64>>(&mut self, by: T) {
        self.count += by.into();
    }
}

fn main() {}
