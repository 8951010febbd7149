use actor::prelude::*;

#[actor(max_shared = 0)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {}

#[actor]
impl Counter {}

fn main() {}
