use actor::prelude::*;

#[derive(Events)]
pub enum RoomEvent {
    MessagePosted(String),
    #[event(name = "messagePosted")]
    Posted(String, u32),
}

fn main() {}
