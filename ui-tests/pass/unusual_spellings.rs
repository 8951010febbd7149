//! Spellings the macros must accept: arguments named like the generated code's locals,
//! `Self` in argument and output types, raw identifiers, explicit `self` types, a
//! one-argument `Result` alias, a qualified `Ctx` path, generic `vars`, tuple and unit
//! state structs, an actor declared in a module, an impl block in another module that
//! glob-imports the struct's, and an actor declared inside a function.
use std::collections::HashMap;

use actor::prelude::*;

#[derive(Debug)]
pub struct Rejected;

impl From<Rejected> for ActorError {
    fn from(_: Rejected) -> Self {
        ActorError::user("rejected", "rejected")
    }
}

// A one-argument alias: recognised as a `Result` by its name.
type Result<T> = std::result::Result<T, Rejected>;

#[actor(vars = HashMap<String, u64>)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Node {
    value: i64,
    children: Vec<Node>,
}

#[actor]
impl Node {
    // The user's own method keeps clippy's lint (allowed here): the generated handle
    // method with the same arguments does not raise it again.
    #[action]
    #[allow(clippy::too_many_arguments)]
    async fn locals(
        &mut self,
        ctx: i64,
        args: i64,
        shape: i64,
        out: i64,
        index: i64,
        input: i64,
        inner: i64,
    ) -> i64 {
        self.value = ctx + args + shape + out + index + input + inner;
        self.value
    }

    #[action]
    async fn adopt(&mut self, child: Self) -> Option<Self> {
        self.children.push(child);
        self.children.first().cloned()
    }

    #[action]
    #[allow(clippy::needless_arbitrary_self_type)]
    async fn r#type(self: &Self) -> String {
        "node".to_owned()
    }

    #[action]
    async fn checked(&mut self, actor_ctx: &actor::Ctx<Node>, value: i64) -> Result<i64> {
        let _ = actor_ctx.vars().len();
        if value < 0 {
            return Err(Rejected);
        }
        self.value = value;
        Ok(value)
    }

    #[action]
    async fn nothing(&self) -> () {}
}

#[actor(name = "pair")]
#[derive(Clone, Default, Serialize, Deserialize)]
struct Pair(i64, i64);

#[actor]
impl Pair {
    #[action]
    async fn swap(&mut self) -> (i64, i64) {
        std::mem::swap(&mut self.0, &mut self.1);
        (self.0, self.1)
    }
}

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
struct Marker;

#[actor]
impl Marker {}

mod rooms {
    use actor::prelude::*;

    #[actor]
    #[derive(Clone, Default, Serialize, Deserialize)]
    pub(crate) struct ChatRoom {
        pub(crate) lines: Vec<String>,
    }
}

#[actor]
impl rooms::ChatRoom {
    #[action]
    pub(crate) async fn say(&mut self, line: String) -> usize {
        self.lines.push(line);
        self.lines.len()
    }
}

mod lobby {
    use actor::prelude::*;

    #[actor]
    #[derive(Clone, Default, Serialize, Deserialize)]
    pub(crate) struct Lobby {
        pub(crate) seats: u8,
    }
}

mod lobby_actions {
    use super::lobby::*;
    use actor::prelude::*;

    #[actor]
    impl Lobby {
        #[action]
        pub(crate) async fn seats(&self) -> u8 {
            self.seats
        }
    }
}

fn declared_in_a_function() -> &'static str {
    #[actor]
    #[derive(Clone, Default, Serialize, Deserialize)]
    struct Local {
        pings: u32,
    }

    #[actor]
    impl Local {
        #[action]
        async fn ping(&mut self) -> u32 {
            self.pings += 1;
            self.pings
        }
    }

    let _ = LocalHandle::ping;
    Local::NAME
}

// The handle spells `Self` as the state type.
#[allow(dead_code)]
async fn adopt_through_the_handle(node: &NodeHandle, child: Node) -> Option<Node> {
    node.adopt(child).await.ok().flatten()
}

fn main() {
    let names: Vec<_> = Node::ACTIONS.iter().map(|a| a.name).collect();
    assert_eq!(names, ["locals", "adopt", "type", "checked", "nothing"]);
    assert_eq!(Node::ACTIONS[2].access, actor::Access::Shared);
    assert_eq!(Pair::NAME, "pair");
    assert_eq!(Marker::NAME, "marker");
    assert_eq!(lobby::Lobby::ACTIONS[0].name, "seats");
    let _ = lobby::LobbyHandle::seats;
    assert_eq!(declared_in_a_function(), "local");
    assert_eq!(rooms::ChatRoom::NAME, "chatRoom");
    let _ = NodeHandle::r#type;
    let _ = rooms::ChatRoomHandle::say;
}
