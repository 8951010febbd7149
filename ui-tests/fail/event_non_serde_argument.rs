use actor::prelude::*;

pub struct Opaque;

#[derive(Events)]
pub enum RoomEvent {
    Posted(String, Opaque),
    Shown(Opaque),
}

fn main() {}
