use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[action]
    async fn counts(&self) -> &[i64] {
        std::slice::from_ref(&self.count)
    }
}

fn main() {}
