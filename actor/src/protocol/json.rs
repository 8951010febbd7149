//! The json encoding: objects with compat JSON values, read with borrowed
//! [`RawValue`]s so that a value is copied, not re-serialized, unless it holds something to
//! revive or escape.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{
    MAX_DEPTH, MAX_SAFE_INTEGER, QueueRequest, QueueResponse, QueueStatus, ToClient, ToServer,
    decode_base64, error_of, excerpt, invalid, nest, parse_bigint, unencodable, unknown_tag,
};
use crate::error::ActorError;

// ---------------------------------------------------------------------------------------
// Values

/// Whether a value's text may hold a string starting with `$`, as written or escaped:
/// anything without one needs no revival and no escape.
fn may_hold_dollar(text: &str) -> bool {
    text.contains("\"$") || text.contains("\"\\u0024")
}

/// Whether a value's text has a run of 16 digits: any integer beyond 2^53 - 1 has one.
fn may_hold_big_integer(text: &str) -> bool {
    let mut run = 0;
    for b in text.bytes() {
        if b.is_ascii_digit() {
            run += 1;
            if run >= 16 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// Refuses a value nested more than [`MAX_DEPTH`] arrays or objects deep. Everything that
/// walks a value's tree below runs after this check, so its recursion is bounded by it.
fn check_depth(text: &str) -> Result<(), String> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (at, b) in text.bytes().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(format!(
                        "the value is nested more than {MAX_DEPTH} levels deep (at byte {at} of the value)"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A compat value, as a JS peer writes it, in plain form; borrowed when nothing changes.
fn revive(text: &str) -> Result<Cow<'_, str>, String> {
    check_depth(text)?;
    revive_node(text)
}

fn revive_node(text: &str) -> Result<Cow<'_, str>, String> {
    if !may_hold_dollar(text) {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    match text.as_bytes().first() {
        Some(b'[') => {
            let items = items(text)?;
            if let [first, second] = items.as_slice()
                && let Some(tag) = dollar_string(first)
            {
                revive_tagged(&tag, second.get(), &mut out)?;
            } else {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&revive_node(item.get())?);
                }
                out.push(']');
            }
        }
        Some(b'{') => {
            out.push('{');
            for (i, (key, value)) in entries(text)?.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_string(&mut out, key);
                out.push(':');
                out.push_str(&revive_node(value.get())?);
            }
            out.push('}');
        }
        _ => return Ok(Cow::Borrowed(text)),
    }
    Ok(Cow::Owned(out))
}

/// Writes the plain form of the compat value `[tag, payload]`.
fn revive_tagged(tag: &str, payload: &str, out: &mut String) -> Result<(), String> {
    match tag {
        "$BigInt" => {
            let digits = string(payload).ok_or_else(|| {
                format!(
                    "[\"$BigInt\", {}] does not hold a string of decimal digits",
                    excerpt(payload)
                )
            })?;
            out.push_str(&parse_bigint(&digits)?.to_string());
        }
        "$Uint8Array" | "$ArrayBuffer" => {
            let text = string(payload).ok_or_else(|| {
                format!(
                    "[\"{tag}\", {}] does not hold a base64 string",
                    excerpt(payload)
                )
            })?;
            out.push('[');
            for (i, byte) in decode_base64(tag, &text)?.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&byte.to_string());
            }
            out.push(']');
        }
        "$Undefined" => out.push_str("null"),
        "$Set" => {
            if !payload.starts_with('[') {
                return Err(format!(
                    "[\"$Set\", {}] does not hold an array",
                    excerpt(payload)
                ));
            }
            out.push('[');
            for (i, item) in items(payload)?.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&revive_node(item.get())?);
            }
            out.push(']');
        }
        _ => match tag.strip_prefix('$').filter(|rest| rest.starts_with('$')) {
            Some(unescaped) => {
                out.push('[');
                push_string(out, unescaped);
                out.push(',');
                out.push_str(&revive_node(payload)?);
                out.push(']');
            }
            None => return Err(unknown_tag(tag)),
        },
    }
    Ok(())
}

/// The compat form, for a JS peer, of plain value bytes from the Rust side.
fn compat(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    let raw: &RawValue =
        serde_json::from_slice(bytes).map_err(|e| format!("the value is not valid JSON: {e}"))?;
    check_depth(raw.get())?;
    compat_node(raw.get())
}

fn compat_node(text: &str) -> Result<Cow<'_, str>, String> {
    if !may_hold_dollar(text) && !may_hold_big_integer(text) {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len() + 16);
    match text.as_bytes().first() {
        Some(b'[') => {
            let items = items(text)?;
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match dollar_string(item).filter(|_| i == 0 && items.len() == 2) {
                    Some(tag) => push_string(&mut out, &format!("${tag}")),
                    None => out.push_str(&compat_node(item.get())?),
                }
            }
            out.push(']');
        }
        Some(b'{') => {
            out.push('{');
            for (i, (key, value)) in entries(text)?.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_string(&mut out, key);
                out.push(':');
                out.push_str(&compat_node(value.get())?);
            }
            out.push('}');
        }
        Some(b'-' | b'0'..=b'9') if is_integer_literal(text) => match text.parse::<i128>() {
            Ok(n) if n.unsigned_abs() > MAX_SAFE_INTEGER => {
                out.push_str("[\"$BigInt\",\"");
                out.push_str(text);
                out.push_str("\"]");
            }
            // Safe integers, and integers beyond 128 bits, which stay literals.
            _ => return Ok(Cow::Borrowed(text)),
        },
        _ => return Ok(Cow::Borrowed(text)),
    }
    Ok(Cow::Owned(out))
}

/// Whether a number's text is an integer (no fraction, no exponent).
fn is_integer_literal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The items of an array's text.
fn items(text: &str) -> Result<Vec<&RawValue>, String> {
    serde_json::from_str(text).map_err(|e| format!("the value is not valid JSON: {e}"))
}

/// The entries of an object's text, in order.
fn entries(text: &str) -> Result<Vec<(String, &RawValue)>, String> {
    serde_json::from_str::<Entries<'_>>(text)
        .map(|Entries(entries)| entries)
        .map_err(|e| format!("the value is not valid JSON: {e}"))
}

/// A JSON string's content, if the text is a string.
fn string(text: &str) -> Option<String> {
    if text.starts_with('"') {
        serde_json::from_str(text).ok()
    } else {
        None
    }
}

/// A string item that starts with `$`: the first item of a compat value.
fn dollar_string(item: &RawValue) -> Option<String> {
    string(item.get()).filter(|s| s.starts_with('$'))
}

/// An object's entries in order, with borrowed values.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// Appends `s` as a JSON string.
fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// What a value's text is, for error messages.
fn kind(text: &str) -> &'static str {
    match text.as_bytes().first() {
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        Some(b'"') => "a string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    }
}

// ---------------------------------------------------------------------------------------
// Reading messages

/// A `uint`: `["$BigInt","<decimal>"]`, or a plain non-negative integer.
struct Uint(u64);

impl<'de> Deserialize<'de> for Uint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UintVisitor;
        impl<'de> Visitor<'de> for UintVisitor {
            type Value = Uint;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"an id: ["$BigInt", "<decimal>"] or a non-negative integer"#)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Uint, E> {
                Ok(Uint(n))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Uint, A::Error> {
                let tag: Option<Cow<'de, str>> = seq.next_element()?;
                if tag.as_deref() != Some("$BigInt") {
                    return Err(de::Error::invalid_value(de::Unexpected::Seq, &self));
                }
                let digits: Cow<'de, str> = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                digits.parse::<u64>().map(Uint).map_err(|_| {
                    de::Error::custom(format!(
                        "the id [\"$BigInt\", \"{}\"] is not an integer from 0 to 2^64-1",
                        excerpt(&digits)
                    ))
                })
            }
        }
        deserializer.deserialize_any(UintVisitor)
    }
}

/// A field whose presence matters: present (even `null`) is `Some`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
#[serde(rename = "HttpActionRequest")]
struct ActionRequestBody<'a> {
    #[serde(borrow)]
    args: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(rename = "HttpActionResponse")]
struct ActionResponseBody<'a> {
    #[serde(borrow, default)]
    output: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename = "HttpQueueSendRequest")]
struct QueueRequestBody<'a> {
    #[serde(borrow, default)]
    body: Option<&'a RawValue>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    wait: Option<bool>,
    #[serde(default)]
    timeout: Option<Uint>,
}

#[derive(Deserialize)]
#[serde(rename = "HttpQueueSendResponse")]
struct QueueResponseBody<'a> {
    status: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "present")]
    response: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename = "HttpResponseError")]
struct ErrorBody<'a> {
    group: String,
    code: String,
    message: String,
    #[serde(borrow, default)]
    metadata: Option<&'a RawValue>,
}

/// `{"body":{"tag":…,"val":…}}`.
#[derive(Deserialize)]
#[serde(rename = "message")]
struct Envelope<'a> {
    #[serde(borrow)]
    body: Tagged<'a>,
}

#[derive(Deserialize)]
#[serde(rename = "body")]
struct Tagged<'a> {
    tag: Cow<'a, str>,
    #[serde(borrow)]
    val: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(rename = "Init", rename_all = "camelCase")]
struct InitVal {
    actor_id: String,
    connection_id: String,
}

#[derive(Deserialize)]
#[serde(rename = "Error", rename_all = "camelCase")]
struct ErrorVal<'a> {
    group: String,
    code: String,
    message: String,
    #[serde(borrow, default)]
    metadata: Option<&'a RawValue>,
    #[serde(default)]
    action_id: Option<Uint>,
}

#[derive(Deserialize)]
#[serde(rename = "ActionResponse")]
struct ActionResponseVal<'a> {
    id: Uint,
    #[serde(borrow, default)]
    output: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename = "Event")]
struct EventVal<'a> {
    name: String,
    #[serde(borrow)]
    args: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(rename = "ActionRequest")]
struct ActionRequestVal<'a> {
    id: Uint,
    name: String,
    #[serde(borrow)]
    args: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(rename = "SubscriptionRequest", rename_all = "camelCase")]
struct SubscriptionRequestVal {
    event_name: String,
    subscribe: bool,
}

/// Parses `text` as the message `what` names.
fn parse<'a, T: Deserialize<'a>>(text: &'a [u8], what: &str) -> Result<T, ActorError> {
    serde_json::from_slice(text).map_err(|e| invalid(format!("{what} is not valid: {e}")))
}

/// The plain value bytes of the field `field` of `what`.
fn value(raw: &RawValue, what: &str, field: &str) -> Result<Vec<u8>, ActorError> {
    revive(raw.get())
        .map(|text| text.into_owned().into_bytes())
        .map_err(|cause| invalid(format!("the `{field}` of {what}: {cause}")))
}

/// [`value`] for a field that holds an array (arguments).
fn array(raw: &RawValue, what: &str, field: &str) -> Result<Vec<u8>, ActorError> {
    if !raw.get().starts_with('[') {
        return Err(invalid(format!(
            "the `{field}` of {what} must be an array of arguments, like [1, \"a\"]; found {}",
            kind(raw.get())
        )));
    }
    value(raw, what, field)
}

/// Metadata as a `serde_json::Value`.
fn metadata(raw: Option<&RawValue>, what: &str) -> Result<Option<serde_json::Value>, ActorError> {
    let Some(raw) = raw else { return Ok(None) };
    let text =
        revive(raw.get()).map_err(|cause| invalid(format!("the `metadata` of {what}: {cause}")))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| invalid(format!("the `metadata` of {what}: {e}")))
}

const NULL: &[u8] = b"null";

pub(super) fn decode_action_request(body: &[u8]) -> Result<Vec<u8>, ActorError> {
    const WHAT: &str = "the JSON HttpActionRequest";
    let req: ActionRequestBody<'_> = parse(body, WHAT)?;
    array(req.args, WHAT, "args")
}

pub(super) fn decode_action_response(body: &[u8]) -> Result<Vec<u8>, ActorError> {
    const WHAT: &str = "the JSON HttpActionResponse";
    let res: ActionResponseBody<'_> = parse(body, WHAT)?;
    match res.output {
        Some(raw) => value(raw, WHAT, "output"),
        None => Ok(NULL.to_vec()),
    }
}

pub(super) fn decode_queue_request(body: &[u8]) -> Result<QueueRequest, ActorError> {
    const WHAT: &str = "the JSON HttpQueueSendRequest";
    let req: QueueRequestBody<'_> = parse(body, WHAT)?;
    Ok(QueueRequest {
        body: match req.body {
            Some(raw) => value(raw, WHAT, "body")?,
            None => NULL.to_vec(),
        },
        name: req.name,
        wait: req.wait.unwrap_or(false),
        timeout: req.timeout.map(|Uint(ms)| ms),
    })
}

pub(super) fn decode_queue_response(body: &[u8]) -> Result<QueueResponse, ActorError> {
    const WHAT: &str = "the JSON HttpQueueSendResponse";
    let res: QueueResponseBody<'_> = parse(body, WHAT)?;
    Ok(QueueResponse {
        status: QueueStatus::from_wire(&res.status, WHAT)?,
        response: res
            .response
            .map(|raw| value(raw, WHAT, "response"))
            .transpose()?,
    })
}

pub(super) fn decode_error(body: &[u8]) -> Result<ActorError, ActorError> {
    const WHAT: &str = "the JSON HttpResponseError";
    let err: ErrorBody<'_> = parse(body, WHAT)?;
    let metadata = metadata(err.metadata, WHAT)?;
    Ok(error_of(err.group, err.code, err.message, metadata))
}

/// The tag and `val` of a WebSocket message.
fn envelope<'a>(frame: &'a [u8], what: &str) -> Result<(Cow<'a, str>, &'a RawValue), ActorError> {
    let Envelope { body } = parse(frame, what)?;
    Ok((body.tag, body.val))
}

/// Parses the `val` of a WebSocket message tagged `tag`.
fn val<'a, T: Deserialize<'a>>(val: &'a RawValue, what: &str, tag: &str) -> Result<T, ActorError> {
    serde_json::from_str(val.get())
        .map_err(|e| invalid(format!("the `{tag}` body of {what} is not valid: {e}")))
}

pub(super) fn decode_to_client(frame: &[u8]) -> Result<ToClient, ActorError> {
    const WHAT: &str = "the JSON ToClient message";
    let (tag, raw) = envelope(frame, WHAT)?;
    match tag.as_ref() {
        "Init" => {
            let v: InitVal = val(raw, WHAT, "Init")?;
            Ok(ToClient::Init {
                actor_id: v.actor_id,
                connection_id: v.connection_id,
            })
        }
        "Error" => {
            let v: ErrorVal<'_> = val(raw, WHAT, "Error")?;
            let metadata = metadata(v.metadata, "the JSON ToClient `Error`")?;
            Ok(ToClient::Error {
                error: error_of(v.group, v.code, v.message, metadata),
                action_id: v.action_id.map(|Uint(id)| id),
            })
        }
        "ActionResponse" => {
            let v: ActionResponseVal<'_> = val(raw, WHAT, "ActionResponse")?;
            Ok(ToClient::ActionResponse {
                id: v.id.0,
                output: match v.output {
                    Some(raw) => value(raw, "the JSON ToClient `ActionResponse`", "output")?,
                    None => NULL.to_vec(),
                },
            })
        }
        "Event" => {
            let v: EventVal<'_> = val(raw, WHAT, "Event")?;
            Ok(ToClient::Event {
                args: array(v.args, "the JSON ToClient `Event`", "args")?,
                name: v.name,
            })
        }
        other => Err(invalid(format!(
            "{WHAT} has the unknown tag `{}`; the tags are Init, Error, ActionResponse and Event",
            excerpt(other)
        ))),
    }
}

pub(super) fn decode_to_server(frame: &[u8]) -> Result<ToServer, ActorError> {
    const WHAT: &str = "the JSON ToServer message";
    let (tag, raw) = envelope(frame, WHAT)?;
    match tag.as_ref() {
        "ActionRequest" => {
            let v: ActionRequestVal<'_> = val(raw, WHAT, "ActionRequest")?;
            Ok(ToServer::ActionRequest {
                id: v.id.0,
                args: array(v.args, "the JSON ToServer `ActionRequest`", "args")?,
                name: v.name,
            })
        }
        "SubscriptionRequest" => {
            let v: SubscriptionRequestVal = val(raw, WHAT, "SubscriptionRequest")?;
            Ok(ToServer::SubscriptionRequest {
                event_name: v.event_name,
                subscribe: v.subscribe,
            })
        }
        other => Err(invalid(format!(
            "{WHAT} has the unknown tag `{}`; the tags are ActionRequest and SubscriptionRequest",
            excerpt(other)
        ))),
    }
}

// ---------------------------------------------------------------------------------------
// Writing messages

/// A JSON object written field by field.
struct Object(String);

impl Object {
    fn new() -> Self {
        Self(String::from("{"))
    }

    fn key(&mut self, key: &str) -> &mut String {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        push_string(&mut self.0, key);
        self.0.push(':');
        &mut self.0
    }

    fn raw(&mut self, key: &str, raw: &str) -> &mut Self {
        self.key(key).push_str(raw);
        self
    }

    fn string(&mut self, key: &str, s: &str) -> &mut Self {
        push_string(self.key(key), s);
        self
    }

    fn uint(&mut self, key: &str, n: u64) -> &mut Self {
        self.raw(key, &format!("[\"$BigInt\",\"{n}\"]"))
    }

    fn finish(&mut self) -> String {
        let mut text = std::mem::take(&mut self.0);
        text.push('}');
        text
    }
}

/// The compat text of the value bytes of the field `field` of `what`.
fn out_value<'a>(bytes: &'a [u8], what: &str, field: &str) -> Result<Cow<'a, str>, ActorError> {
    compat(bytes).map_err(|cause| unencodable(format_args!("the `{field}` of {what}"), cause))
}

/// [`out_value`] for a field that holds an array (arguments).
fn out_array<'a>(bytes: &'a [u8], what: &str, field: &str) -> Result<Cow<'a, str>, ActorError> {
    let text = out_value(bytes, what, field)?;
    if !text.starts_with('[') {
        return Err(unencodable(
            format_args!("the `{field}` of {what}"),
            format!("arguments are an array, and this is {}", kind(&text)),
        ));
    }
    Ok(text)
}

/// Metadata's compat text, if it can be encoded.
fn out_metadata(err: &ActorError) -> Option<String> {
    let metadata = err.metadata()?;
    if !shallow(metadata, 0) {
        return None;
    }
    let text = serde_json::to_vec(metadata).ok()?;
    compat(&text).ok().map(Cow::into_owned)
}

/// Whether `value` nests at most [`MAX_DEPTH`] deep, checked before it is serialized
/// (which recurses).
fn shallow(value: &serde_json::Value, depth: usize) -> bool {
    use serde_json::Value as Json;
    match value {
        Json::Array(items) => {
            nest(depth).is_ok_and(|inner| items.iter().all(|v| shallow(v, inner)))
        }
        Json::Object(entries) => {
            nest(depth).is_ok_and(|inner| entries.values().all(|v| shallow(v, inner)))
        }
        _ => true,
    }
}

/// `{"body":{"tag":…,"val":…}}`.
fn envelope_text(tag: &str, val: &str) -> Vec<u8> {
    format!("{{\"body\":{{\"tag\":\"{tag}\",\"val\":{val}}}}}").into_bytes()
}

fn error_fields(obj: &mut Object, err: &ActorError) {
    obj.string("group", err.group())
        .string("code", err.code())
        .string("message", err.message());
    if let Some(metadata) = out_metadata(err) {
        obj.raw("metadata", &metadata);
    }
}

pub(super) fn encode_action_request(args: &[u8]) -> Result<Vec<u8>, ActorError> {
    let args = out_array(args, "a JSON HttpActionRequest", "args")?;
    Ok(Object::new().raw("args", &args).finish().into_bytes())
}

pub(super) fn encode_action_response(output: &[u8]) -> Result<Vec<u8>, ActorError> {
    let output = out_value(output, "a JSON HttpActionResponse", "output")?;
    Ok(Object::new().raw("output", &output).finish().into_bytes())
}

pub(super) fn encode_queue_request(req: &QueueRequest) -> Result<Vec<u8>, ActorError> {
    let mut obj = Object::new();
    obj.raw(
        "body",
        &out_value(&req.body, "a JSON HttpQueueSendRequest", "body")?,
    );
    if let Some(name) = &req.name {
        obj.string("name", name);
    }
    obj.raw("wait", if req.wait { "true" } else { "false" });
    if let Some(timeout) = req.timeout {
        obj.raw("timeout", &timeout.to_string());
    }
    Ok(obj.finish().into_bytes())
}

pub(super) fn encode_queue_response(res: &QueueResponse) -> Result<Vec<u8>, ActorError> {
    let mut obj = Object::new();
    obj.string("status", res.status.wire_name());
    if let Some(response) = &res.response {
        obj.raw(
            "response",
            &out_value(response, "a JSON HttpQueueSendResponse", "response")?,
        );
    }
    Ok(obj.finish().into_bytes())
}

pub(super) fn encode_error(err: &ActorError) -> Vec<u8> {
    let mut obj = Object::new();
    error_fields(&mut obj, err);
    obj.finish().into_bytes()
}

pub(super) fn encode_to_client(msg: &ToClient) -> Result<Vec<u8>, ActorError> {
    let mut obj = Object::new();
    let tag = match msg {
        ToClient::Init {
            actor_id,
            connection_id,
        } => {
            obj.string("actorId", actor_id)
                .string("connectionId", connection_id);
            "Init"
        }
        ToClient::Error { error, action_id } => {
            error_fields(&mut obj, error);
            match action_id {
                Some(id) => obj.uint("actionId", *id),
                None => obj.raw("actionId", "null"),
            };
            "Error"
        }
        ToClient::ActionResponse { id, output } => {
            let output = out_value(output, "a JSON ToClient `ActionResponse`", "output")?;
            obj.uint("id", *id).raw("output", &output);
            "ActionResponse"
        }
        ToClient::Event { name, args } => {
            let args = out_array(args, "a JSON ToClient `Event`", "args")?;
            obj.string("name", name).raw("args", &args);
            "Event"
        }
    };
    Ok(envelope_text(tag, &obj.finish()))
}

pub(super) fn encode_to_server(msg: &ToServer) -> Result<Vec<u8>, ActorError> {
    let mut obj = Object::new();
    let tag = match msg {
        ToServer::ActionRequest { id, name, args } => {
            let args = out_array(args, "a JSON ToServer `ActionRequest`", "args")?;
            obj.uint("id", *id).string("name", name).raw("args", &args);
            "ActionRequest"
        }
        ToServer::SubscriptionRequest {
            event_name,
            subscribe,
        } => {
            obj.string("eventName", event_name)
                .raw("subscribe", if *subscribe { "true" } else { "false" });
            "SubscriptionRequest"
        }
    };
    Ok(envelope_text(tag, &obj.finish()))
}
