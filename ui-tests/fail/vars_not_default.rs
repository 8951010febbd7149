use actor::prelude::*;

pub struct NoDefault(u8);

#[actor(vars = NoDefault)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {}

#[actor]
impl Counter {}

fn main() {}
