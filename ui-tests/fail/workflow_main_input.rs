use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Provisioner {
    ready: u32,
}

#[actor]
impl Provisioner {
    #[workflow(main)]
    async fn supervise(wf: Workflow<Self>, region: String) {
        let _ = (wf, region);
    }

    #[workflow(main)]
    async fn watch(wf: Workflow<Self>) {
        let _ = wf;
    }

    #[workflow(main = true)]
    async fn valued(wf: Workflow<Self>) {
        let _ = wf;
    }
}

fn main() {}
