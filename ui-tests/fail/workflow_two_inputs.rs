use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Provisioner {
    ready: u32,
}

#[actor]
impl Provisioner {
    #[workflow]
    async fn provision(wf: Workflow<Self>, task: String, region: String) {
        let _ = (wf, task, region);
    }
}

fn main() {}
