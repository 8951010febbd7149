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

/// Events of every shape.
#[derive(Events)]
pub enum LintEvent {
    /// One argument.
    One(u8),
    /// Two arguments.
    Two(String, u64),
    /// None.
    Nothing,
}

/// Events no actor sends.
#[derive(Events)]
pub enum NeverSent {}

/// Connections.
#[actor(events = LintEvent)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Connected {
    present: u32,
}

#[actor]
impl Connected {
    #[on_before_connect]
    async fn check(&self, _params: Option<String>) -> Result<u8, ActorError> {
        Ok(0)
    }

    #[on_connect]
    async fn joined(&mut self, conn: &Conn<Self>) -> Result<(), ActorError> {
        self.present += 1;
        conn.send(LintEvent::One(*conn.state()))
    }

    #[on_disconnect]
    async fn left(&mut self, _ctx: &Ctx<Self>, _conn: &Conn<Self>) {
        self.present -= 1;
    }
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
    assert_eq!(LintEvent::NAMES.len(), 3);
    assert!(NeverSent::NAMES.is_empty() && Connected::HAS_ON_BEFORE_CONNECT);
    let _ = LintEvent::Two(String::new(), 0).name();
    let _ = LintEvent::Nothing;
}
