use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Provisioner {
    ready: u32,
}

#[actor]
impl Provisioner {
    #[workflow]
    async fn provision(wf: Workflow<Self>) {
        let _ = wf;
    }

    // The same name as the workflow above.
    #[workflow(name = "provision")]
    async fn provision_again(wf: Workflow<Self>) {
        let _ = wf;
    }

    // An action may share a workflow's name: they are called differently.
    #[action(name = "provision")]
    async fn provision_now(&mut self) {}
}

fn main() {}
