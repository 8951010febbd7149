//! Connections in-process: `#[on_before_connect]` refusing or accepting params, the
//! connection's state in exclusive and shared actions, typed events to subscribed
//! connections only, `on_connect` and `on_disconnect` exactly once, connections holding
//! the actor awake (paused clock), closing before sleep, events held by the output gate.

use std::sync::Mutex;
use std::time::Duration;

use actor::connection::{ConnOp, Connection};
use actor::prelude::*;
use actor::route::Target;
use actor::{Encoding, Payload};
use registry::Registry;

#[actor(events = RoomEvent, sleep_timeout = "30s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Room {
    posts: Vec<String>,
    /// Every hook that ran, in order, with the connection's name.
    hooks: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Events)]
pub enum RoomEvent {
    Posted(String, String),
    Joined(String),
    #[event(name = "whisper")]
    Private(String),
    Cleared,
}

/// Another actor's events, which `room` does not declare.
#[derive(Clone, Debug, PartialEq, Events)]
pub enum OtherEvent {
    Unrelated,
}

#[derive(Deserialize)]
pub struct Join {
    name: String,
    token: String,
}

/// The state each connection gets from its params.
pub struct Member {
    name: String,
    /// Written by actions through the shared reference.
    said: Mutex<u32>,
}

#[actor]
impl Room {
    #[on_before_connect]
    async fn check(&self, params: Option<Join>) -> Result<Member, ActorError> {
        match params {
            Some(join) if join.token == "let-me-in" => Ok(Member {
                name: join.name,
                said: Mutex::new(0),
            }),
            Some(_) => Err(ActorError::new("room", "bad_token", "the token is wrong")),
            None => Err(ActorError::new("room", "no_params", "say who you are")),
        }
    }

    #[on_connect]
    async fn joined(&mut self, ctx: &Ctx<Self>, conn: &Conn<Self>) -> Result<(), ActorError> {
        if conn.state().name == "crash" {
            panic!("on_connect fails for this one");
        }
        self.hooks.push(format!("connect {}", conn.state().name));
        ctx.broadcast(RoomEvent::Joined(conn.state().name.clone()))
    }

    #[on_disconnect]
    async fn left(&mut self, conn: &Conn<Self>) {
        self.hooks.push(format!("disconnect {}", conn.state().name));
    }

    #[on_sleep]
    async fn sleeping(&mut self) {
        self.hooks.push("sleep".into());
    }

    #[action]
    async fn post(&mut self, ctx: &Ctx<Self>, text: String) -> Result<usize, ActorError> {
        let who = match ctx.conn() {
            Some(conn) => {
                *conn.state().said.lock().unwrap() += 1;
                conn.state().name.clone()
            }
            None => "nobody".to_string(),
        };
        self.posts.push(text.clone());
        ctx.broadcast(RoomEvent::Posted(who, text))?;
        Ok(self.posts.len())
    }

    /// A shared action sees its connection too.
    #[action]
    async fn whoami(&self, ctx: &Ctx<Self>) -> Option<(String, u32)> {
        ctx.conn()
            .map(|c| (c.state().name.clone(), *c.state().said.lock().unwrap()))
    }

    /// Sends an event to the calling connection only.
    #[action]
    async fn whisper(&mut self, ctx: &Ctx<Self>, text: String) -> Result<(), ActorError> {
        match ctx.conn() {
            Some(conn) => conn.send(RoomEvent::Private(text)),
            None => Err(ActorError::new("room", "not_connected", "connect first")),
        }
    }

    /// Broadcasts, then panics: the turn's changes and its event are thrown away.
    #[action]
    async fn post_then_panic(&mut self, ctx: &Ctx<Self>) -> Result<(), ActorError> {
        self.posts.push("lost".into());
        ctx.broadcast(RoomEvent::Cleared)?;
        panic!("after the broadcast");
    }

    #[action]
    async fn hooks(&self) -> Vec<String> {
        self.hooks.clone()
    }

    #[action]
    async fn open_connections(&self, ctx: &Ctx<Self>) -> usize {
        ctx.connections().len()
    }
}

fn join(name: &str) -> serde_json::Value {
    serde_json::json!({ "name": name, "token": "let-me-in" })
}

async fn memory() -> Registry {
    Registry::builder().memory().build().await.unwrap()
}

/// Waits (a bounded number of scheduler turns) until `check` holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1000 {
        if check().await {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("{what} never happened");
}

#[tokio::test]
async fn on_before_connect_refuses_bad_params_and_gives_the_state_to_every_action() {
    let registry = memory().await;
    let room = registry.client().get_or_create::<Room>("r").await.unwrap();

    let err = room.connect().await.unwrap_err();
    assert_eq!((err.group(), err.code()), ("room", "no_params"), "{err}");
    let bad = serde_json::json!({ "name": "eve", "token": "guess" });
    let err = room.connect_with(&bad).await.unwrap_err();
    assert_eq!((err.group(), err.code()), ("room", "bad_token"), "{err}");
    let err = room.connect_with(&"not an object").await.unwrap_err();
    assert!(err.is(actor::codes::INVALID_ARGUMENTS), "{err}");
    assert_eq!(
        room.hooks().await.unwrap(),
        Vec::<String>::new(),
        "refused connections never reach on_connect"
    );

    let ann = RoomHandle::from(room.connect_with(&join("ann")).await.unwrap());
    assert_eq!(ann.post("hi".into()).await.unwrap(), 1);
    assert_eq!(ann.post("again".into()).await.unwrap(), 2);
    assert_eq!(
        ann.whoami().await.unwrap(),
        Some(("ann".to_string(), 2)),
        "the state made from the params, changed by the actions"
    );
    assert_eq!(
        room.whoami().await.unwrap(),
        None,
        "a plain handle has none"
    );
    assert_eq!(room.hooks().await.unwrap(), ["connect ann"]);
    registry.shutdown().await;
}

#[tokio::test]
async fn events_reach_the_connections_subscribed_to_them_only() {
    let registry = memory().await;
    let room = registry.client().get_or_create::<Room>("r").await.unwrap();
    let ann = RoomHandle::from(room.connect_with(&join("ann")).await.unwrap());
    let bob = RoomHandle::from(room.connect_with(&join("bob")).await.unwrap());
    // Subscribed only to the connection that asked for events; bob did not.
    let mut events = ann.events::<RoomEvent>().await.unwrap();

    bob.post("from bob".into()).await.unwrap();
    room.post("from outside".into()).await.unwrap();
    bob.whisper("to bob only".into()).await.unwrap();
    ann.whisper("to ann".into()).await.unwrap();
    let seen = [
        events.next().await.unwrap().unwrap(),
        events.next().await.unwrap().unwrap(),
        events.next().await.unwrap().unwrap(),
    ];
    assert_eq!(
        seen,
        [
            RoomEvent::Posted("bob".into(), "from bob".into()),
            RoomEvent::Posted("nobody".into(), "from outside".into()),
            RoomEvent::Private("to ann".into()),
        ],
        "in order; bob's whisper went to bob, who did not subscribe"
    );

    let err = ann.events::<OtherEvent>().await.unwrap_err();
    assert!(err.is(actor::codes::EVENT_NOT_FOUND), "{err}");
    assert!(
        err.message().contains("posted, joined, whisper, cleared"),
        "{err}"
    );
    // The refused subscription changed nothing: events still flow.
    room.post("still".into()).await.unwrap();
    assert_eq!(
        events.next().await.unwrap().unwrap(),
        RoomEvent::Posted("nobody".into(), "still".into())
    );
    let err = room.events::<RoomEvent>().await.unwrap_err();
    assert!(err.is(actor::codes::ROUTE_NOT_FOUND), "{err}");
    assert!(err.message().contains("connect()"), "{err}");
    registry.shutdown().await;
}

#[tokio::test]
async fn on_connect_and_on_disconnect_run_once_per_connection() {
    let registry = memory().await;
    let room = registry.client().get_or_create::<Room>("r").await.unwrap();
    let ann = room.connect_with(&join("ann")).await.unwrap();
    let mut events = RoomHandle::from(ann.clone())
        .events::<RoomEvent>()
        .await
        .unwrap();
    let bob = room.connect_with(&join("bob")).await.unwrap();
    assert_eq!(
        events.next().await.unwrap().unwrap(),
        RoomEvent::Joined("bob".into()),
        "on_connect broadcast to the connections already open"
    );
    assert_eq!(room.open_connections().await.unwrap(), 2);
    drop(bob);
    eventually("bob's disconnect", || async {
        room.open_connections().await.unwrap() == 1
    })
    .await;
    drop((ann, events));
    eventually("ann's disconnect", || async {
        room.open_connections().await.unwrap() == 0
    })
    .await;
    assert_eq!(
        room.hooks().await.unwrap(),
        [
            "connect ann",
            "connect bob",
            "disconnect bob",
            "disconnect ann"
        ]
    );
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_open_connection_keeps_the_actor_awake_until_it_closes() {
    let registry = memory().await;
    let room = registry.client().get_or_create::<Room>("r").await.unwrap();
    let ann = room.connect_with(&join("ann")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        registry.awake(),
        1,
        "ten idle minutes, but a connection is open"
    );
    drop(ann);
    eventually("the disconnect", || async {
        room.open_connections().await.unwrap() == 0
    })
    .await;
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(registry.awake(), 0, "idle and unconnected: asleep");
    assert_eq!(
        room.hooks().await.unwrap(),
        ["connect ann", "disconnect ann", "sleep"]
    );
    registry.shutdown().await;
}

#[tokio::test]
async fn a_sleep_closes_open_connections_first() {
    let registry = memory().await;
    let room = registry.client().get_or_create::<Room>("r").await.unwrap();
    let ann = RoomHandle::from(room.connect_with(&join("ann")).await.unwrap());
    let mut events = ann.events::<RoomEvent>().await.unwrap();
    room.sleep().await.unwrap();
    assert!(
        events.next().await.is_none(),
        "the stream ends with the connection"
    );
    let err = ann.post("late".into()).await.unwrap_err();
    assert!(err.is(actor::codes::STOPPED), "{err}");
    assert!(err.message().contains("connect again"), "{err}");
    assert_eq!(
        room.hooks().await.unwrap(),
        ["connect ann", "disconnect ann", "sleep"],
        "on_disconnect ran before on_sleep, and was saved with it"
    );
    // A new connection wakes it.
    let again = RoomHandle::from(room.connect_with(&join("ann")).await.unwrap());
    assert_eq!(again.post("back".into()).await.unwrap(), 1);
    registry.shutdown().await;
}

#[tokio::test]
async fn an_event_of_a_turn_whose_changes_are_thrown_away_is_never_sent() {
    let registry = memory().await;
    let room = registry.client().get_or_create::<Room>("r").await.unwrap();
    let ann = RoomHandle::from(room.connect_with(&join("ann")).await.unwrap());
    let mut events = ann.events::<RoomEvent>().await.unwrap();
    let err = room.post_then_panic().await.unwrap_err();
    assert!(err.is(actor::codes::INTERNAL), "{err}");
    room.post("kept".into()).await.unwrap();
    assert_eq!(
        events.next().await.unwrap().unwrap(),
        RoomEvent::Posted("nobody".into(), "kept".into()),
        "the panicking turn's `cleared` never came"
    );
    assert_eq!(
        room.post("two".into()).await.unwrap(),
        2,
        "`lost` was not kept"
    );
    registry.shutdown().await;
}

#[tokio::test]
async fn a_connection_that_reads_too_slowly_is_closed() {
    let registry = memory().await;
    let room = registry.client().get_or_create::<Room>("r").await.unwrap();
    // A raw connection with room for one event, as the server opens one per socket.
    let (conn, mut incoming) = Connection::open(Encoding::Json, 1);
    let params = Payload::Encoded(Encoding::Json, serde_json::to_vec(&join("slow")).unwrap());
    room.send(Target::Connection(ConnOp::Open(conn.clone())), params)
        .await
        .unwrap();
    let subscribe = Target::Connection(ConnOp::Subscribe {
        conn: conn.clone(),
        event: "posted".into(),
        subscribe: true,
    });
    room.send(subscribe, Payload::local(())).await.unwrap();
    room.post("one".into()).await.unwrap();
    room.post("two".into()).await.unwrap();
    let reason = conn.closed_reason().expect("closed by the second event");
    assert!(reason.is(actor::codes::OVERLOADED), "{reason}");
    let first = incoming.recv().await.unwrap();
    assert_eq!(
        (first.name.as_ref(), &first.args[..]),
        ("posted", &br#"["nobody","one"]"#[..])
    );
    assert!(incoming.recv().await.is_none(), "nothing after the close");
    // The server sends the close when it sees that; on_disconnect runs then.
    room.send(
        Target::Connection(ConnOp::Close(conn.clone())),
        Payload::local(()),
    )
    .await
    .unwrap();
    assert_eq!(
        room.hooks().await.unwrap(),
        ["connect slow", "disconnect slow"]
    );
    // A second close does nothing.
    room.send(Target::Connection(ConnOp::Close(conn)), Payload::local(()))
        .await
        .unwrap();
    assert_eq!(room.hooks().await.unwrap().len(), 2);
    registry.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_on_connect_leaves_nothing_open() {
    let registry = memory().await;
    let room = registry.client().get_or_create::<Room>("r").await.unwrap();
    let err = room.connect_with(&join("crash")).await.unwrap_err();
    assert!(err.is(actor::codes::INTERNAL), "{err}");
    assert_eq!(
        room.open_connections().await.unwrap(),
        0,
        "unregistered by the panic"
    );
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(registry.awake(), 0, "nothing holds it awake");
    assert_eq!(
        room.hooks().await.unwrap(),
        ["sleep"],
        "no on_disconnect for it"
    );
    registry.shutdown().await;
}
