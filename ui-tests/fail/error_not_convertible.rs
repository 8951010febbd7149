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
}

fn main() {}
