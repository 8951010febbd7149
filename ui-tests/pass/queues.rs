//! Every queue option, a handler with and without the context and a result, and every
//! way of sending from the typed handle.
use std::time::Duration;

use actor::prelude::*;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Initialize {
    pub id: u64,
}

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Tasks {
    started: Vec<u64>,
}

#[derive(Debug, thiserror::Error, actor::ActorError)]
pub enum TaskError {
    #[error("task {0} started already")]
    Started(u64),
}

#[actor]
impl Tasks {
    /// Starts a task.
    #[queue(
        name = "taskInitialize",
        max_attempts = 3,
        backoff = "500ms",
        max_backoff = "1m",
        dead_letters = "discard",
        capacity = 10,
        max_message_size = 4096
    )]
    async fn initialize(&mut self, ctx: &Ctx<Self>, task: Initialize) -> Result<usize, TaskError> {
        let _ = ctx.delivery();
        if self.started.contains(&task.id) {
            return Err(TaskError::Started(task.id));
        }
        self.started.push(task.id);
        Ok(self.started.len())
    }

    #[queue]
    async fn r#type(&mut self, kind: (String, u8)) {
        let _ = kind;
    }
}

#[allow(dead_code)]
async fn send(tasks: TasksHandle) -> Result<(), ActorError> {
    let id: MessageId = tasks.initialize(Initialize { id: 1 }).await?;
    let count: usize = tasks
        .initialize(Initialize { id: 2 })
        .wait(Duration::from_secs(1))
        .await?;
    tasks.r#type(("a".into(), 1)).await?;
    let _ = (id, count, tasks.dead_letters().await?);
    Ok(())
}

fn main() {
    assert_eq!(Tasks::QUEUES[0].name, "taskInitialize");
    assert_eq!(Tasks::QUEUES[1].name, "type");
    assert_eq!(Tasks::QUEUES[0].max_attempts, 3);
}
