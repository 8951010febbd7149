use actor::prelude::*;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Initialize {
    id: u64,
}

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Tasks {
    started: Vec<u64>,
}

#[actor]
impl Tasks {
    #[queue(name = "task.command.initialize")]
    async fn initialize(&mut self, task: Initialize) {
        self.started.push(task.id);
    }

    #[queue(name = "Task_Status")]
    async fn status(&mut self, task: Initialize) {
        let _ = task;
    }
}

fn main() {}
