use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Room {
    open: bool,
}

pub struct Member {
    pub name: String,
}

#[actor]
impl Room {
    #[on_before_connect]
    async fn check(&self, name: String, token: String) -> Member {
        let _ = token;
        Member { name }
    }
}

fn main() {}
