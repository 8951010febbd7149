use actor::prelude::*;

#[actor(sleep_timout = "30s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {}

#[actor]
impl Counter {}

fn main() {}
