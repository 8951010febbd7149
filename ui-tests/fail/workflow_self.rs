use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Provisioner {
    ready: u32,
}

#[actor]
impl Provisioner {
    #[workflow]
    async fn provision(&mut self, wf: Workflow<Self>) {
        let _ = wf;
        self.ready += 1;
    }
}

// Only the error above: the handle method exists beside it.
#[allow(dead_code)]
fn start(provisioner: &ProvisionerHandle) -> actor::workflow::WorkflowStart<'_, ()> {
    provisioner.provision()
}

fn main() {}
