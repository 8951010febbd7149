use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Provisioner {
    ready: u32,
}

#[actor]
impl Provisioner {
    #[workflow]
    fn provision(wf: Workflow<Self>) {
        let _ = wf;
    }
}

fn main() {}
