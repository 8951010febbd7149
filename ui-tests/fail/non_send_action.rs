use std::sync::Mutex;

use actor::prelude::*;

#[derive(Default)]
pub struct Log {
    lines: Mutex<Vec<String>>,
}

#[actor(vars = Log)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

async fn tick() {}

#[actor]
impl Counter {
    #[action]
    async fn increment(&mut self, ctx: &Ctx<Self>) -> i64 {
        let lines = ctx.vars().lines.lock().unwrap();
        tick().await;
        self.count += lines.len() as i64;
        self.count
    }
}

fn main() {}
