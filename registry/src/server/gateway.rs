//! `/gateway/{actor}/{path}`: finding the actor (by id, or by kind and key with
//! RivetKit's `rvt-*` query parameters), then its paths: `action/{name}`,
//! `queue/{name}` and `health`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actor::client::{Address, CreateMode};
use actor::connection::{self, ConnOp, Connection};
use actor::protocol::{QueueResponse, QueueStatus, WireEncoding};
use actor::{ActorError, ActorHandle, ActorId, ActorKey, codes};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use percent_encoding::percent_decode_str;
use serde_json::json;

use super::Shared;
use super::access::{self, Needs};
use super::manager::{check_namespace, check_pairs, crash_policy, parse_query, runner};
use super::reply::{self, Call, Failure};

/// The `rvt-*` parameters of the query form, as the RivetKit 2.3 client sends them.
const RVT_PARAMS: &[&str] = &[
    "rvt-namespace",
    "rvt-method",
    "rvt-runner",
    "rvt-key",
    "rvt-input",
    "rvt-region",
    "rvt-crash-policy",
    "rvt-token",
    "rvt-skip-ready-wait",
];

/// How many handles the server keeps for actors it was asked for recently (per form).
const CACHED: usize = 10_000;

/// Which actor a gateway request is for.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// The direct form: `/gateway/{id}[@token]/…`.
    Id(ActorId),
    /// The query form: `/gateway/{name}/…?rvt-method=…&rvt-key=…`.
    Key {
        name: String,
        key: ActorKey,
        /// The input to create it with (JSON); `None` for `get`.
        create: Option<Vec<u8>>,
    },
}

impl Target {
    fn call(&self, target: String) -> Call {
        match self {
            Self::Id(id) => Call {
                actor: None,
                instance: Some(format!("id {id}")),
                target: Some(target),
            },
            Self::Key { name, key, .. } => Call {
                actor: Some(name.clone()),
                instance: Some(format!("key {key}")),
                target: Some(target),
            },
        }
    }
}

/// Handles of actors the server was asked for, so a call does not look its actor up
/// in storage again. A handle follows its actor across sleeps; one whose actor was
/// destroyed is dropped when a call through it says so.
#[derive(Default)]
pub(crate) struct Handles {
    by_id: Mutex<HashMap<ActorId, ActorHandle>>,
    by_key: Mutex<HashMap<(String, ActorKey), ActorHandle>>,
}

fn remember<K: std::hash::Hash + Eq>(
    map: &Mutex<HashMap<K, ActorHandle>>,
    key: K,
    handle: ActorHandle,
) {
    let mut map = map.lock().expect("handles lock");
    if map.len() >= CACHED {
        // A cache, not a directory: starting over costs one lookup per actor.
        map.clear();
    }
    map.insert(key, handle);
}

impl Handles {
    /// The actor with this id, whatever its kind.
    pub(crate) async fn by_id(
        &self,
        shared: &Shared,
        id: &ActorId,
    ) -> Result<ActorHandle, ActorError> {
        if let Some(handle) = self.by_id.lock().expect("handles lock").get(id).cloned() {
            return Ok(handle);
        }
        let loaded = shared
            .registry
            .driver()
            .load(id)
            .await
            .map_err(ActorError::from_storage)?;
        let Some(loaded) = loaded else {
            return Err(
                ActorError::of(codes::NOT_FOUND, format!("no actor has id `{id}`"))
                    .with_metadata(json!({ "id": id })),
            );
        };
        let handle = shared
            .registry
            .client()
            .handle(&loaded.record.kind, Address::Id(id.clone()))
            .await?;
        remember(&self.by_id, id.clone(), handle.clone());
        Ok(handle)
    }

    /// Forgets the handles of actor `id` (it was destroyed).
    pub(crate) fn forget(&self, id: &ActorId) {
        self.by_id.lock().expect("handles lock").remove(id);
        self.by_key
            .lock()
            .expect("handles lock")
            .retain(|_, handle| handle.id() != *id);
    }

    /// The handle for `target`, and whether it came from the cache (so a call that finds
    /// its actor gone may look again).
    pub(crate) async fn resolve(
        &self,
        shared: &Shared,
        target: &Target,
    ) -> Result<(ActorHandle, bool), ActorError> {
        match target {
            Target::Id(id) => {
                let cached = self.by_id.lock().expect("handles lock").contains_key(id);
                Ok((self.by_id(shared, id).await?, cached))
            }
            Target::Key { name, key, create } => {
                let entry = (name.clone(), key.clone());
                if let Some(handle) = self
                    .by_key
                    .lock()
                    .expect("handles lock")
                    .get(&entry)
                    .cloned()
                {
                    return Ok((handle, true));
                }
                let create = match create {
                    None => CreateMode::Never,
                    Some(input) => CreateMode::IfMissing(input.clone()),
                };
                let address = Address::Key {
                    key: key.clone(),
                    create,
                };
                let handle = shared.registry.client().handle(name, address).await?;
                remember(&self.by_key, entry, handle.clone());
                Ok((handle, false))
            }
        }
    }
}

/// Whether a call through a cached handle failed because its actor is gone, so that
/// looking it up again (and creating it, for `getOrCreate`) is right.
fn gone(err: &ActorError) -> bool {
    err.is(codes::NOT_FOUND) || err.is(codes::DESTROYED)
}

fn invalid(message: impl Into<String>, parameter: &str) -> ActorError {
    ActorError::of(codes::INVALID_REQUEST, message).with_metadata(json!({ "parameter": parameter }))
}

fn decoded(text: &str, what: &str) -> Result<String, ActorError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            invalid(
                format!("the {what} in the path is not UTF-8 once decoded"),
                what,
            )
        })
}

/// The base64url (RivetKit writes it without padding; padding is accepted) of `rvt-input`.
const URL_SAFE_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Reads the actor segment and the query into a target; the URL's token if it has one.
fn target(
    segment: &str,
    query: Option<&str>,
    options: &super::ServerOptions,
) -> Result<(Target, Option<String>), ActorError> {
    let query_form = query.is_some_and(|q| q.split('&').any(|pair| pair.starts_with("rvt-")));
    if !query_form {
        let (id, token) = match segment.split_once('@') {
            Some((id, token)) => (id, Some(decoded(token, "token")?)),
            None => (segment, None),
        };
        let id = decoded(id, "actor id")?;
        if id.is_empty() {
            return Err(invalid(
                "the gateway path names no actor: /gateway/{actor id}/…",
                "actor",
            ));
        }
        return Ok((Target::Id(ActorId::from(id)), token));
    }
    let name = decoded(segment, "actor name")?;
    // The actor's own parameters (anything not `rvt-*`) are its business; none of the
    // paths served here read any.
    let rvt: Vec<(String, String)> = parse_query(query)?
        .into_iter()
        .filter(|(name, _)| name.starts_with("rvt-"))
        .collect();
    check_pairs(&rvt, RVT_PARAMS)?;
    let get = |name: &str| rvt.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let namespace = get("rvt-namespace")
        .ok_or_else(|| invalid("the query form needs `rvt-namespace`", "rvt-namespace"))?;
    check_namespace(options, Some(namespace))?;
    // RivetKit joins key parts with commas, unescaped: a part holding a comma cannot be
    // told from two parts here (`docs/protocol.md`); the direct form has no such limit.
    let key = match get("rvt-key") {
        None | Some("") => ActorKey::from(Vec::<String>::new()),
        Some(joined) => ActorKey::from(joined.split(',').map(str::to_string).collect::<Vec<_>>()),
    };
    let create = match get("rvt-method") {
        Some("get") => {
            for only_create in ["rvt-input", "rvt-runner", "rvt-crash-policy", "rvt-region"] {
                if get(only_create).is_some() {
                    return Err(invalid(
                        format!("`{only_create}` is for `rvt-method=getOrCreate`, not `get`"),
                        only_create,
                    ));
                }
            }
            None
        }
        Some("getOrCreate") => {
            runner(get("rvt-runner"))?;
            crash_policy(get("rvt-crash-policy"))?;
            Some(match get("rvt-input") {
                None => b"null".to_vec(),
                Some(b64) => {
                    let cbor = URL_SAFE_ANY_PADDING.decode(b64).map_err(|e| {
                        invalid(format!("`rvt-input` is not base64url: {e}"), "rvt-input")
                    })?;
                    actor::protocol::input_from_cbor(&cbor)?
                }
            })
        }
        Some(other) => {
            return Err(invalid(
                format!(
                    "`rvt-method` is `{other}`; the query form takes `get` or `getOrCreate` (create with POST /actors)"
                ),
                "rvt-method",
            ));
        }
        None => {
            return Err(invalid(
                "the query form needs `rvt-method` (`get` or `getOrCreate`)",
                "rvt-method",
            ));
        }
    };
    key.validate()?;
    Ok((
        Target::Key { name, key, create },
        get("rvt-token").map(str::to_string),
    ))
}

/// Every `/gateway/…` request.
pub(crate) async fn serve(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let encoding = reply::encoding(request.headers());
    let respond_in = *encoding.as_ref().unwrap_or(&WireEncoding::Json);
    match serve_inner(shared.clone(), request, encoding).await {
        Ok(response) => response,
        Err(failure) => Failure {
            encoding: respond_in,
            ..failure
        }
        .respond(&shared.options),
    }
}

async fn serve_inner(
    shared: Arc<Shared>,
    request: Request,
    encoding: Result<WireEncoding, ActorError>,
) -> Result<Response, Failure> {
    let (parts, body) = request.into_parts();
    let fail = |error| Failure::new(error, WireEncoding::Json);
    let path = parts.uri.path().to_string();
    let rest = path.strip_prefix("/gateway/").unwrap_or_default();
    let (segment, actor_path) = rest.split_once('/').unwrap_or((rest, ""));
    let (target, url_token) = target(segment, parts.uri.query(), &shared.options).map_err(fail)?;
    access::check(
        &shared.options,
        Needs::Client,
        access::presented(&parts.headers, url_token.as_deref()),
    )
    .map_err(fail)?;
    let (route, name) = actor_path.split_once('/').unwrap_or((actor_path, ""));
    let name = decoded(name, "name").map_err(fail)?;
    if parts.method == Method::GET && route == "connect" && name.is_empty() {
        // The encoding is the WebSocket's subprotocol, not a header.
        let call = target.call("connection".into());
        return super::socket::connect(shared, parts, target, call).await;
    }
    let shared = &*shared;
    let encoding = encoding.map_err(fail)?;
    let what = match (&parts.method, route) {
        (&Method::POST, "action") if !name.is_empty() => format!("action `{name}`"),
        (&Method::POST, "queue") if !name.is_empty() => format!("queue `{name}`"),
        (&Method::GET, "health") if name.is_empty() => "health".to_string(),
        _ => {
            return Err(Failure::new(
                reply::not_found(&parts.method, &path),
                encoding,
            ));
        }
    };
    let mut call = target.call(what);
    let failure = |call: &Call| {
        let call = call.clone();
        move |error| Failure {
            error,
            encoding,
            call,
        }
    };
    let found = shared
        .handles
        .resolve(shared, &target)
        .await
        .map_err(failure(&call))?;
    call.actor = Some(found.0.kind().to_string());
    let failure = failure(&call);
    if route == "health" {
        return Ok("ok".into_response());
    }
    let bytes = reply::body(&parts.headers, body, &shared.options)
        .await
        .map_err(failure.clone())?;
    // A kind with `#[on_before_connect]` checks every HTTP call as a connection of its
    // own, which the action then sees.
    let conn = match shared.registry.kind(found.0.kind()) {
        Some(kind) if kind.checks_connections() => {
            let params = conn_params(&parts.headers).map_err(failure.clone())?;
            let conn = Connection::once();
            through(shared, &target, found.clone(), |handle| {
                let open = actor::route::Target::Connection(ConnOp::Open(conn.clone()));
                let params = connection::params(params.clone());
                async move { handle.send(open, params).await }
            })
            .await
            .map_err(failure.clone())?;
            Some(conn)
        }
        _ => None,
    };
    let answer = if route == "action" {
        let args = encoding
            .decode_action_request(&bytes)
            .map_err(failure.clone())?;
        let output = through(shared, &target, found, |handle| {
            let (name, args) = (name.clone(), args.clone());
            let target = match &conn {
                Some(conn) => actor::route::Target::Connection(ConnOp::Action {
                    conn: conn.clone(),
                    name: name.into(),
                }),
                None => actor::route::Target::action(name),
            };
            async move { handle.send_bytes(target, encoding.values(), args).await }
        })
        .await
        .map_err(failure.clone())?;
        encoding.encode_action_response(&output)
    } else {
        let request = encoding
            .decode_queue_request(&bytes)
            .map_err(failure.clone())?;
        if let Some(named) = request.name.as_deref().filter(|n| *n != name) {
            return Err(failure(invalid(
                format!("the body names queue `{named}` and the path queue `{name}`"),
                "name",
            )));
        }
        let response = send(shared, &target, found, &name, encoding, request)
            .await
            .map_err(failure.clone())?;
        encoding.encode_queue_response(&response)
    }
    .map_err(failure.clone())?;
    outgoing(shared, answer.len()).map_err(failure)?;
    Ok(reply::ok(encoding, answer))
}

/// The connection params of an HTTP call (`x-rivet-conn-params`, JSON), if it gives any.
fn conn_params(headers: &axum::http::HeaderMap) -> Result<Option<Vec<u8>>, ActorError> {
    let Some(value) = headers.get("x-rivet-conn-params") else {
        return Ok(None);
    };
    let bytes = value.as_bytes().to_vec();
    serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).map_err(|e| {
        invalid(
            format!("`x-rivet-conn-params` is not JSON: {e}"),
            "x-rivet-conn-params",
        )
    })?;
    Ok(Some(bytes))
}

/// Runs `call` on the target's handle (`found`: the handle, and whether it came from the
/// cache); if a cached handle's actor is gone, looks the target up again (creating it
/// for `getOrCreate`) and runs it once more.
async fn through<T, F, Fut>(
    shared: &Shared,
    target: &Target,
    (handle, cached): (ActorHandle, bool),
    call: F,
) -> Result<T, ActorError>
where
    F: Fn(ActorHandle) -> Fut,
    Fut: Future<Output = Result<T, ActorError>>,
{
    match call(handle.clone()).await {
        Err(err) if cached && gone(&err) => {
            shared.handles.forget(&handle.id());
            let (handle, _) = shared.handles.resolve(shared, target).await?;
            call(handle).await
        }
        result => result,
    }
}

/// A queue send: durable, or waited for up to its timeout (`timedOut` past it).
async fn send(
    shared: &Shared,
    target: &Target,
    found: (ActorHandle, bool),
    queue: &str,
    encoding: WireEncoding,
    request: actor::protocol::QueueRequest,
) -> Result<QueueResponse, ActorError> {
    let values = encoding.values();
    if request.wait {
        let timeout = request
            .timeout
            .map_or(shared.options.queue_wait, std::time::Duration::from_millis);
        let waited = through(shared, target, found, |handle| {
            let body = request.body.clone();
            async move {
                handle
                    .send_encoded_and_wait(queue, values, body, timeout)
                    .await
            }
        })
        .await;
        return match waited {
            Ok(response) => Ok(QueueResponse {
                status: QueueStatus::Completed,
                response: Some(response),
            }),
            // The message stays stored and is still handled; its id goes with the answer
            // (RivetKit sends none) so a client can tell which one it was.
            Err(err) if err.is(codes::QUEUE_TIMED_OUT) => Ok(QueueResponse {
                status: QueueStatus::TimedOut,
                response: err
                    .metadata()
                    .and_then(|m| m["messageId"].as_u64())
                    .map(|id| values.encode(&id))
                    .transpose()?,
            }),
            Err(err) => Err(err),
        };
    }
    let id = through(shared, target, found, |handle| {
        let body = request.body.clone();
        async move { handle.send_encoded(queue, values, body).await }
    })
    .await?;
    // RivetKit answers a send without `wait` with no response; the message id is here
    // for clients that want it (`docs/protocol.md`).
    Ok(QueueResponse {
        status: QueueStatus::Completed,
        response: Some(values.encode(&id.get())?),
    })
}

/// Refuses an answer longer than the server sends.
fn outgoing(shared: &Shared, bytes: usize) -> Result<(), ActorError> {
    let max = shared.options.max_outgoing;
    if bytes > max {
        return Err(ActorError::of(
            codes::OUTGOING_TOO_LONG,
            format!("the answer encodes to {bytes} bytes, more than the {max} this server sends; the call ran"),
        )
        .with_metadata(json!({ "bytes": bytes, "max": max })));
    }
    Ok(())
}
