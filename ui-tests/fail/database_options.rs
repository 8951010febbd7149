use actor::prelude::*;

// The migrations folder is relative to the crate's Cargo.toml, and must exist.
#[actor(migrations = "migrations/nowhere")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Missing {}

#[actor]
impl Missing {}

// An absolute path would only work on this machine.
#[actor(migrations = "/etc/migrations")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Absolute {}

#[actor]
impl Absolute {}

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

// Adopting a squashed baseline is about a database's migrations, and takes a bool.
#[actor(adopt_baseline = true)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct LoneAdopt {}

#[actor]
impl LoneAdopt {}

#[actor(migrations = "../../../../ui-tests/migrations/notes", adopt_baseline = "true")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct QuotedAdopt {}

#[actor]
impl QuotedAdopt {}

// A shared database's name is a file name: lowercase letters, digits and `_`; and it is
// about a database too.
#[actor(migrations = "../../../../ui-tests/migrations/notes", shared_database = "My App")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct BadShared {}

#[actor]
impl BadShared {}

#[actor(shared_database = "app")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct LoneShared {}

#[actor]
impl LoneShared {}

fn main() {}
