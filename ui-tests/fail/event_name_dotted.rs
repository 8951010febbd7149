use actor::prelude::*;

#[derive(Events)]
pub enum RoomEvent {
    #[event(name = "user.joined")]
    Joined(String),
    #[event(name = "User_Left")]
    Left(String),
}

#[actor(events = RoomEvent)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Room {
    present: u32,
}

#[actor]
impl Room {}

fn main() {
    // The stub beside the errors still names the events: no error here.
    let _ = RoomEvent::NAMES;
}
