//! A connection to one actor: RivetKit's WebSocket (`/gateway/{id}/connect`), carrying
//! action calls by id and the events the handle subscribed to. One task owns the socket;
//! it pings the server, counts it gone after [`SILENCE`] without a word, reconnects with
//! backoff, and subscribes again on each new socket.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::{FutureExt, SinkExt, StreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::connection::{Event, RawEvents, Subscribers};
use crate::error::{ActorError, codes};
use crate::handle::ActorHandle;
use crate::payload::Payload;
use crate::protocol::{ToClient, ToServer, WireEncoding};
use crate::route::{Carrier, Connected};

/// How often the connection pings the server.
const PING_EVERY: Duration = Duration::from_secs(15);
/// How long the server may stay silent before the connection counts as dead.
pub(crate) const SILENCE: Duration = Duration::from_secs(45);
/// The first wait before reconnecting; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait between two reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Calls that may wait for the connection's task.
const WAITING: usize = 1024;
/// What the socket reads into at a time: tungstenite's default is 128 KiB per socket,
/// and calls and events are small (a larger message is read in several reads).
const READ_BUFFER: usize = 4 * 1024;
/// What a `Sec-WebSocket-Protocol` token cannot hold, percent-encoded (RFC 7230 `tchar`
/// allows letters, digits and ``!#$&'*+-.^_`|~``; `%` itself is encoded).
const PROTOCOL_TOKEN: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'*')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// One action call on its way.
struct Request {
    name: String,
    args: Vec<u8>,
    reply: oneshot::Sender<Result<Vec<u8>, ActorError>>,
}

/// What a connected handle asks of the connection's task.
enum Op {
    Call(Request),
    /// A new stream of the events named `names`.
    Subscribe {
        names: &'static [&'static str],
        reply: oneshot::Sender<mpsc::Receiver<Event>>,
    },
}

/// Where the connection goes, and how.
pub(crate) struct Dial {
    /// `ws://…/gateway/{id}[@token]/connect`.
    pub(crate) url: String,
    pub(crate) encoding: WireEncoding,
    /// The connection params as JSON, if the handle gave any.
    pub(crate) params: Option<String>,
}

/// A connection over a socket: what its handle's actions and events travel by (anything
/// else through the handle the connection was opened from: see [`Connected`]).
pub(crate) struct SocketRoute {
    requests: mpsc::Sender<Op>,
    encoding: WireEncoding,
}

impl SocketRoute {
    /// Opens the connection: returns once the server's `Init` arrived, or with the error
    /// of the first attempt (a connection that worked once reconnects on its own).
    pub(crate) async fn open(dial: Dial, via: ActorHandle) -> Result<ActorHandle, ActorError> {
        let socket = attempt(&dial).await?;
        let (requests, waiting) = mpsc::channel(WAITING);
        let encoding = dial.encoding;
        tokio::spawn(run(dial, socket, waiting));
        Ok(Connected::handle(via, Self { requests, encoding }))
    }

    /// The call over the socket, its arguments and answer in the connection's encoding.
    async fn call(&self, name: &str, payload: Payload) -> Result<Payload, ActorError> {
        let values = self.encoding.values();
        let (encoding, bytes) = payload.into_encoded(values)?;
        let mut args = crate::protocol::transcode(encoding, values, bytes)?;
        if args == values.encode(&())? {
            args = values.encode::<[(); 0]>(&[])?;
        }
        let (reply, answer) = oneshot::channel();
        let request = Request {
            name: name.to_string(),
            args,
            reply,
        };
        if self.requests.send(Op::Call(request)).await.is_err() {
            return Err(lost("the connection is closed"));
        }
        let output = answer
            .await
            .unwrap_or_else(|_| Err(lost("the connection closed before the answer came")))?;
        Ok(Payload::Encoded(values, output))
    }
}

/// `client/unreachable` for a call the connection could not finish.
fn lost(why: &str) -> ActorError {
    ActorError::of(
        codes::UNREACHABLE,
        format!("{why}; the action may or may not have run"),
    )
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One attempt: the handshake, then the server's `Init` within [`SILENCE`].
async fn attempt(dial: &Dial) -> Result<Socket, ActorError> {
    let unreachable = |e: &dyn std::fmt::Display| {
        ActorError::of(
            codes::UNREACHABLE,
            format!("could not connect to {}: {e}", dial.url),
        )
    };
    let mut request = dial
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| unreachable(&e))?;
    let mut protocols = format!("rivet, rivet_encoding.{}", dial.encoding.name());
    if let Some(params) = &dial.params {
        protocols.push_str(", rivet_conn_params.");
        protocols.extend(utf8_percent_encode(params, PROTOCOL_TOKEN));
    }
    request.headers_mut().insert(
        "sec-websocket-protocol",
        protocols.parse().map_err(|e| unreachable(&e))?,
    );
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), false);
    let (mut socket, _) = tokio::time::timeout(SILENCE, connecting)
        .await
        .map_err(|e| unreachable(&e))?
        .map_err(|e| unreachable(&e))?;
    let first = tokio::time::timeout(SILENCE, socket.next())
        .await
        .map_err(|e| unreachable(&e))?;
    match first.map(|m| m.map(|m| read(dial.encoding, m))) {
        Some(Ok(Some(Ok(ToClient::Init { .. })))) => Ok(socket),
        Some(Ok(Some(Ok(ToClient::Error { error, .. })))) => Err(error),
        Some(Ok(Some(Err(error)))) => Err(error),
        other => Err(unreachable(&format_args!(
            "the server did not say Init first ({other:?})"
        ))),
    }
}

/// A message from the server, if it is one of the protocol's (not a ping, pong or close).
fn read(encoding: WireEncoding, message: Message) -> Option<Result<ToClient, ActorError>> {
    match message {
        Message::Binary(bytes) => Some(encoding.decode_to_client(&bytes)),
        Message::Text(text) => Some(encoding.decode_to_client(text.as_bytes())),
        _ => None,
    }
}

fn frame(encoding: WireEncoding, message: &ToServer) -> Result<Message, ActorError> {
    let bytes = encoding.encode_to_server(message)?;
    Ok(if encoding.is_binary() {
        Message::Binary(bytes.into())
    } else {
        Message::Text(String::from_utf8_lossy(&bytes).into_owned().into())
    })
}

/// Why a connected socket ended.
enum Ended {
    /// Every handle is gone: the connection is done.
    Dropped,
    /// The socket broke or went silent: connect again.
    Lost(String),
}

/// The connection's task: serves sockets one after another until its handles are gone.
async fn run(dial: Dial, first: Socket, mut requests: mpsc::Receiver<Op>) {
    let mut waiting = VecDeque::new();
    let mut subscribers = Subscribers::default();
    let mut next_id = 0u64;
    let mut socket = Some(first);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let Some(connected) = socket.take() else {
            // Calls made while there is no socket wait for the next one.
            let wait = tokio::time::sleep(backoff);
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    () = &mut wait => break,
                    request = requests.recv() => match request {
                        Some(Op::Call(request)) => waiting.push_back(request),
                        // Subscribed on the next socket, with the others.
                        Some(Op::Subscribe { names, reply }) => {
                            let _ = reply.send(subscribers.add(names));
                        }
                        None => return,
                    },
                }
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            match attempt(&dial).await {
                Ok(connected) => {
                    backoff = FIRST_BACKOFF;
                    socket = Some(connected);
                }
                Err(err) => tracing::debug!(url = dial.url, error = %err, "reconnecting failed"),
            }
            continue;
        };
        let mut session = Session {
            requests: &mut requests,
            waiting: &mut waiting,
            subscribers: &mut subscribers,
            next_id: &mut next_id,
        };
        match serve(&dial, connected, &mut session).await {
            Ended::Dropped => return,
            Ended::Lost(why) => {
                tracing::debug!(url = dial.url, why, "the connection was lost; reconnecting");
            }
        }
    }
}

/// What the connection's task keeps from one socket to the next.
struct Session<'a> {
    requests: &'a mut mpsc::Receiver<Op>,
    waiting: &'a mut VecDeque<Request>,
    subscribers: &'a mut Subscribers,
    next_id: &'a mut u64,
}

/// Serves one socket: subscribes to the events the streams want, sends the waiting
/// calls, then each new one, and answers them as their responses come.
async fn serve(dial: &Dial, socket: Socket, session: &mut Session<'_>) -> Ended {
    let Session {
        requests,
        waiting,
        subscribers,
        next_id,
    } = session;
    let encoding = dial.encoding;
    let (mut sink, mut stream) = socket.split();
    let names: Vec<&str> = subscribers.names().collect();
    if let Err(why) = subscribe(&mut sink, encoding, &names).await {
        return Ended::Lost(why);
    }
    let mut pending: HashMap<u64, oneshot::Sender<Result<Vec<u8>, ActorError>>> = HashMap::new();
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut heard = Instant::now();
    let ended = 'socket: loop {
        while let Some(request) = waiting.pop_front() {
            let id = **next_id;
            **next_id += 1;
            let message = ToServer::ActionRequest {
                id,
                name: request.name.clone(),
                args: request.args.clone(),
            };
            match frame(encoding, &message) {
                Err(err) => {
                    let _ = request.reply.send(Err(err));
                }
                Ok(message) => {
                    if sink.send(message).await.is_err() {
                        // Not sent: it waits for the next socket.
                        waiting.push_front(request);
                        break 'socket Ended::Lost("the socket would not take a message".into());
                    }
                    pending.insert(id, request.reply);
                }
            }
        }
        tokio::select! {
            request = requests.recv() => match request {
                Some(Op::Call(request)) => waiting.push_back(request),
                Some(Op::Subscribe { names, reply }) => {
                    let known: Vec<&str> = subscribers.names().collect();
                    let new: Vec<&str> = names.iter().copied().filter(|n| !known.contains(n)).collect();
                    let _ = reply.send(subscribers.add(names));
                    if let Err(why) = subscribe(&mut sink, encoding, &new).await {
                        break Ended::Lost(why);
                    }
                }
                None => {
                    let _ = sink.close().await;
                    break Ended::Dropped;
                }
            },
            received = stream.next() => {
                heard = Instant::now();
                let message = match received {
                    Some(Ok(Message::Close(frame))) => {
                        let why = frame.map_or_else(String::new, |f| f.reason.to_string());
                        break Ended::Lost(format!("the server closed the socket ({why})"));
                    }
                    Some(Ok(message)) => message,
                    Some(Err(err)) => break Ended::Lost(err.to_string()),
                    None => break Ended::Lost("the socket ended".into()),
                };
                match read(encoding, message) {
                    Some(Ok(ToClient::ActionResponse { id, output })) => {
                        if let Some(reply) = pending.remove(&id) {
                            let _ = reply.send(Ok(output));
                        }
                    }
                    Some(Ok(ToClient::Error { error, action_id: Some(id) })) => {
                        if let Some(reply) = pending.remove(&id) {
                            let _ = reply.send(Err(error));
                        }
                    }
                    Some(Ok(ToClient::Error { error, action_id: None })) => {
                        tracing::warn!(url = dial.url, error = %error, "the server reported an error on the connection");
                    }
                    Some(Ok(ToClient::Event { name, args })) => {
                        subscribers.deliver(&Event { name: name.into(), args });
                    }
                    Some(Ok(ToClient::Init { .. })) | None => {}
                    Some(Err(error)) => {
                        tracing::warn!(url = dial.url, error = %error, "a message from the server could not be read");
                    }
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() >= SILENCE {
                    break Ended::Lost(format!("the server said nothing for {SILENCE:?}"));
                }
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break Ended::Lost("the socket would not take a ping".into());
                }
            }
        }
    };
    for (_, reply) in pending.drain() {
        let _ = reply.send(Err(lost("the connection was lost")));
    }
    ended
}

/// Subscribes to the events named `names`.
async fn subscribe(
    sink: &mut futures_util::stream::SplitSink<Socket, Message>,
    encoding: WireEncoding,
    names: &[&str],
) -> Result<(), String> {
    for name in names {
        let request = ToServer::SubscriptionRequest {
            event_name: (*name).to_string(),
            subscribe: true,
        };
        let message = frame(encoding, &request).map_err(|e| e.to_string())?;
        if sink.send(message).await.is_err() {
            return Err("the socket would not take a subscription".into());
        }
    }
    Ok(())
}

impl Carrier for SocketRoute {
    fn action(
        &self,
        name: Cow<'static, str>,
        payload: Payload,
    ) -> BoxFuture<'_, Result<Payload, ActorError>> {
        async move {
            // The answer comes back in the encoding the arguments came in.
            let answer_in = match &payload {
                Payload::Encoded(encoding, _) => Some(*encoding),
                Payload::Local(_) => None,
            };
            match (self.call(&name, payload).await?, answer_in) {
                (Payload::Encoded(from, bytes), Some(to)) => Ok(Payload::Encoded(
                    to,
                    crate::protocol::transcode(from, to, bytes)?,
                )),
                (answer, _) => Ok(answer),
            }
        }
        .boxed()
    }

    fn events(
        &self,
        names: &'static [&'static str],
    ) -> BoxFuture<'_, Result<RawEvents, ActorError>> {
        async move {
            let (reply, answer) = oneshot::channel();
            let closed = || lost("the connection is closed");
            self.requests
                .send(Op::Subscribe { names, reply })
                .await
                .map_err(|_| closed())?;
            let events = answer.await.map_err(|_| closed())?;
            Ok(RawEvents::new(self.encoding.values(), events))
        }
        .boxed()
    }
}
