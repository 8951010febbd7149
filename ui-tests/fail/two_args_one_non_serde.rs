use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

pub struct Opaque;

#[actor]
impl Counter {
    #[action]
    async fn take(&mut self, by: i64, value: Opaque) {
        let _ = value;
        self.count += by;
    }
}

fn main() {}
