//! The remote client (feature `client`): the same [`Client`] and typed handles, reaching
//! actors in another process through its server (`registry::Registry::serve`) with
//! RivetKit's client protocol over HTTP.
//!
//! ```no_run
//! use actor::prelude::*;
//!
//! #[actor]
//! #[derive(Clone, Default, Serialize, Deserialize)]
//! pub struct Visits { count: i64 }
//!
//! #[actor]
//! impl Visits {
//!     #[action]
//!     async fn increment(&mut self, by: i64) -> i64 { self.count += by; self.count }
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), ActorError> {
//! let client = Client::remote("http://127.0.0.1:6420");
//! let visits = Visits::get_or_create(&client, ["user-1"]).await?;
//! println!("{}", visits.increment(1).await?);
//! # Ok(()) }
//! ```

mod socket;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::client::{Address, Client, CreateMode};
use crate::error::{ActorError, codes};
use crate::handle::ActorHandle;
use crate::key::{ActorId, ActorKey};
use crate::payload::{Encoding, Payload};
use crate::protocol::{QueueRequest, QueueStatus, WireEncoding};
use crate::route::{Route, Target};

/// What `encodeURIComponent` leaves as it is; everything else in a path segment is
/// percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// How a remote [`Client`] reaches its server.
///
/// ```
/// use actor::remote::RemoteOptions;
/// use actor::protocol::WireEncoding;
/// let options = RemoteOptions::new("http://127.0.0.1:6420")
///     .token("s3cret")
///     .encoding(WireEncoding::Json);
/// assert_eq!(options.endpoint(), "http://127.0.0.1:6420");
/// ```
#[derive(Clone)]
pub struct RemoteOptions {
    endpoint: String,
    token: Option<String>,
    encoding: WireEncoding,
    namespace: String,
    connect_timeout: Duration,
    /// Connection params (JSON) every call carries.
    params: Option<String>,
}

impl fmt::Debug for RemoteOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteOptions")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| ".."))
            .field("encoding", &self.encoding)
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl RemoteOptions {
    /// A server at `endpoint` (`http://host:port`, as `Server::endpoint` gives it): BARE
    /// encoding, no token, namespace `default`.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into().trim_end_matches('/').to_string(),
            token: None,
            encoding: WireEncoding::Bare,
            namespace: "default".into(),
            connect_timeout: Duration::from_secs(10),
            params: None,
        }
    }

    /// The token the server asks for (its client token; its admin token to destroy).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The wire encoding (default BARE, the most compact).
    pub fn encoding(mut self, encoding: WireEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// The namespace the server serves (default `default`).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// How long to wait for a connection to the server (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Connection params every call of the client's handles carries, as RivetKit's
    /// `getOrCreate(key, {params})` does: HTTP calls send them (`x-rivet-conn-params`) for
    /// the actor's `#[on_before_connect]` to check, and `connect()` opens with them
    /// (`connect_with` gives others).
    ///
    /// ```
    /// let options = actor::remote::RemoteOptions::new("http://127.0.0.1:6420")
    ///     .params(&serde_json::json!({ "token": "t" }))?;
    /// # let _ = options;
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn params<P: serde::Serialize + ?Sized>(mut self, params: &P) -> Result<Self, ActorError> {
        let json = serde_json::to_string(params)
            .map_err(|e| ActorError::serialization_failed("connection params as JSON", e))?;
        // A header carries them: visible ASCII only (serde_json escapes nothing else).
        if !json.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(ActorError::invalid_arguments(
                "connection params travel in an HTTP header: keep them ASCII (escape other \
                 characters, or encode the value)",
            ));
        }
        self.params = Some(json);
        Ok(self)
    }

    /// The endpoint, without a trailing slash.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Client {
    /// A client whose handles reach the actors of the server at `endpoint`, with the
    /// default [`RemoteOptions`].
    pub fn remote(endpoint: impl Into<String>) -> Self {
        Self::remote_with(RemoteOptions::new(endpoint))
    }

    /// A remote client with options.
    pub fn remote_with(options: RemoteOptions) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .build()
            .unwrap_or_default();
        Self::over(Arc::new(Remote { http, options }))
    }
}

/// A server, and the HTTP client that reaches it.
pub(crate) struct Remote {
    http: reqwest::Client,
    options: RemoteOptions,
}

/// `client/unreachable`: the server could not be reached, or its answer not read.
fn unreachable(what: &str, err: impl fmt::Display) -> ActorError {
    ActorError::of(codes::UNREACHABLE, format!("{what}: {err}"))
}

impl Remote {
    /// A handle to the actor `address` names: looked up (or created) through the
    /// manager API, then called by id.
    pub(crate) async fn handle(
        self: &Arc<Self>,
        kind: &str,
        address: Address,
    ) -> Result<ActorHandle, ActorError> {
        let id = match &address {
            Address::Id(id) => {
                let found = self
                    .lookup(&[("actor_ids", id.as_str()), ("name", kind)])
                    .await?;
                found.ok_or_else(|| {
                    ActorError::not_found(kind, format_args!("with id {id}"))
                        .with_metadata(json!({ "actor": kind, "id": id }))
                })?
            }
            Address::Key {
                key,
                create: CreateMode::Never,
            } => {
                key.validate()?;
                let path = key.to_path();
                let found = self
                    .lookup(&[("name", kind), ("key", path.as_str())])
                    .await?;
                found.ok_or_else(|| {
                    ActorError::not_found(kind, format_args!("under key {key}"))
                        .with_metadata(json!({ "actor": kind, "key": key }))
                })?
            }
            Address::Key { key, create } => {
                key.validate()?;
                let method = match create {
                    CreateMode::Always(_) => reqwest::Method::POST,
                    _ => reqwest::Method::PUT,
                };
                let input = create
                    .input()
                    .map(|input| input.into_encoded(crate::Encoding::Json))
                    .transpose()?;
                let body = create_body(kind, key, input.map(|(_, json)| json).as_deref())?;
                let answer = self.manager(method, "/actors", &[], Some(body)).await?;
                actor_id(&answer["actor"]).ok_or_else(|| {
                    ActorError::of(
                        codes::INVALID_REQUEST,
                        "the server's create answer names no actor",
                    )
                })?
            }
        };
        Ok(ActorHandle::from_route(Arc::new(RemoteRoute {
            remote: self.clone(),
            kind: kind.to_string(),
            id,
        })))
    }

    /// The first actor `GET /actors` finds with these parameters.
    async fn lookup(&self, query: &[(&str, &str)]) -> Result<Option<ActorId>, ActorError> {
        let answer = self
            .manager(reqwest::Method::GET, "/actors", query, None)
            .await?;
        Ok(answer["actors"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(actor_id))
    }

    /// A manager API call (JSON).
    async fn manager(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<Value, ActorError> {
        let mut pairs: Vec<(&str, &str)> = query.to_vec();
        pairs.push(("namespace", &self.options.namespace));
        let query = serde_urlencoded::to_string(&pairs)
            .map_err(|e| ActorError::internal("a manager query", e))?;
        let url = format!("{}{path}?{query}", self.options.endpoint);
        let mut request = self.authorized(self.http.request(method, url));
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let bytes = self.send(request, WireEncoding::Json).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| unreachable("the server's answer is not JSON", e))
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.options.token {
            Some(token) => request.header(AUTHORIZATION, format!("Bearer {token}")),
            None => request,
        }
    }

    /// Sends a request; the body of a success, or the error the server answered with.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        encoding: WireEncoding,
    ) -> Result<Vec<u8>, ActorError> {
        let response = request
            .send()
            .await
            .map_err(|e| unreachable(&format!("could not reach {}", self.options.endpoint), e))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| unreachable("the server's answer could not be read", e))?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        Err(encoding
            .decode_error_body(content_type.as_deref(), &bytes)
            .unwrap_or_else(|_| {
                unreachable(
                    &format!("the server answered {status} without an error body"),
                    String::from_utf8_lossy(&bytes),
                )
            }))
    }

    /// A call on actor `id`'s gateway path (`action/…`, `queue/…`).
    async fn gateway(
        &self,
        id: &ActorId,
        path: &str,
        name: &str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, ActorError> {
        let encoding = self.options.encoding;
        let url = format!(
            "{}/gateway/{}/{path}/{}",
            self.options.endpoint,
            utf8_percent_encode(id.as_str(), COMPONENT),
            utf8_percent_encode(name, COMPONENT),
        );
        let request = self
            .authorized(self.http.post(url))
            .header("x-rivet-encoding", encoding.name())
            .header(CONTENT_TYPE, encoding.content_type())
            .body(body);
        let request = match &self.options.params {
            Some(params) => request.header("x-rivet-conn-params", params.as_str()),
            None => request,
        };
        self.send(request, encoding).await
    }

    /// `payload` in the wire's value encoding.
    fn encoded(&self, payload: Payload) -> Result<Vec<u8>, ActorError> {
        let values = self.options.encoding.values();
        let (encoding, bytes) = payload.into_encoded(values)?;
        crate::protocol::transcode(encoding, values, bytes)
    }
}

/// An actor's id in a manager API answer.
fn actor_id(actor: &Value) -> Option<ActorId> {
    actor["actor_id"].as_str().map(ActorId::from)
}

/// The body of `PUT` / `POST /actors`: the input (JSON) goes as base64 of its CBOR.
fn create_body(kind: &str, key: &ActorKey, input: Option<&[u8]>) -> Result<Value, ActorError> {
    use base64::Engine;
    let mut body = json!({ "name": kind, "key": key.to_path(), "crash_policy": "sleep" });
    if let Some(json) = input {
        let cbor = crate::protocol::transcode(
            crate::Encoding::Json,
            crate::Encoding::Cbor,
            json.to_vec(),
        )?;
        body["input"] = Value::String(base64::engine::general_purpose::STANDARD.encode(cbor));
    }
    Ok(body)
}

/// One actor on a server.
struct RemoteRoute {
    remote: Arc<Remote>,
    kind: String,
    id: ActorId,
}

impl RemoteRoute {
    /// Delivers the call; an encoded payload gets its answer in its own encoding, as an
    /// in-process call would.
    async fn call(&self, target: Target, payload: Payload) -> Result<Payload, ActorError> {
        let answer_in = match &payload {
            Payload::Encoded(encoding, _) => Some(*encoding),
            Payload::Local(_) => None,
        };
        match (self.deliver(target, payload).await?, answer_in) {
            (Payload::Encoded(from, bytes), Some(to)) => Ok(Payload::Encoded(
                to,
                crate::protocol::transcode(from, to, bytes)?,
            )),
            (answer, _) => Ok(answer),
        }
    }

    async fn deliver(&self, target: Target, payload: Payload) -> Result<Payload, ActorError> {
        let remote = &self.remote;
        let encoding = remote.options.encoding;
        let values = encoding.values();
        match target {
            Target::Action(name) => {
                let mut args = remote.encoded(payload)?;
                // An action without parameters is called with `()`; the wire wants `[]`.
                if args == values.encode(&())? {
                    args = values.encode::<[(); 0]>(&[])?;
                }
                let args = encoding.encode_action_request(&args)?;
                let answer = remote.gateway(&self.id, "action", &name, args).await?;
                Ok(Payload::Encoded(
                    values,
                    encoding.decode_action_response(&answer)?,
                ))
            }
            Target::Send(queue) => {
                let response = self.queue(&queue, payload, None).await?;
                // Our server names the message it stored; RivetKit's names none.
                let id = response.response.ok_or_else(|| {
                    ActorError::of(
                        codes::INVALID_REQUEST,
                        "the server did not name the message it stored (a RivetKit server does not)",
                    )
                })?;
                Ok(Payload::Encoded(values, id))
            }
            Target::SendAndWait { queue, timeout } => {
                let response = self.queue(&queue, payload, Some(timeout)).await?;
                match (response.status, response.response) {
                    (QueueStatus::Completed, Some(output)) => Ok(Payload::Encoded(values, output)),
                    (QueueStatus::Completed, None) => {
                        Ok(Payload::Encoded(values, values.encode(&())?))
                    }
                    // Our server names the message that is still waiting for its handler.
                    (QueueStatus::TimedOut, id) => {
                        let id = id.map(|bytes| values.decode::<u64>(&bytes)).transpose()?;
                        Err(ActorError::queue_timed_out(
                            &queue,
                            id.unwrap_or_default(),
                            timeout,
                        ))
                    }
                }
            }
            other => Err(ActorError::of(
                codes::ROUTE_NOT_FOUND,
                format!(
                    "{other} of actor `{}` cannot be reached over the network: RivetKit's protocol \
                     has no call for it; call it from a process that hosts the actor",
                    self.kind
                ),
            )),
        }
    }

    /// A message for queue `queue`, waited for up to `wait` when given; the server's
    /// answer.
    async fn queue(
        &self,
        queue: &str,
        payload: Payload,
        wait: Option<Duration>,
    ) -> Result<crate::protocol::QueueResponse, ActorError> {
        let encoding = self.remote.options.encoding;
        let request = QueueRequest {
            body: self.remote.encoded(payload)?,
            name: Some(queue.to_string()),
            wait: wait.is_some(),
            timeout: wait.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        };
        let body = encoding.encode_queue_request(&request)?;
        let answer = self.remote.gateway(&self.id, "queue", queue, body).await?;
        encoding.decode_queue_response(&answer)
    }

    async fn destroy(&self) -> Result<(), ActorError> {
        let path = format!(
            "/actors/{}",
            utf8_percent_encode(self.id.as_str(), COMPONENT)
        );
        self.remote
            .manager(reqwest::Method::DELETE, &path, &[], None)
            .await
            .map(drop)
    }
}

impl Route for RemoteRoute {
    fn kind(&self) -> &str {
        &self.kind
    }

    fn id(&self) -> ActorId {
        self.id.clone()
    }

    fn call(&self, target: Target, payload: Payload) -> BoxFuture<'_, Result<Payload, ActorError>> {
        RemoteRoute::call(self, target, payload).boxed()
    }

    fn destroy(&self) -> BoxFuture<'_, Result<(), ActorError>> {
        RemoteRoute::destroy(self).boxed()
    }

    fn connect(&self, params: Payload) -> BoxFuture<'_, Result<ActorHandle, ActorError>> {
        async move {
            let (_, params) = params.into_encoded(Encoding::Json)?;
            let params = (params != b"null")
                .then(|| String::from_utf8(params))
                .transpose()
                .map_err(|e| ActorError::invalid_arguments(format!("connection params: {e}")))?
                .or_else(|| self.remote.options.params.clone());
            let options = &self.remote.options;
            let base = options
                .endpoint
                .replacen("https://", "wss://", 1)
                .replacen("http://", "ws://", 1);
            let token = options
                .token
                .as_ref()
                .map(|t| format!("@{}", utf8_percent_encode(t, COMPONENT)))
                .unwrap_or_default();
            let url = format!(
                "{base}/gateway/{}{token}/connect",
                utf8_percent_encode(self.id.as_str(), COMPONENT)
            );
            let dial = socket::Dial {
                url,
                encoding: options.encoding,
                params,
            };
            let via = ActorHandle::from_route(Arc::new(RemoteRoute {
                remote: self.remote.clone(),
                kind: self.kind.clone(),
                id: self.id.clone(),
            }));
            socket::SocketRoute::open(dial, via).await
        }
        .boxed()
    }

    fn sleep(&self) -> BoxFuture<'_, Result<(), ActorError>> {
        let kind = self.kind.clone();
        async move {
            Err(ActorError::of(
                codes::ROUTE_NOT_FOUND,
                format!(
                    "a remote handle cannot put actor `{kind}` to sleep: RivetKit's protocol has no \
                     such call; it sleeps on its own when idle"
                ),
            ))
        }
        .boxed()
    }
}
