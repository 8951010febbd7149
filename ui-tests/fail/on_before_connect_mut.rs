use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Room {
    checked: u32,
}

#[actor]
impl Room {
    #[on_before_connect]
    async fn check(&mut self, token: String) -> Result<String, ActorError> {
        self.checked += 1;
        Ok(token)
    }
}

fn main() {}
