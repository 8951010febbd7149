//! A run loop with every way of taking messages and opening turns.
use std::time::Duration;

use actor::prelude::*;
use futures_util::StreamExt;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Command {
    pub text: String,
}

#[actor(sleep_grace = "2s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Poller {
    commands: Vec<String>,
    ticks: u64,
}

#[actor]
impl Poller {
    /// Commands for the loop.
    #[queue(capacity = 100)]
    fn command(command: Command);

    #[queue(name = "pollTick")]
    async fn tick(n: u64);

    #[queue]
    async fn handled(&mut self, n: u64) -> u64 {
        self.ticks += n;
        self.ticks
    }

    #[run]
    async fn run(lp: Loop<Self>) -> Result<(), ActorError> {
        let batch = lp
            .next_batch(&["command", "pollTick"], 10, Duration::from_secs(1))
            .await?;
        lp.complete_all(batch, |state, _| state.ticks += 1).await?;
        if let Some(m) = lp
            .next_coalesced(
                &["pollTick"],
                &["pollTick"],
                Duration::from_millis(50),
                Duration::from_secs(1),
            )
            .await?
        {
            let n: u64 = m.decode()?;
            lp.complete(m, move |state, _| state.ticks += n).await?;
        }
        let mut stream = lp.stream(&["command"]);
        while let Some(message) = stream.next().await {
            let message = message?;
            let command: Command = message.decode()?;
            let count = lp
                .complete(message, move |state, ctx| {
                    let _ = ctx.key();
                    state.commands.push(command.text);
                    state.commands.len()
                })
                .await?;
            let _ = (count, lp.is_cancelled(), lp.ctx().id());
        }
        lp.cancelled().await;
        Ok(())
    }
}

#[allow(dead_code)]
async fn send(poller: PollerHandle) -> Result<(), ActorError> {
    poller.command(Command { text: "go".into() }).await?;
    poller.tick(1).await?;
    Ok(())
}

fn main() {
    assert!(!Poller::QUEUES[0].handled);
    assert_eq!(Poller::QUEUES[1].name, "pollTick");
    assert!(Poller::QUEUES[2].handled);
    const { assert!(<Poller as Actor>::HAS_RUN) };
}
