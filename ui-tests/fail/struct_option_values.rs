use actor::prelude::*;

// Every malformed value is reported at once.
#[actor(name, sleep_timeout = 30, inbox = "10", vars = "Cache", action_timeout = "0s", save_interval = "never")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[derive(Default)]
pub struct Cache;

fn main() {}
