use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Provisioner {
    ready: u32,
}

pub struct Task;

pub struct Sandbox;

#[actor]
impl Provisioner {
    #[workflow]
    async fn provision(wf: Workflow<Self>, task: Task) {
        let _ = (wf, task);
    }

    #[workflow]
    async fn sandbox(wf: Workflow<Self>) -> Result<Sandbox, ActorError> {
        let _ = wf;
        Ok(Sandbox)
    }
}

fn main() {}
