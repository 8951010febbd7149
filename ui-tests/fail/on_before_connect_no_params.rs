use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Room {
    open: bool,
}

#[actor]
impl Room {
    #[on_before_connect]
    async fn check(&self, ctx: &Ctx<Self>) -> Result<(), ActorError> {
        let _ = ctx.key();
        Ok(())
    }
}

fn main() {}
