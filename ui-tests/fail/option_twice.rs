use actor::prelude::*;

#[actor(inbox = 10, inbox = 20)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {}

#[actor]
impl Counter {}

fn main() {}
