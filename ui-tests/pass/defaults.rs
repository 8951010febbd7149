//! A bare actor: camelCase name, default options, no hooks.
use std::time::Duration;

use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct TaskStatusSync {}

#[actor]
impl TaskStatusSync {}

#[actor(sleep_timeout = "never")]
#[derive(Clone, Default, Serialize, Deserialize)]
struct Forever(u8);

#[actor]
impl Forever {
    #[action]
    async fn get(&self) -> u8 {
        self.0
    }
}

fn main() {
    assert_eq!(<TaskStatusSync as ActorOptions>::NAME, "taskStatusSync");
    assert_eq!(TaskStatusSync::config(), actor::ActorConfig::default());
    assert!(TaskStatusSync::ACTIONS.is_empty());
    assert_eq!(Forever::config().sleep_timeout, None);
    assert_eq!(Forever::config().action_timeout, Duration::from_secs(60));
    let _handle_type: Option<ForeverHandle> = None;
}
