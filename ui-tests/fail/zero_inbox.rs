use actor::prelude::*;

#[actor(inbox = 0)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {}

#[actor]
impl Counter {}

fn main() {}
