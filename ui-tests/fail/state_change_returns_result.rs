use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[on_state_change]
    async fn changed(&self) -> Result<(), ActorError> {
        Ok(())
    }
}

fn main() {}
