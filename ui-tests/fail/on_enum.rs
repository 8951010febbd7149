use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub enum Light {
    #[default]
    Off,
    On,
}

// Only the error above: the impl block expands against stub names.
#[actor]
impl Light {
    #[action]
    async fn toggle(&mut self) {
        *self = match self {
            Light::Off => Light::On,
            Light::On => Light::Off,
        };
    }
}

fn main() {}
