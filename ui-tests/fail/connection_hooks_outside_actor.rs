use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Room {
    present: u32,
}

impl Room {
    #[on_before_connect]
    async fn check(&self, token: String) -> String {
        token
    }

    #[on_connect]
    async fn joined(&mut self, conn: &Conn<Self>) {
        let _ = conn.id();
        self.present += 1;
    }

    #[on_disconnect]
    async fn left(&mut self, ctx: &Ctx<Self>, conn: &Conn<Self>) {
        let _ = (ctx.key(), conn.id());
        self.present -= 1;
    }
}

fn main() {}
