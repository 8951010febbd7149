use actor::prelude::*;

#[actor]
pub async fn increment(count: i64) -> i64 {
    count + 1
}

fn main() {}
