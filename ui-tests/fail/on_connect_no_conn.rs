use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Room {
    present: u32,
}

#[actor]
impl Room {
    #[on_connect]
    async fn joined(&mut self, ctx: &Ctx<Self>) {
        let _ = ctx.key();
        self.present += 1;
    }
}

fn main() {}
