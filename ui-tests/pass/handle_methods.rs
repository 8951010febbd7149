//! The generated handle has one method per action.
use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Greeter {
    greeted: Vec<String>,
}

#[actor]
impl Greeter {
    #[action]
    async fn greet(&mut self, name: String, excited: bool) -> String {
        self.greeted.push(name.clone());
        if excited {
            format!("hello {name}!")
        } else {
            format!("hello {name}")
        }
    }

    #[action]
    async fn count(&self) -> usize {
        self.greeted.len()
    }
}

fn main() {
    let _ = GreeterHandle::greet;
    let _ = GreeterHandle::count;
    assert_eq!(Greeter::ACTIONS.len(), 2);
}
