//! RivetKit's client protocol, version 4: the HTTP bodies and WebSocket messages that the
//! official TypeScript client (`rivetkit` 2.3.19) exchanges with a server, in its three
//! encodings, encoded and decoded both ways (the server uses one side, a Rust client the
//! other).
//!
//! | message | from → to | where |
//! |---|---|---|
//! | `HttpActionRequest` / `HttpActionResponse` | client → server → client | `POST /action/{name}` |
//! | [`QueueRequest`] / [`QueueResponse`] | client → server → client | `POST /queue/{name}` |
//! | `HttpResponseError` ([`ActorError`]) | server → client | the body of any non-2xx answer |
//! | [`ToServer`] / [`ToClient`] | both ways | WebSocket `/connect`, one message per frame |
//!
//! The encoding ([`WireEncoding`]) is named by the `x-rivet-encoding` header or the
//! `rivet_encoding.<name>` WebSocket subprotocol:
//!
//! - **json**: objects such as `{"args":[1]}`; WebSocket messages are
//!   `{"body":{"tag":"Init","val":{…}}}` with camelCase fields; ids are `["$BigInt","7"]`.
//! - **cbor**: the same objects as CBOR maps with text keys; ids are always written as
//!   8-byte unsigned integers (`1b` + 8 bytes), which the TS client needs to see a BigInt.
//! - **bare**: BARE structs after a `04 00` prefix (the protocol version, u16
//!   little-endian); the values inside are CBOR `data` fields. The decoders read version 4,
//!   and also versions 1 to 4 of what a server sends (`ToClient`, `HttpActionResponse`,
//!   `HttpResponseError`; versions 3 and 4 of `HttpQueueSendResponse`), which differ only
//!   by fields this module drops.
//!
//! # Values
//!
//! The values inside messages (action arguments and outputs, queue bodies and responses,
//! event arguments) are handed over as *value bytes*: one value in
//! [`WireEncoding::values`] (JSON text for json, CBOR for cbor and bare), in *plain* form,
//! the form `serde_json` and `ciborium` read and write. Error metadata is a
//! `serde_json::Value` in [`ActorError`] whatever the encoding. Action and event arguments
//! are always an array.
//!
//! JS peers write values in a *compat* form. Decoders revive it into the plain form,
//! encoders write it:
//!
//! | compat form | plain form |
//! |---|---|
//! | `["$BigInt","123"]` | the integer (JSON: a number literal; CBOR: an integer, -2^64 to 2^64-1) |
//! | `["$Uint8Array",b64]`, `["$ArrayBuffer",b64]` | the bytes: JSON an array of numbers, CBOR a byte string |
//! | `["$Undefined",…]` | `null` |
//! | `["$Set",[…]]` | the array |
//! | `["$$x",v]` | `["$x",v]` (a user's 2-element array whose first item starts with `$`) |
//! | any other `["$x",v]` | refused (`request/invalid`) |
//!
//! Encoders add the `$` of the last row, and write integers a JS peer would read wrong:
//! in JSON, integers beyond ±(2^53-1) become `["$BigInt","n"]`; in CBOR, integers from 2^32
//! to 2^53 in magnitude become float64 (as cbor-x writes them, so JS reads a Number), larger
//! ones stay integers (JS reads a BigInt). CBOR decoders also take what cbor-x writes
//! natively: integral floats become integers, tags 1 (Date), 64 (Uint8Array), 258 (Set),
//! 259 (Map) and other tags become their content (bignum tags 2 and 3 stay, ciborium reads
//! them as integers), `undefined` becomes `null`.
//!
//! **The cbor encoding is compat one way only.** The TS client writes what it *sends* in
//! cbor with plain cbor-x (no `$` escapes: a user's `["$x",1]` arrives as is) and revives
//! what it *receives*. So in cbor, messages to the server (`HttpActionRequest`,
//! [`QueueRequest`], [`ToServer`]) carry plain values both ways here, and messages to the
//! client carry compat values. JSON and BARE `data` fields are compat both ways.
//!
//! # Limits
//!
//! Values nest at most 128 arrays, maps or tags deep; deeper ones are refused with an
//! error saying so. No input makes a decoder panic: every failure is a `request/invalid`
//! [`ActorError`] saying what was wrong and where.
//!
//! ```
//! use actor::protocol::{ToServer, WireEncoding};
//!
//! let encoding = WireEncoding::from_name(Some("bare"))?;
//! let frame = [0x04, 0x00, 0x01, 0x02, b'e', b'v', 0x01];
//! assert_eq!(
//!     encoding.decode_to_server(&frame)?,
//!     ToServer::SubscriptionRequest { event_name: "ev".into(), subscribe: true },
//! );
//! # Ok::<(), actor::ActorError>(())
//! ```

mod bare;
mod cbor;
mod json;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::fmt;

use base64::Engine as _;

use crate::error::{ActorError, codes};
use crate::payload::Encoding;

/// The protocol version BARE messages carry in their `u16` little-endian prefix (`04 00`),
/// the one this module writes.
///
/// ```
/// use actor::protocol::{PROTOCOL_VERSION, WireEncoding};
/// let body = WireEncoding::Bare.encode_action_request(&[0x80])?;
/// assert_eq!(body[..2], PROTOCOL_VERSION.to_le_bytes());
/// # Ok::<(), actor::ActorError>(())
/// ```
pub const PROTOCOL_VERSION: u16 = 4;

/// How deep values nest at most: arrays, maps (objects) and tags.
const MAX_DEPTH: usize = 128;

/// The encoding of a request body, a response body or a WebSocket message.
///
/// ```
/// use actor::protocol::WireEncoding;
/// assert_eq!(WireEncoding::from_name(None)?, WireEncoding::Json);
/// assert_eq!(WireEncoding::Cbor.name(), "cbor");
/// # Ok::<(), actor::ActorError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireEncoding {
    /// JSON text, values in compat JSON.
    Json,
    /// CBOR maps, values native CBOR.
    Cbor,
    /// BARE with the `04 00` version prefix, values in CBOR `data` fields.
    Bare,
}

/// What a send to a queue asks (`POST /queue/{name}`).
///
/// ```
/// use actor::protocol::{QueueRequest, WireEncoding};
/// let req = WireEncoding::Json
///     .decode_queue_request(br#"{"body":{"x":2},"name":"jobs","wait":false}"#)?;
/// assert_eq!(req, QueueRequest { body: br#"{"x":2}"#.to_vec(), name: Some("jobs".into()), wait: false, timeout: None });
/// # Ok::<(), actor::ActorError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRequest {
    /// The message: value bytes (`null` when the client sent none).
    pub body: Vec<u8>,
    /// The queue's name, which the TS client repeats from the path.
    pub name: Option<String>,
    /// Whether the sender waits for the handler's result (false when absent).
    pub wait: bool,
    /// How long the sender waits, in milliseconds.
    pub timeout: Option<u64>,
}

/// How a send to a queue ended.
///
/// ```
/// use actor::protocol::{QueueResponse, QueueStatus, WireEncoding};
/// let res = WireEncoding::Json.decode_queue_response(br#"{"status":"timedOut"}"#)?;
/// assert_eq!(res, QueueResponse { status: QueueStatus::TimedOut, response: None });
/// # Ok::<(), actor::ActorError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueueStatus {
    /// The message was stored, and handled if the sender waited (`"completed"`).
    Completed,
    /// The sender stopped waiting for the handler (`"timedOut"`).
    TimedOut,
}

/// The answer to a send to a queue; the TS client needs one even when it does not wait.
///
/// ```
/// use actor::protocol::{QueueResponse, QueueStatus, WireEncoding};
/// let res = QueueResponse { status: QueueStatus::Completed, response: Some(br#""ok""#.to_vec()) };
/// assert_eq!(
///     WireEncoding::Json.encode_queue_response(&res)?,
///     br#"{"status":"completed","response":"ok"}"#,
/// );
/// # Ok::<(), actor::ActorError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueResponse {
    /// How the send ended.
    pub status: QueueStatus,
    /// The handler's result: value bytes. In cbor, a `null` or `undefined` response reads
    /// as `None` (cbor-x writes `undefined` for a missing one, and the two are one value
    /// to ciborium).
    pub response: Option<Vec<u8>>,
}

/// A WebSocket message from the server to the client.
///
/// ```
/// use actor::protocol::{ToClient, WireEncoding};
/// let msg = ToClient::ActionResponse { id: 0, output: b"7".to_vec() };
/// assert_eq!(
///     WireEncoding::Json.encode_to_client(&msg)?,
///     br#"{"body":{"tag":"ActionResponse","val":{"id":["$BigInt","0"],"output":7}}}"#,
/// );
/// # Ok::<(), actor::ActorError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ToClient {
    /// The connection is ready: the first message, before which the client sends nothing.
    Init {
        /// The actor's id.
        actor_id: String,
        /// The connection's id.
        connection_id: String,
    },
    /// A failed action (`action_id`), or the connection failed (`None`). A `null`
    /// metadata reads as none.
    Error {
        /// The error, with its metadata.
        error: ActorError,
        /// The action that failed.
        action_id: Option<u64>,
    },
    /// An action's result.
    ActionResponse {
        /// The id of the [`ToServer::ActionRequest`].
        id: u64,
        /// The result: value bytes.
        output: Vec<u8>,
    },
    /// An event the client subscribed to.
    Event {
        /// The event's name.
        name: String,
        /// Its arguments: value bytes of an array.
        args: Vec<u8>,
    },
}

/// A WebSocket message from the client to the server.
///
/// ```
/// use actor::protocol::{ToServer, WireEncoding};
/// let frame = br#"{"body":{"tag":"ActionRequest","val":{"id":["$BigInt","0"],"name":"increment","args":[1]}}}"#;
/// assert_eq!(
///     WireEncoding::Json.decode_to_server(frame)?,
///     ToServer::ActionRequest { id: 0, name: "increment".into(), args: b"[1]".to_vec() },
/// );
/// # Ok::<(), actor::ActorError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToServer {
    /// Calls an action; the answer is a [`ToClient::ActionResponse`] or a
    /// [`ToClient::Error`] with the same id.
    ActionRequest {
        /// The client's id for the call, counting from 0 on a connection.
        id: u64,
        /// The action's name.
        name: String,
        /// Its arguments: value bytes of an array.
        args: Vec<u8>,
    },
    /// Starts or stops the events of one name.
    SubscriptionRequest {
        /// The event's name.
        event_name: String,
        /// Whether to subscribe (or unsubscribe).
        subscribe: bool,
    },
}

impl WireEncoding {
    /// The encoding a `x-rivet-encoding` header or `rivet_encoding.<name>` subprotocol
    /// names; `None` (no header) is json. Any other name is `request/invalid`.
    ///
    /// ```
    /// use actor::protocol::WireEncoding;
    /// assert_eq!(WireEncoding::from_name(Some("bare"))?, WireEncoding::Bare);
    /// let err = WireEncoding::from_name(Some("xml")).unwrap_err();
    /// assert!(err.message().contains("json, cbor and bare"), "{err}");
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn from_name(name: Option<&str>) -> Result<Self, ActorError> {
        match name {
            None | Some("json") => Ok(Self::Json),
            Some("cbor") => Ok(Self::Cbor),
            Some("bare") => Ok(Self::Bare),
            Some(other) => Err(invalid(format!(
                "unknown encoding `{}`; the encodings are json, cbor and bare",
                excerpt(other)
            ))
            .with_metadata(serde_json::json!({
                "encoding": excerpt(other),
                "allowed": ["json", "cbor", "bare"],
            }))),
        }
    }

    /// The encoding's name: `json`, `cbor` or `bare`.
    ///
    /// ```
    /// assert_eq!(actor::protocol::WireEncoding::Bare.name(), "bare");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Cbor => "cbor",
            Self::Bare => "bare",
        }
    }

    /// The encoding of the values inside messages: JSON for json, CBOR for cbor and bare.
    ///
    /// ```
    /// use actor::{Encoding, protocol::WireEncoding};
    /// assert_eq!(WireEncoding::Bare.values(), Encoding::Cbor);
    /// ```
    pub fn values(self) -> Encoding {
        match self {
            Self::Json => Encoding::Json,
            Self::Cbor | Self::Bare => Encoding::Cbor,
        }
    }

    /// The `content-type` of HTTP bodies: `application/json` or
    /// `application/octet-stream`.
    ///
    /// ```
    /// use actor::protocol::WireEncoding;
    /// assert_eq!(WireEncoding::Cbor.content_type(), "application/octet-stream");
    /// ```
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Cbor | Self::Bare => "application/octet-stream",
        }
    }

    /// Whether WebSocket messages go in binary frames (cbor, bare) rather than text
    /// frames (json).
    ///
    /// ```
    /// use actor::protocol::WireEncoding;
    /// assert!(!WireEncoding::Json.is_binary());
    /// assert!(WireEncoding::Bare.is_binary());
    /// ```
    pub fn is_binary(self) -> bool {
        self != Self::Json
    }

    /// The arguments of an `HttpActionRequest` body: value bytes of an array (arguments
    /// that are not an array are `request/invalid`).
    ///
    /// ```
    /// use actor::protocol::WireEncoding;
    /// let args = WireEncoding::Json.decode_action_request(br#"{"args":[5,["$BigInt","2"]]}"#)?;
    /// assert_eq!(args, b"[5,2]");
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn decode_action_request(self, body: &[u8]) -> Result<Vec<u8>, ActorError> {
        match self {
            Self::Json => json::decode_action_request(body),
            Self::Cbor => cbor::decode_action_request(body),
            Self::Bare => bare::decode_action_request(body),
        }
    }

    /// An `HttpActionRequest` body carrying `args` (value bytes of an array).
    ///
    /// ```
    /// use actor::protocol::WireEncoding;
    /// assert_eq!(WireEncoding::Bare.encode_action_request(&[0x81, 0x01])?, [0x04, 0x00, 0x02, 0x81, 0x01]);
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn encode_action_request(self, args: &[u8]) -> Result<Vec<u8>, ActorError> {
        match self {
            Self::Json => json::encode_action_request(args),
            Self::Cbor => cbor::encode_action_request(args),
            Self::Bare => bare::encode_action_request(args),
        }
    }

    /// The output of an `HttpActionResponse` body: value bytes (`null` when absent).
    ///
    /// ```
    /// use actor::protocol::WireEncoding;
    /// assert_eq!(WireEncoding::Json.decode_action_response(b"{}")?, b"null");
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn decode_action_response(self, body: &[u8]) -> Result<Vec<u8>, ActorError> {
        match self {
            Self::Json => json::decode_action_response(body),
            Self::Cbor => cbor::decode_action_response(body),
            Self::Bare => bare::decode_action_response(body),
        }
    }

    /// An `HttpActionResponse` body carrying `output` (value bytes).
    ///
    /// ```
    /// use actor::protocol::WireEncoding;
    /// let body = WireEncoding::Json.encode_action_response(b"9007199254740993")?;
    /// assert_eq!(body, br#"{"output":["$BigInt","9007199254740993"]}"#);
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn encode_action_response(self, output: &[u8]) -> Result<Vec<u8>, ActorError> {
        match self {
            Self::Json => json::encode_action_response(output),
            Self::Cbor => cbor::encode_action_response(output),
            Self::Bare => bare::encode_action_response(output),
        }
    }

    /// An `HttpQueueSendRequest` body.
    ///
    /// ```
    /// use actor::protocol::WireEncoding;
    /// let body = [0xa1, 0x64, b'b', b'o', b'd', b'y', 0x05];
    /// let req = WireEncoding::Cbor.decode_queue_request(&body)?;
    /// assert_eq!((req.body, req.wait), (vec![0x05], false));
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn decode_queue_request(self, body: &[u8]) -> Result<QueueRequest, ActorError> {
        match self {
            Self::Json => json::decode_queue_request(body),
            Self::Cbor => cbor::decode_queue_request(body),
            Self::Bare => bare::decode_queue_request(body),
        }
    }

    /// An `HttpQueueSendRequest` body (`timeout` left out when `None`).
    ///
    /// ```
    /// use actor::protocol::{QueueRequest, WireEncoding};
    /// let req = QueueRequest { body: b"1".to_vec(), name: None, wait: true, timeout: Some(500) };
    /// assert_eq!(WireEncoding::Json.encode_queue_request(&req)?, br#"{"body":1,"wait":true,"timeout":500}"#);
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn encode_queue_request(self, req: &QueueRequest) -> Result<Vec<u8>, ActorError> {
        match self {
            Self::Json => json::encode_queue_request(req),
            Self::Cbor => cbor::encode_queue_request(req),
            Self::Bare => bare::encode_queue_request(req),
        }
    }

    /// An `HttpQueueSendResponse` body.
    ///
    /// ```
    /// use actor::protocol::{QueueStatus, WireEncoding};
    /// let res = WireEncoding::Json.decode_queue_response(br#"{"status":"completed","response":"ok"}"#)?;
    /// assert_eq!((res.status, res.response), (QueueStatus::Completed, Some(br#""ok""#.to_vec())));
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn decode_queue_response(self, body: &[u8]) -> Result<QueueResponse, ActorError> {
        match self {
            Self::Json => json::decode_queue_response(body),
            Self::Cbor => cbor::decode_queue_response(body),
            Self::Bare => bare::decode_queue_response(body),
        }
    }

    /// An `HttpQueueSendResponse` body (`response` left out when `None`).
    ///
    /// ```
    /// use actor::protocol::{QueueResponse, QueueStatus, WireEncoding};
    /// let res = QueueResponse { status: QueueStatus::TimedOut, response: None };
    /// assert_eq!(WireEncoding::Json.encode_queue_response(&res)?, br#"{"status":"timedOut"}"#);
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn encode_queue_response(self, res: &QueueResponse) -> Result<Vec<u8>, ActorError> {
        match self {
            Self::Json => json::encode_queue_response(res),
            Self::Cbor => cbor::encode_queue_response(res),
            Self::Bare => bare::encode_queue_response(res),
        }
    }

    /// An `HttpResponseError` body: group, code, message and the error's metadata (left
    /// out if it nests too deeply to encode), without the optional `actor` field.
    ///
    /// ```
    /// use actor::{ActorError, protocol::WireEncoding};
    /// let err = ActorError::user("bad_thing", "it failed").with_metadata(serde_json::json!({"why": 1}));
    /// assert_eq!(
    ///     WireEncoding::Json.encode_error(&err),
    ///     br#"{"group":"user","code":"bad_thing","message":"it failed","metadata":{"why":1}}"#,
    /// );
    /// ```
    pub fn encode_error(self, err: &ActorError) -> Vec<u8> {
        match self {
            Self::Json => json::encode_error(err),
            Self::Cbor => cbor::encode_error(err),
            Self::Bare => bare::encode_error(err),
        }
    }

    /// The error in an `HttpResponseError` body in this encoding; its `actor` field is
    /// read and dropped, a `null` metadata reads as none. See
    /// [`decode_error_body`](Self::decode_error_body) for a body whose encoding the
    /// response's `content-type` decides.
    ///
    /// ```
    /// use actor::protocol::WireEncoding;
    /// let err = WireEncoding::Json.decode_error(br#"{"group":"actor","code":"not_found","message":"gone"}"#)?;
    /// assert!(err.is(actor::codes::NOT_FOUND));
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn decode_error(self, body: &[u8]) -> Result<ActorError, ActorError> {
        match self {
            Self::Json => json::decode_error(body),
            Self::Cbor => cbor::decode_error(body),
            Self::Bare => bare::decode_error(body),
        }
    }

    /// The error in the body of a non-2xx answer to a request made in this encoding, as
    /// the TS client reads it: JSON if `content_type` contains `application/json`,
    /// otherwise this encoding, and, should that fail, JSON (a server may answer errors in
    /// JSON whatever the request's encoding). The error is the first decoder's.
    ///
    /// ```
    /// use actor::protocol::WireEncoding;
    /// let body = br#"{"group":"user","code":"nope","message":"bad"}"#;
    /// let err = WireEncoding::Bare.decode_error_body(Some("application/json; charset=utf-8"), body)?;
    /// assert_eq!(err.code(), "nope");
    /// assert_eq!(WireEncoding::Cbor.decode_error_body(None, body)?.code(), "nope");
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn decode_error_body(
        self,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<ActorError, ActorError> {
        let says_json =
            content_type.is_some_and(|t| t.to_ascii_lowercase().contains("application/json"));
        if says_json {
            return Self::Json.decode_error(body);
        }
        match self.decode_error(body) {
            Err(first) if self != Self::Json => Self::Json.decode_error(body).map_err(|_| first),
            decoded => decoded,
        }
    }

    /// A WebSocket message for the client.
    ///
    /// ```
    /// use actor::protocol::{ToClient, WireEncoding};
    /// let init = ToClient::Init { actor_id: "actor-ws".into(), connection_id: "conn-1".into() };
    /// let frame = WireEncoding::Bare.encode_to_client(&init)?;
    /// assert_eq!(frame, b"\x04\x00\x00\x08actor-ws\x06conn-1");
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn encode_to_client(self, msg: &ToClient) -> Result<Vec<u8>, ActorError> {
        match self {
            Self::Json => json::encode_to_client(msg),
            Self::Cbor => cbor::encode_to_client(msg),
            Self::Bare => bare::encode_to_client(msg),
        }
    }

    /// A WebSocket message from the server.
    ///
    /// ```
    /// use actor::protocol::{ToClient, WireEncoding};
    /// let msg = WireEncoding::Bare.decode_to_client(&[0x04, 0x00, 0x02, 0x00, 0x01, 0x07])?;
    /// assert_eq!(msg, ToClient::ActionResponse { id: 0, output: vec![0x07] });
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn decode_to_client(self, frame: &[u8]) -> Result<ToClient, ActorError> {
        match self {
            Self::Json => json::decode_to_client(frame),
            Self::Cbor => cbor::decode_to_client(frame),
            Self::Bare => bare::decode_to_client(frame),
        }
    }

    /// A WebSocket message for the server.
    ///
    /// ```
    /// use actor::protocol::{ToServer, WireEncoding};
    /// let msg = ToServer::SubscriptionRequest { event_name: "ev".into(), subscribe: true };
    /// assert_eq!(
    ///     WireEncoding::Json.encode_to_server(&msg)?,
    ///     br#"{"body":{"tag":"SubscriptionRequest","val":{"eventName":"ev","subscribe":true}}}"#,
    /// );
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn encode_to_server(self, msg: &ToServer) -> Result<Vec<u8>, ActorError> {
        match self {
            Self::Json => json::encode_to_server(msg),
            Self::Cbor => cbor::encode_to_server(msg),
            Self::Bare => bare::encode_to_server(msg),
        }
    }

    /// A WebSocket message from the client.
    ///
    /// ```
    /// use actor::protocol::{ToServer, WireEncoding};
    /// let frame = [0x04, 0x00, 0x00, 0x00, 0x09, b'i', b'n', b'c', b'r', b'e', b'm', b'e', b'n', b't', 0x02, 0x81, 0x01];
    /// let msg = WireEncoding::Bare.decode_to_server(&frame)?;
    /// assert_eq!(msg, ToServer::ActionRequest { id: 0, name: "increment".into(), args: vec![0x81, 0x01] });
    /// # Ok::<(), actor::ActorError>(())
    /// ```
    pub fn decode_to_server(self, frame: &[u8]) -> Result<ToServer, ActorError> {
        match self {
            Self::Json => json::decode_to_server(frame),
            Self::Cbor => cbor::decode_to_server(frame),
            Self::Bare => bare::decode_to_server(frame),
        }
    }
}

/// A create input as the RivetKit client writes it (`rvt-input`, and the manager API's
/// `input`: the CBOR of a compat value), as the JSON a create reads.
///
/// ```
/// // cbor-x's {hi: 1}: a map16 header, then "hi": 1.
/// let json = actor::protocol::input_from_cbor(&[0xb9, 0x00, 0x01, 0x62, b'h', b'i', 0x01]).unwrap();
/// assert_eq!(json, br#"{"hi":1}"#);
/// assert!(actor::protocol::input_from_cbor(&[0xff]).is_err());
/// ```
pub fn input_from_cbor(cbor: &[u8]) -> Result<Vec<u8>, ActorError> {
    let value = cbor::read_json(cbor, cbor::Mode::Compat)
        .map_err(|why| invalid(format!("the create input is not valid CBOR: {why}")))?;
    serde_json::to_vec(&value).map_err(|e| unencodable("a create input", e))
}

/// A value re-encoded from `from` into `to`: the bytes themselves when the two agree.
/// (A route whose wire encodes values in CBOR, given JSON bytes by a caller, say.)
///
/// ```
/// use actor::Encoding;
/// let cbor = actor::protocol::transcode(Encoding::Json, Encoding::Cbor, b"[1,\"a\"]".to_vec()).unwrap();
/// assert_eq!(cbor, [0x82, 0x01, 0x61, b'a']);
/// let json = actor::protocol::transcode(Encoding::Cbor, Encoding::Json, cbor).unwrap();
/// assert_eq!(json, br#"[1,"a"]"#);
/// ```
pub fn transcode(from: Encoding, to: Encoding, bytes: Vec<u8>) -> Result<Vec<u8>, ActorError> {
    let unreadable = |why: String| {
        ActorError::invalid_arguments(format!("the value is not valid {from:?}: {why}"))
    };
    match (from, to) {
        (Encoding::Json, Encoding::Json) | (Encoding::Cbor, Encoding::Cbor) => Ok(bytes),
        (Encoding::Json, Encoding::Cbor) => {
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| unreadable(e.to_string()))?;
            cbor::write_json(&value).map_err(|why| unencodable("a value as CBOR", why))
        }
        (Encoding::Cbor, Encoding::Json) => {
            let value = cbor::read_json(&bytes, cbor::Mode::Plain).map_err(unreadable)?;
            serde_json::to_vec(&value).map_err(|e| unencodable("a value as JSON", e))
        }
    }
}

impl QueueStatus {
    /// The status's name on the wire.
    fn wire_name(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::TimedOut => "timedOut",
        }
    }

    /// The status a wire name names; `what` is the message it was read from.
    fn from_wire(name: &str, what: &str) -> Result<Self, ActorError> {
        match name {
            "completed" => Ok(Self::Completed),
            "timedOut" => Ok(Self::TimedOut),
            other => Err(invalid(format!(
                "the `status` of {what} is `{}`; a status is `completed` or `timedOut`",
                excerpt(other)
            ))),
        }
    }
}

/// The error of every decoding failure.
fn invalid(message: impl Into<String>) -> ActorError {
    ActorError::of(codes::INVALID_REQUEST, message)
}

/// The error of an encoder given value bytes it cannot encode.
fn unencodable(what: impl fmt::Display, cause: impl fmt::Display) -> ActorError {
    ActorError::serialization_failed(what, cause)
}

/// The error read from the fields of an `Error` or `HttpResponseError`.
fn error_of(
    group: String,
    code: String,
    message: String,
    metadata: Option<serde_json::Value>,
) -> ActorError {
    let error = ActorError::new(group, code, message);
    match metadata {
        Some(serde_json::Value::Null) | None => error,
        Some(metadata) => error.with_metadata(metadata),
    }
}

/// The start of a text quoted in an error message, so that a huge input does not make a
/// huge message.
fn excerpt(text: &str) -> String {
    const CHARS: usize = 60;
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(CHARS).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// The next nesting level below `depth`, or the error saying a value nests too deeply.
fn nest(depth: usize) -> Result<usize, String> {
    if depth >= MAX_DEPTH {
        Err(format!(
            "the value is nested more than {MAX_DEPTH} levels deep (arrays, maps or tags)"
        ))
    } else {
        Ok(depth + 1)
    }
}

/// The integer of a `["$BigInt", text]` compat value.
fn parse_bigint(text: &str) -> Result<i128, String> {
    text.parse::<i128>().map_err(|_| {
        format!(
            "[\"$BigInt\", \"{}\"] does not hold a decimal integer that fits in 128 bits",
            excerpt(text)
        )
    })
}

/// The bytes of a `["$Uint8Array", b64]` or `["$ArrayBuffer", b64]` compat value:
/// standard base64, padded or not.
fn decode_base64(tag: &str, text: &str) -> Result<Vec<u8>, String> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    engine
        .decode(text)
        .map_err(|e| format!("[\"{tag}\", …] does not hold standard base64: {e}"))
}

/// The error for a `["$x", …]` array with a tag no JS peer writes.
fn unknown_tag(tag: &str) -> String {
    format!(
        "[\"{}\", …] is not a compat value: the tags are $BigInt, $Uint8Array, $ArrayBuffer, \
         $Undefined and $Set, and a user's array whose first item starts with `$` is written \
         with one more `$`",
        excerpt(tag)
    )
}

/// `2^53 - 1`, the largest integer a JS Number holds exactly.
const MAX_SAFE_INTEGER: u128 = (1 << 53) - 1;
