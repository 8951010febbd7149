use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Room {
    present: u32,
}

#[actor]
impl Room {
    #[on_disconnect]
    async fn left(&self, conn: &Conn<Self>) {
        let _ = conn.id();
    }
}

fn main() {}
