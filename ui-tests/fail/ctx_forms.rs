use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Other {}

#[actor]
impl Other {}

#[actor]
impl Counter {
    #[action]
    async fn a(&mut self, ctx: &mut Ctx<Self>) {
        let _ = ctx;
    }

    #[action]
    async fn b(&mut self, ctx: Ctx<Self>) {
        let _ = ctx;
    }

    #[action]
    async fn c(&self, ctx: &Ctx<Other>) {
        let _ = ctx;
    }
}

fn main() {}
