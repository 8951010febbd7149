//! Property tests: every decoder, in every encoding, takes any bytes without panicking
//! (decoding them or answering `request/invalid`), and every message round-trips.

use proptest::prelude::*;

use super::*;
use ciborium::Value as Cbor;
use serde_json::Value as Json;

const ENCODINGS: [WireEncoding; 3] = [WireEncoding::Json, WireEncoding::Cbor, WireEncoding::Bare];

/// Runs every decoder of `enc` on `bytes`: each must decode or say `request/invalid`.
fn decode_everything(enc: WireEncoding, bytes: &[u8]) -> Result<(), TestCaseError> {
    fn check<T>(what: &str, result: Result<T, ActorError>) -> Result<(), TestCaseError> {
        if let Err(err) = result {
            prop_assert!(
                err.is(codes::INVALID_REQUEST),
                "{what} failed with another error: {err}"
            );
            prop_assert!(!err.message().is_empty());
        }
        Ok(())
    }
    check("action request", enc.decode_action_request(bytes))?;
    check("action response", enc.decode_action_response(bytes))?;
    check("queue request", enc.decode_queue_request(bytes))?;
    check("queue response", enc.decode_queue_response(bytes))?;
    check("error", enc.decode_error(bytes))?;
    check("error body", enc.decode_error_body(None, bytes))?;
    check("to client", enc.decode_to_client(bytes))?;
    check("to server", enc.decode_to_server(bytes))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Values

/// Strings, often starting with `$` (compat-looking).
fn string() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-z]{0,4}",
        "\\$[A-Za-z$]{0,8}",
        Just("$BigInt".to_string()),
        Just("$Set".to_string()),
        Just("$$x".to_string()),
        any::<String>(),
    ]
    .boxed()
}

/// Floats that round-trip exactly through JSON text and are not integral.
fn float() -> impl Strategy<Value = f64> {
    (-(1i64 << 40)..(1i64 << 40)).prop_map(|n| n as f64 + 0.5)
}

fn json_value() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        (-(1i64 << 54)..(1i64 << 54)).prop_map(Json::from),
        float().prop_map(Json::from),
        string().prop_map(Json::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            (string(), inner.clone()).prop_map(|(tag, v)| Json::Array(vec![Json::from(tag), v])),
            prop::collection::vec((string(), inner), 0..4)
                .prop_map(|entries| Json::Object(entries.into_iter().collect())),
        ]
    })
    .boxed()
}

fn cbor_value() -> BoxedStrategy<Cbor> {
    let leaf = prop_oneof![
        Just(Cbor::Null),
        any::<bool>().prop_map(Cbor::Bool),
        any::<i64>().prop_map(|n| Cbor::Integer(n.into())),
        any::<u64>().prop_map(|n| Cbor::Integer(n.into())),
        (-(1i64 << 54)..(1i64 << 54)).prop_map(|n| Cbor::Integer(n.into())),
        float().prop_map(Cbor::Float),
        string().prop_map(Cbor::Text),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Cbor::Bytes),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Cbor::Array),
            (string(), inner.clone()).prop_map(|(tag, v)| Cbor::Array(vec![Cbor::Text(tag), v])),
            prop::collection::vec((string().prop_map(Cbor::Text), inner.clone()), 0..4)
                .prop_map(Cbor::Map),
            prop::collection::vec(
                (any::<i32>().prop_map(|n| Cbor::Integer(n.into())), inner),
                0..3
            )
            .prop_map(Cbor::Map),
        ]
    })
    .boxed()
}

/// A plain value, as JSON and as CBOR; each encoding takes the one of its values.
#[derive(Clone, Debug)]
struct Value {
    json: Json,
    cbor: Cbor,
}

impl Value {
    fn bytes(&self, enc: WireEncoding) -> Vec<u8> {
        match enc.values() {
            Encoding::Json => serde_json::to_vec(&self.json).expect("JSON"),
            Encoding::Cbor => {
                let mut out = Vec::new();
                ciborium::into_writer(&self.cbor, &mut out).expect("CBOR");
                out
            }
        }
    }
}

fn value() -> BoxedStrategy<Value> {
    (json_value(), cbor_value())
        .prop_map(|(json, cbor)| Value { json, cbor })
        .boxed()
}

fn array() -> BoxedStrategy<Value> {
    (
        prop::collection::vec(json_value(), 0..4),
        prop::collection::vec(cbor_value(), 0..4),
    )
        .prop_map(|(json, cbor)| Value {
            json: Json::Array(json),
            cbor: Cbor::Array(cbor),
        })
        .boxed()
}

/// Whether two value bytes of `enc` hold the same value.
fn same(enc: WireEncoding, a: &[u8], b: &[u8]) -> bool {
    match enc.values() {
        Encoding::Json => {
            serde_json::from_slice::<Json>(a).ok().is_some()
                && serde_json::from_slice::<Json>(a).ok() == serde_json::from_slice::<Json>(b).ok()
        }
        Encoding::Cbor => {
            let parse = |bytes: &[u8]| ciborium::from_reader::<Cbor, _>(bytes).ok();
            parse(a).is_some() && parse(a) == parse(b)
        }
    }
}

fn metadata() -> BoxedStrategy<Option<Json>> {
    prop::option::of(json_value().prop_filter("null metadata reads as none", |v| !v.is_null()))
        .boxed()
}

fn error() -> BoxedStrategy<ActorError> {
    (string(), string(), any::<String>(), metadata())
        .prop_map(|(group, code, message, meta)| {
            let err = ActorError::new(group, code, message);
            match meta {
                Some(meta) => err.with_metadata(meta),
                None => err,
            }
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------
// Messages, with their values given per encoding

#[derive(Clone, Debug)]
enum Client {
    Init(String, String),
    Error(ActorError, Option<u64>),
    ActionResponse(u64, Value),
    Event(String, Value),
}

impl Client {
    fn message(&self, enc: WireEncoding) -> ToClient {
        match self {
            Self::Init(a, c) => ToClient::Init {
                actor_id: a.clone(),
                connection_id: c.clone(),
            },
            Self::Error(error, action_id) => ToClient::Error {
                error: error.clone(),
                action_id: *action_id,
            },
            Self::ActionResponse(id, v) => ToClient::ActionResponse {
                id: *id,
                output: v.bytes(enc),
            },
            Self::Event(name, v) => ToClient::Event {
                name: name.clone(),
                args: v.bytes(enc),
            },
        }
    }
}

fn client() -> BoxedStrategy<Client> {
    prop_oneof![
        (any::<String>(), any::<String>()).prop_map(|(a, c)| Client::Init(a, c)),
        (error(), any::<Option<u64>>()).prop_map(|(e, id)| Client::Error(e, id)),
        (any::<u64>(), value()).prop_map(|(id, v)| Client::ActionResponse(id, v)),
        (string(), array()).prop_map(|(name, v)| Client::Event(name, v)),
    ]
    .boxed()
}

fn same_to_client(enc: WireEncoding, a: &ToClient, b: &ToClient) -> bool {
    match (a, b) {
        (
            ToClient::ActionResponse { id, output },
            ToClient::ActionResponse {
                id: id2,
                output: output2,
            },
        ) => id == id2 && same(enc, output, output2),
        (ToClient::Event { name, args }, ToClient::Event { name: n2, args: a2 }) => {
            name == n2 && same(enc, args, a2)
        }
        (a, b) => a == b,
    }
}

#[derive(Clone, Debug)]
enum Server {
    ActionRequest(u64, String, Value),
    Subscription(String, bool),
}

fn server() -> BoxedStrategy<Server> {
    prop_oneof![
        (any::<u64>(), any::<String>(), array())
            .prop_map(|(id, name, v)| Server::ActionRequest(id, name, v)),
        (any::<String>(), any::<bool>()).prop_map(|(e, s)| Server::Subscription(e, s)),
    ]
    .boxed()
}

impl Server {
    fn message(&self, enc: WireEncoding) -> ToServer {
        match self {
            Self::ActionRequest(id, name, v) => ToServer::ActionRequest {
                id: *id,
                name: name.clone(),
                args: v.bytes(enc),
            },
            Self::Subscription(event_name, subscribe) => ToServer::SubscriptionRequest {
                event_name: event_name.clone(),
                subscribe: *subscribe,
            },
        }
    }
}

/// A valid message of any kind, encoded.
fn encoded(enc: WireEncoding) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        client().prop_map(move |m| enc.encode_to_client(&m.message(enc)).expect("encodes")),
        server().prop_map(move |m| enc.encode_to_server(&m.message(enc)).expect("encodes")),
        array().prop_map(move |v| enc.encode_action_request(&v.bytes(enc)).expect("encodes")),
        value().prop_map(move |v| enc.encode_action_response(&v.bytes(enc)).expect("encodes")),
        error().prop_map(move |e| enc.encode_error(&e)),
    ]
    .boxed()
}

/// A mutation of valid bytes: a byte changed, removed or inserted, or the tail cut.
fn mutated(bytes: Vec<u8>, at: usize, byte: u8, how: u8) -> Vec<u8> {
    let mut bytes = bytes;
    let at = at % (bytes.len() + 1);
    match how % 4 {
        0 if at < bytes.len() => bytes[at] = byte,
        1 if at < bytes.len() => {
            bytes.remove(at);
        }
        2 => bytes.insert(at, byte),
        _ => bytes.truncate(at),
    }
    bytes
}

proptest! {
    #[test]
    fn any_bytes_decode_or_are_invalid(bytes in prop::collection::vec(any::<u8>(), 0..48)) {
        for enc in ENCODINGS {
            decode_everything(enc, &bytes)?;
        }
        // The same bytes behind a BARE v4 prefix get past the version check.
        let mut bare = vec![0x04, 0x00];
        bare.extend(&bytes);
        decode_everything(WireEncoding::Bare, &bare)?;
    }

    #[test]
    fn any_text_decodes_or_is_invalid(text in "[\\[\\]{}\":,$a-zA-Z0-9 \\\\.-]{0,48}") {
        decode_everything(WireEncoding::Json, text.as_bytes())?;
    }

    #[test]
    fn mutated_messages_decode_or_are_invalid(
        (enc, bytes) in prop_oneof![
            encoded(WireEncoding::Json).prop_map(|b| (WireEncoding::Json, b)),
            encoded(WireEncoding::Cbor).prop_map(|b| (WireEncoding::Cbor, b)),
            encoded(WireEncoding::Bare).prop_map(|b| (WireEncoding::Bare, b)),
        ],
        at in any::<usize>(),
        byte in any::<u8>(),
        how in any::<u8>(),
    ) {
        decode_everything(enc, &bytes)?;
        decode_everything(enc, &mutated(bytes, at, byte, how))?;
    }

    #[test]
    fn encoders_take_any_value_bytes(bytes in prop::collection::vec(any::<u8>(), 0..32)) {
        for enc in ENCODINGS {
            for result in [
                enc.encode_action_request(&bytes),
                enc.encode_action_response(&bytes),
                enc.encode_to_client(&ToClient::Event { name: "e".into(), args: bytes.clone() }),
            ] {
                if let Err(err) = result {
                    prop_assert!(err.is(codes::SERIALIZATION_FAILED), "{err}");
                }
            }
        }
    }

    #[test]
    fn to_client_messages_round_trip(msg in client()) {
        for enc in ENCODINGS {
            let msg = msg.message(enc);
            let frame = enc.encode_to_client(&msg)?;
            let back = enc.decode_to_client(&frame)?;
            prop_assert!(same_to_client(enc, &msg, &back), "{enc:?}: {msg:?} came back as {back:?}");
        }
    }

    #[test]
    fn to_server_messages_round_trip(msg in server()) {
        for enc in ENCODINGS {
            let msg = msg.message(enc);
            let frame = enc.encode_to_server(&msg)?;
            let back = enc.decode_to_server(&frame)?;
            match (&msg, &back) {
                (
                    ToServer::ActionRequest { id, name, args },
                    ToServer::ActionRequest { id: id2, name: name2, args: args2 },
                ) => prop_assert!(id == id2 && name == name2 && same(enc, args, args2), "{enc:?}: {msg:?} came back as {back:?}"),
                _ => prop_assert_eq!(&msg, &back),
            }
        }
    }

    #[test]
    fn action_bodies_round_trip(args in array(), output in value()) {
        for enc in ENCODINGS {
            let bytes = args.bytes(enc);
            let back = enc.decode_action_request(&enc.encode_action_request(&bytes)?)?;
            prop_assert!(same(enc, &bytes, &back), "{enc:?} args {args:?}");
            let bytes = output.bytes(enc);
            let back = enc.decode_action_response(&enc.encode_action_response(&bytes)?)?;
            prop_assert!(same(enc, &bytes, &back), "{enc:?} output {output:?}");
        }
    }

    #[test]
    fn queue_bodies_round_trip(
        body in value(),
        name in prop::option::of(any::<String>()),
        wait in any::<bool>(),
        timeout in prop::option::of(any::<u64>()),
        completed in any::<bool>(),
        response in prop::option::of(value()),
    ) {
        for enc in ENCODINGS {
            let req = QueueRequest { body: body.bytes(enc), name: name.clone(), wait, timeout };
            let back = enc.decode_queue_request(&enc.encode_queue_request(&req)?)?;
            prop_assert!(same(enc, &req.body, &back.body));
            prop_assert_eq!((&req.name, req.wait, req.timeout), (&back.name, back.wait, back.timeout));

            let status = if completed { QueueStatus::Completed } else { QueueStatus::TimedOut };
            let res = QueueResponse { status, response: response.as_ref().map(|v| v.bytes(enc)) };
            let back = enc.decode_queue_response(&enc.encode_queue_response(&res)?)?;
            prop_assert_eq!(back.status, status);
            match (&res.response, &back.response) {
                (Some(a), Some(b)) => prop_assert!(same(enc, a, b)),
                // cbor reads a null response as none.
                (Some(a), None) => prop_assert!(enc == WireEncoding::Cbor && same(enc, a, &[0xf6])),
                (None, None) => {}
                (None, Some(b)) => prop_assert!(false, "{enc:?}: no response came back as {b:?}"),
            }
        }
    }

    #[test]
    fn errors_round_trip(err in error()) {
        for enc in ENCODINGS {
            let body = enc.encode_error(&err);
            prop_assert_eq!(&enc.decode_error(&body)?, &err, "{:?}", enc);
            prop_assert_eq!(&enc.decode_error_body(Some(enc.content_type()), &body)?, &err);
        }
    }
}
