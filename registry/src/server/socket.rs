//! `/gateway/{actor}/connect`: RivetKit's WebSocket. The connection opens on the actor
//! (its `#[on_before_connect]` reads the params and may refuse), the server says `Init`,
//! then answers each `ActionRequest` with an `ActionResponse` or an `Error` naming the
//! request, takes `SubscriptionRequest`s (one for an event the actor does not declare gets
//! an `Error` that leaves the socket open), and writes the events the actor sends. Pings
//! find dead clients; outgoing messages are bounded. When the socket ends, the
//! connection closes on the actor (`#[on_disconnect]`); when the actor closes it, the
//! socket closes with the reason.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use actor::connection::{self, ConnOp, Connection, Event, EventReceiver};
use actor::protocol::{ToClient, ToServer, WireEncoding};
use actor::{ActorError, ActorHandle, codes};
use axum::extract::FromRequestParts;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::stream::FuturesUnordered;
use futures_util::{Sink, SinkExt, StreamExt};
use percent_encoding::percent_decode_str;
use tokio::time::Instant;

use super::Shared;
use super::gateway::Target;
use super::reply::{Call, Failure};

/// What a socket reads into at a time. tungstenite's default, 128 KiB, is held by every
/// open socket; messages here are small, and a larger one is read in several reads.
const READ_BUFFER: usize = 4 * 1024;
/// How often the server pings a connected client.
const PING_EVERY: Duration = Duration::from_secs(15);
/// How long a client may stay silent (no message, no pong) before it counts as gone.
const SILENCE: Duration = Duration::from_secs(45);
/// Messages that may wait to be written to one client; a client that reads slower than
/// that is disconnected instead of holding memory.
const OUTBOX: usize = 256;
/// Actions one connection may have running at once; its further requests wait unread.
const IN_FLIGHT: usize = 64;
/// How long a closing socket's last messages may take to reach the client.
const DRAIN: Duration = Duration::from_secs(5);

/// What the client asked for in `Sec-WebSocket-Protocol`: the encoding
/// (`rivet_encoding.<name>`), and its connection params (`rivet_conn_params.<JSON,
/// percent-encoded>`).
struct Offered {
    encoding: Result<WireEncoding, ActorError>,
    params: Option<String>,
}

fn offered(parts: &Parts) -> Offered {
    let listed: Vec<&str> = parts
        .headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let named = listed
        .iter()
        .find_map(|p| p.strip_prefix("rivet_encoding."));
    let params = listed
        .iter()
        .find_map(|p| p.strip_prefix("rivet_conn_params."))
        .map(|p| percent_decode_str(p).decode_utf8_lossy().into_owned());
    Offered {
        encoding: WireEncoding::from_name(named),
        params,
    }
}

/// Upgrades the request, then serves the socket: the actor is found after the upgrade,
/// so a failure reaches the client as RivetKit's `Error` and a close reason
/// `group.code` it can act on.
pub(crate) async fn connect(
    shared: Arc<Shared>,
    mut parts: Parts,
    target: Target,
    call: Call,
) -> Result<Response, Failure> {
    let Offered { encoding, params } = offered(&parts);
    let fail = |error| Failure {
        error,
        encoding: WireEncoding::Json,
        call: call.clone(),
    };
    let encoding = encoding.map_err(fail)?;
    let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &())
        .await
        .map_err(|rejection| {
            fail(ActorError::of(
                codes::INVALID_REQUEST,
                format!("`/connect` is a WebSocket: {rejection}"),
            ))
        })?;
    let max = shared.options.max_incoming;
    Ok(upgrade
        .protocols(["rivet"])
        .read_buffer_size(READ_BUFFER)
        .max_message_size(max)
        .max_frame_size(max)
        .max_write_buffer_size(shared.options.max_outgoing.saturating_mul(4))
        .on_upgrade(move |socket| async move {
            let found = shared.handles.resolve(&shared, &target).await;
            let params = params.map(String::into_bytes);
            serve(
                shared,
                socket,
                encoding,
                found.map(|(handle, _)| handle),
                params,
                call,
            )
            .await;
        })
        .into_response())
}

/// A message for the client, as a frame of its encoding.
fn frame(encoding: WireEncoding, message: &ToClient, max: usize) -> Message {
    let bytes = encoding.encode_to_client(message).and_then(|bytes| {
        if bytes.len() > max {
            Err(ActorError::of(
                codes::OUTGOING_TOO_LONG,
                format!(
                    "the message encodes to {} bytes, more than the {max} this server sends",
                    bytes.len()
                ),
            )
            .with_metadata(serde_json::json!({ "bytes": bytes.len(), "max": max })))
        } else {
            Ok(bytes)
        }
    });
    let bytes = bytes.unwrap_or_else(|error| {
        let action_id = match message {
            ToClient::ActionResponse { id, .. } => Some(*id),
            ToClient::Error { action_id, .. } => *action_id,
            _ => None,
        };
        encoding
            .encode_to_client(&ToClient::Error { error, action_id })
            .unwrap_or_default()
    });
    if encoding.is_binary() {
        Message::Binary(bytes.into())
    } else {
        Message::Text(String::from_utf8_lossy(&bytes).into_owned().into())
    }
}

/// The close RivetKit's client reads: reason `group.code`.
fn close_for(error: &ActorError, code: u16) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: format!("{}.{}", error.group(), error.code()).into(),
    }))
}

/// The close code for a connection the actor closed: going away when it stopped (the
/// client reconnects), policy for a client too slow, internal otherwise.
fn close_code(error: &ActorError) -> u16 {
    if error.is(codes::STOPPED) || error.is(codes::DESTROYED) {
        1001
    } else if error.is(codes::OVERLOADED) {
        1008
    } else {
        1011
    }
}

/// Opens the connection on the actor: the error of a missing actor, or of an
/// `#[on_before_connect]` that refused the params.
async fn open(
    found: Result<ActorHandle, ActorError>,
    encoding: WireEncoding,
    params: Option<Vec<u8>>,
) -> Result<(ActorHandle, Connection, EventReceiver), ActorError> {
    let handle = found?;
    let (conn, events) = Connection::open(encoding.values(), OUTBOX);
    let open = actor::route::Target::Connection(ConnOp::Open(conn.clone()));
    handle.send(open, connection::params(params)).await?;
    Ok((handle, conn, events))
}

/// Messages waiting to be written to the client, written by the connection's own task
/// (no writer task: an answer computed in the loop goes out without a hop). At most
/// [`OUTBOX`] wait; a client that reads slower is disconnected.
struct Outbox {
    queue: VecDeque<Message>,
    /// Sent into the sink and not yet flushed.
    unflushed: bool,
}

impl Outbox {
    fn new() -> Self {
        Self {
            queue: VecDeque::new(),
            unflushed: false,
        }
    }

    /// Queues `message`. The loop keeps the queue within [`OUTBOX`]: it takes a request
    /// or an event only while [`Outbox::has_room`], and pings only an empty queue.
    fn push(&mut self, message: Message) {
        self.queue.push_back(message);
        debug_assert!(
            self.queue.len() <= OUTBOX,
            "the loop took more than the outbox holds"
        );
    }

    /// Whether one more request or event may be taken: its message, and the answers of
    /// every call that may be running, still fit in [`OUTBOX`].
    fn has_room(&self) -> bool {
        self.queue.len() + IN_FLIGHT < OUTBOX
    }

    /// Queues the close, past the bound: it is the last message.
    fn close(&mut self, message: Message) {
        self.queue.push_back(message);
    }

    /// Whether there is something to write or flush.
    fn busy(&self) -> bool {
        !self.queue.is_empty() || self.unflushed
    }

    /// Writes what waits and flushes it. A message leaves the queue only once the sink
    /// took it, so dropping this future between polls loses nothing.
    fn poll_write<S>(&mut self, sink: &mut S, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>>
    where
        S: Sink<Message> + Unpin,
    {
        while !self.queue.is_empty() {
            ready!(sink.poll_ready_unpin(cx))?;
            if let Some(message) = self.queue.pop_front() {
                sink.start_send_unpin(message)?;
                self.unflushed = true;
            }
        }
        if self.unflushed {
            ready!(sink.poll_flush_unpin(cx))?;
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }
}

/// One action over the connection, run by the connection's task (in place on the actor
/// when it is idle, so a sequential caller's call costs no task hop), and its answer.
async fn answer(
    handle: &ActorHandle,
    conn: &Connection,
    values: actor::Encoding,
    id: u64,
    name: String,
    args: Vec<u8>,
) -> ToClient {
    let target = actor::route::Target::Connection(ConnOp::Action {
        conn: conn.clone(),
        name: name.clone().into(),
    });
    match handle.send_bytes(target, values, args).await {
        Ok(output) => ToClient::ActionResponse { id, output },
        Err(error) => {
            if codes::is_runtime(error.group())
                && codes::http_status((error.group(), error.code())) >= 500
            {
                tracing::error!(actor = handle.kind(), id = %handle.id(), action = name, error = %error, "an action over a connection failed");
            }
            ToClient::Error {
                error,
                action_id: Some(id),
            }
        }
    }
}

/// Serves an opened socket: one task reads the client's messages, runs their actions
/// (up to [`IN_FLIGHT`] at once, polled by this task), writes answers and events, and
/// pings. A client that reads slower than its messages come is disconnected.
async fn serve(
    shared: Arc<Shared>,
    socket: WebSocket,
    encoding: WireEncoding,
    found: Result<ActorHandle, ActorError>,
    params: Option<Vec<u8>>,
    call: Call,
) {
    let max_out = shared.options.max_outgoing;
    let (mut sink, mut stream) = socket.split();
    let (handle, conn, mut events) = match open(found, encoding, params).await {
        Ok(opened) => opened,
        Err(error) => {
            tracing::debug!(instance = call.instance.as_deref().unwrap_or("-"), error = %error, "a connection was refused");
            let refused = ToClient::Error {
                error: error.clone(),
                action_id: None,
            };
            let _ = sink.send(frame(encoding, &refused, max_out)).await;
            let _ = sink.send(close_for(&error, 1011)).await;
            return;
        }
    };
    let init = ToClient::Init {
        actor_id: handle.id().to_string(),
        connection_id: conn.id().to_string(),
    };
    if sink.send(frame(encoding, &init, max_out)).await.is_err() {
        close(&handle, &conn).await;
        return;
    }
    let mut outbox = Outbox::new();
    let mut calls = FuturesUnordered::new();
    let mut closing = shared.closing.subscribe();
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut heard = Instant::now();
    let values = encoding.values();
    let closed = conn.closed();
    tokio::pin!(closed);
    loop {
        let received = tokio::select! {
            biased;
            Some(answer) = calls.next(), if !calls.is_empty() => {
                outbox.push(frame(encoding, &answer, max_out));
                continue;
            }
            event = events.recv(), if outbox.has_room() => {
                let Some(Event { name, args }) = event else {
                    // The actor closed the connection (it stopped, or the client reads
                    // too slowly).
                    let error = conn.closed_reason().unwrap_or_else(|| ActorError::stopped("the connection closed"));
                    tracing::debug!(actor = handle.kind(), id = %handle.id(), error = %error, "the actor closed a connection");
                    outbox.close(close_for(&error, close_code(&error)));
                    break;
                };
                let event = ToClient::Event { name: name.into_owned(), args };
                outbox.push(frame(encoding, &event, max_out));
                continue;
            }
            // With the outbox full the events wait in the connection's channel; when that
            // fills too, the actor closes the connection and the socket closes with it.
            error = &mut closed, if !outbox.has_room() => {
                tracing::debug!(actor = handle.kind(), id = %handle.id(), error = %error, "the actor closed a connection");
                outbox.close(close_for(&error, close_code(&error)));
                break;
            }
            // Read only while the answers of every call that may run fit the outbox:
            // a client that sends faster than it reads is slowed, not disconnected.
            received = stream.next(), if calls.len() < IN_FLIGHT && outbox.has_room() => received,
            // Written when nothing is left to read or run, so answers that come together
            // go out in one write.
            written = poll_fn(|cx| outbox.poll_write(&mut sink, cx)), if outbox.busy() => {
                if written.is_err() {
                    break;
                }
                continue;
            }
            _ = ping.tick() => {
                if heard.elapsed() >= SILENCE {
                    tracing::debug!(actor = handle.kind(), id = %handle.id(), "a client went silent; closing its connection");
                    break;
                }
                // A client that has not taken what waits is not pinged on top of it.
                if outbox.queue.is_empty() {
                    outbox.push(Message::Ping(Default::default()));
                }
                continue;
            }
            _ = closing.changed() => {
                // RivetKit's client reconnects on `ws.going_away`.
                outbox.close(Message::Close(Some(CloseFrame { code: 1001, reason: "ws.going_away".into() })));
                break;
            }
        };
        heard = Instant::now();
        let bytes = match received {
            Some(Ok(Message::Text(text))) => text.as_bytes().to_vec(),
            Some(Ok(Message::Binary(bytes))) => bytes.to_vec(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => break,
            Some(Err(err)) => {
                // A message over the limit is said so; a broken socket just ends.
                let too_long =
                    std::iter::successors(Some(&err as &(dyn std::error::Error + 'static)), |e| {
                        e.source()
                    })
                    .any(|e| {
                        e.downcast_ref::<tungstenite::Error>()
                            .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
                    });
                if too_long {
                    let error = ActorError::of(
                        codes::INCOMING_TOO_LONG,
                        format!(
                            "a message is longer than the {} bytes this server accepts",
                            shared.options.max_incoming
                        ),
                    );
                    outbox.close(close_for(&error, 1009));
                }
                break;
            }
        };
        let request = match encoding.decode_to_server(&bytes) {
            Ok(request) => request,
            Err(error) => {
                // A malformed message is answered, not fatal: the socket stays.
                let refused = ToClient::Error {
                    error,
                    action_id: None,
                };
                outbox.push(frame(encoding, &refused, max_out));
                continue;
            }
        };
        match request {
            ToServer::ActionRequest { id, name, args } => {
                calls.push(answer(&handle, &conn, values, id, name, args));
            }
            ToServer::SubscriptionRequest {
                event_name,
                subscribe,
            } => {
                let target = actor::route::Target::Connection(ConnOp::Subscribe {
                    conn: conn.clone(),
                    event: event_name,
                    subscribe,
                });
                // A refused subscription is answered; the socket stays.
                if let Err(error) = handle.send(target, actor::Payload::local(())).await {
                    let refused = ToClient::Error {
                        error,
                        action_id: None,
                    };
                    outbox.push(frame(encoding, &refused, max_out));
                }
            }
        }
    }
    // Calls still running are dropped: one the actor took runs to its end there, its
    // answer unsent (the client's own connection said it may or may not have run).
    drop(calls);
    // What is queued goes out, the close last, unless the client takes longer than
    // `DRAIN` to read it.
    let drained = tokio::time::timeout(DRAIN, async {
        let _ = poll_fn(|cx| outbox.poll_write(&mut sink, cx)).await;
        let _ = sink.close().await;
    });
    if drained.await.is_err() {
        tracing::debug!(actor = handle.kind(), id = %handle.id(), "a client did not read its last messages within {DRAIN:?}");
    }
    close(&handle, &conn).await;
}

/// Closes the connection on the actor: its `#[on_disconnect]` runs there, once (also for
/// a connection the actor closed itself; one closed because the actor stopped had it
/// run already).
async fn close(handle: &ActorHandle, conn: &Connection) {
    let close = actor::route::Target::Connection(ConnOp::Close(conn.clone()));
    if let Err(err) = handle.send(close, actor::Payload::local(())).await {
        tracing::debug!(actor = handle.kind(), id = %handle.id(), error = %err, "closing a connection failed");
    }
}
