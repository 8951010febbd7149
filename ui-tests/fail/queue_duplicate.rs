use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Tasks {
    seen: u32,
}

#[actor]
impl Tasks {
    #[queue]
    async fn run_task(&mut self, task: String) {
        let _ = task;
        self.seen += 1;
    }

    // The same name as the queue above: `runTask`.
    #[queue(name = "runTask")]
    async fn run_task_again(&mut self, task: String) {
        let _ = task;
    }

    // An action may share a queue's name: they are called differently.
    #[action(name = "runTask")]
    async fn run_task_now(&mut self) {}
}

fn main() {}
