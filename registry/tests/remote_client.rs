//! The remote client (`Client::remote`) against this crate's server, beside the
//! in-process client: the same calls give the same results and the same error codes,
//! in every encoding; tokens are asked for where they should be.

use std::time::Duration;

use actor::prelude::*;
use actor::protocol::WireEncoding;
use actor::remote::RemoteOptions;
use actor::{Encoding, codes};
use registry::{Registry, ServerOptions};
use serde_json::json;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Tally {
    count: i64,
}

#[derive(Serialize, Deserialize)]
pub struct AddLater {
    by: i64,
}

#[actor]
impl Tally {
    #[action]
    async fn increment(&mut self, by: i64) -> i64 {
        self.count += by;
        self.count
    }

    #[action]
    async fn get(&self) -> i64 {
        self.count
    }

    #[action]
    async fn key_parts(&self, ctx: &Ctx<Self>) -> Vec<String> {
        ctx.key().parts().to_vec()
    }

    #[action]
    async fn echo(
        &self,
        big: i64,
        huge: u64,
        fraction: f64,
        text: String,
    ) -> (i64, u64, f64, String) {
        (big, huge, fraction, text)
    }

    #[action]
    async fn fail(&self, why: String) -> Result<(), ActorError> {
        Err(ActorError::new("shop", "out_of_stock", why.clone())
            .with_metadata(json!({ "item": why })))
    }

    #[queue]
    async fn add_later(&mut self, message: AddLater) -> i64 {
        self.count += message.by;
        self.count
    }

    #[queue]
    async fn stall(&mut self, ms: u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// What a call gave: its value as text, or its error's code (with the message and
/// metadata of errors a caller reads).
fn seen<T: std::fmt::Debug>(result: Result<T, ActorError>) -> String {
    match result {
        Ok(value) => format!("{value:?}"),
        Err(err) if err.group() == "shop" => format!(
            "{}/{}: {} {:?}",
            err.group(),
            err.code(),
            err.message(),
            err.metadata()
        ),
        Err(err) => format!("{}/{}", err.group(), err.code()),
    }
}

/// The same calls through any client, under keys that start with `prefix`.
async fn script(client: &Client, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let a = Tally::get_or_create(client, [prefix, "a"]).await.unwrap();
    out.push(seen(a.increment(2).await));
    out.push(seen(a.increment(3).await));
    out.push(seen(a.get().await));
    out.push(seen(
        client.get::<Tally>([prefix, "missing"]).await.map(|_| ()),
    ));
    out.push(seen(Tally::create(client, [prefix, "a"]).await.map(|_| ())));
    let created = Tally::create(client, [prefix, "new"]).await.unwrap();
    out.push(seen(created.increment(1).await));
    let by_id = Tally::get_for_id(client, a.id()).await.unwrap();
    out.push(seen(by_id.get().await));
    out.push(seen(
        Tally::get_for_id(client, "00000000000000000000000000000000")
            .await
            .map(|_| ()),
    ));
    out.push(seen(a.fail("out of stock".into()).await));
    out.push(seen(
        a.echo(1 << 40, (1 << 60) + 1, 12.5, "text".into()).await,
    ));
    out.push(seen(a.add_later(AddLater { by: 10 }).await.map(|_| "sent")));
    out.push(seen(
        a.add_later(AddLater { by: 5 })
            .wait(Duration::from_secs(10))
            .await,
    ));
    out.push(seen(a.stall(2_000).wait(Duration::from_millis(100)).await));
    out.push(seen(
        a.send_encoded("nosuchQueue", Encoding::Json, b"{}".to_vec())
            .await,
    ));
    out.push(seen(
        a.call_encoded("nosuch", Encoding::Json, b"[]".to_vec())
            .await,
    ));
    out.push(seen(
        a.call_encoded("increment", Encoding::Json, br#"["one"]"#.to_vec())
            .await,
    ));
    out.push(seen(
        a.call_encoded("get", Encoding::Json, b"[]".to_vec())
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
    ));
    let awkward = [prefix, "org,1", "user/2", "", "50% off", "ünïcode, too"];
    let odd = Tally::get_or_create(client, awkward).await.unwrap();
    out.push(seen(odd.key_parts().await));
    out.push(seen(
        client
            .get::<Tally>(awkward)
            .await
            .map(|h| h.id() == odd.id()),
    ));
    out
}

/// A board whose connections show a token (`on_before_connect`) and get its moves.
#[actor(events = BoardEvent)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Board {
    moves: u32,
}

#[derive(Debug, PartialEq, Events)]
pub enum BoardEvent {
    Moved(u32, String),
}

#[actor]
impl Board {
    #[on_before_connect]
    async fn check(&self, token: Option<String>) -> Result<String, ActorError> {
        token
            .filter(|t| t.starts_with("ok"))
            .ok_or_else(|| ActorError::new("board", "bad_token", "show a token"))
    }

    #[action]
    async fn bump(&mut self, ctx: &Ctx<Self>) -> Result<u32, ActorError> {
        self.moves += 1;
        let by = ctx.conn().map_or(String::new(), |c| c.state().clone());
        ctx.broadcast(BoardEvent::Moved(self.moves, by))?;
        Ok(self.moves)
    }

    #[action]
    async fn moves(&self) -> u32 {
        self.moves
    }
}

async fn serve(registry: &Registry, options: ServerOptions) -> registry::Server {
    registry
        .serve(options.address(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_and_in_process_calls_agree_in_every_encoding() {
    let registry = Registry::builder().memory().build().await.unwrap();
    let server = serve(&registry, ServerOptions::default()).await;
    let local = script(&registry.client(), "p").await;
    // The script's own checks, so that agreeing on nonsense cannot pass.
    assert_eq!(local[..4], ["2", "5", "5", "actor/not_found"]);
    assert_eq!(
        local[8],
        "shop/out_of_stock: out of stock Some(Object {\"item\": String(\"out of stock\")})"
    );
    assert_eq!(
        local[9],
        "(1099511627776, 1152921504606846977, 12.5, \"text\")"
    );
    assert_eq!(local[11], "20");
    assert_eq!(local[12], "queue/timed_out");
    assert_eq!(
        local[17],
        "[\"p\", \"org,1\", \"user/2\", \"\", \"50% off\", \"ünïcode, too\"]"
    );
    for encoding in [WireEncoding::Json, WireEncoding::Cbor, WireEncoding::Bare] {
        let remote = Client::remote_with(RemoteOptions::new(server.endpoint()).encoding(encoding));
        let mut seen = script(&remote, "p2").await;
        // The keys differ by their prefix only.
        seen[17] = seen[17].replace("p2", "p");
        assert_eq!(seen, local, "{encoding:?}");
        // Each remote run used fresh actors: clear them for the next encoding.
        for key in [["p2", "a"], ["p2", "new"]] {
            registry
                .client()
                .get::<Tally>(key)
                .await
                .unwrap()
                .destroy()
                .await
                .unwrap();
        }
        registry
            .client()
            .get::<Tally>(["p2", "org,1", "user/2", "", "50% off", "ünïcode, too"])
            .await
            .unwrap()
            .destroy()
            .await
            .unwrap();
    }
    server.shutdown().await;
    registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_asked_for_and_destroy_removes_the_actors_storage() {
    let registry = Registry::builder().memory().build().await.unwrap();
    let options = ServerOptions::default()
        .client_token("client-secret")
        .admin_token("admin-secret");
    let server = serve(&registry, options).await;
    let endpoint = server.endpoint();

    let anonymous = Client::remote(&endpoint);
    let err = Tally::get_or_create(&anonymous, "t").await.unwrap_err();
    assert!(err.is(codes::FORBIDDEN), "{err}");
    let wrong = Client::remote_with(RemoteOptions::new(&endpoint).token("guess"));
    assert!(
        Tally::get_or_create(&wrong, "t")
            .await
            .unwrap_err()
            .is(codes::FORBIDDEN)
    );

    let client = Client::remote_with(RemoteOptions::new(&endpoint).token("client-secret"));
    let tally = Tally::get_or_create(&client, "t").await.unwrap();
    assert_eq!(tally.increment(4).await.unwrap(), 4);
    // Destroying needs the admin token.
    let err = tally.destroy().await.unwrap_err();
    assert!(err.is(codes::FORBIDDEN), "{err}");
    assert_eq!(err.metadata().unwrap()["needs"], "admin");

    // Listing too, and the token is never echoed back.
    let http = reqwest::Client::new();
    let list = format!("{endpoint}/actors?name=tally");
    let refused = http
        .get(&list)
        .bearer_auth("client-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(!refused.text().await.unwrap().contains("client-secret"));
    let listed: serde_json::Value = http
        .get(&list)
        .bearer_auth("admin-secret")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(listed["actors"][0]["actor_id"], tally.id().as_str());

    let admin = Client::remote_with(RemoteOptions::new(&endpoint).token("admin-secret"));
    let id = tally.id();
    Tally::get_for_id(&admin, id.clone())
        .await
        .unwrap()
        .destroy()
        .await
        .unwrap();
    assert!(
        registry.driver().load(&id).await.unwrap().is_none(),
        "its storage is gone"
    );
    let err = tally.get().await.unwrap_err();
    assert!(
        err.is(codes::NOT_FOUND) || err.is(codes::DESTROYED),
        "{err}"
    );
    server.shutdown().await;
    registry.shutdown().await;
}

#[tokio::test]
async fn a_server_without_a_client_token_refuses_to_listen_beyond_loopback() {
    let registry = Registry::builder().memory().build().await.unwrap();
    let err = registry
        .serve(ServerOptions::default().address(([0, 0, 0, 0], 0)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, registry::RegistryError::Unprotected { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("client_token"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_carries_typed_calls_in_every_encoding() {
    let registry = Registry::builder().memory().build().await.unwrap();
    let server = serve(&registry, ServerOptions::default()).await;
    for encoding in [WireEncoding::Json, WireEncoding::Cbor, WireEncoding::Bare] {
        let remote = Client::remote_with(RemoteOptions::new(server.endpoint()).encoding(encoding));
        let key = ["c", encoding.name()];
        let tally = Tally::get_or_create(&remote, key).await.unwrap();
        let live = TallyHandle::from(tally.connect().await.unwrap());
        assert_eq!(live.id(), tally.id());
        assert_eq!(live.increment(2).await.unwrap(), 2, "{encoding:?}");
        let (a, b) = tokio::join!(live.increment(1), live.increment(1));
        assert_eq!(
            a.unwrap() + b.unwrap(),
            7,
            "{encoding:?}: two calls in flight"
        );
        assert_eq!(
            seen(live.echo(1 << 40, (1 << 60) + 1, 12.5, "text".into()).await),
            "(1099511627776, 1152921504606846977, 12.5, \"text\")"
        );
        assert_eq!(
            seen(live.fail("gone".into()).await),
            "shop/out_of_stock: gone Some(Object {\"item\": String(\"gone\")})"
        );
        assert_eq!(
            seen(
                live.call_encoded("nosuch", Encoding::Json, b"[]".to_vec())
                    .await
            ),
            "actor/action_not_found"
        );
        // A queue send from the connected handle goes through its HTTP handle.
        assert_eq!(
            live.add_later(AddLater { by: 6 })
                .wait(Duration::from_secs(5))
                .await
                .unwrap(),
            10
        );
        let local = registry.client().get::<Tally>(key).await.unwrap();
        assert_eq!(local.get().await.unwrap(), 10);
    }
    server.shutdown().await;
    registry.shutdown().await;
}

/// On the paused clock (the backoff's waits pass at once): a server that stops and
/// starts again on its address is found again by the open connection, whose calls work
/// once more.
#[tokio::test(start_paused = true)]
async fn a_connection_reconnects_after_the_server_restarts() {
    let registry = Registry::builder().memory().build().await.unwrap();
    let server = serve(&registry, ServerOptions::default()).await;
    let address = server.local_addr();
    let remote = Client::remote(server.endpoint());
    let tally = Tally::get_or_create(&remote, "r").await.unwrap();
    let live = TallyHandle::from(tally.connect().await.unwrap());
    assert_eq!(live.increment(1).await.unwrap(), 1);

    server.shutdown().await;
    // Calls made while the server is down wait for the connection to come back.
    let waiting = tokio::spawn({
        let live = live.clone();
        async move { live.increment(10).await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!waiting.is_finished());
    let again = registry
        .serve(ServerOptions::default().address(address))
        .await
        .unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), 11);
    assert_eq!(live.increment(1).await.unwrap(), 12);
    again.shutdown().await;
    registry.shutdown().await;
}

/// On the paused clock: a server that says `Init` and then nothing (it reads nothing, so
/// it answers no ping) counts as dead after 45 s; the call in flight fails as
/// unreachable, and the connection dials again.
#[tokio::test(start_paused = true)]
async fn a_silent_server_is_found_dead_and_dialled_again() {
    use axum::extract::ws::{Message, WebSocketUpgrade};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let dialled = Arc::new(AtomicUsize::new(0));
    let counted = dialled.clone();
    let app = axum::Router::new()
        .route(
            "/actors",
            axum::routing::get(|| async {
                axum::Json(json!({ "actors": [{ "actor_id": "silent", "name": "tally" }] }))
            }),
        )
        .route(
            "/gateway/silent/connect",
            axum::routing::get(move |upgrade: WebSocketUpgrade| {
                counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    upgrade
                        .protocols(["rivet"])
                        .on_upgrade(|mut socket| async move {
                            let init = actor::protocol::ToClient::Init {
                                actor_id: "silent".into(),
                                connection_id: "c".into(),
                            };
                            let bytes = WireEncoding::Bare.encode_to_client(&init).unwrap();
                            let _ = socket.send(Message::Binary(bytes.into())).await;
                            // Holds the socket and never reads it.
                            std::future::pending::<()>().await;
                            drop(socket);
                        })
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let remote = Client::remote(&endpoint);
    let tally = Tally::get_for_id(&remote, "silent").await.unwrap();
    let live = TallyHandle::from(tally.connect().await.unwrap());
    let started = tokio::time::Instant::now();
    let err = live.increment(1).await.unwrap_err();
    assert!(err.is(codes::UNREACHABLE), "{err}");
    assert!(
        started.elapsed() >= Duration::from_secs(45),
        "{:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(dialled.load(Ordering::SeqCst) >= 2, "it dialled again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_checks_its_params_and_streams_typed_events_in_every_encoding() {
    let registry = Registry::builder().memory().build().await.unwrap();
    let server = serve(&registry, ServerOptions::default()).await;
    for encoding in [WireEncoding::Json, WireEncoding::Cbor, WireEncoding::Bare] {
        let remote = Client::remote_with(RemoteOptions::new(server.endpoint()).encoding(encoding));
        let board = Board::get_or_create(&remote, ["b", encoding.name()])
            .await
            .unwrap();
        let err = board.connect_with(&"guess").await.unwrap_err();
        assert_eq!(seen::<()>(Err(err)), "board/bad_token", "{encoding:?}");
        let err = board.connect().await.unwrap_err();
        assert_eq!(
            seen::<()>(Err(err)),
            "board/bad_token",
            "{encoding:?}: no params"
        );
        // An HTTP call passes the same check: without params it is refused.
        assert_eq!(seen(board.bump().await), "board/bad_token", "{encoding:?}");

        let ann = BoardHandle::from(board.connect_with(&"ok ann").await.unwrap());
        let bob = BoardHandle::from(board.connect_with(&"ok bob").await.unwrap());
        let mut events = ann.events::<BoardEvent>().await.unwrap();
        // A call over the same socket is read after the subscription.
        assert_eq!(ann.moves().await.unwrap(), 0);
        assert_eq!(bob.bump().await.unwrap(), 1, "{encoding:?}");
        assert_eq!(ann.bump().await.unwrap(), 2, "{encoding:?}");
        assert_eq!(
            events.next().await.unwrap().unwrap(),
            BoardEvent::Moved(1, "ok bob".into()),
            "{encoding:?}"
        );
        assert_eq!(
            events.next().await.unwrap().unwrap(),
            BoardEvent::Moved(2, "ok ann".into()),
            "{encoding:?}"
        );
        // A subscription the server refuses leaves the socket and the stream as they were.
        let mut other = ann.events::<OtherEvent>().await.unwrap();
        assert_eq!(bob.bump().await.unwrap(), 3, "{encoding:?}");
        assert_eq!(
            events.next().await.unwrap().unwrap(),
            BoardEvent::Moved(3, "ok bob".into()),
            "{encoding:?}"
        );
        drop(ann);
        assert!(
            other.next().await.is_none(),
            "{encoding:?}: never an unrelated event"
        );
    }
    server.shutdown().await;
    registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_params_passes_on_before_connect_over_http_and_sockets() {
    let registry = Registry::builder().memory().build().await.unwrap();
    let server = serve(&registry, ServerOptions::default()).await;
    let options = RemoteOptions::new(server.endpoint())
        .params(&"ok http")
        .unwrap();
    let remote = Client::remote_with(options);
    let board = Board::get_or_create(&remote, "p").await.unwrap();
    // Over HTTP: checked, and the action sees the connection's state.
    let live = BoardHandle::from(board.connect().await.unwrap());
    let mut events = live.events::<BoardEvent>().await.unwrap();
    assert_eq!(live.moves().await.unwrap(), 0);
    assert_eq!(
        board.bump().await.unwrap(),
        1,
        "an HTTP call with the client's params"
    );
    assert_eq!(
        events.next().await.unwrap().unwrap(),
        BoardEvent::Moved(1, "ok http".into()),
        "the HTTP call's connection carried the params' state"
    );
    let refused = RemoteOptions::new(server.endpoint())
        .params(&"guess")
        .unwrap();
    let other = Board::get(&Client::remote_with(refused), "p")
        .await
        .unwrap();
    assert_eq!(seen(other.bump().await), "board/bad_token");
    assert!(RemoteOptions::new("http://x").params(&"ünï").is_err());
    server.shutdown().await;
    registry.shutdown().await;
}

/// Events an actor does not declare: the server refuses the subscription and the stream
/// of the ones it does declare goes on.
#[derive(Debug, PartialEq, Events)]
pub enum OtherEvent {
    Unrelated,
}

/// On the paused clock: after the server restarts, the connection dials again, opens
/// again with its params, subscribes again, and events flow on the same stream.
#[tokio::test(start_paused = true)]
async fn a_reconnected_connection_subscribes_again() {
    let registry = Registry::builder().memory().build().await.unwrap();
    let server = serve(&registry, ServerOptions::default()).await;
    let address = server.local_addr();
    let remote = Client::remote(server.endpoint());
    let board = Board::get_or_create(&remote, "r").await.unwrap();
    let live = BoardHandle::from(board.connect_with(&"ok ann").await.unwrap());
    let mut events = live.events::<BoardEvent>().await.unwrap();
    assert_eq!(live.bump().await.unwrap(), 1, "read after the subscription");
    assert_eq!(
        events.next().await.unwrap().unwrap(),
        BoardEvent::Moved(1, "ok ann".into())
    );

    server.shutdown().await;
    let again = registry
        .serve(ServerOptions::default().address(address))
        .await
        .unwrap();
    // A read sent before the connection saw the close is lost with the old socket
    // (`client/unreachable`); once one is answered, the new socket is up, opened with
    // the params and subscribed (before any call it carries).
    let mut answered = false;
    for _ in 0..50 {
        match live.moves().await {
            Ok(moves) => {
                assert_eq!(moves, 1);
                answered = true;
                break;
            }
            Err(err) => assert!(err.is(codes::UNREACHABLE), "{err}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "the connection came back");
    assert_eq!(live.bump().await.unwrap(), 2);
    assert_eq!(
        events.next().await.unwrap().unwrap(),
        BoardEvent::Moved(2, "ok ann".into()),
        "the same stream, subscribed again on the new socket"
    );
    // The other socket's connection closed on the actor when the old server stopped.
    let local = registry.client().get::<Board>("r").await.unwrap();
    let bumped = BoardHandle::from(local.connect_with(&"ok local").await.unwrap());
    assert_eq!(bumped.bump().await.unwrap(), 3);
    again.shutdown().await;
    registry.shutdown().await;
}
