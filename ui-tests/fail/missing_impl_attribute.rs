use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

// Forgot `#[actor]` here: `Counter` has options but no actions, and is not an actor.
impl Counter {
    pub async fn get(&self) -> i64 {
        self.count
    }
}

async fn call(client: &actor::Client) -> Result<(), ActorError> {
    let _counter = client.get_or_create::<Counter>(["k"]).await?;
    Ok(())
}

fn main() {
    let _ = call;
}
