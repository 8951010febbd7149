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

    #[run]
    async fn run(lp: Loop<Self>) -> Result<(), ActorError> {
        lp.next(&["tick"], Duration::from_secs(1)).await?;
        Ok(())
    }

    #[run]
    async fn run_again(lp: Loop<Self>) {
        let _ = lp;
    }
}

fn main() {}
