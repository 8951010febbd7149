//! Workflows: with an input and a `Result` output, without either, renamed, and the
//! main one; and their typed handle methods.
use actor::prelude::*;
use actor::workflow::WorkflowStart;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Task {
    pub id: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sandbox {
    pub host: String,
}

#[derive(Debug, thiserror::Error, actor::ActorError)]
pub enum ProvisionError {
    #[error("no capacity for task {0}")]
    NoCapacity(u64),
}

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Provisioner {
    sandboxes: Vec<String>,
}

#[actor]
impl Provisioner {
    /// Provisions a sandbox for a task.
    #[workflow]
    async fn provision(wf: Workflow<Self>, task: Task) -> Result<Sandbox, ProvisionError> {
        let _ = wf;
        if task.id == 0 {
            return Err(ProvisionError::NoCapacity(task.id));
        }
        Ok(Sandbox {
            host: format!("sandbox-{}", task.id),
        })
    }

    #[workflow(name = "cleanUp")]
    async fn clean_up(_wf: Workflow<Self>) {}

    #[workflow(main)]
    async fn supervise(wf: Workflow<Self>) -> Result<(), ActorError> {
        let _ = wf;
        Ok(())
    }

    #[action]
    async fn count(&self) -> usize {
        self.sandboxes.len()
    }
}

#[allow(dead_code)]
fn start(provisioner: &ProvisionerHandle) {
    let provision: WorkflowStart<'_, Sandbox> = provisioner.provision(Task { id: 1 });
    let clean_up: WorkflowStart<'_, ()> = provisioner.clean_up();
    let supervise: WorkflowStart<'_, ()> = provisioner.supervise();
    let _ = (provision, clean_up, supervise);
}

fn main() {
    let names: Vec<&str> = Provisioner::WORKFLOWS.iter().map(|w| w.name).collect();
    assert_eq!(names, ["provision", "cleanUp", "supervise"]);
    let mains: Vec<bool> = Provisioner::WORKFLOWS.iter().map(|w| w.main).collect();
    assert_eq!(mains, [false, false, true]);
}
