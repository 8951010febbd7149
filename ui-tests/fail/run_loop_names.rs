use std::time::Duration;

use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Poller {
    polls: u32,
}

#[actor]
impl Poller {
    #[queue]
    fn tick(n: u32);

    #[queue]
    async fn command(&mut self, command: String) {
        let _ = command;
    }

    #[run]
    async fn run(lp: Loop<Self>) -> Result<(), ActorError> {
        loop {
            lp.next(&["tick", "tock"], Duration::from_secs(1)).await?;
            lp.next_batch(&["command"], 10, Duration::from_secs(1)).await?;
        }
    }
}

fn main() {}
