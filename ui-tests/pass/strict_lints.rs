//! Generated code is clean under strict lints in the user's crate.
#![deny(warnings, missing_docs, unused, nonstandard_style, rust_2018_idioms)]

use actor::prelude::*;

/// A documented actor.
#[actor(sleep_timeout = "1m")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Documented {
    count: u64,
}

#[actor]
impl Documented {
    /// Creates it.
    #[on_create]
    async fn init(&mut self, start: u64) {
        self.count = start;
    }

    /// Adds one.
    #[action]
    async fn bump(&mut self) -> u64 {
        self.count += 1;
        self.count
    }

    #[action]
    async fn read(&self, _ctx: &Ctx<Self>) -> u64 {
        self.count
    }

    #[on_wake]
    async fn wake(&mut self, _ctx: &Ctx<Self>) -> Result<(), ActorError> {
        Ok(())
    }

    #[on_sleep]
    async fn sleep(&mut self) {}

    #[on_destroy]
    async fn destroy(&mut self) {}

    #[on_state_change]
    async fn changed(&self) {}
}

/// Hooks without an input.
#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct NoInput {}

#[actor]
impl NoInput {
    #[on_create]
    async fn init(&mut self, _ctx: &Ctx<Self>) {}

    #[action]
    async fn set(&mut self, _a: u8, _b: String, _c: Vec<u8>) {}
}

/// Workflows only.
#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Flows {}

#[actor]
impl Flows {
    /// Runs with an input.
    #[workflow]
    async fn with_input(_wf: Workflow<Self>, _n: u64) -> Result<u64, ActorError> {
        Ok(0)
    }

    #[workflow(main)]
    async fn main_flow(_wf: Workflow<Self>) {}
}

/// No actions at all.
#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Empty {}

#[actor]
impl Empty {}

fn main() {
    assert_eq!(Documented::ACTIONS.len(), 2);
    assert_eq!(Empty::ACTIONS.len(), 0);
    assert_eq!(Flows::WORKFLOWS.len(), 2);
}
