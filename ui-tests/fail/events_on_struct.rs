use actor::prelude::*;

#[derive(Serialize, Deserialize, Events)]
pub struct MessagePosted {
    text: String,
}

fn main() {}
