use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub enum Light {
    #[default]
    Off,
    On,
}

fn main() {}
