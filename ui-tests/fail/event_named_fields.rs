use actor::prelude::*;

#[derive(Events)]
pub enum RoomEvent {
    Cleared,
    MessagePosted { text: String, likes: Vec<u32> },
}

fn main() {}
