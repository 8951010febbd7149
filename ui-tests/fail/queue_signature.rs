use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Tasks {
    seen: u32,
}

#[actor]
impl Tasks {
    #[queue]
    async fn shared(&self, task: String) {
        let _ = task;
    }

    #[queue]
    async fn nothing(&mut self) {}

    #[queue]
    async fn two(&mut self, ctx: &Ctx<Self>, a: String, b: u32) {
        let _ = (ctx, a, b);
    }

    #[queue]
    fn not_async(&mut self, task: String) {
        let _ = task;
    }

    #[queue]
    async fn borrowed(&mut self, task: &str) {
        let _ = task;
    }
}

fn main() {}
