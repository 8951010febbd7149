use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Provisioner {
    ready: u32,
}

impl Provisioner {
    #[workflow]
    async fn provision(wf: Workflow<Self>) {
        let _ = wf;
    }
}

fn main() {}
