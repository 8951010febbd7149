use actor::prelude::*;

#[actor(sleep_timeout = "thirty seconds")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {}

#[actor]
impl Counter {}

fn main() {}
