use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

pub struct Settings {
    start: i64,
}

#[actor]
impl Counter {
    #[on_create]
    async fn init(&mut self, settings: Settings) {
        self.count = settings.start;
    }
}

fn main() {}
