use actor::prelude::*;

// The migrations folder is relative to the crate's Cargo.toml, and must exist.
#[actor(migrations = "migrations/nowhere")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Missing {}

#[actor]
impl Missing {}

// A namespace is lowercase letters, digits and `_`.
#[actor(migrations = "../../../../ui-tests/migrations/notes", namespace = "Chat-Rooms")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct BadNamespace {}

#[actor]
impl BadNamespace {}

// A namespace names the table of a database's migrations: without one it means nothing.
#[actor(namespace = "lonely")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct NoDatabase {}

#[actor]
impl NoDatabase {}

fn main() {}
