use actor::prelude::*;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Task {
    pub id: u64,
}

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Provisioner {
    ready: u32,
}

#[actor]
impl Provisioner {
    #[workflow]
    async fn provision(task: Task) {
        let _ = task;
    }

    #[workflow]
    async fn check() {}

    #[workflow]
    async fn borrowed(wf: &Workflow<Self>) {
        let _ = wf;
    }
}

fn main() {}
