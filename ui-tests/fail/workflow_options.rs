use actor::prelude::*;

// Keeping no finished workflow would remove each one as it finishes.
#[actor(keep_workflows = 0)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Keeper {}

#[actor]
impl Keeper {}

fn main() {}
