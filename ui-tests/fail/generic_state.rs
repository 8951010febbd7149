use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Holder<T> {
    value: T,
}

#[actor]
impl<T> Holder<T> {
    #[action]
    async fn get(&self) -> i64 {
        0
    }
}

// Only the two errors above: the stubs stand for every `Holder<T>`, so this use adds none.
#[allow(dead_code)]
async fn use_it(client: &actor::Client) -> Result<(), ActorError> {
    let _holder = client.get_or_create::<Holder<u64>>(["k"]).await?;
    Ok(())
}

fn main() {}
