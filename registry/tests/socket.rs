//! The WebSocket (`/gateway/{actor}/connect`) over a real socket: RivetKit's handshake
//! and messages in BARE, errors that leave the socket open, limits, dead clients and a
//! server that stops.

use std::time::Duration;

use actor::prelude::*;
use actor::protocol::{ToClient, ToServer, WireEncoding};
use futures_util::{SinkExt, StreamExt};
use registry::{Registry, ServerOptions};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Dial {
    turns: i64,
}

#[actor]
impl Dial {
    #[action]
    async fn turn(&mut self, by: i64) -> i64 {
        self.turns += by;
        self.turns
    }

    #[action]
    async fn jam(&self) -> Result<(), ActorError> {
        Err(ActorError::user("jammed", "the dial is jammed"))
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(endpoint: &str, path: &str) -> (Socket, Option<String>) {
    let url = format!("{}{path}", endpoint.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "rivet, rivet_encoding.bare".parse().unwrap(),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    let protocol = response
        .headers()
        .get("sec-websocket-protocol")
        .map(|v| v.to_str().unwrap().to_string());
    (socket, protocol)
}

async fn next(socket: &mut Socket) -> Message {
    loop {
        match socket
            .next()
            .await
            .expect("the socket is open")
            .expect("a message")
        {
            Message::Ping(_) | Message::Pong(_) => continue,
            message => return message,
        }
    }
}

fn read(message: Message) -> ToClient {
    let Message::Binary(bytes) = message else {
        panic!("BARE messages are binary: {message:?}");
    };
    WireEncoding::Bare.decode_to_client(&bytes).unwrap()
}

fn send(request: &ToServer) -> Message {
    Message::Binary(WireEncoding::Bare.encode_to_server(request).unwrap().into())
}

fn args(values: &impl Serialize) -> Vec<u8> {
    actor::Encoding::Cbor.encode(values).unwrap()
}

const DIAL: &str = "/gateway/dial/connect?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=d";

async fn start(options: ServerOptions) -> (Registry, registry::Server) {
    let registry = Registry::builder().memory().build().await.unwrap();
    let server = registry
        .serve(options.address(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    (registry, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_over_one_socket_and_errors_that_leave_it_open() {
    let (registry, server) = start(ServerOptions::default()).await;
    let (mut socket, protocol) = open(&server.endpoint(), DIAL).await;
    assert_eq!(
        protocol.as_deref(),
        Some("rivet"),
        "the server selects `rivet`"
    );
    let ToClient::Init {
        actor_id,
        connection_id,
    } = read(next(&mut socket).await)
    else {
        panic!("Init comes first");
    };
    let dial = registry.client().get::<Dial>("d").await.unwrap();
    assert_eq!(actor_id, dial.id().as_str());
    assert!(!connection_id.is_empty());

    // Two calls in flight, answered by id.
    for (id, by) in [(7, 2), (8, 3)] {
        let request = ToServer::ActionRequest {
            id,
            name: "turn".into(),
            args: args(&(by,)),
        };
        socket.send(send(&request)).await.unwrap();
    }
    let mut answers = Vec::new();
    for _ in 0..2 {
        let ToClient::ActionResponse { id, output } = read(next(&mut socket).await) else {
            panic!("an answer");
        };
        answers.push((id, actor::Encoding::Cbor.decode::<i64>(&output).unwrap()));
    }
    answers.sort_unstable();
    assert!(
        answers == [(7, 2), (8, 5)] || answers == [(7, 5), (8, 3)],
        "{answers:?}"
    );

    // An action's error names its request; a malformed message and a refused
    // subscription are answered without a request; the socket stays.
    socket
        .send(send(&ToServer::ActionRequest {
            id: 9,
            name: "jam".into(),
            args: args(&[(); 0]),
        }))
        .await
        .unwrap();
    let ToClient::Error { error, action_id } = read(next(&mut socket).await) else {
        panic!("an error");
    };
    assert_eq!(
        (error.group(), error.code(), action_id),
        ("user", "jammed", Some(9))
    );
    socket
        .send(Message::Binary(vec![4, 0, 9, 9].into()))
        .await
        .unwrap();
    let ToClient::Error { error, action_id } = read(next(&mut socket).await) else {
        panic!("an error");
    };
    assert!(
        error.is(actor::codes::INVALID_REQUEST) && action_id.is_none(),
        "{error}"
    );
    let subscribe = ToServer::SubscriptionRequest {
        event_name: "spun".into(),
        subscribe: true,
    };
    socket.send(send(&subscribe)).await.unwrap();
    let ToClient::Error { error, action_id } = read(next(&mut socket).await) else {
        panic!("an error");
    };
    assert!(
        error.message().contains("spun") && action_id.is_none(),
        "{error}"
    );
    socket
        .send(send(&ToServer::ActionRequest {
            id: 10,
            name: "turn".into(),
            args: args(&(1,)),
        }))
        .await
        .unwrap();
    assert!(matches!(
        read(next(&mut socket).await),
        ToClient::ActionResponse { id: 10, .. }
    ));
    socket.close(None).await.unwrap();
    server.shutdown().await;
    registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_actor_is_an_error_and_a_close_the_client_can_read() {
    let (registry, server) = start(ServerOptions::default()).await;
    let path = "/gateway/dial/connect?rvt-namespace=default&rvt-method=get&rvt-key=absent";
    let (mut socket, _) = open(&server.endpoint(), path).await;
    let ToClient::Error { error, action_id } = read(next(&mut socket).await) else {
        panic!("an error first");
    };
    assert!(
        error.is(actor::codes::NOT_FOUND) && action_id.is_none(),
        "{error}"
    );
    let Message::Close(Some(frame)) = next(&mut socket).await else {
        panic!("then a close");
    };
    assert_eq!(frame.reason.as_str(), "actor.not_found");
    server.shutdown().await;
    registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_limit_closes_the_socket_saying_so() {
    let (registry, server) = start(ServerOptions::default().max_incoming(1024)).await;
    let (mut socket, _) = open(&server.endpoint(), DIAL).await;
    assert!(matches!(
        read(next(&mut socket).await),
        ToClient::Init { .. }
    ));
    let _ = socket.send(Message::Binary(vec![0u8; 4096].into())).await;
    let Message::Close(Some(frame)) = next(&mut socket).await else {
        panic!("a close");
    };
    assert_eq!(frame.reason.as_str(), "message.incoming_too_long");
    // The actor and the server are fine.
    let dial = registry.client().get::<Dial>("d").await.unwrap();
    assert_eq!(dial.turn(1).await.unwrap(), 1);
    server.shutdown().await;
    registry.shutdown().await;
}

/// On the paused clock: a client that never answers the server's pings is closed once
/// it has been silent 45 s.
#[tokio::test(start_paused = true)]
async fn a_silent_client_is_disconnected() {
    let (registry, server) = start(ServerOptions::default()).await;
    let (mut socket, _) = open(&server.endpoint(), DIAL).await;
    assert!(matches!(
        read(next(&mut socket).await),
        ToClient::Init { .. }
    ));
    // Not reading: no pong goes back (tungstenite answers pings only as it reads).
    tokio::time::sleep(Duration::from_secs(44)).await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    let mut pings = 0;
    let closed = loop {
        match socket.next().await {
            Some(Ok(Message::Ping(_))) => pings += 1,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break true,
            Some(Ok(other)) => panic!("{other:?}"),
        }
    };
    assert!(
        closed && pings >= 2,
        "closed after {pings} unanswered pings"
    );
    server.shutdown().await;
    registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_server_closes_its_sockets_with_going_away() {
    let (registry, server) = start(ServerOptions::default()).await;
    let (mut socket, _) = open(&server.endpoint(), DIAL).await;
    assert!(matches!(
        read(next(&mut socket).await),
        ToClient::Init { .. }
    ));
    let stopping = tokio::spawn(server.shutdown());
    let Message::Close(Some(frame)) = next(&mut socket).await else {
        panic!("a close");
    };
    assert_eq!(frame.reason.as_str(), "ws.going_away");
    drop(socket);
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .unwrap()
        .unwrap();
    registry.shutdown().await;
}

/// A client that sends far more calls than the server queues answers for, and reads none
/// until it sent them all, gets every answer: the server stops reading while the answers
/// it owes fill its outbox (the client is slowed, not disconnected). In a debug build the
/// server asserts its outbox never holds more than its bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_calls_beyond_the_outbox_are_all_answered() {
    const CALLS: u64 = 2_000;
    let (registry, server) = start(ServerOptions::default()).await;
    let (mut socket, _) = open(&server.endpoint(), DIAL).await;
    assert!(matches!(
        read(next(&mut socket).await),
        ToClient::Init { .. }
    ));
    for id in 0..CALLS {
        let request = ToServer::ActionRequest {
            id,
            name: "turn".into(),
            args: args(&(1,)),
        };
        socket.feed(send(&request)).await.unwrap();
    }
    socket.flush().await.unwrap();
    let mut answered = std::collections::BTreeSet::new();
    while answered.len() < CALLS as usize {
        match read(next(&mut socket).await) {
            ToClient::ActionResponse { id, .. } => assert!(answered.insert(id), "{id} twice"),
            other => panic!("an answer, not {other:?}"),
        }
    }
    assert_eq!(
        answered.into_iter().collect::<Vec<_>>(),
        (0..CALLS).collect::<Vec<_>>()
    );
    let dial = registry.client().get::<Dial>("d").await.unwrap();
    assert_eq!(dial.turn(0).await.unwrap(), CALLS as i64);
    server.shutdown().await;
    registry.shutdown().await;
}

/// A horn whose connections hear every blast, and which counts the connections that left.
#[actor(events = HornEvent)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Horn {
    left: u32,
}

#[derive(Debug, Events)]
pub enum HornEvent {
    Blast(String),
}

#[actor]
impl Horn {
    #[action]
    async fn blast(&self, ctx: &Ctx<Self>, bytes: usize) -> Result<(), ActorError> {
        ctx.broadcast(HornEvent::Blast("b".repeat(bytes)))
    }

    #[on_disconnect]
    async fn gone(&mut self, _ctx: &Ctx<Self>, _conn: &Conn<Self>) -> Result<(), ActorError> {
        self.left += 1;
        Ok(())
    }

    #[action]
    async fn left(&self) -> u32 {
        self.left
    }
}

/// On the paused clock: a client that subscribes and then reads nothing while its actor
/// blasts large events is disconnected once the server's outbox and the connection's
/// channel are full (`#[on_disconnect]` runs once), instead of the server holding every
/// event; the actor keeps working.
#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_its_events_is_disconnected() {
    let (registry, server) = start(ServerOptions::default()).await;
    let path = "/gateway/horn/connect?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=h";
    let (mut socket, _) = open(&server.endpoint(), path).await;
    assert!(matches!(
        read(next(&mut socket).await),
        ToClient::Init { .. }
    ));
    let subscribe = ToServer::SubscriptionRequest {
        event_name: "blast".into(),
        subscribe: true,
    };
    socket.send(send(&subscribe)).await.unwrap();
    // An action after it: once answered, the subscription (read before it) holds.
    let call = ToServer::ActionRequest {
        id: 1,
        name: "left".into(),
        args: args(&[(); 0]),
    };
    socket.send(send(&call)).await.unwrap();
    assert!(matches!(
        read(next(&mut socket).await),
        ToClient::ActionResponse { id: 1, .. }
    ));
    let horn = registry.client().get::<Horn>("h").await.unwrap();
    // Each blast is 64 KiB; the loopback's socket buffers take a few MiB, the outbox and
    // the channel 256 each.
    let mut blasts = 0;
    let began = tokio::time::Instant::now();
    while horn.left().await.unwrap() == 0 {
        assert!(
            blasts < 20_000,
            "still connected after {blasts} unread blasts"
        );
        for _ in 0..50 {
            horn.blast(64 * 1024).await.unwrap();
        }
        blasts += 50;
        // The paused clock moves on while the server writes what the socket takes, and
        // past the 5 s a closing socket's last messages may take.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(blasts > 256, "closed after only {blasts} blasts");
    // Closed because the actor closed it, not by the 45 s silence check.
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "closed after {:?}",
        began.elapsed()
    );
    assert_eq!(horn.left().await.unwrap(), 1, "on_disconnect ran once");
    // The socket was closed: what it holds is read, then it ends.
    let mut read_back = 0;
    loop {
        match socket.next().await {
            Some(Ok(Message::Binary(_))) => read_back += 1,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(other)) => panic!("{other:?}"),
        }
    }
    assert!(
        read_back < blasts,
        "{read_back} of {blasts} blasts reached the client"
    );
    horn.blast(1).await.unwrap();
    assert_eq!(horn.left().await.unwrap(), 1);
    server.shutdown().await;
    registry.shutdown().await;
}
