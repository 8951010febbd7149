//! Connections and events: the three connection hooks, `events = T`, `ctx.broadcast`,
//! `ctx.conn()`, `conn.send` and `conn.state()`, and the events' names and encoding.
use std::sync::atomic::{AtomicU32, Ordering};

use actor::prelude::*;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Edit {
    pub id: u64,
    pub text: String,
}

#[derive(Debug, PartialEq, Events)]
pub enum RoomEvent {
    MessagePosted(String, u32),
    Edited(Edit),
    #[event(name = "userJoined")]
    Joined(String),
    Cleared,
    Reset(),
}

/// What a connection shows at connect.
#[derive(Deserialize)]
pub struct Params {
    name: String,
}

/// A connection's state: read-only, so a counter of its own is atomic.
pub struct Member {
    name: String,
    said: AtomicU32,
}

#[actor(events = RoomEvent)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Room {
    present: u32,
    posted: u32,
}

#[actor]
impl Room {
    #[on_before_connect]
    async fn check(&self, ctx: &Ctx<Self>, params: Option<Params>) -> Result<Member, ActorError> {
        let _ = ctx.key();
        let Some(params) = params else {
            return Err(ActorError::new("room", "no_name", "say who you are"));
        };
        Ok(Member {
            name: params.name,
            said: AtomicU32::new(0),
        })
    }

    #[on_connect]
    async fn joined(&mut self, ctx: &Ctx<Self>, conn: &Conn<Self>) -> Result<(), ActorError> {
        self.present += 1;
        ctx.broadcast(RoomEvent::Joined(conn.state().name.clone()))?;
        conn.send(RoomEvent::MessagePosted("welcome".into(), self.posted))
    }

    #[on_disconnect]
    async fn left(&mut self, conn: &Conn<Self>) {
        let _ = conn.id();
        self.present -= 1;
    }

    #[action]
    async fn post(&mut self, ctx: &Ctx<Self>, text: String) -> Result<u32, ActorError> {
        let Some(conn) = ctx.conn() else {
            return Err(ActorError::new("room", "not_connected", "connect to post"));
        };
        conn.state().said.fetch_add(1, Ordering::Relaxed);
        self.posted += 1;
        ctx.broadcast(RoomEvent::MessagePosted(text, self.posted))?;
        Ok(self.posted)
    }

    #[action]
    async fn clear(&mut self, ctx: &Ctx<Self>) -> Result<(), ActorError> {
        self.posted = 0;
        for conn in ctx.connections() {
            conn.send(RoomEvent::Cleared)?;
        }
        Ok(())
    }
}

/// Without the hook, a connection's state is `()`; without `events`, there are none.
#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Plain {}

#[actor]
impl Plain {
    #[on_before_connect]
    async fn accept(&self, _params: Option<String>) {}
}

/// A hook that returns its state without `Result`.
#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Open {}

#[actor]
impl Open {
    #[on_before_connect]
    async fn accept(&self, token: String) -> String {
        token
    }
}

/// No hooks at all.
#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Quiet {}

#[actor]
impl Quiet {}

fn state_of_plain(conn: &Conn<Plain>) -> &() {
    conn.state()
}

fn state_of_quiet(conn: &Conn<Quiet>) -> &() {
    conn.state()
}

fn state_of_open(conn: &Conn<Open>) -> &String {
    conn.state()
}

fn main() {
    const { assert!(Room::HAS_ON_BEFORE_CONNECT) };
    const { assert!(Open::HAS_ON_BEFORE_CONNECT) };
    const { assert!(!Quiet::HAS_ON_BEFORE_CONNECT) };
    let _ = (state_of_plain, state_of_quiet, state_of_open);
    assert!(<Quiet as ActorOptions>::Events::NAMES.is_empty());
    assert_eq!(
        <Room as ActorOptions>::Events::NAMES,
        ["messagePosted", "edited", "userJoined", "cleared", "reset"]
    );

    let posted = RoomEvent::MessagePosted("hi".into(), 7);
    assert_eq!(posted.name(), "messagePosted");
    let args = posted.encode_args(Encoding::Json).unwrap();
    assert_eq!(args, br#"["hi",7]"#);
    assert_eq!(
        RoomEvent::decode("messagePosted", Encoding::Json, &args).unwrap(),
        posted
    );

    let edited = RoomEvent::Edited(Edit {
        id: 1,
        text: "hey".into(),
    });
    for encoding in [Encoding::Json, Encoding::Cbor] {
        let args = edited.encode_args(encoding).unwrap();
        assert_eq!(
            RoomEvent::decode("edited", encoding, &args).unwrap(),
            edited
        );
    }
    assert_eq!(
        RoomEvent::Cleared.encode_args(Encoding::Json).unwrap(),
        b"[]"
    );
    assert_eq!(
        RoomEvent::Reset().encode_args(Encoding::Json).unwrap(),
        b"[]"
    );
    assert_eq!(
        RoomEvent::decode("cleared", Encoding::Json, b"[]").unwrap(),
        RoomEvent::Cleared
    );
    assert_eq!(
        RoomEvent::decode("userJoined", Encoding::Json, br#"["ann"]"#).unwrap(),
        RoomEvent::Joined("ann".into())
    );

    let err = RoomEvent::decode("joined", Encoding::Json, b"[]").unwrap_err();
    assert_eq!(err.code(), "invalid_arguments");
    assert!(err.message().contains("userJoined"), "{}", err.message());
    let err = RoomEvent::decode("messagePosted", Encoding::Json, br#"[7,"hi"]"#).unwrap_err();
    assert_eq!(err.code(), "invalid_arguments");
}
