use actor::prelude::*;

#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Holder<T> {
    value: T,
}

#[actor]
impl<T: Clone> Holder<T> {
    #[action]
    async fn get(&self) -> T {
        self.value.clone()
    }
}

fn main() {}
