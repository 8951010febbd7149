use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Holder<T> {
    value: T,
}

fn main() {}
