//! The server's answers to bad input, limits, errors and browsers, over real HTTP: each
//! gets its own structured error with its status, and nothing stored changes.

use std::time::Duration;

use actor::prelude::*;
use registry::{Registry, ServerOptions};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Meter {
    count: i64,
}

#[actor]
impl Meter {
    #[action]
    async fn add(&mut self, by: i64) -> i64 {
        self.count += by;
        self.count
    }

    #[action]
    async fn read(&self) -> i64 {
        self.count
    }

    /// Changes the state, then answers more than the server sends.
    #[action]
    async fn bloat(&mut self, bytes: usize) -> String {
        self.count += 1;
        "x".repeat(bytes)
    }

    #[action]
    async fn slow(&mut self, secs: u64) -> i64 {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        self.count += 1;
        self.count
    }

    /// A team's own error, in a group of its own.
    #[action]
    async fn decline(&self) -> Result<(), ActorError> {
        Err(ActorError::new(
            "billing",
            "card_declined",
            "the card ending 4242 was declined",
        )
        .with_metadata(json!({ "last4": "4242" })))
    }

    #[action]
    async fn explode(&self) -> i64 {
        panic!("the meter exploded: secret detail")
    }
}

struct Served {
    registry: Registry,
    server: registry::Server,
    http: reqwest::Client,
}

impl Served {
    async fn start(options: ServerOptions) -> Self {
        let registry = Registry::builder().memory().build().await.unwrap();
        let server = registry
            .serve(options.address(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        Self {
            registry,
            server,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.endpoint())
    }

    /// A JSON POST; the status and the body as JSON.
    async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn stop(self) {
        self.server.shutdown().await;
        self.registry.shutdown().await;
    }
}

const GATEWAY: &str =
    "/gateway/meter/action/add?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=m";

fn code(body: &Value) -> String {
    format!(
        "{}/{}",
        body["group"].as_str().unwrap_or("?"),
        body["code"].as_str().unwrap_or("?")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_their_own_codes_and_change_nothing() {
    let served = Served::start(ServerOptions::default()).await;
    assert_eq!(
        served.post(GATEWAY, r#"{"args":[5]}"#).await,
        (200, json!({ "output": 5 }))
    );

    let cases: &[(&str, &str, u16, &str)] = &[
        (GATEWAY, "{not json", 400, "request/invalid"),
        (GATEWAY, r#"{"args":5}"#, 400, "request/invalid"),
        (
            GATEWAY,
            r#"{"args":["five"]}"#,
            400,
            "actor/invalid_arguments",
        ),
        (
            GATEWAY,
            r#"{"args":[1, 2]}"#,
            400,
            "actor/invalid_arguments",
        ),
        (
            "/gateway/meter/action/nosuch?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=m",
            r#"{"args":[]}"#,
            404,
            "actor/action_not_found",
        ),
        (
            "/gateway/nosuchkind/action/add?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=m",
            r#"{"args":[1]}"#,
            404,
            "actor/kind_not_registered",
        ),
        (
            "/gateway/meter/action/add?rvt-namespace=default&rvt-method=get&rvt-key=absent",
            r#"{"args":[1]}"#,
            404,
            "actor/not_found",
        ),
        (
            "/gateway/meter/action/add?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=m&rvt-colour=red",
            r#"{"args":[1]}"#,
            400,
            "request/invalid",
        ),
        (
            "/gateway/meter/action/add?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=m&rvt-key=n",
            r#"{"args":[1]}"#,
            400,
            "request/invalid",
        ),
        (
            "/gateway/meter/action/add?rvt-namespace=elsewhere&rvt-method=getOrCreate&rvt-key=m",
            r#"{"args":[1]}"#,
            400,
            "request/invalid",
        ),
        (
            "/gateway/meter/action/add?rvt-namespace=default&rvt-method=get&rvt-key=m&rvt-input=AA",
            r#"{"args":[1]}"#,
            400,
            "request/invalid",
        ),
        (
            "/gateway/meter/action/add?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=m&rvt-crash-policy=restart",
            r#"{"args":[1]}"#,
            400,
            "request/invalid",
        ),
        (
            "/gateway/meter/action/add?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=m&rvt-input=%%%",
            r#"{"args":[1]}"#,
            400,
            "request/invalid",
        ),
        (
            "/gateway/0000/action/add",
            r#"{"args":[1]}"#,
            404,
            "actor/not_found",
        ),
        ("/nowhere", "", 404, "request/route_not_found"),
        (
            "/gateway/meter/unknown/path?rvt-namespace=default&rvt-method=get",
            "",
            404,
            "request/route_not_found",
        ),
    ];
    for (path, body, status, expected) in cases {
        let (got, answer) = served.post(path, *body).await;
        assert_eq!(
            (got, code(&answer).as_str()),
            (*status, *expected),
            "{path} {body}: {answer}"
        );
        assert!(
            !answer["message"].as_str().unwrap_or_default().is_empty(),
            "{answer}"
        );
    }
    let (_, unknown) = served
        .post(
            "/gateway/meter/action/add?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=m&rvt-colour=red",
            r#"{"args":[1]}"#,
        )
        .await;
    assert_eq!(unknown["metadata"]["parameter"], "rvt-colour");

    // An encoding the server does not speak, and a BARE body of another version,
    // answered in that encoding.
    let response = served
        .http
        .post(served.url(GATEWAY))
        .header("x-rivet-encoding", "yaml")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(code(&body), "request/invalid");
    assert!(body["message"].as_str().unwrap().contains("bare"), "{body}");
    let response = served
        .http
        .post(served.url(GATEWAY))
        .header("x-rivet-encoding", "bare")
        .body(vec![9, 0, 2, 0x81, 0x01])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error = actor::protocol::WireEncoding::Bare
        .decode_error(&response.bytes().await.unwrap())
        .unwrap();
    assert!(error.is(actor::codes::INVALID_REQUEST), "{error}");
    assert!(error.message().contains('9'), "{error}");

    // Nothing of it reached the actor.
    let meter = served.registry.client().get::<Meter>("m").await.unwrap();
    assert_eq!(meter.read().await.unwrap(), 5);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_refused_declared_or_streamed() {
    let served = Served::start(ServerOptions::default().max_incoming(1024)).await;
    let big = format!(r#"{{"args":["{}"]}}"#, "y".repeat(2000));
    let (status, body) = served.post(GATEWAY, big.clone()).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "message/incoming_too_long"),
        "{body}"
    );
    assert_eq!(body["metadata"]["max"], 1024);

    // Chunked, without a length: refused once the limit passes.
    let mut socket = tokio::net::TcpStream::connect(served.server.local_addr())
        .await
        .unwrap();
    let mut request = format!(
        "POST {GATEWAY} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in big.as_bytes().chunks(500) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    socket.write_all(&request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("incoming_too_long"), "{answer}");

    // A body under the limit still works.
    assert_eq!(
        served.post(GATEWAY, r#"{"args":[2]}"#).await,
        (200, json!({ "output": 2 }))
    );
    served.stop().await;
}

/// A request in flight when the server is asked to stop gets its answer; then the
/// server listens no more. (Paused clock: the action's 10 s pass at once.)
#[tokio::test(start_paused = true)]
async fn shutdown_answers_what_is_in_flight_then_stops_listening() {
    let served = Served::start(ServerOptions::default()).await;
    let address = served.server.local_addr();
    let url = served
        .url("/gateway/meter/action/slow?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=s");
    let http = served.http.clone();
    let call = tokio::spawn(async move { http.post(url).body(r#"{"args":[10]}"#).send().await });
    // One second in, the call is inside its action (which waits ten) when the server
    // is told to stop.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(served.registry.awake(), 1);
    let Served {
        registry, server, ..
    } = served;
    server.shutdown().await;
    let answered = call.await.unwrap().unwrap();
    assert_eq!(answered.status(), 200);
    assert_eq!(answered.text().await.unwrap(), r#"{"output":1}"#);
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "still listening"
    );
    let meter = registry.client().get::<Meter>("s").await.unwrap();
    assert_eq!(meter.read().await.unwrap(), 1);
    registry.shutdown().await;
}

/// On tokio's paused clock: the server's 30 s pass as soon as nothing else can run.
#[tokio::test(start_paused = true)]
async fn a_body_that_stops_arriving_is_given_up_on() {
    let served = Served::start(ServerOptions::default()).await;
    let mut socket = tokio::net::TcpStream::connect(served.server.local_addr())
        .await
        .unwrap();
    let head = format!(
        "POST {GATEWAY} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{{\"args\":"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let started = tokio::time::Instant::now();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("stopped arriving"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_the_limit_is_refused_and_the_call_kept() {
    let served = Served::start(ServerOptions::default().max_outgoing(1000)).await;
    let path = "/gateway/meter/action/bloat?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=b";
    let (status, body) = served.post(path, r#"{"args":[5000]}"#).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (400, "message/outgoing_too_long"),
        "{body}"
    );
    assert!(body["metadata"]["bytes"].as_u64().unwrap() > 5000);
    let (status, _) = served.post(path, r#"{"args":[10]}"#).await;
    assert_eq!(status, 200);
    let meter = served.registry.client().get::<Meter>("b").await.unwrap();
    assert_eq!(meter.read().await.unwrap(), 2, "both calls ran");
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_causes_reach_clients_only_in_development_mode() {
    let path =
        "/gateway/meter/action/explode?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=e";
    for development in [false, true] {
        let served = Served::start(ServerOptions::default().development(development)).await;
        let response = served
            .http
            .post(served.url(path))
            .body(r#"{"args":[]}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        let ray = response.headers()["x-rivet-ray-id"]
            .to_str()
            .unwrap()
            .to_string();
        let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(code(&body), "actor/internal_error");
        let message = body["message"].as_str().unwrap();
        if development {
            assert!(message.contains("secret detail"), "{message}");
        } else {
            assert!(!message.contains("secret detail"), "{message}");
            assert!(message.contains(&ray), "{message} names the ray id {ray}");
        }
        // A user error, whatever its group, is a 400 and reaches the client whole.
        let declined =
            "/gateway/meter/action/decline?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=e";
        let (status, body) = served.post(declined, r#"{"args":[]}"#).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body,
            json!({ "group": "billing", "code": "card_declined", "message": "the card ending 4242 was declined", "metadata": { "last4": "4242" } })
        );
        served.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manager_api_finds_creates_and_refuses() {
    let served = Served::start(ServerOptions::default()).await;
    let metadata: Value = served
        .http
        .get(served.url("/metadata"))
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert!(metadata["actorNames"]["meter"].is_object(), "{metadata}");

    // PUT creates once; POST refuses a taken key; GET finds it by key and by id.
    let put = |key: &str| {
        let body = json!({ "name": "meter", "key": key, "crash_policy": "sleep" }).to_string();
        served
            .http
            .put(served.url("/actors?namespace=default"))
            .body(body)
            .send()
    };
    let first: Value = put(r"a\/b/\0/c,d").await.unwrap().json_value().await;
    assert_eq!(first["created"], true);
    let again: Value = put(r"a\/b/\0/c,d").await.unwrap().json_value().await;
    assert_eq!(again["created"], false);
    assert_eq!(again["actor"]["actor_id"], first["actor"]["actor_id"]);
    assert_eq!(again["actor"]["key"], r"a\/b/\0/c,d");
    let (status, taken) = served
        .post(
            "/actors",
            json!({ "name": "meter", "key": r"a\/b/\0/c,d" }).to_string(),
        )
        .await;
    assert_eq!(
        (status, code(&taken).as_str()),
        (400, "actor/already_exists")
    );
    let found: Value = served
        .http
        .get(served.url("/actors?name=meter&key=a%5C%2Fb%2F%5C0%2Fc%2Cd&namespace=default"))
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert_eq!(found["actors"][0]["actor_id"], first["actor"]["actor_id"]);
    let id = first["actor"]["actor_id"].as_str().unwrap();
    let by_id: Value = served
        .http
        .get(served.url(&format!("/actors?actor_ids={id}")))
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert_eq!(by_id["actors"][0]["name"], "meter");
    // The key is the same actor in-process, part for part.
    let meter = served
        .registry
        .client()
        .get::<Meter>(["a/b", "", "c,d"])
        .await
        .unwrap();
    assert_eq!(meter.id().as_str(), id);

    let (status, bad) = served
        .post(
            "/actors",
            json!({ "name": "meter", "key": "k", "colour": "red" }).to_string(),
        )
        .await;
    assert_eq!(
        (status, code(&bad).as_str()),
        (400, "request/invalid"),
        "{bad}"
    );
    let (status, bad) = served
        .post(
            "/actors",
            json!({ "name": "meter", "key": r"dangling\" }).to_string(),
        )
        .await;
    assert_eq!(
        (status, code(&bad).as_str()),
        (400, "request/invalid"),
        "{bad}"
    );
    // Listing needs the admin token, which this server lacks.
    let listing = served
        .http
        .get(served.url("/actors?name=meter"))
        .send()
        .await
        .unwrap();
    assert_eq!(listing.status(), 403);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_cors_answers_with_their_origin() {
    let served = Served::start(ServerOptions::default()).await;
    let preflight = served
        .http
        .request(reqwest::Method::OPTIONS, served.url(GATEWAY))
        .header("origin", "http://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "x-rivet-encoding,x-rivet-conn-params,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], "http://app.example");
    assert_eq!(headers["access-control-allow-credentials"], "true");
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("x-rivet-encoding"), "{allowed}");
    served.stop().await;
}

/// `Response::json` needs reqwest's `json` feature; the body parsed as JSON.
trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        serde_json::from_str(&self.text().await.unwrap()).unwrap()
    }
}

/// `GET /health` over `socket`, as bytes.
async fn ask_health(socket: &mut tokio::net::TcpStream) {
    socket
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
}

/// What the server writes on `socket` next: `None` once it closed the connection.
/// Never waits more than `within` (a generous bound on the paused clock).
async fn next_answer(socket: &mut tokio::net::TcpStream, within: Duration) -> Option<String> {
    let mut buffer = vec![0; 4096];
    match tokio::time::timeout(within, socket.read(&mut buffer)).await {
        Ok(Ok(0)) | Ok(Err(_)) => None,
        Ok(Ok(n)) => Some(String::from_utf8_lossy(&buffer[..n]).into_owned()),
        Err(_) => panic!("the server neither answered nor closed within {within:?}"),
    }
}

/// A connection that sends nothing, one kept alive after its answer, and one that
/// trickles its headers are each closed once `header_timeout` has passed without a
/// whole request head. (Paused clock: the 10 s pass as soon as nothing else can run.)
#[tokio::test(start_paused = true)]
async fn connections_without_a_request_head_in_time_are_closed() {
    let limit = Duration::from_secs(10);
    let served = Served::start(ServerOptions::default().header_timeout(limit)).await;
    let address = served.server.local_addr();
    let bound = Duration::from_secs(120);

    let mut idle = tokio::net::TcpStream::connect(address).await.unwrap();
    let opened = tokio::time::Instant::now();
    assert_eq!(next_answer(&mut idle, bound).await, None);
    assert!(opened.elapsed() >= limit, "{:?}", opened.elapsed());

    let mut kept = tokio::net::TcpStream::connect(address).await.unwrap();
    ask_health(&mut kept).await;
    let answer = next_answer(&mut kept, bound).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answered = tokio::time::Instant::now();
    assert_eq!(
        next_answer(&mut kept, bound).await,
        None,
        "kept alive past its idle limit"
    );
    assert!(answered.elapsed() >= limit, "{:?}", answered.elapsed());

    let mut slow = tokio::net::TcpStream::connect(address).await.unwrap();
    let opened = tokio::time::Instant::now();
    slow.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    slow.write_all(b"host: x\r\n").await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(bound, slow.read_to_end(&mut answer))
        .await
        .expect("the trickling client was never closed")
        .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.contains(" 200 "), "{answer}");
    assert!(opened.elapsed() >= limit, "{:?}", opened.elapsed());

    // The server still serves whoever sends a request in time.
    let (status, _) = served.post(GATEWAY, r#"{"args":[1]}"#).await;
    assert_eq!(status, 200);
    served.stop().await;
}

/// With `max_connections(1)`, an open WebSocket holds the one place: an HTTP request on
/// a new connection waits until the socket closes, then is answered; a kept-alive
/// connection holds it until its idle limit closes it.
#[tokio::test(start_paused = true)]
async fn connections_past_max_connections_wait_for_a_place() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let served = Served::start(ServerOptions::default().max_connections(1)).await;
    let address = served.server.local_addr();
    let mut request = format!(
        "ws://{address}/gateway/meter/connect?rvt-namespace=default&rvt-method=getOrCreate&rvt-key=w"
    )
    .into_client_request()
    .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "rivet, rivet_encoding.json".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = socket.next().await.unwrap().unwrap();
    assert!(init.to_string().contains("Init"), "{init}");

    let mut waiting = tokio::net::TcpStream::connect(address).await.unwrap();
    ask_health(&mut waiting).await;
    let mut buffer = [0; 64];
    assert!(
        tokio::time::timeout(Duration::from_secs(5), waiting.read(&mut buffer))
            .await
            .is_err(),
        "answered while the WebSocket held the only place"
    );
    socket.close(None).await.unwrap();
    drop(socket);
    let answer = next_answer(&mut waiting, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Now `waiting` is kept alive and holds the place until its 30 s idle limit.
    let mut next = tokio::net::TcpStream::connect(address).await.unwrap();
    ask_health(&mut next).await;
    let asked = tokio::time::Instant::now();
    let answer = next_answer(&mut next, Duration::from_secs(120))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        asked.elapsed() >= Duration::from_secs(29),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(
        next_answer(&mut waiting, Duration::from_secs(1)).await,
        None
    );
    served.stop().await;
}
