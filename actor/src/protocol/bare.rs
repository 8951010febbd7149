//! The bare encoding: the v4 schema of `@rivetkit/bare-ts` after the `u16` little-endian
//! version prefix, with strict primitives (canonical ULEB128, bools `00`/`01`, UTF-8
//! strings, no trailing bytes). `data` fields hold compat CBOR.

use std::ops::RangeInclusive;

use super::cbor::{self, Mode, Shape};
use super::{
    PROTOCOL_VERSION, QueueRequest, QueueResponse, QueueStatus, ToClient, ToServer, error_of,
    invalid, unencodable,
};
use crate::error::ActorError;

/// The versions read of a message the 2.3.19 client sends (only 4).
const CLIENT_VERSIONS: RangeInclusive<u16> = 4..=4;
/// The versions read of `ToClient`, `HttpActionResponse` and `HttpResponseError`: 1 to 4
/// (v1 `Init` has a `connectionToken`, v1 to v3 `Error`s have no `actor`).
const SERVER_VERSIONS: RangeInclusive<u16> = 1..=4;
/// The versions read of `HttpQueueSendResponse`, which came in version 3.
const QUEUE_RESPONSE_VERSIONS: RangeInclusive<u16> = 3..=4;

// ---------------------------------------------------------------------------------------
// Reading

/// A cursor over one message.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    what: &'static str,
    version: u16,
}

impl<'a> Reader<'a> {
    /// Reads the version prefix of the message `what` (such as "HttpActionRequest"),
    /// which must be in `versions`.
    fn new(
        bytes: &'a [u8],
        what: &'static str,
        versions: RangeInclusive<u16>,
    ) -> Result<Self, ActorError> {
        let mut reader = Self {
            bytes,
            at: 0,
            what,
            version: 0,
        };
        let prefix: [u8; 2] = reader.array("version prefix")?;
        let version = u16::from_le_bytes(prefix);
        let [lo, hi] = prefix;
        if !versions.contains(&version) {
            let reads = if versions.start() == versions.end() {
                format!("version {}", versions.start())
            } else {
                format!("versions {} to {}", versions.start(), versions.end())
            };
            return Err(invalid(format!(
                "the BARE {what} has protocol version {version} (prefix `{lo:02x} {hi:02x}`); \
                 this reads {reads}"
            ))
            .with_metadata(serde_json::json!({
                "version": version,
                "supported": versions.collect::<Vec<_>>(),
            })));
        }
        reader.version = version;
        Ok(reader)
    }

    fn fail(&self, message: String) -> ActorError {
        invalid(format!("the BARE {} {message}", self.what))
    }

    /// The next `n` bytes, for the field `field`.
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], ActorError> {
        let bytes = self
            .at
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.at..end))
            .ok_or_else(|| {
                self.fail(format!(
                    "ends inside its `{field}` field (at byte {})",
                    self.at
                ))
            })?;
        self.at += n;
        Ok(bytes)
    }

    /// The next `N` bytes, for the field `field`.
    fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N], ActorError> {
        let at = self.at;
        <[u8; N]>::try_from(self.take(N, field)?)
            .map_err(|_| self.fail(format!("ends inside its `{field}` field (at byte {at})")))
    }

    fn u8(&mut self, field: &str) -> Result<u8, ActorError> {
        let at = self.at;
        match self.bytes.get(at) {
            Some(&b) => {
                self.at += 1;
                Ok(b)
            }
            None => Err(self.fail(format!("ends inside its `{field}` field (at byte {at})"))),
        }
    }

    /// A ULEB128 `uint`: canonical (no final `00` after a continuation), at most 2^64-1.
    fn uint(&mut self, field: &str) -> Result<u64, ActorError> {
        let start = self.at;
        let mut value = 0u64;
        let mut shift = 0u32;
        loop {
            let b = self.u8(field)?;
            // The tenth byte holds the 64th bit only.
            if shift == 63 && b > 1 {
                return Err(self.fail(format!(
                    "has a uint larger than 2^64-1 in its `{field}` field (at byte {start})"
                )));
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                if b == 0 && shift > 0 {
                    return Err(self.fail(format!(
                        "has a non-canonical uint (a final 00 byte) in its `{field}` field \
                         (at byte {start})"
                    )));
                }
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn bool(&mut self, field: &str) -> Result<bool, ActorError> {
        let at = self.at;
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.fail(format!(
                "has the byte {b:02x} for the bool of its `{field}` field (at byte {at}); \
                 a bool is 00 or 01"
            ))),
        }
    }

    fn u64(&mut self, field: &str) -> Result<u64, ActorError> {
        self.array(field).map(u64::from_le_bytes)
    }

    /// `data`: a `uint` length and the bytes.
    fn data(&mut self, field: &str) -> Result<&'a [u8], ActorError> {
        let len = self.uint(field)?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        self.take(len, field)
    }

    /// `str`: a `uint` length (at most 2^32-1) and UTF-8.
    fn str(&mut self, field: &str) -> Result<String, ActorError> {
        let start = self.at;
        let len = self.uint(field)?;
        if len > u64::from(u32::MAX) {
            return Err(self.fail(format!(
                "has a string of {len} bytes in its `{field}` field (at byte {start}); \
                 strings are at most 2^32-1 bytes"
            )));
        }
        let at = self.at;
        let bytes = self.take(usize::try_from(len).unwrap_or(usize::MAX), field)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => Err(self.fail(format!(
                "has invalid UTF-8 in its `{field}` field (at byte {})",
                at + e.valid_up_to()
            ))),
        }
    }

    /// The presence byte of an `optional<T>` field.
    fn some(&mut self, field: &str) -> Result<bool, ActorError> {
        self.bool(field)
    }

    fn opt_str(&mut self, field: &str) -> Result<Option<String>, ActorError> {
        if self.some(field)? {
            self.str(field).map(Some)
        } else {
            Ok(None)
        }
    }

    fn opt_data(&mut self, field: &str) -> Result<Option<&'a [u8]>, ActorError> {
        if self.some(field)? {
            self.data(field).map(Some)
        } else {
            Ok(None)
        }
    }

    /// `actor: optional<ActorSpecifier>` (version 4 and later), read and dropped.
    fn skip_actor(&mut self) -> Result<(), ActorError> {
        if self.version >= 4 && self.some("actor")? {
            self.str("actor.actorId")?;
            self.uint("actor.generation")?;
            self.opt_str("actor.key")?;
        }
        Ok(())
    }

    /// The end of the message: nothing may follow.
    fn finish(self) -> Result<(), ActorError> {
        match self.bytes.len() - self.at {
            0 => Ok(()),
            1 => Err(self.fail(format!("has 1 byte after its end (at byte {})", self.at))),
            n => Err(self.fail(format!("has {n} bytes after its end (at byte {})", self.at))),
        }
    }

    /// The plain value bytes of the `data` field `field`.
    fn value(&self, bytes: &[u8], field: &str, shape: Shape) -> Result<Vec<u8>, ActorError> {
        cbor::read_value(bytes, Mode::Compat, shape).map_err(|cause| {
            invalid(format!(
                "the `{field}` field of the BARE {} is not a valid value: {cause}",
                self.what
            ))
        })
    }

    fn metadata(&self, bytes: Option<&[u8]>) -> Result<Option<serde_json::Value>, ActorError> {
        bytes
            .map(|bytes| {
                cbor::read_metadata(bytes).map_err(|cause| {
                    invalid(format!(
                        "the `metadata` field of the BARE {} is not a valid value: {cause}",
                        self.what
                    ))
                })
            })
            .transpose()
    }
}

pub(super) fn decode_action_request(body: &[u8]) -> Result<Vec<u8>, ActorError> {
    let mut r = Reader::new(body, "HttpActionRequest", CLIENT_VERSIONS)?;
    let args = r.data("args")?;
    let args = r.value(args, "args", Shape::Array)?;
    r.finish()?;
    Ok(args)
}

pub(super) fn decode_action_response(body: &[u8]) -> Result<Vec<u8>, ActorError> {
    let mut r = Reader::new(body, "HttpActionResponse", SERVER_VERSIONS)?;
    let output = r.data("output")?;
    let output = r.value(output, "output", Shape::Any)?;
    r.finish()?;
    Ok(output)
}

pub(super) fn decode_queue_request(body: &[u8]) -> Result<QueueRequest, ActorError> {
    let mut r = Reader::new(body, "HttpQueueSendRequest", CLIENT_VERSIONS)?;
    let value = r.data("body")?;
    let value = r.value(value, "body", Shape::Any)?;
    let name = r.opt_str("name")?;
    let wait = if r.some("wait")? {
        r.bool("wait")?
    } else {
        false
    };
    let timeout = if r.some("timeout")? {
        Some(r.u64("timeout")?)
    } else {
        None
    };
    r.finish()?;
    Ok(QueueRequest {
        body: value,
        name,
        wait,
        timeout,
    })
}

pub(super) fn decode_queue_response(body: &[u8]) -> Result<QueueResponse, ActorError> {
    let mut r = Reader::new(body, "HttpQueueSendResponse", QUEUE_RESPONSE_VERSIONS)?;
    let status = r.str("status")?;
    let status = QueueStatus::from_wire(&status, "the BARE HttpQueueSendResponse")?;
    let response = r.opt_data("response")?;
    let response = response
        .map(|bytes| r.value(bytes, "response", Shape::Any))
        .transpose()?;
    r.finish()?;
    Ok(QueueResponse { status, response })
}

/// group, code, message and metadata of an `Error` or `HttpResponseError`.
fn read_error(r: &mut Reader<'_>) -> Result<ActorError, ActorError> {
    let group = r.str("group")?;
    let code = r.str("code")?;
    let message = r.str("message")?;
    let metadata = r.opt_data("metadata")?;
    let metadata = r.metadata(metadata)?;
    Ok(error_of(group, code, message, metadata))
}

pub(super) fn decode_error(body: &[u8]) -> Result<ActorError, ActorError> {
    let mut r = Reader::new(body, "HttpResponseError", SERVER_VERSIONS)?;
    let error = read_error(&mut r)?;
    r.skip_actor()?;
    r.finish()?;
    Ok(error)
}

pub(super) fn decode_to_client(frame: &[u8]) -> Result<ToClient, ActorError> {
    let mut r = Reader::new(frame, "ToClient", SERVER_VERSIONS)?;
    let at = r.at;
    let msg = match r.u8("tag")? {
        0 => {
            let actor_id = r.str("actorId")?;
            let connection_id = r.str("connectionId")?;
            if r.version == 1 {
                r.str("connectionToken")?;
            }
            ToClient::Init {
                actor_id,
                connection_id,
            }
        }
        1 => {
            let error = read_error(&mut r)?;
            let action_id = if r.some("actionId")? {
                Some(r.uint("actionId")?)
            } else {
                None
            };
            r.skip_actor()?;
            ToClient::Error { error, action_id }
        }
        2 => {
            let id = r.uint("id")?;
            let output = r.data("output")?;
            ToClient::ActionResponse {
                id,
                output: r.value(output, "output", Shape::Any)?,
            }
        }
        3 => {
            let name = r.str("name")?;
            let args = r.data("args")?;
            ToClient::Event {
                name,
                args: r.value(args, "args", Shape::Array)?,
            }
        }
        tag => {
            return Err(r.fail(format!(
                "has the unknown tag {tag} (at byte {at}); the tags are 0 (Init), 1 (Error), \
                 2 (ActionResponse) and 3 (Event)"
            )));
        }
    };
    r.finish()?;
    Ok(msg)
}

pub(super) fn decode_to_server(frame: &[u8]) -> Result<ToServer, ActorError> {
    let mut r = Reader::new(frame, "ToServer", CLIENT_VERSIONS)?;
    let at = r.at;
    let msg = match r.u8("tag")? {
        0 => {
            let id = r.uint("id")?;
            let name = r.str("name")?;
            let args = r.data("args")?;
            ToServer::ActionRequest {
                id,
                name,
                args: r.value(args, "args", Shape::Array)?,
            }
        }
        1 => ToServer::SubscriptionRequest {
            event_name: r.str("eventName")?,
            subscribe: r.bool("subscribe")?,
        },
        tag => {
            return Err(r.fail(format!(
                "has the unknown tag {tag} (at byte {at}); the tags are 0 (ActionRequest) and \
                 1 (SubscriptionRequest)"
            )));
        }
    };
    r.finish()?;
    Ok(msg)
}

// ---------------------------------------------------------------------------------------
// Writing

/// A message being written, after its version prefix.
struct Writer(Vec<u8>);

impl Writer {
    fn new() -> Self {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
        Self(out)
    }

    fn u8(&mut self, b: u8) -> &mut Self {
        self.0.push(b);
        self
    }

    fn uint(&mut self, mut n: u64) -> &mut Self {
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(low);
                return self;
            }
            self.0.push(low | 0x80);
        }
    }

    fn bool(&mut self, b: bool) -> &mut Self {
        self.u8(u8::from(b))
    }

    fn data(&mut self, bytes: &[u8]) -> &mut Self {
        self.uint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
        self
    }

    fn str(&mut self, s: &str) -> &mut Self {
        self.data(s.as_bytes())
    }

    fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

/// The compat CBOR of the value bytes of the field `field` of `what`.
fn out_value(bytes: &[u8], shape: Shape, what: &str, field: &str) -> Result<Vec<u8>, ActorError> {
    cbor::out_value(bytes, Mode::Compat, shape)
        .map_err(|cause| unencodable(format_args!("the `{field}` of a BARE {what}"), cause))
}

/// group, code, message and metadata (left out if it cannot be encoded).
fn write_error(w: &mut Writer, err: &ActorError) {
    w.str(err.group()).str(err.code()).str(err.message());
    match cbor::out_metadata(err) {
        Some(metadata) => w.bool(true).data(&metadata),
        None => w.bool(false),
    };
}

pub(super) fn encode_action_request(args: &[u8]) -> Result<Vec<u8>, ActorError> {
    let args = out_value(args, Shape::Array, "HttpActionRequest", "args")?;
    Ok(Writer::new().data(&args).finish())
}

pub(super) fn encode_action_response(output: &[u8]) -> Result<Vec<u8>, ActorError> {
    let output = out_value(output, Shape::Any, "HttpActionResponse", "output")?;
    Ok(Writer::new().data(&output).finish())
}

pub(super) fn encode_queue_request(req: &QueueRequest) -> Result<Vec<u8>, ActorError> {
    let body = out_value(&req.body, Shape::Any, "HttpQueueSendRequest", "body")?;
    let mut w = Writer::new();
    w.data(&body);
    match &req.name {
        Some(name) => w.bool(true).str(name),
        None => w.bool(false),
    };
    w.bool(true).bool(req.wait);
    match req.timeout {
        Some(timeout) => {
            w.bool(true).0.extend_from_slice(&timeout.to_le_bytes());
        }
        None => {
            w.bool(false);
        }
    }
    Ok(w.finish())
}

pub(super) fn encode_queue_response(res: &QueueResponse) -> Result<Vec<u8>, ActorError> {
    let mut w = Writer::new();
    w.str(res.status.wire_name());
    match &res.response {
        Some(bytes) => {
            let response = out_value(bytes, Shape::Any, "HttpQueueSendResponse", "response")?;
            w.bool(true).data(&response);
        }
        None => {
            w.bool(false);
        }
    }
    Ok(w.finish())
}

pub(super) fn encode_error(err: &ActorError) -> Vec<u8> {
    let mut w = Writer::new();
    write_error(&mut w, err);
    // actor: none.
    w.bool(false).finish()
}

pub(super) fn encode_to_client(msg: &ToClient) -> Result<Vec<u8>, ActorError> {
    let mut w = Writer::new();
    match msg {
        ToClient::Init {
            actor_id,
            connection_id,
        } => {
            w.u8(0).str(actor_id).str(connection_id);
        }
        ToClient::Error { error, action_id } => {
            w.u8(1);
            write_error(&mut w, error);
            match action_id {
                Some(id) => w.bool(true).uint(*id),
                None => w.bool(false),
            };
            // actor: none.
            w.bool(false);
        }
        ToClient::ActionResponse { id, output } => {
            let output = out_value(output, Shape::Any, "ToClient `ActionResponse`", "output")?;
            w.u8(2).uint(*id).data(&output);
        }
        ToClient::Event { name, args } => {
            let args = out_value(args, Shape::Array, "ToClient `Event`", "args")?;
            w.u8(3).str(name).data(&args);
        }
    }
    Ok(w.finish())
}

pub(super) fn encode_to_server(msg: &ToServer) -> Result<Vec<u8>, ActorError> {
    let mut w = Writer::new();
    match msg {
        ToServer::ActionRequest { id, name, args } => {
            let args = out_value(args, Shape::Array, "ToServer `ActionRequest`", "args")?;
            w.u8(0).uint(*id).str(name).data(&args);
        }
        ToServer::SubscriptionRequest {
            event_name,
            subscribe,
        } => {
            w.u8(1).str(event_name).bool(*subscribe);
        }
    }
    Ok(w.finish())
}
