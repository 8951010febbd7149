use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Poller {
    polls: u32,
}

#[actor]
impl Poller {
    #[run]
    async fn run(&mut self, lp: Loop<Self>) -> u32 {
        let _ = lp;
        self.polls
    }
}

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Other {
    polls: u32,
}

#[actor]
impl Other {
    #[run]
    async fn run(ctx: &Ctx<Self>, extra: u32) {
        let _ = (ctx, extra);
    }
}

fn main() {}
