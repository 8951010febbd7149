use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[actor]
impl Counter {
    #[action]
    async fn label(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.count)
    }
}

fn main() {}
