use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Tasks {
    seen: u32,
}

#[actor]
impl Tasks {
    // No `#[run]` loop takes it, and it has no handler.
    #[queue]
    fn orphan(n: u32);

    // A loop queue has no `self` and no result.
    #[queue]
    fn with_self(&mut self, n: u32) -> u32;

    // Only a queue may be declared without a body.
    #[action]
    fn no_body(&self);
}

fn main() {}
