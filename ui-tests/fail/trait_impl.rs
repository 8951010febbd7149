use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

pub trait Describe {
    fn describe(&self) -> String;
}

#[actor]
impl Describe for Counter {
    fn describe(&self) -> String {
        self.count.to_string()
    }
}

fn main() {}
