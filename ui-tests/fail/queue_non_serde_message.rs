use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Tasks {
    seen: u32,
}

pub struct Opaque;

#[actor]
impl Tasks {
    #[queue]
    async fn take(&mut self, message: Opaque) {
        let _ = message;
        self.seen += 1;
    }
}

fn main() {}
