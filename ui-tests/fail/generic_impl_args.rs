use actor::prelude::*;

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Holder<T> {
    value: T,
}

#[actor]
impl Holder<u64> {
    #[action]
    async fn get(&self) -> u64 {
        self.value
    }
}

fn main() {}
