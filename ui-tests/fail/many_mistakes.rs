use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

// Every mistake of a block is reported at once.
#[actor]
impl Counter {
    #[action]
    fn increment(&mut self) {
        self.count += 1;
    }

    #[action]
    async fn reset(self) {}

    #[action(name = "increment")]
    async fn bump(&mut self, by: &i64) {
        self.count += by;
    }
}

fn main() {}
