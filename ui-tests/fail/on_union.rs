use actor::prelude::*;

#[actor]
pub union Bits {
    int: u32,
    float: f32,
}

fn main() {}
