use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[action]
    async fn add(&mut self, by: i64, ctx: &Ctx<Self>) {
        let _ = ctx;
        self.count += by;
    }
}

fn main() {}
