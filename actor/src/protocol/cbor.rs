//! The cbor encoding, and the CBOR values of both cbor and bare: reading what cbor-x
//! writes, reviving and escaping compat values, and a small writer that writes envelopes
//! (and values) as cbor-x does: map16 headers, 8-byte ids, float64.

use ciborium::Value;
use ciborium::value::Integer;

use super::{
    MAX_DEPTH, QueueRequest, QueueResponse, QueueStatus, ToClient, ToServer, decode_base64,
    error_of, excerpt, invalid, nest, parse_bigint, unencodable, unknown_tag,
};
use crate::error::ActorError;

/// Whether the values of a message are in compat form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// Compat values: what JS peers receive in cbor, and all BARE `data` fields.
    Compat,
    /// Plain cbor-x values: what the TS client sends in cbor.
    Plain,
}

/// What a value must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    /// Any value.
    Any,
    /// An array (arguments).
    Array,
}

/// How many containers an envelope wraps its values in at most (`{body:{val:{…}}}`).
const ENVELOPE_DEPTH: usize = 3;

// ---------------------------------------------------------------------------------------
// Reading values

/// One whole CBOR item, nested at most `limit` containers deep.
fn parse(bytes: &[u8], limit: usize) -> Result<Value, String> {
    use ciborium::de::Error;
    let mut rest = bytes;
    let value = ciborium::de::from_reader_with_recursion_limit(&mut rest, limit).map_err(
        |err: Error<std::io::Error>| match err {
            Error::Io(_) => "the CBOR ends before its value does".to_string(),
            Error::Syntax(at) => format!("the bytes are not valid CBOR (at byte {at})"),
            Error::Semantic(Some(at), what) => format!("{what} (at byte {at})"),
            Error::Semantic(None, what) => what,
            Error::RecursionLimitExceeded => format!(
                "the value is nested more than {MAX_DEPTH} levels deep (arrays, maps or tags)"
            ),
        },
    )?;
    let at = bytes.len() - rest.len();
    match rest.len() {
        0 => Ok(value),
        1 => Err(format!("1 byte follows the CBOR value (at byte {at})")),
        n => Err(format!("{n} bytes follow the CBOR value (at byte {at})")),
    }
}

/// An integral float as the integer it is (cbor-x writes integers of 2^32 and more as
/// float64).
fn integral(f: f64) -> Option<Integer> {
    const TWO_64: f64 = 18_446_744_073_709_551_616.0;
    if f.is_finite() && f.fract() == 0.0 && (-TWO_64..TWO_64).contains(&f) {
        // In range, so the cast is exact.
        Integer::try_from(f as i128).ok()
    } else {
        None
    }
}

/// The plain form of a value a peer wrote: cbor-x's native types undone, and in
/// [`Mode::Compat`] compat values revived. `depth` is the nesting of `value`'s container.
fn normalize(value: Value, mode: Mode, depth: usize) -> Result<Value, String> {
    Ok(match value {
        Value::Array(items) => {
            let inner = nest(depth)?;
            match <[Value; 2]>::try_from(items) {
                Ok([Value::Text(tag), payload]) if mode == Mode::Compat && tag.starts_with('$') => {
                    revive_tagged(&tag, payload, inner)?
                }
                Ok(pair) => normalize_items(Vec::from(pair), mode, inner)?,
                Err(items) => normalize_items(items, mode, inner)?,
            }
        }
        Value::Map(entries) => {
            let inner = nest(depth)?;
            Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| Ok((normalize(k, mode, inner)?, normalize(v, mode, inner)?)))
                    .collect::<Result<_, String>>()?,
            )
        }
        // Bignums: ciborium reads them as integers (those that fit one already are).
        Value::Tag(tag @ (2 | 3), content) if matches!(*content, Value::Bytes(_)) => {
            Value::Tag(tag, content)
        }
        // Date (1), Uint8Array (64), Set (258), Map (259), typed arrays, anything else.
        Value::Tag(_, content) => normalize(*content, mode, nest(depth)?)?,
        Value::Float(f) => integral(f).map_or(Value::Float(f), Value::Integer),
        other => other,
    })
}

fn normalize_items(items: Vec<Value>, mode: Mode, depth: usize) -> Result<Value, String> {
    items
        .into_iter()
        .map(|v| normalize(v, mode, depth))
        .collect::<Result<_, _>>()
        .map(Value::Array)
}

/// The plain form of the compat value `[tag, payload]`; `depth` is the nesting of its
/// items.
fn revive_tagged(tag: &str, payload: Value, depth: usize) -> Result<Value, String> {
    match (tag, payload) {
        ("$BigInt", Value::Text(digits)) => {
            let n = parse_bigint(&digits)?;
            Integer::try_from(n).map(Value::Integer).map_err(|_| {
                format!(
                    "[\"$BigInt\", \"{}\"] does not fit a CBOR integer (-2^64 to 2^64-1)",
                    excerpt(&digits)
                )
            })
        }
        ("$Uint8Array" | "$ArrayBuffer", Value::Text(b64)) => {
            decode_base64(tag, &b64).map(Value::Bytes)
        }
        ("$Undefined", _) => Ok(Value::Null),
        ("$Set", Value::Array(items)) => normalize_items(items, Mode::Compat, nest(depth)?),
        ("$BigInt" | "$Uint8Array" | "$ArrayBuffer", other) => Err(format!(
            "[\"{tag}\", …] holds {}, not a text string",
            kind(&other)
        )),
        ("$Set", other) => Err(format!(
            "[\"$Set\", …] holds {}, not an array",
            kind(&other)
        )),
        (_, payload) => match tag.strip_prefix('$').filter(|rest| rest.starts_with('$')) {
            Some(unescaped) => Ok(Value::Array(vec![
                Value::Text(unescaped.to_string()),
                normalize(payload, Mode::Compat, depth)?,
            ])),
            None => Err(unknown_tag(tag)),
        },
    }
}

/// The compat form of a plain value, for a JS peer.
fn compat(value: Value, depth: usize) -> Result<Value, String> {
    Ok(match value {
        Value::Array(items) => {
            let inner = nest(depth)?;
            let mut items = items
                .into_iter()
                .map(|v| compat(v, inner))
                .collect::<Result<Vec<_>, _>>()?;
            if let [Value::Text(tag), _] = items.as_mut_slice()
                && tag.starts_with('$')
            {
                tag.insert(0, '$');
            }
            Value::Array(items)
        }
        Value::Map(entries) => {
            let inner = nest(depth)?;
            Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| Ok((compat(k, inner)?, compat(v, inner)?)))
                    .collect::<Result<_, String>>()?,
            )
        }
        Value::Tag(tag, content) => Value::Tag(tag, Box::new(compat(*content, nest(depth)?)?)),
        Value::Integer(i) => {
            let magnitude = i128::from(i).unsigned_abs();
            if (1u128 << 32..=1u128 << 53).contains(&magnitude) {
                // At most 2^53, so exact.
                Value::Float(i128::from(i) as f64)
            } else {
                Value::Integer(i)
            }
        }
        other => other,
    })
}

/// What a value is, for error messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Integer(_) => "an integer",
        Value::Bytes(_) => "a byte string",
        Value::Float(_) => "a float",
        Value::Text(_) => "a text string",
        Value::Bool(_) => "a bool",
        Value::Null => "null",
        Value::Tag(..) => "a tag",
        Value::Array(_) => "an array",
        Value::Map(_) => "a map",
        _ => "an unknown value",
    }
}

fn check_shape(value: &Value, shape: Shape) -> Result<(), String> {
    match (shape, value) {
        (Shape::Array, Value::Array(_)) | (Shape::Any, _) => Ok(()),
        (Shape::Array, other) => Err(format!(
            "arguments are an array, like [1, \"a\"], and this is {}",
            kind(other)
        )),
    }
}

/// Plain value bytes from the CBOR a peer wrote (a BARE `data` field).
pub(super) fn read_value(bytes: &[u8], mode: Mode, shape: Shape) -> Result<Vec<u8>, String> {
    from_value(parse(bytes, MAX_DEPTH)?, mode, shape)
}

/// Plain value bytes from a value a peer wrote.
fn from_value(value: Value, mode: Mode, shape: Shape) -> Result<Vec<u8>, String> {
    let value = normalize(value, mode, 0)?;
    check_shape(&value, shape)?;
    let mut out = Vec::new();
    write_value(&mut out, &value, 0)?;
    Ok(out)
}

/// The CBOR a peer gets for plain value bytes: in [`Mode::Plain`] the bytes themselves
/// (once checked), in [`Mode::Compat`] their compat form.
pub(super) fn out_value(bytes: &[u8], mode: Mode, shape: Shape) -> Result<Vec<u8>, String> {
    let value = parse(bytes, MAX_DEPTH)?;
    check_shape(&value, shape)?;
    match mode {
        Mode::Plain => Ok(bytes.to_vec()),
        Mode::Compat => {
            let mut out = Vec::with_capacity(bytes.len());
            write_value(&mut out, &compat(value, 0)?, 0)?;
            Ok(out)
        }
    }
}

/// Error metadata from the CBOR a peer wrote.
pub(super) fn read_metadata(bytes: &[u8]) -> Result<serde_json::Value, String> {
    metadata_of(parse(bytes, MAX_DEPTH)?)
}

/// A CBOR value as JSON, its compat values revived in `mode`.
pub(super) fn read_json(bytes: &[u8], mode: Mode) -> Result<serde_json::Value, String> {
    Ok(to_json(normalize(parse(bytes, MAX_DEPTH)?, mode, 0)?))
}

/// A JSON value as plain CBOR.
pub(super) fn write_json(value: &serde_json::Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    write_value(&mut out, &from_json(value, 0)?, 0)?;
    Ok(out)
}

fn metadata_of(value: Value) -> Result<serde_json::Value, String> {
    Ok(to_json(normalize(value, Mode::Compat, 0)?))
}

/// A plain CBOR value as JSON: bytes become arrays of numbers, keys strings, integers
/// beyond 64 bits and bignums floats.
fn to_json(value: Value) -> serde_json::Value {
    use serde_json::Value as Json;
    let float = |f: f64| serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number);
    match value {
        Value::Integer(i) => {
            let n = i128::from(i);
            u64::try_from(n)
                .map(Json::from)
                .or_else(|_| i64::try_from(n).map(Json::from))
                .unwrap_or_else(|_| float(n as f64))
        }
        Value::Float(f) => float(f),
        Value::Text(s) => Json::String(s),
        Value::Bool(b) => Json::Bool(b),
        Value::Bytes(bytes) => Json::Array(bytes.into_iter().map(Json::from).collect()),
        Value::Array(items) => Json::Array(items.into_iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Text(s) => s,
                        other => to_json(other).to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Value::Tag(tag, content) => match (tag, *content) {
            (2 | 3, Value::Bytes(bytes)) => {
                let n = bytes.iter().fold(0f64, |n, b| n * 256.0 + f64::from(*b));
                float(if tag == 3 { -1.0 - n } else { n })
            }
            (_, content) => to_json(content),
        },
        _ => Json::Null,
    }
}

/// JSON metadata as a plain CBOR value.
fn from_json(value: &serde_json::Value, depth: usize) -> Result<Value, String> {
    use serde_json::Value as Json;
    Ok(match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Value::Integer(u.into()),
            (None, Some(i)) => Value::Integer(i.into()),
            (None, None) => n.as_f64().map_or(Value::Null, Value::Float),
        },
        Json::String(s) => Value::Text(s.clone()),
        Json::Array(items) => {
            let inner = nest(depth)?;
            Value::Array(
                items
                    .iter()
                    .map(|v| from_json(v, inner))
                    .collect::<Result<_, _>>()?,
            )
        }
        Json::Object(entries) => {
            let inner = nest(depth)?;
            Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| Ok((Value::Text(k.clone()), from_json(v, inner)?)))
                    .collect::<Result<_, String>>()?,
            )
        }
    })
}

/// The compat CBOR of an error's metadata, if it has metadata that can be encoded.
pub(super) fn out_metadata(err: &ActorError) -> Option<Vec<u8>> {
    let value = compat(from_json(err.metadata()?, 0).ok()?, 0).ok()?;
    let mut out = Vec::new();
    write_value(&mut out, &value, 0).ok()?;
    Some(out)
}

// ---------------------------------------------------------------------------------------
// Writing

/// A head: major type and argument, in the shortest form.
fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let major = major << 5;
    match n {
        0..=23 => out.push(major | n as u8),
        24..=0xff => out.extend_from_slice(&[major | 24, n as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// A map header as cbor-x writes it: map16 (`b9 LLLL`) up to 65535 entries.
pub(super) fn map_header(out: &mut Vec<u8>, len: usize) {
    match u16::try_from(len) {
        Ok(len) => {
            out.push(0xb9);
            out.extend_from_slice(&len.to_be_bytes());
        }
        Err(_) => head(out, 5, len as u64),
    }
}

pub(super) fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// An id: always the 8-byte form (`1b` + 8 bytes), which the TS client reads as a BigInt.
pub(super) fn id(out: &mut Vec<u8>, n: u64) {
    out.push(0x1b);
    out.extend_from_slice(&n.to_be_bytes());
}

fn boolean(out: &mut Vec<u8>, b: bool) {
    out.push(if b { 0xf5 } else { 0xf4 });
}

fn null(out: &mut Vec<u8>) {
    out.push(0xf6);
}

/// A value: shortest integers and lengths, map16 maps, float64 floats.
fn write_value(out: &mut Vec<u8>, value: &Value, depth: usize) -> Result<(), String> {
    match value {
        Value::Integer(i) => {
            let n = i128::from(*i);
            let (major, arg) = if n < 0 { (1, -1 - n) } else { (0, n) };
            let arg = u64::try_from(arg).map_err(|_| "an integer beyond 64 bits".to_string())?;
            head(out, major, arg);
        }
        Value::Bytes(bytes) => {
            head(out, 2, bytes.len() as u64);
            out.extend_from_slice(bytes);
        }
        Value::Float(f) => {
            out.push(0xfb);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Value::Text(s) => text(out, s),
        Value::Bool(b) => boolean(out, *b),
        Value::Null => null(out),
        Value::Tag(tag, content) => {
            head(out, 6, *tag);
            write_value(out, content, nest(depth)?)?;
        }
        Value::Array(items) => {
            let inner = nest(depth)?;
            head(out, 4, items.len() as u64);
            for item in items {
                write_value(out, item, inner)?;
            }
        }
        Value::Map(entries) => {
            let inner = nest(depth)?;
            map_header(out, entries.len());
            for (k, v) in entries {
                write_value(out, k, inner)?;
                write_value(out, v, inner)?;
            }
        }
        other => return Err(format!("{} cannot be written", kind(other))),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reading messages

/// The fields of a message's map that a decoder knows, by key.
struct Fields {
    what: String,
    entries: Vec<(&'static str, Value)>,
}

impl Fields {
    /// The known `keys` of the map `value`; other keys are ignored, a known key twice is
    /// an error.
    fn of(value: Value, what: String, keys: &[&'static str]) -> Result<Self, ActorError> {
        let Value::Map(pairs) = value else {
            return Err(invalid(format!(
                "{what} must be a map; found {}",
                kind(&value)
            )));
        };
        let mut entries = Vec::with_capacity(keys.len());
        for (key, value) in pairs {
            let Value::Text(key) = key else { continue };
            let Some(&known) = keys.iter().find(|k| **k == key) else {
                continue;
            };
            if entries.iter().any(|(k, _)| *k == known) {
                return Err(invalid(format!("{what} has the key `{known}` twice")));
            }
            entries.push((known, value));
        }
        Ok(Self { what, entries })
    }

    /// The value of `key`, if present (even null).
    fn take(&mut self, key: &str) -> Option<Value> {
        let at = self.entries.iter().position(|(k, _)| *k == key)?;
        Some(self.entries.swap_remove(at).1)
    }

    /// The value of `key` unless absent, null or undefined.
    fn present(&mut self, key: &str) -> Option<Value> {
        self.take(key).filter(|v| !v.is_null())
    }

    fn required(&mut self, key: &str) -> Result<Value, ActorError> {
        self.take(key)
            .ok_or_else(|| invalid(format!("{} has no `{key}` key", self.what)))
    }

    fn wrong(&self, key: &str, expected: &str, found: &Value) -> ActorError {
        invalid(format!(
            "the `{key}` of {} must be {expected}; found {}",
            self.what,
            kind(found)
        ))
    }

    fn text(&mut self, key: &str) -> Result<String, ActorError> {
        match self.required(key)? {
            Value::Text(s) => Ok(s),
            other => Err(self.wrong(key, "a text string", &other)),
        }
    }

    fn opt_text(&mut self, key: &str) -> Result<Option<String>, ActorError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Text(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong(key, "a text string", &other)),
        }
    }

    fn opt_bool(&mut self, key: &str) -> Result<Option<bool>, ActorError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(self.wrong(key, "a bool", &other)),
        }
    }

    fn bool(&mut self, key: &str) -> Result<bool, ActorError> {
        match self.required(key)? {
            Value::Bool(b) => Ok(b),
            other => Err(self.wrong(key, "a bool", &other)),
        }
    }

    /// A `uint`: an integer, an integral float, or `["$BigInt","<decimal>"]`.
    fn uint_of(&self, key: &str, value: &Value) -> Result<u64, ActorError> {
        let n = match value {
            Value::Integer(i) => u64::try_from(*i).ok(),
            Value::Float(f) => integral(*f).and_then(|i| u64::try_from(i).ok()),
            Value::Array(items) => match items.as_slice() {
                [Value::Text(tag), Value::Text(digits)] if tag == "$BigInt" => {
                    digits.parse::<u64>().ok()
                }
                _ => None,
            },
            _ => None,
        };
        n.ok_or_else(|| self.wrong(key, "an integer from 0 to 2^64-1", value))
    }

    fn uint(&mut self, key: &str) -> Result<u64, ActorError> {
        let value = self.required(key)?;
        self.uint_of(key, &value)
    }

    fn opt_uint(&mut self, key: &str) -> Result<Option<u64>, ActorError> {
        self.present(key)
            .map(|value| self.uint_of(key, &value))
            .transpose()
    }

    /// The plain value bytes of `value`, the field `key`.
    fn value(
        &self,
        key: &str,
        value: Value,
        mode: Mode,
        shape: Shape,
    ) -> Result<Vec<u8>, ActorError> {
        from_value(value, mode, shape)
            .map_err(|cause| invalid(format!("the `{key}` of {}: {cause}", self.what)))
    }

    fn metadata(&mut self) -> Result<Option<serde_json::Value>, ActorError> {
        self.present("metadata")
            .map(|value| {
                metadata_of(value)
                    .map_err(|cause| invalid(format!("the `metadata` of {}: {cause}", self.what)))
            })
            .transpose()
    }
}

/// The map of a whole message.
fn message(body: &[u8], what: &str, keys: &[&'static str]) -> Result<Fields, ActorError> {
    let value = parse(body, MAX_DEPTH + ENVELOPE_DEPTH)
        .map_err(|cause| invalid(format!("{what} is not valid CBOR: {cause}")))?;
    Fields::of(value, what.to_string(), keys)
}

/// The tag and the fields of `val` of a WebSocket message `{body:{tag,val}}`.
fn envelope(
    frame: &[u8],
    what: &str,
    tags: &[(&'static str, &[&'static str])],
) -> Result<(&'static str, Fields), ActorError> {
    let mut root = message(frame, what, &["body"])?;
    let body = root.required("body")?;
    let mut body = Fields::of(body, format!("the `body` of {what}"), &["tag", "val"])?;
    let tag = body.text("tag")?;
    let Some(&(tag, keys)) = tags.iter().find(|(t, _)| *t == tag) else {
        let names: Vec<&str> = tags.iter().map(|(t, _)| *t).collect();
        return Err(invalid(format!(
            "{what} has the unknown tag `{}`; the tags are {}",
            excerpt(&tag),
            names.join(", ")
        )));
    };
    let val = body.required("val")?;
    Ok((
        tag,
        Fields::of(val, format!("the `{tag}` body of {what}"), keys)?,
    ))
}

pub(super) fn decode_action_request(body: &[u8]) -> Result<Vec<u8>, ActorError> {
    let mut fields = message(body, "the CBOR HttpActionRequest", &["args"])?;
    let args = fields.required("args")?;
    fields.value("args", args, Mode::Plain, Shape::Array)
}

pub(super) fn decode_action_response(body: &[u8]) -> Result<Vec<u8>, ActorError> {
    let mut fields = message(body, "the CBOR HttpActionResponse", &["output"])?;
    let output = fields.take("output").unwrap_or(Value::Null);
    fields.value("output", output, Mode::Compat, Shape::Any)
}

pub(super) fn decode_queue_request(body: &[u8]) -> Result<QueueRequest, ActorError> {
    let mut fields = message(
        body,
        "the CBOR HttpQueueSendRequest",
        &["body", "name", "wait", "timeout"],
    )?;
    let value = fields.take("body").unwrap_or(Value::Null);
    Ok(QueueRequest {
        body: fields.value("body", value, Mode::Plain, Shape::Any)?,
        name: fields.opt_text("name")?,
        wait: fields.opt_bool("wait")?.unwrap_or(false),
        timeout: fields.opt_uint("timeout")?,
    })
}

pub(super) fn decode_queue_response(body: &[u8]) -> Result<QueueResponse, ActorError> {
    const WHAT: &str = "the CBOR HttpQueueSendResponse";
    let mut fields = message(body, WHAT, &["status", "response"])?;
    let status = QueueStatus::from_wire(&fields.text("status")?, WHAT)?;
    let response = match fields.present("response") {
        Some(value) => Some(fields.value("response", value, Mode::Compat, Shape::Any)?),
        None => None,
    };
    Ok(QueueResponse { status, response })
}

pub(super) fn decode_error(body: &[u8]) -> Result<ActorError, ActorError> {
    let mut fields = message(
        body,
        "the CBOR HttpResponseError",
        &["group", "code", "message", "metadata"],
    )?;
    Ok(error_of(
        fields.text("group")?,
        fields.text("code")?,
        fields.text("message")?,
        fields.metadata()?,
    ))
}

pub(super) fn decode_to_client(frame: &[u8]) -> Result<ToClient, ActorError> {
    let (tag, mut val) = envelope(
        frame,
        "the CBOR ToClient message",
        &[
            ("Init", &["actorId", "connectionId"]),
            (
                "Error",
                &["group", "code", "message", "metadata", "actionId"],
            ),
            ("ActionResponse", &["id", "output"]),
            ("Event", &["name", "args"]),
        ],
    )?;
    Ok(match tag {
        "Init" => ToClient::Init {
            actor_id: val.text("actorId")?,
            connection_id: val.text("connectionId")?,
        },
        "Error" => ToClient::Error {
            error: error_of(
                val.text("group")?,
                val.text("code")?,
                val.text("message")?,
                val.metadata()?,
            ),
            action_id: val.opt_uint("actionId")?,
        },
        "ActionResponse" => {
            let id = val.uint("id")?;
            let output = val.take("output").unwrap_or(Value::Null);
            ToClient::ActionResponse {
                id,
                output: val.value("output", output, Mode::Compat, Shape::Any)?,
            }
        }
        _ => {
            let name = val.text("name")?;
            let args = val.required("args")?;
            ToClient::Event {
                name,
                args: val.value("args", args, Mode::Compat, Shape::Array)?,
            }
        }
    })
}

pub(super) fn decode_to_server(frame: &[u8]) -> Result<ToServer, ActorError> {
    let (tag, mut val) = envelope(
        frame,
        "the CBOR ToServer message",
        &[
            ("ActionRequest", &["id", "name", "args"]),
            ("SubscriptionRequest", &["eventName", "subscribe"]),
        ],
    )?;
    Ok(match tag {
        "ActionRequest" => {
            let id = val.uint("id")?;
            let name = val.text("name")?;
            let args = val.required("args")?;
            ToServer::ActionRequest {
                id,
                name,
                args: val.value("args", args, Mode::Plain, Shape::Array)?,
            }
        }
        _ => ToServer::SubscriptionRequest {
            event_name: val.text("eventName")?,
            subscribe: val.bool("subscribe")?,
        },
    })
}

// ---------------------------------------------------------------------------------------
// Writing messages

/// The CBOR of the value bytes of the field `field` of `what`.
fn field_value(
    bytes: &[u8],
    mode: Mode,
    shape: Shape,
    what: &str,
    field: &str,
) -> Result<Vec<u8>, ActorError> {
    out_value(bytes, mode, shape)
        .map_err(|cause| unencodable(format_args!("the `{field}` of {what}"), cause))
}

/// Starts `{body:{tag:<tag>,val:{` with `fields` fields.
fn envelope_start(out: &mut Vec<u8>, tag: &str, fields: usize) {
    map_header(out, 1);
    text(out, "body");
    map_header(out, 2);
    text(out, "tag");
    text(out, tag);
    text(out, "val");
    map_header(out, fields);
}

/// group, code, message and metadata (if it can be encoded): the fields' count and bytes.
fn error_fields(err: &ActorError) -> (usize, Vec<u8>) {
    let mut out = Vec::new();
    text(&mut out, "group");
    text(&mut out, err.group());
    text(&mut out, "code");
    text(&mut out, err.code());
    text(&mut out, "message");
    text(&mut out, err.message());
    match out_metadata(err) {
        Some(metadata) => {
            text(&mut out, "metadata");
            out.extend_from_slice(&metadata);
            (4, out)
        }
        None => (3, out),
    }
}

pub(super) fn encode_action_request(args: &[u8]) -> Result<Vec<u8>, ActorError> {
    let args = field_value(
        args,
        Mode::Plain,
        Shape::Array,
        "a CBOR HttpActionRequest",
        "args",
    )?;
    let mut out = Vec::with_capacity(args.len() + 8);
    map_header(&mut out, 1);
    text(&mut out, "args");
    out.extend_from_slice(&args);
    Ok(out)
}

pub(super) fn encode_action_response(output: &[u8]) -> Result<Vec<u8>, ActorError> {
    let output = field_value(
        output,
        Mode::Compat,
        Shape::Any,
        "a CBOR HttpActionResponse",
        "output",
    )?;
    let mut out = Vec::with_capacity(output.len() + 10);
    map_header(&mut out, 1);
    text(&mut out, "output");
    out.extend_from_slice(&output);
    Ok(out)
}

pub(super) fn encode_queue_request(req: &QueueRequest) -> Result<Vec<u8>, ActorError> {
    let body = field_value(
        &req.body,
        Mode::Plain,
        Shape::Any,
        "a CBOR HttpQueueSendRequest",
        "body",
    )?;
    let mut out = Vec::with_capacity(body.len() + 32);
    map_header(
        &mut out,
        2 + usize::from(req.name.is_some()) + usize::from(req.timeout.is_some()),
    );
    text(&mut out, "body");
    out.extend_from_slice(&body);
    if let Some(name) = &req.name {
        text(&mut out, "name");
        text(&mut out, name);
    }
    text(&mut out, "wait");
    boolean(&mut out, req.wait);
    if let Some(timeout) = req.timeout {
        text(&mut out, "timeout");
        head(&mut out, 0, timeout);
    }
    Ok(out)
}

pub(super) fn encode_queue_response(res: &QueueResponse) -> Result<Vec<u8>, ActorError> {
    let response = res
        .response
        .as_deref()
        .map(|bytes| {
            field_value(
                bytes,
                Mode::Compat,
                Shape::Any,
                "a CBOR HttpQueueSendResponse",
                "response",
            )
        })
        .transpose()?;
    let mut out = Vec::new();
    map_header(&mut out, 1 + usize::from(response.is_some()));
    text(&mut out, "status");
    text(&mut out, res.status.wire_name());
    if let Some(response) = response {
        text(&mut out, "response");
        out.extend_from_slice(&response);
    }
    Ok(out)
}

pub(super) fn encode_error(err: &ActorError) -> Vec<u8> {
    let (count, fields) = error_fields(err);
    let mut out = Vec::with_capacity(fields.len() + 3);
    map_header(&mut out, count);
    out.extend_from_slice(&fields);
    out
}

pub(super) fn encode_to_client(msg: &ToClient) -> Result<Vec<u8>, ActorError> {
    let mut out = Vec::with_capacity(64);
    match msg {
        ToClient::Init {
            actor_id,
            connection_id,
        } => {
            envelope_start(&mut out, "Init", 2);
            text(&mut out, "actorId");
            text(&mut out, actor_id);
            text(&mut out, "connectionId");
            text(&mut out, connection_id);
        }
        ToClient::Error { error, action_id } => {
            let (count, fields) = error_fields(error);
            envelope_start(&mut out, "Error", count + 1);
            out.extend_from_slice(&fields);
            text(&mut out, "actionId");
            match action_id {
                Some(n) => id(&mut out, *n),
                None => null(&mut out),
            }
        }
        ToClient::ActionResponse { id: n, output } => {
            let output = field_value(
                output,
                Mode::Compat,
                Shape::Any,
                "a CBOR ToClient `ActionResponse`",
                "output",
            )?;
            envelope_start(&mut out, "ActionResponse", 2);
            text(&mut out, "id");
            id(&mut out, *n);
            text(&mut out, "output");
            out.extend_from_slice(&output);
        }
        ToClient::Event { name, args } => {
            let args = field_value(
                args,
                Mode::Compat,
                Shape::Array,
                "a CBOR ToClient `Event`",
                "args",
            )?;
            envelope_start(&mut out, "Event", 2);
            text(&mut out, "name");
            text(&mut out, name);
            text(&mut out, "args");
            out.extend_from_slice(&args);
        }
    }
    Ok(out)
}

pub(super) fn encode_to_server(msg: &ToServer) -> Result<Vec<u8>, ActorError> {
    let mut out = Vec::with_capacity(64);
    match msg {
        ToServer::ActionRequest { id: n, name, args } => {
            let args = field_value(
                args,
                Mode::Plain,
                Shape::Array,
                "a CBOR ToServer `ActionRequest`",
                "args",
            )?;
            envelope_start(&mut out, "ActionRequest", 3);
            text(&mut out, "id");
            id(&mut out, *n);
            text(&mut out, "name");
            text(&mut out, name);
            text(&mut out, "args");
            out.extend_from_slice(&args);
        }
        ToServer::SubscriptionRequest {
            event_name,
            subscribe,
        } => {
            envelope_start(&mut out, "SubscriptionRequest", 2);
            text(&mut out, "eventName");
            text(&mut out, event_name);
            text(&mut out, "subscribe");
            boolean(&mut out, *subscribe);
        }
    }
    Ok(out)
}
