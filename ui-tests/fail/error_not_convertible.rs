use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[derive(Debug)]
pub struct MyError;

#[actor]
impl Counter {
    #[action]
    async fn risky(&mut self) -> Result<i64, MyError> {
        Err(MyError)
    }

    #[action]
    async fn described(&self) -> Result<i64, String> {
        Err("no".to_owned())
    }
}

fn main() {}
