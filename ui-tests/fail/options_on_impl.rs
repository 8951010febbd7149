use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor(inbox = 10)]
impl Counter {}

fn main() {}
