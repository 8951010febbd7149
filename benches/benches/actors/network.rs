//! Section "network": remote action round trips over HTTP and over one WebSocket, beside
//! a minimal axum echo server in the same run, and the memory an open connection holds.
//!
//! The registry serves RivetKit's client protocol (`Registry::serve`) on the memory
//! driver, so the figures are the network path and not storage. Two clients call it: this
//! crate's remote client (`Client::remote_with`: reqwest for HTTP, tokio-tungstenite for
//! `connect()`), and the official npm client (`rivetkit`, in `conformance/node_modules`)
//! through `benches/node/http-bench.mjs`, run as a child process. Each is compared with
//! the same client library talking to an axum echo served the same way (`axum::serve` on
//! `127.0.0.1:0`) in the same process: `POST /echo` answers the request's body, and
//! `GET /ws` is a WebSocket that sends every message back. The echo is what loopback
//! costs with these libraries; the difference is our server and protocol.

use std::collections::VecDeque;
use std::hint::black_box;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use actor::prelude::*;
use actor::protocol::WireEncoding;
use actor::remote::RemoteOptions;
use benches::table::thousands;
use benches::{AllocSnapshot, Measured, Probe, Table};
use futures_util::{SinkExt, StreamExt};
use registry::ServerOptions;
use serde::Deserialize;
use tokio::sync::{Barrier, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::idle::{per_actor, settle};
use crate::kinds::{Counter, CounterHandle};
use crate::{ALLOC, BenchResult, Config, Goal, progress, runtime};

/// Requests in flight in the concurrent rows: that many tasks (or Node async loops), each
/// one request at a time.
const IN_FLIGHT: usize = 64;

/// The body the echo rows post: the JSON action request of `increment(1)`, so the echo
/// moves about as many bytes as a call.
const ECHO_BODY: &[u8] = br#"{"args":[1]}"#;

/// The goal of the issue: a remote call within 2x of the echo's round trip.
const GOAL: f64 = 2.0;

/// How the requests of a row are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// One task, one request after another.
    Sequential,
    /// [`IN_FLIGHT`] tasks, each calling its own actor (for the echo: each posting, or
    /// each sending over the one socket).
    Actors,
    /// [`IN_FLIGHT`] tasks, all calling one actor.
    OneActor,
}

/// What carries the requests of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Over {
    /// One HTTP request per call, on the client's pool of kept-alive connections.
    Http,
    /// One WebSocket, opened before the clock starts, that every task of the row shares:
    /// `connect()` for our clients, `/ws` for the echo.
    Socket,
}

impl Shape {
    const ALL: [Shape; 3] = [Self::Sequential, Self::Actors, Self::OneActor];

    fn tasks(self) -> usize {
        match self {
            Self::Sequential => 1,
            Self::Actors | Self::OneActor => IN_FLIGHT,
        }
    }

    fn label(self) -> String {
        match self {
            Self::Sequential => "sequential".into(),
            Self::Actors => format!("{IN_FLIGHT} in flight, {IN_FLIGHT} actors"),
            Self::OneActor => format!("{IN_FLIGHT} in flight, 1 actor"),
        }
    }

    /// The argument naming this shape to the Node script.
    fn arg(self) -> &'static str {
        match self {
            Self::Sequential => "seq",
            Self::Actors => "actors",
            Self::OneActor => "one",
        }
    }

    /// The mean latency of one request at `rate` per second: wall time / requests when
    /// sequential, in-flight requests / rate (Little's law) otherwise.
    fn latency(self, rate: f64) -> String {
        Duration::try_from_secs_f64(self.tasks() as f64 / rate)
            .map_or("-".into(), |d| format!("{d:.1?}"))
    }
}

/// The action a row calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    /// `increment(1)`: exclusive, durable (committed to the memory driver before the reply).
    Increment,
    /// `get()`: shared, writes nothing.
    Get,
}

impl Call {
    fn label(self) -> &'static str {
        match self {
            Self::Increment => "`increment`",
            Self::Get => "`get`",
        }
    }
}

fn encoding_label(encoding: WireEncoding) -> &'static str {
    match encoding {
        WireEncoding::Bare => "BARE",
        WireEncoding::Json => "JSON",
        WireEncoding::Cbor => "CBOR",
    }
}

/// Who makes the requests of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// reqwest posting to the echo: the baseline of the Rust rows.
    RustEcho,
    /// Our remote client.
    Rust(WireEncoding, Call),
    /// Node's `fetch` posting to the echo: the baseline of the Node rows.
    NodeEcho,
    /// The npm client (`rivetkit`).
    Node(WireEncoding),
}

/// One line of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Row {
    who: Who,
    over: Over,
    shape: Shape,
}

impl Row {
    fn name(&self) -> String {
        let shape = match (self.who, self.shape) {
            (Who::RustEcho | Who::NodeEcho, Shape::Actors) => format!("{IN_FLIGHT} in flight"),
            (_, shape) => shape.label(),
        };
        // The HTTP rows keep the names they had before the socket rows came.
        let over = match self.over {
            Over::Http => "",
            Over::Socket => "WebSocket, ",
        };
        match self.who {
            Who::RustEcho => format!("rust echo, {over}{shape}"),
            Who::Rust(encoding, call) => format!(
                "rust client, {over}{}, {}, {shape}",
                encoding_label(encoding),
                call.label()
            ),
            Who::NodeEcho => format!("node echo, {over}{shape}"),
            Who::Node(encoding) => format!(
                "node rivetkit, {over}{}, {}, {shape}",
                encoding_label(encoding),
                Call::Increment.label()
            ),
        }
    }

    /// The row this one is compared with: the echo of its client, over the same
    /// transport, at its concurrency.
    fn baseline(&self) -> Row {
        let shape = match self.shape {
            Shape::Sequential => Shape::Sequential,
            Shape::Actors | Shape::OneActor => Shape::Actors,
        };
        let who = match self.who {
            Who::RustEcho | Who::Rust(..) => Who::RustEcho,
            Who::NodeEcho | Who::Node(_) => Who::NodeEcho,
        };
        Row {
            who,
            over: self.over,
            shape,
        }
    }

    fn is_echo(&self) -> bool {
        matches!(self.who, Who::RustEcho | Who::NodeEcho)
    }

    /// How the Node script names this row: `echo/seq/http`, `bare/one/ws`, ….
    fn node_arg(&self) -> Option<String> {
        let what = match self.who {
            Who::NodeEcho => "echo",
            Who::Node(WireEncoding::Bare) => "bare",
            Who::Node(WireEncoding::Json) => "json",
            Who::Node(WireEncoding::Cbor) => "cbor",
            Who::RustEcho | Who::Rust(..) => return None,
        };
        let over = match self.over {
            Over::Http => "http",
            Over::Socket => "ws",
        };
        Some(format!("{what}/{}/{over}", self.shape.arg()))
    }
}

/// Every row, in the order they run and print.
fn rows() -> Vec<Row> {
    let row = |who, over, shape| Row { who, over, shape };
    let echo_shapes = [Shape::Sequential, Shape::Actors];
    // Over one socket, the calls in flight share it, so they reach one actor.
    let socket_shapes = [Shape::Sequential, Shape::OneActor];
    let encodings = [WireEncoding::Bare, WireEncoding::Json];
    let mut rows = Vec::new();
    for over in [Over::Http, Over::Socket] {
        rows.extend(echo_shapes.map(|shape| row(Who::RustEcho, over, shape)));
        for encoding in encodings {
            match over {
                Over::Http => {
                    for call in [Call::Increment, Call::Get] {
                        rows.extend(Shape::ALL.map(|s| row(Who::Rust(encoding, call), over, s)));
                    }
                }
                Over::Socket => rows.extend(
                    socket_shapes.map(|s| row(Who::Rust(encoding, Call::Increment), over, s)),
                ),
            }
        }
    }
    for over in [Over::Http, Over::Socket] {
        rows.extend(echo_shapes.map(|shape| row(Who::NodeEcho, over, shape)));
        // The npm client only on 64 actors when 64 are in flight over HTTP: a Node round
        // trip costs several of ours, so at its rate the server's side is not what
        // limits it.
        let shapes = match over {
            Over::Http => echo_shapes,
            Over::Socket => socket_shapes,
        };
        for encoding in encodings {
            rows.extend(shapes.map(|shape| row(Who::Node(encoding), over, shape)));
        }
    }
    rows
}

/// Requests per Node row: a quarter of the Rust rows', as a Node round trip costs
/// several of ours and the section is to stay under a minute.
fn node_requests(n: u64) -> u64 {
    (n / 4).max(1)
}

/// Requests made before the clock starts, per task: connections opened, buffers grown,
/// the server's handle cache filled.
fn warmup(each: u64) -> u64 {
    (each / 10).clamp(10, 2_000)
}

/// Runs `calls.len()` tasks, each making `each` requests with its own `call`, one after
/// another, after its warm-up; the clock runs from the moment all are released until the
/// last one finishes.
async fn in_flight<F, Fut>(calls: Vec<F>, each: u64) -> BenchResult<Measured>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = BenchResult<()>> + Send,
{
    let tasks = calls.len();
    let (ready, go) = (
        Arc::new(Barrier::new(tasks + 1)),
        Arc::new(Barrier::new(tasks + 1)),
    );
    let mut joins = Vec::with_capacity(tasks);
    for call in calls {
        let (ready, go) = (ready.clone(), go.clone());
        joins.push(tokio::spawn(async move {
            for _ in 0..warmup(each) {
                call().await?;
            }
            ready.wait().await;
            go.wait().await;
            for _ in 0..each {
                call().await?;
            }
            BenchResult::Ok(())
        }));
    }
    ready.wait().await;
    let probe = Probe::start(&ALLOC);
    go.wait().await;
    for join in joins {
        join.await??;
    }
    Ok(probe.finish(each * tasks as u64))
}

/// An axum server on `127.0.0.1:0`, served as `Registry::serve` serves: `POST /echo`
/// answers the request's body, `GET /ws` is a WebSocket that sends each message back.
/// Its address (`host:port`) and what stops it.
async fn echo_server() -> BenchResult<(String, oneshot::Sender<()>, tokio::task::JoinHandle<()>)> {
    use axum::extract::ws::{Message, WebSocketUpgrade};
    let app = axum::Router::new()
        .route(
            "/echo",
            axum::routing::post(|body: axum::body::Bytes| async move { body }),
        )
        .route(
            "/ws",
            axum::routing::get(|upgrade: WebSocketUpgrade| async move {
                upgrade.on_upgrade(|mut socket| async move {
                    while let Some(Ok(message)) = socket.recv().await {
                        match message {
                            Message::Binary(_) | Message::Text(_) => {
                                if socket.send(message).await.is_err() {
                                    break;
                                }
                            }
                            Message::Close(_) => break,
                            Message::Ping(_) | Message::Pong(_) => {}
                        }
                    }
                })
            }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let address = listener.local_addr()?.to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = served {
            eprintln!("the echo server stopped with an error: {e}");
        }
    });
    Ok((address, stop, task))
}

/// The HTTP client of the echo rows, built as `Client::remote_with` builds its own:
/// reqwest's defaults (HTTP/1.1 keep-alive on plain HTTP, a pool per host) with a
/// 10 s connect timeout.
fn http_client() -> BenchResult<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()?)
}

/// One WebSocket to the echo's `/ws`, shared by every task of a row as our connection
/// is: a call goes to the one task that owns the socket, which sends it and hands each
/// answer to the oldest call waiting (the echo answers in order).
#[derive(Clone)]
struct EchoSocket(mpsc::Sender<oneshot::Sender<usize>>);

impl EchoSocket {
    async fn open(address: &str) -> BenchResult<Self> {
        let (mut socket, _) =
            tokio_tungstenite::connect_async(format!("ws://{address}/ws")).await?;
        let (calls, mut asked) = mpsc::channel::<oneshot::Sender<usize>>(IN_FLIGHT);
        tokio::spawn(async move {
            let mut waiting = VecDeque::with_capacity(IN_FLIGHT);
            loop {
                tokio::select! {
                    call = asked.recv() => {
                        let Some(reply) = call else { break };
                        waiting.push_back(reply);
                        if socket.send(Message::binary(ECHO_BODY)).await.is_err() {
                            break;
                        }
                    }
                    answer = socket.next() => match answer {
                        Some(Ok(Message::Binary(body))) => {
                            if let Some(reply) = waiting.pop_front() {
                                let _ = reply.send(body.len());
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => break,
                    },
                }
            }
        });
        Ok(Self(calls))
    }

    async fn call(&self) -> BenchResult<()> {
        let (reply, answer) = oneshot::channel();
        self.0
            .send(reply)
            .await
            .map_err(|_| "the echo socket closed")?;
        if answer.await.map_err(|_| "the echo socket closed")? != ECHO_BODY.len() {
            return Err("the echo answered another body".into());
        }
        Ok(())
    }
}

/// The echo of our client's rows: reqwest posting [`ECHO_BODY`], or one socket sending
/// it, `n` requests in the row's shape.
fn rust_echo(over: Over, shape: Shape, n: u64) -> BenchResult<Measured> {
    runtime()?.block_on(async move {
        let (address, stop, server) = echo_server().await?;
        let each = (n / shape.tasks() as u64).max(1);
        let measured = match over {
            Over::Http => {
                let http = http_client()?;
                let url = format!("http://{address}/echo");
                let calls = (0..shape.tasks())
                    .map(|_| {
                        let (http, url) = (http.clone(), url.clone());
                        move || {
                            let request = http.post(&url).body(ECHO_BODY);
                            async move {
                                let body =
                                    request.send().await?.error_for_status()?.bytes().await?;
                                if body.len() != ECHO_BODY.len() {
                                    return Err("the echo answered another body".into());
                                }
                                Ok(())
                            }
                        }
                    })
                    .collect();
                in_flight(calls, each).await
            }
            Over::Socket => {
                let socket = EchoSocket::open(&address).await?;
                let calls = (0..shape.tasks())
                    .map(|_| {
                        let socket = socket.clone();
                        move || {
                            let socket = socket.clone();
                            async move { socket.call().await }
                        }
                    })
                    .collect();
                in_flight(calls, each).await
            }
        };
        let _ = stop.send(());
        server.await?;
        measured
    })
}

/// Our remote client in `encoding` calling `call` on counters of a memory registry
/// served on `127.0.0.1:0`, `n` requests in the row's shape: over HTTP, or over one
/// `connect()` that every task shares.
fn rust_remote(
    encoding: WireEncoding,
    call: Call,
    over: Over,
    shape: Shape,
    n: u64,
) -> BenchResult<Measured> {
    runtime()?.block_on(async move {
        let registry = registry::Registry::builder().memory().build().await?;
        let server = registry
            .serve(ServerOptions::default().address(([127, 0, 0, 1], 0)))
            .await?;
        let client = Client::remote_with(RemoteOptions::new(server.endpoint()).encoding(encoding));
        let actors = match shape {
            Shape::Actors => IN_FLIGHT,
            Shape::Sequential | Shape::OneActor => 1,
        };
        let mut handles: Vec<CounterHandle> = Vec::with_capacity(actors);
        for i in 0..actors {
            let counter = Counter::get_or_create(&client, [format!("network-{i}")]).await?;
            handles.push(match over {
                Over::Http => counter,
                Over::Socket => CounterHandle::from(counter.connect().await?),
            });
        }
        let calls = (0..shape.tasks())
            .map(|task| {
                let counter = handles[task % actors].clone();
                move || {
                    let counter = counter.clone();
                    async move {
                        black_box(match call {
                            Call::Increment => counter.increment(1).await?,
                            Call::Get => counter.get().await?,
                        });
                        Ok(())
                    }
                }
            })
            .collect();
        let measured = in_flight(calls, (n / shape.tasks() as u64).max(1)).await;
        drop(handles);
        server.shutdown().await;
        registry.shutdown().await;
        measured
    })
}

/// What the Node script prints: one entry per row it ran.
#[derive(Deserialize)]
struct NodeRows {
    rows: Vec<NodeRow>,
}

#[derive(Deserialize)]
struct NodeRow {
    /// The row, as [`Row::node_arg`] names it.
    row: String,
    /// Requests timed.
    requests: u64,
    /// Wall time of the timed requests, in seconds.
    seconds: f64,
}

/// `conformance/`, where the npm client is installed.
fn conformance_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance")
}

/// Runs `benches/node/http-bench.mjs` for `rows` against an echo and a memory registry
/// served in this process: the timings it printed, by row. `None` when Node or the npm
/// client is not installed (the rows are then left out, with a message).
fn node_rows(rows: &[Row], n: u64) -> BenchResult<Option<Vec<(Row, Measured)>>> {
    let dir = conformance_dir();
    if !dir.join("node_modules/rivetkit/package.json").exists() {
        progress!(
            "network: no npm client in {} (`npm ci` there): the Node rows are left out",
            dir.display()
        );
        return Ok(None);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("node/http-bench.mjs");
    let args: Vec<String> = rows.iter().filter_map(Row::node_arg).collect();
    let output = runtime()?.block_on(async move {
        let registry = registry::Registry::builder().memory().build().await?;
        let server = registry
            .serve(ServerOptions::default().address(([127, 0, 0, 1], 0)))
            .await?;
        let (echo_address, stop, echo) = echo_server().await?;
        let endpoint = server.endpoint();
        let output = tokio::task::spawn_blocking(move || {
            Command::new("node")
                .arg(&script)
                .arg(&dir)
                .arg(&endpoint)
                .arg(&echo_address)
                .arg(n.to_string())
                .arg(IN_FLIGHT.to_string())
                .args(&args)
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
        })
        .await?;
        let _ = stop.send(());
        echo.await?;
        server.shutdown().await;
        registry.shutdown().await;
        BenchResult::Ok(output)
    });
    let output = match output? {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            progress!("network: `node` is not installed: the Node rows are left out");
            return Ok(None);
        }
        spawned => spawned?,
    };
    if !output.status.success() {
        return Err(format!(
            "the Node script failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stdout)
        )
        .into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rfind(|l| l.starts_with('{'))
        .ok_or_else(|| format!("the Node script printed no JSON: {stdout}"))?;
    let printed: NodeRows = serde_json::from_str(line)?;
    let mut measured = Vec::new();
    for row in rows {
        let arg = row.node_arg();
        let Some(got) = printed.rows.iter().find(|r| Some(&r.row) == arg.as_ref()) else {
            return Err(format!("the Node script did not run {arg:?}").into());
        };
        measured.push((
            *row,
            Measured {
                ops: got.requests,
                elapsed: Duration::from_secs_f64(got.seconds),
                ..Measured::default()
            },
        ));
    }
    Ok(Some(measured))
}

pub fn run(config: &Config) -> BenchResult<Vec<Goal>> {
    let n = config.requests.max(1);
    let selected: Vec<Row> = rows()
        .into_iter()
        .filter(|row| config.includes(&row.name()))
        .collect();
    // Every row `rounds` times, round-robin (the echo beside ours in each round), and
    // the median round of each: this machine's speed drifts within a run.
    let rust: Vec<Row> = selected
        .iter()
        .filter(|r| r.node_arg().is_none())
        .copied()
        .collect();
    let node: Vec<Row> = selected
        .iter()
        .filter(|r| r.node_arg().is_some())
        .copied()
        .collect();
    let mut rounds: Vec<(Row, Vec<Measured>)> = rust
        .iter()
        .chain(&node)
        .map(|row| (*row, Vec::new()))
        .collect();
    let mut keep = |row: Row, measured: Measured| {
        if let Some((_, taken)) = rounds.iter_mut().find(|(r, _)| *r == row) {
            taken.push(measured);
        }
    };
    for round in 1..=config.rounds {
        for row in &rust {
            let measured = match row.who {
                Who::RustEcho => rust_echo(row.over, row.shape, n)?,
                Who::Rust(encoding, call) => rust_remote(encoding, call, row.over, row.shape, n)?,
                Who::NodeEcho | Who::Node(_) => unreachable!("Node rows run in node_rows"),
            };
            progress!(
                "network: round {round}: {:<56} {:>8.0}/s",
                row.name(),
                measured.per_second()
            );
            keep(*row, measured);
        }
        if !node.is_empty()
            && let Some(measured) = node_rows(&node, node_requests(n))?
        {
            for (row, m) in measured {
                progress!(
                    "network: round {round}: {:<56} {:>8.0}/s",
                    row.name(),
                    m.per_second()
                );
                keep(row, m);
            }
        }
    }
    let results: Vec<(Row, Measured)> = rounds
        .into_iter()
        .filter(|(_, taken)| !taken.is_empty())
        .map(|(row, mut taken)| (row, Measured::median_of(&mut taken).clone()))
        .collect();

    let rate_of = |row: Row| {
        results
            .iter()
            .find(|(r, _)| *r == row)
            .map(|(_, m)| m.per_second())
    };
    let mut table = Table::new([
        "what",
        "requests",
        "requests/s",
        "mean latency",
        "x of echo (rate / echo rate)",
        "worker CPU per request",
    ]);
    let mut goals = Vec::new();
    for (row, m) in &results {
        let rate = m.per_second();
        let echo = rate_of(row.baseline());
        table.row([
            row.name(),
            thousands(m.ops as f64),
            thousands(rate),
            row.shape.latency(rate),
            match (row.is_echo(), echo) {
                (true, _) => "1.00x (baseline)".into(),
                (false, Some(echo)) => format!("{:.2}x", rate / echo),
                (false, None) => "-".into(),
            },
            match row.who {
                Who::RustEcho | Who::Rust(..) => format!("{:.1}µs", m.busy_ns_per_op() / 1000.0),
                // The Node process's CPU is not the runtime's.
                Who::NodeEcho | Who::Node(_) => "-".into(),
            },
        ]);
        if let (Who::Rust(WireEncoding::Bare, Call::Increment), Some(echo)) = (row.who, echo) {
            goals.push(Goal {
                what: format!("network: {}", row.name()),
                goal: format!(
                    ">= 1/{GOAL} of the echo's rate ({}/s)",
                    thousands(echo / GOAL)
                ),
                figure: format!("{}/s ({:.2}x of echo)", thousands(rate), rate / echo),
                met: rate * GOAL >= echo,
            });
        }
    }
    println!(
        "## network: remote action round trips over HTTP and over one WebSocket on loopback, beside an axum echo ({} requests per Rust row, {} per Node row, after a warm-up; median of {} rounds, round-robin; mean latency = wall time / requests when sequential, {IN_FLIGHT} / rate when {IN_FLIGHT} are in flight)\n\n{table}",
        thousands(n as f64),
        thousands(node_requests(n) as f64),
        config.rounds
    );
    connection_memory(config)?;
    Ok(goals)
}

/// Opens a WebSocket with tokio-tungstenite alone (no client of ours) to `url`, asking
/// for `protocols` when given, and reads its first message: once that arrived, the
/// server's side of the connection is set up. For the echo, which speaks only when
/// spoken to, `hello` is sent first.
async fn raw_socket(
    url: &str,
    protocols: Option<&str>,
    hello: Option<&'static [u8]>,
) -> BenchResult<impl Send + 'static> {
    let mut request = url.into_client_request()?;
    if let Some(protocols) = protocols {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocols.parse()?);
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    if let Some(hello) = hello {
        socket.send(Message::binary(hello)).await?;
    }
    match socket.next().await {
        Some(Ok(Message::Binary(_) | Message::Text(_))) => Ok(socket),
        other => Err(format!("{url} did not answer the socket's opening: {other:?}").into()),
    }
}

/// Opens `n` connections with `open` (and one before counting, so lazily built state
/// is not counted), waits for the tasks they started to settle, and returns the growth
/// of the live heap per connection; the connections are dropped after.
async fn bytes_per_connection<F, Fut, C>(n: usize, open: F) -> BenchResult<f64>
where
    F: Fn() -> Fut,
    Fut: Future<Output = BenchResult<C>>,
{
    let first = open().await?;
    settle().await;
    let before: AllocSnapshot = ALLOC.snapshot();
    let mut open_ones = Vec::with_capacity(n);
    for _ in 0..n {
        open_ones.push(open().await?);
    }
    settle().await;
    let per = per_actor(ALLOC.snapshot(), before, n);
    drop(open_ones);
    drop(first);
    settle().await;
    Ok(per)
}

/// What one open connection holds, by contestant.
#[derive(Clone, Copy, Debug)]
enum Holder {
    /// A tungstenite socket to the echo's `/ws`, both ends in this process.
    Echo,
    /// A tungstenite socket to our server's `/connect` on one actor, both ends here.
    Server,
    /// Our remote client's `connect()` on one actor, both ends here.
    Remote,
    /// `connect()` on an in-process handle: the actor's side only, no socket.
    InProcess,
}

impl Holder {
    const ALL: [Holder; 4] = [Self::Echo, Self::Server, Self::Remote, Self::InProcess];

    fn label(self) -> &'static str {
        match self {
            Self::Echo => "axum WebSocket echo + tungstenite client (both ends)",
            Self::Server => "our server's `/connect`, BARE + tungstenite client (both ends)",
            Self::Remote => "our server + our remote client's `connect()`, BARE (both ends)",
            Self::InProcess => "in-process `connect()` (the actor's side; no socket)",
        }
    }

    /// Live heap bytes per open connection, over `n` connections to one actor.
    fn measure(self, n: usize) -> BenchResult<f64> {
        runtime()?.block_on(async move {
            ALLOC.start();
            let measured = match self {
                Self::Echo => {
                    let (address, stop, server) = echo_server().await?;
                    let url = format!("ws://{address}/ws");
                    let per =
                        bytes_per_connection(n, || raw_socket(&url, None, Some(ECHO_BODY))).await;
                    let _ = stop.send(());
                    server.await?;
                    per
                }
                Self::Server | Self::Remote | Self::InProcess => {
                    let registry = registry::Registry::builder().memory().build().await?;
                    let server = registry
                        .serve(ServerOptions::default().address(([127, 0, 0, 1], 0)))
                        .await?;
                    let local = registry.client().get_or_create::<Counter>("memory").await?;
                    let endpoint = server.endpoint();
                    let per = match self {
                        Self::Server => {
                            let url = format!(
                                "{}/gateway/{}/connect",
                                endpoint.replacen("http://", "ws://", 1),
                                local.id()
                            );
                            let protocols = Some("rivet, rivet_encoding.bare");
                            bytes_per_connection(n, || raw_socket(&url, protocols, None)).await
                        }
                        Self::Remote => {
                            let client = Client::remote_with(
                                RemoteOptions::new(&endpoint).encoding(WireEncoding::Bare),
                            );
                            let remote = Counter::get_or_create(&client, ["memory"]).await?;
                            bytes_per_connection(n, || async { Ok(remote.connect().await?) }).await
                        }
                        _ => bytes_per_connection(n, || async { Ok(local.connect().await?) }).await,
                    };
                    server.shutdown().await;
                    registry.shutdown().await;
                    per
                }
            };
            ALLOC.stop();
            measured
        })
    }
}

/// The section's second table: live heap bytes per open connection.
fn connection_memory(config: &Config) -> BenchResult<()> {
    let n = config.connections.max(1);
    let mut measured = Vec::new();
    for holder in Holder::ALL {
        if !config.includes(holder.label()) {
            continue;
        }
        let per = holder.measure(n)?;
        progress!("network: {:<64} {per:>8.0} B", holder.label());
        measured.push((holder, per));
    }
    let echo = measured
        .iter()
        .find(|(h, _)| matches!(h, Holder::Echo))
        .map(|&(_, per)| per);
    let mut table = Table::new(["what", "bytes per open connection", "beyond the echo's"]);
    for (holder, per) in measured {
        table.row([
            holder.label().to_string(),
            thousands(per),
            match (holder, echo) {
                (Holder::Server | Holder::Remote, Some(echo)) => thousands(per - echo),
                _ => "-".into(),
            },
        ]);
    }
    println!(
        "## network: live heap bytes per open connection ({n} connections to one actor, after a first one; both ends in this process unless said)\n\n{table}"
    );
    Ok(())
}
