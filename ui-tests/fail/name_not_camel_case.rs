use actor::prelude::*;

#[actor(name = "chat_room")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct ChatRoom {}

#[actor]
impl ChatRoom {}

fn main() {}
