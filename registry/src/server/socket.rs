//! `/gateway/{actor}/connect`: RivetKit's WebSocket. The connection opens on the actor
//! (its `#[on_before_connect]` reads the params and may refuse), the server says `Init`,
//! then answers each `ActionRequest` with an `ActionResponse` or an `Error` naming the
//! request, takes `SubscriptionRequest`s (one for an event the actor does not declare gets
//! an `Error` that leaves the socket open), and writes the events the actor sends. Pings
//! find dead clients; outgoing messages are bounded. When the socket ends, the
//! connection closes on the actor (`#[on_disconnect]`); when the actor closes it, the
//! socket closes with the reason.

use std::sync::Arc;
use std::time::Duration;

use actor::connection::{self, ConnOp, Connection, Event, EventReceiver};
use actor::protocol::{ToClient, ToServer, WireEncoding};
use actor::{ActorError, ActorHandle, codes};
use axum::extract::FromRequestParts;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use percent_encoding::percent_decode_str;
use tokio::sync::{Semaphore, mpsc};
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
    let (outbox, mut outgoing) = mpsc::channel::<Message>(OUTBOX);
    // The writer: whatever the connection's tasks queue, in order, then the close.
    let writer = tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    // Set by a task whose answer found the outbox full: the client reads too slowly.
    let overflow = Arc::new(tokio::sync::Notify::new());
    let mut closing = shared.closing.subscribe();
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut heard = Instant::now();
    let values = encoding.values();
    loop {
        let received = tokio::select! {
            received = stream.next() => received,
            event = events.recv() => {
                let Some(Event { name, args }) = event else {
                    // The actor closed the connection (it stopped, or the client reads
                    // too slowly).
                    let error = conn.closed_reason().unwrap_or_else(|| ActorError::stopped("the connection closed"));
                    tracing::debug!(actor = handle.kind(), id = %handle.id(), error = %error, "the actor closed a connection");
                    let _ = outbox.try_send(close_for(&error, close_code(&error)));
                    break;
                };
                let event = ToClient::Event { name: name.into_owned(), args };
                if outbox.try_send(frame(encoding, &event, max_out)).is_err() {
                    overflow.notify_one();
                }
                continue;
            }
            _ = ping.tick() => {
                if heard.elapsed() >= SILENCE {
                    tracing::debug!(actor = handle.kind(), id = %handle.id(), "a client went silent; closing its connection");
                    break;
                }
                if outbox.try_send(Message::Ping(Default::default())).is_err() {
                    break;
                }
                continue;
            }
            _ = overflow.notified() => {
                let error = ActorError::of(codes::OVERLOADED, "the client reads its messages slower than they come");
                tracing::debug!(actor = handle.kind(), id = %handle.id(), "{error}; closing its connection");
                let _ = outbox.try_send(close_for(&error, 1008));
                break;
            }
            _ = closing.changed() => {
                // RivetKit's client reconnects on `ws.going_away`.
                let _ = outbox.send(Message::Close(Some(CloseFrame { code: 1001, reason: "ws.going_away".into() }))).await;
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
                    let _ = outbox.send(close_for(&error, 1009)).await;
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
                if outbox.try_send(frame(encoding, &refused, max_out)).is_err() {
                    break;
                }
                continue;
            }
        };
        match request {
            ToServer::ActionRequest { id, name, args } => {
                let Ok(permit) = in_flight.clone().acquire_owned().await else {
                    break;
                };
                let (handle, outbox, overflow) = (handle.clone(), outbox.clone(), overflow.clone());
                let conn = conn.clone();
                tokio::spawn(async move {
                    let target = actor::route::Target::Connection(ConnOp::Action {
                        conn,
                        name: name.clone().into(),
                    });
                    let answer = match handle.send_bytes(target, values, args).await {
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
                    };
                    // A client too slow to take its answers is disconnected.
                    if outbox.try_send(frame(encoding, &answer, max_out)).is_err() {
                        overflow.notify_one();
                    }
                    drop(permit);
                });
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
                    if outbox.try_send(frame(encoding, &refused, max_out)).is_err() {
                        break;
                    }
                }
            }
        }
    }
    drop(outbox);
    let _ = writer.await;
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
