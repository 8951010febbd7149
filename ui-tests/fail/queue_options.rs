use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Tasks {
    seen: u32,
}

#[actor]
impl Tasks {
    #[queue(max_attempts = 0, backoff = "2s", max_backoff = "1s", dead_letters = "kep")]
    async fn a(&mut self, task: String) {
        let _ = task;
    }

    #[queue(retries = 3, capacity = 0, max_message_size = "64")]
    async fn b(&mut self, task: String) {
        let _ = task;
    }
}

fn main() {}
