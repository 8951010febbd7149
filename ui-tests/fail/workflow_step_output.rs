use actor::prelude::*;

/// Not `Serialize` or `Deserialize`: a step cannot record it.
pub struct Sandbox {
    pub id: String,
}

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Provisioner {}

#[actor]
impl Provisioner {
    #[workflow]
    async fn provision(wf: Workflow<Self>) -> Result<(), ActorError> {
        let sandbox = wf
            .step("createSandbox", |_| async {
                Ok::<_, ActorError>(Sandbox { id: "s-1".into() })
            })
            .await?;
        let _ = sandbox.id;
        Ok(())
    }
}

fn main() {}
