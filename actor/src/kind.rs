//! The inventory entry every `#[actor]` kind submits, so a registry finds every kind
//! linked into the binary without a hand-written list.

use std::any::TypeId;
use std::fmt;

use crate::definition::Actor;
use crate::instance::{self, Spawn};
use crate::mailbox::Mailbox;

/// One actor kind, as the registry sees it.
///
/// ```
/// use actor::prelude::*;
/// use actor::kind::ActorKind;
///
/// #[actor]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Lamp { on: bool }
///
/// #[actor]
/// impl Lamp {}
///
/// let kind = ActorKind::of::<Lamp>();
/// assert_eq!(kind.name(), "lamp");
/// assert!(ActorKind::all().any(|k| k.name() == "lamp"));
/// ```
#[derive(Clone, Copy)]
pub struct ActorKind {
    name: &'static str,
    type_name: fn() -> &'static str,
    type_id: fn() -> TypeId,
    spawn: fn(Spawn) -> Mailbox,
    checks_connections: bool,
    #[cfg(feature = "sqlite")]
    database: Option<&'static crate::database::DatabaseSpec>,
}

impl ActorKind {
    /// The entry for `A`.
    pub const fn of<A: Actor>() -> Self {
        Self {
            name: A::NAME,
            type_name: std::any::type_name::<A>,
            type_id: TypeId::of::<A>,
            spawn: instance::spawn::<A>,
            checks_connections: A::HAS_ON_BEFORE_CONNECT,
            #[cfg(feature = "sqlite")]
            database: A::DATABASE,
        }
    }

    /// Every kind linked into this binary.
    pub fn all() -> impl Iterator<Item = &'static ActorKind> {
        inventory::iter::<ActorKind>.into_iter()
    }

    /// The kind's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The Rust path of the state struct, for error messages.
    pub fn type_name(&self) -> &'static str {
        (self.type_name)()
    }

    /// Whether two entries describe the same Rust type.
    pub fn same_type(&self, other: &ActorKind) -> bool {
        (self.type_id)() == (other.type_id)()
    }

    /// Whether the kind has an `#[on_before_connect]` hook, which every HTTP call must
    /// pass too.
    pub fn checks_connections(&self) -> bool {
        self.checks_connections
    }

    /// The kind's SQL database, if it declares one (`#[actor(migrations = "…")]`).
    #[cfg(feature = "sqlite")]
    pub fn database(&self) -> Option<&'static crate::database::DatabaseSpec> {
        self.database
    }

    /// Starts an instance of this kind.
    pub fn spawn(&self, spawn: Spawn) -> Mailbox {
        (self.spawn)(spawn)
    }
}

impl fmt::Debug for ActorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorKind")
            .field("name", &self.name)
            .field("type", &self.type_name())
            .finish()
    }
}

inventory::collect!(ActorKind);
