use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Room {
    open: bool,
}

#[actor]
impl Room {
    #[on_before_connect]
    async fn check(&self, token: String) -> String {
        token
    }

    #[on_before_connect]
    async fn check_again(&self, token: String) -> String {
        token
    }
}

fn main() {}
