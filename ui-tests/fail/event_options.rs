use actor::prelude::*;

#[derive(Events)]
#[event(name = "room")]
pub enum RoomEvent {
    #[event(nmae = "joined")]
    Joined(String),
    #[event]
    Left(String),
    #[event = "cleared"]
    Cleared,
    #[event(name = "edited", name = "changed")]
    Edited(String),
}

#[derive(Events)]
pub enum Tagged<T> {
    Tag(T),
}

fn main() {}
