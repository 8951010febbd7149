//! The byte strings and JSON texts of the protocol notes (captured from the real 2.3.19
//! client), decoded, and ours encoded and compared with them where the client accepts
//! exactly those bytes; then the compat values and the rejections.

use super::*;
use ciborium::Value as Cbor;
use serde_json::{Value as Json, json};

use WireEncoding::{Bare, Cbor as CborEnc, Json as JsonEnc};

/// Bytes from hex, ignoring spaces, `|` and other separators.
fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .map(|b| match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => b - b'A' + 10,
        })
        .collect();
    assert_eq!(digits.len() % 2, 0, "odd hex: {text}");
    digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
}

fn cbor(bytes: &[u8]) -> Cbor {
    let mut rest = bytes;
    let value = ciborium::from_reader(&mut rest).expect("valid CBOR");
    assert!(rest.is_empty(), "trailing bytes after CBOR");
    value
}

fn to_cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("encodable");
    out
}

fn cbor_of(value: Json) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(&value, &mut out).expect("encodable");
    out
}

fn json(bytes: &[u8]) -> Json {
    serde_json::from_slice(bytes).expect("valid JSON")
}

fn int(n: i128) -> Cbor {
    Cbor::Integer(n.try_into().expect("fits"))
}

fn text(s: &str) -> Cbor {
    Cbor::Text(s.into())
}

/// The error is `request/invalid` and its message contains `needle`.
#[track_caller]
fn rejected<T: fmt::Debug>(result: Result<T, ActorError>, needle: &str) -> ActorError {
    let err = result.expect_err("should be rejected");
    assert!(err.is(codes::INVALID_REQUEST), "{err}");
    assert!(err.message().contains(needle), "{needle:?} not in: {err}");
    err
}

// ---------------------------------------------------------------------------------------
// WireEncoding basics

#[test]
fn names_content_types_and_frames() {
    for (name, enc, content_type, binary) in [
        ("json", JsonEnc, "application/json", false),
        ("cbor", CborEnc, "application/octet-stream", true),
        ("bare", Bare, "application/octet-stream", true),
    ] {
        assert_eq!(WireEncoding::from_name(Some(name)).unwrap(), enc);
        assert_eq!(enc.name(), name);
        assert_eq!(enc.content_type(), content_type);
        assert_eq!(enc.is_binary(), binary);
    }
    assert_eq!(WireEncoding::from_name(None).unwrap(), JsonEnc);
    assert_eq!(JsonEnc.values(), Encoding::Json);
    assert_eq!(CborEnc.values(), Encoding::Cbor);
    assert_eq!(Bare.values(), Encoding::Cbor);
    let err = rejected(
        WireEncoding::from_name(Some("JSON")),
        "unknown encoding `JSON`",
    );
    assert_eq!(
        err.metadata().unwrap()["allowed"],
        json!(["json", "cbor", "bare"])
    );
}

// ---------------------------------------------------------------------------------------
// §6.1 actions

#[test]
fn json_action_request_and_response_examples() {
    let args = JsonEnc
        .decode_action_request(br#"{"args":[5,["$BigInt","2"]]}"#)
        .unwrap();
    assert_eq!(json(&args), json!([5, 2]));
    // Nothing to revive: the bytes as they came.
    assert_eq!(
        JsonEnc
            .decode_action_request(br#"{"args":[1, "a"]}"#)
            .unwrap(),
        br#"[1, "a"]"#
    );
    assert_eq!(
        JsonEnc.encode_action_request(b"[5,2]").unwrap(),
        br#"{"args":[5,2]}"#
    );

    let body = br#"{"output":{"n":42,"big":["$BigInt","9007199254740993"]}}"#;
    let output = JsonEnc.decode_action_response(body).unwrap();
    assert_eq!(output, br#"{"n":42,"big":9007199254740993}"#);
    assert_eq!(JsonEnc.encode_action_response(&output).unwrap(), body);
    assert_eq!(
        JsonEnc
            .decode_action_response(br#"{"output":null}"#)
            .unwrap(),
        b"null"
    );
    assert_eq!(JsonEnc.decode_action_response(b"{}").unwrap(), b"null");
}

#[test]
fn cbor_action_request_and_response_examples() {
    // map16(1) "args" [5, uint64 2], as cbor-x writes a BigInt.
    let body = hex("b9 0001 64 61726773 82 05 1b0000000000000002");
    let args = CborEnc.decode_action_request(&body).unwrap();
    assert_eq!(cbor(&args), Cbor::Array(vec![int(5), int(2)]));
    assert_eq!(
        CborEnc.encode_action_request(&hex("82 05 02")).unwrap(),
        hex("b9 0001 64 61726773 82 05 02")
    );

    let body = hex("b9 0001 66 6f7574707574 b9 0001 61 6e 18 2a");
    let output = CborEnc.decode_action_response(&body).unwrap();
    assert_eq!(cbor(&output), Cbor::Map(vec![(text("n"), int(42))]));
    // Ours, from ciborium's canonical `a1` map: byte for byte what cbor-x writes.
    assert_eq!(
        CborEnc
            .encode_action_response(&cbor_of(json!({"n": 42})))
            .unwrap(),
        body
    );
    // A canonical map is read too.
    let canonical = hex("a1 66 6f7574707574 a1 61 6e 18 2a");
    assert_eq!(
        cbor(&CborEnc.decode_action_response(&canonical).unwrap()),
        cbor(&output)
    );
    // No `output` is null.
    assert_eq!(
        CborEnc.decode_action_response(&hex("a0")).unwrap(),
        hex("f6")
    );
}

#[test]
fn bare_action_request_and_response_examples() {
    // increment(5, 2n): 13 bytes of CBOR, [5, ["$BigInt","2"]].
    let body = hex("04 00 0d 82 05 82 67 2442696749 6e74 61 32");
    let args = Bare.decode_action_request(&body).unwrap();
    assert_eq!(cbor(&args), Cbor::Array(vec![int(5), int(2)]));
    assert_eq!(
        Bare.decode_action_request(&hex("04 00 02 81 01")).unwrap(),
        hex("81 01")
    );
    assert_eq!(
        Bare.decode_action_request(&hex("04 00 01 80")).unwrap(),
        hex("80")
    );
    assert_eq!(
        Bare.encode_action_request(&hex("81 01")).unwrap(),
        hex("04 00 02 81 01")
    );
    assert_eq!(
        Bare.encode_action_request(&hex("80")).unwrap(),
        hex("04 00 01 80")
    );

    let body = hex("04 00 07 b9 00 01 61 6e 18 2a");
    let output = Bare.decode_action_response(&body).unwrap();
    assert_eq!(cbor(&output), Cbor::Map(vec![(text("n"), int(42))]));
    assert_eq!(Bare.encode_action_response(&output).unwrap(), body);
    // Versions 1 to 4 of a response are read alike.
    for version in 1..=3u8 {
        let mut old = body.clone();
        old[0] = version;
        assert_eq!(Bare.decode_action_response(&old).unwrap(), output);
    }
    rejected(
        Bare.decode_action_response(&hex("05 00 01 f6")),
        "has protocol version 5 (prefix `05 00`); this reads versions 1 to 4",
    );
}

// ---------------------------------------------------------------------------------------
// §6.2 queues

#[test]
fn json_queue_examples() {
    let wait = br#"{"body":{"x":1},"name":"jobs","wait":true,"timeout":1000}"#;
    let req = JsonEnc.decode_queue_request(wait).unwrap();
    let expected = QueueRequest {
        body: br#"{"x":1}"#.to_vec(),
        name: Some("jobs".into()),
        wait: true,
        timeout: Some(1000),
    };
    assert_eq!(req, expected);
    assert_eq!(JsonEnc.encode_queue_request(&req).unwrap(), wait);

    let no_wait = br#"{"body":{"x":2},"name":"jobs","wait":false}"#;
    let req = JsonEnc.decode_queue_request(no_wait).unwrap();
    assert_eq!((req.wait, req.timeout), (false, None));
    assert_eq!(JsonEnc.encode_queue_request(&req).unwrap(), no_wait);

    // `send("jobs", undefined)` drops `body`: null.
    let req = JsonEnc
        .decode_queue_request(br#"{"name":"jobs","wait":false}"#)
        .unwrap();
    assert_eq!(req.body, b"null");

    let ok = br#"{"status":"completed","response":"ok"}"#;
    let res = JsonEnc.decode_queue_response(ok).unwrap();
    assert_eq!(
        res,
        QueueResponse {
            status: QueueStatus::Completed,
            response: Some(br#""ok""#.to_vec())
        }
    );
    assert_eq!(JsonEnc.encode_queue_response(&res).unwrap(), ok);
    // A `null` response is a response; a missing one is none.
    let null = JsonEnc
        .decode_queue_response(br#"{"status":"completed","response":null}"#)
        .unwrap();
    assert_eq!(null.response.as_deref(), Some(&b"null"[..]));
    rejected(
        JsonEnc.decode_queue_response(br#"{"status":"done"}"#),
        "the `status` of the JSON HttpQueueSendResponse is `done`",
    );
}

#[test]
fn cbor_queue_examples() {
    let wait = hex(
        "b9 0004 64 626f6479 b9 0001 61 78 01 64 6e616d65 64 6a6f6273 64 77616974 f5 \
         67 74696d656f7574 19 03e8",
    );
    let req = CborEnc.decode_queue_request(&wait).unwrap();
    assert_eq!(cbor(&req.body), Cbor::Map(vec![(text("x"), int(1))]));
    assert_eq!(
        (req.name.as_deref(), req.wait, req.timeout),
        (Some("jobs"), true, Some(1000))
    );
    // Ours, with the body as cbor-x writes it: the same bytes.
    let ours = QueueRequest {
        body: hex("b9 0001 61 78 01"),
        ..req
    };
    assert_eq!(CborEnc.encode_queue_request(&ours).unwrap(), wait);

    // No wait: `timeout` is present as `undefined` (f7).
    let no_wait = hex(
        "b9 0004 64 626f6479 b9 0001 61 78 02 64 6e616d65 64 6a6f6273 64 77616974 f4 \
         67 74696d656f7574 f7",
    );
    let req = CborEnc.decode_queue_request(&no_wait).unwrap();
    assert_eq!((req.wait, req.timeout), (false, None));
    assert_eq!(req.name.as_deref(), Some("jobs"));

    let res = QueueResponse {
        status: QueueStatus::Completed,
        response: Some(cbor_of(json!("ok"))),
    };
    let body = CborEnc.encode_queue_response(&res).unwrap();
    assert_eq!(
        body,
        hex("b9 0002 66 737461747573 69 636f6d706c65746564 68 726573706f6e7365 62 6f6b")
    );
    assert_eq!(CborEnc.decode_queue_response(&body).unwrap(), res);
    // cbor-x writes a missing response as `undefined`.
    let undefined = hex("b9 0002 66 737461747573 68 74696d65644f7574 68 726573706f6e7365 f7");
    assert_eq!(
        CborEnc.decode_queue_response(&undefined).unwrap(),
        QueueResponse {
            status: QueueStatus::TimedOut,
            response: None
        }
    );
}

#[test]
fn bare_queue_examples() {
    let wait = hex("04 00 06 b900016178 01 | 01 04 6a6f6273 | 01 01 | 01 e803000000000000");
    let req = Bare.decode_queue_request(&wait).unwrap();
    assert_eq!(
        req,
        QueueRequest {
            body: hex("b900016178 01"),
            name: Some("jobs".into()),
            wait: true,
            timeout: Some(1000)
        }
    );
    assert_eq!(Bare.encode_queue_request(&req).unwrap(), wait);

    let no_wait = hex("04 00 06 b900016178 02 | 01 04 6a6f6273 | 01 00 | 00");
    let req = Bare.decode_queue_request(&no_wait).unwrap();
    assert_eq!((req.wait, req.timeout), (false, None));
    assert_eq!(Bare.encode_queue_request(&req).unwrap(), no_wait);
    // `wait` absent is false.
    let req = Bare
        .decode_queue_request(&hex("04 00 01 f6 | 00 | 00 | 00"))
        .unwrap();
    assert_eq!((req.name, req.wait, req.body), (None, false, hex("f6")));

    // The notes write `01 02 626f6b`, a length of 2 for the 3 bytes of C("ok"): a typo
    // (the client would find a byte left over). The length is 3.
    let ok = hex("04 00 09 636f6d706c65746564 01 03 626f6b");
    let res = Bare.decode_queue_response(&ok).unwrap();
    assert_eq!(
        res,
        QueueResponse {
            status: QueueStatus::Completed,
            response: Some(hex("62 6f6b"))
        }
    );
    assert_eq!(Bare.encode_queue_response(&res).unwrap(), ok);
    // Version 3 is read; version 2 had no queues.
    assert!(
        Bare.decode_queue_response(&hex("03 00 08 74696d65644f7574 00"))
            .is_ok()
    );
    rejected(
        Bare.decode_queue_response(&hex("02 00 08 74696d65644f7574 00")),
        "this reads versions 3 to 4",
    );
}

// ---------------------------------------------------------------------------------------
// §9 errors

fn bad_thing() -> ActorError {
    ActorError::user("bad_thing", "it failed").with_metadata(json!({"why": 1}))
}

#[test]
fn error_examples() {
    let bare = hex(
        "04 00 | 04 75736572 | 09 6261645f7468696e67 | 09 6974206661696c6564 | \
         01 08 b900016377687901 | 00",
    );
    assert_eq!(Bare.encode_error(&bad_thing()), bare);
    assert_eq!(Bare.decode_error(&bare).unwrap(), bad_thing());

    let json_body =
        br#"{"group":"user","code":"bad_thing","message":"it failed","metadata":{"why":1}}"#;
    assert_eq!(JsonEnc.encode_error(&bad_thing()), json_body);
    assert_eq!(JsonEnc.decode_error(json_body).unwrap(), bad_thing());

    let cbor_body = hex(
        "b9 0004 65 67726f7570 64 75736572 64 636f6465 69 6261645f7468696e67 \
         67 6d657373616765 69 6974206661696c6564 68 6d65746164617461 b9 0001 63 776879 01",
    );
    assert_eq!(CborEnc.encode_error(&bad_thing()), cbor_body);
    assert_eq!(CborEnc.decode_error(&cbor_body).unwrap(), bad_thing());

    // No metadata; a null one reads as none.
    let plain = ActorError::new("actor", "not_found", "gone");
    for enc in [JsonEnc, CborEnc, Bare] {
        assert_eq!(enc.decode_error(&enc.encode_error(&plain)).unwrap(), plain);
    }
    let null = br#"{"group":"actor","code":"not_found","message":"gone","metadata":null}"#;
    assert_eq!(JsonEnc.decode_error(null).unwrap(), plain);
}

#[test]
fn error_actor_fields_are_read_and_dropped() {
    // actor: Some({actorId "a", generation 300, key Some("k")}).
    let bare = hex("04 00 04 75736572 01 63 01 6d 00 | 01 01 61 ac02 01 01 6b");
    let err = Bare.decode_error(&bare).unwrap();
    assert_eq!((err.group(), err.code(), err.message()), ("user", "c", "m"));
    // Versions 1 to 3 have no `actor` field.
    let v3 = hex("03 00 04 75736572 01 63 01 6d 00");
    assert_eq!(Bare.decode_error(&v3).unwrap(), err);
    rejected(
        Bare.decode_error(&hex("04 00 04 75736572 01 63 01 6d 00")),
        "`actor`",
    );

    let json_body =
        br#"{"group":"user","code":"c","message":"m","actor":{"actorId":"a","generation":1}}"#;
    assert_eq!(JsonEnc.decode_error(json_body).unwrap(), err);
}

#[test]
fn error_bodies_are_decoded_as_the_content_type_says() {
    let json_body = JsonEnc.encode_error(&bad_thing());
    for enc in [JsonEnc, CborEnc, Bare] {
        assert_eq!(
            enc.decode_error_body(Some("Application/JSON"), &json_body)
                .unwrap(),
            bad_thing()
        );
        // Without a JSON content type: the encoding's own, then JSON.
        assert_eq!(
            enc.decode_error_body(None, &enc.encode_error(&bad_thing()))
                .unwrap(),
            bad_thing()
        );
        assert_eq!(
            enc.decode_error_body(Some("application/octet-stream"), &json_body)
                .unwrap(),
            bad_thing()
        );
    }
    // A body neither decodes: the encoding's own error.
    rejected(
        Bare.decode_error_body(None, b"Not Found"),
        "the BARE HttpResponseError",
    );
    rejected(
        JsonEnc.decode_error_body(Some("application/json"), &hex("04 00")),
        "JSON",
    );
}

#[test]
fn metadata_that_cannot_be_encoded_is_left_out() {
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let err = ActorError::user("deep", "too deep").with_metadata(deep);
    let plain = ActorError::user("deep", "too deep");
    for enc in [JsonEnc, CborEnc, Bare] {
        assert_eq!(enc.decode_error(&enc.encode_error(&err)).unwrap(), plain);
        let msg = ToClient::Error {
            error: err.clone(),
            action_id: None,
        };
        let back = enc
            .decode_to_client(&enc.encode_to_client(&msg).unwrap())
            .unwrap();
        assert_eq!(
            back,
            ToClient::Error {
                error: plain.clone(),
                action_id: None
            }
        );
    }
}

// ---------------------------------------------------------------------------------------
// §10.4 WebSocket

fn ws_to_client() -> Vec<ToClient> {
    vec![
        ToClient::Init {
            actor_id: "actor-ws".into(),
            connection_id: "conn-1".into(),
        },
        ToClient::Event {
            name: "ev".into(),
            args: vec![],
        },
        ToClient::ActionResponse {
            id: 0,
            output: vec![],
        },
        ToClient::Error {
            error: ActorError::new("user", "nope", "bad").with_metadata(json!({"a": 1})),
            action_id: Some(1),
        },
    ]
}

/// The server's messages of the exchange, with values in `enc`'s value encoding.
fn ws_to_client_in(enc: WireEncoding) -> Vec<ToClient> {
    let (event, output) = match enc {
        JsonEnc => (br#"["hello",1]"#.to_vec(), b"7".to_vec()),
        _ => (hex("826568656c6c6f01"), hex("07")),
    };
    ws_to_client()
        .into_iter()
        .map(|msg| match msg {
            ToClient::Event { name, .. } => ToClient::Event {
                name,
                args: event.clone(),
            },
            ToClient::ActionResponse { id, .. } => ToClient::ActionResponse {
                id,
                output: output.clone(),
            },
            other => other,
        })
        .collect()
}

#[test]
fn json_websocket_exchange() {
    let server = [
        r#"{"body":{"tag":"Init","val":{"actorId":"actor-ws","connectionId":"conn-1"}}}"#,
        r#"{"body":{"tag":"Event","val":{"name":"ev","args":["hello",1]}}}"#,
        r#"{"body":{"tag":"ActionResponse","val":{"id":["$BigInt","0"],"output":7}}}"#,
        r#"{"body":{"tag":"Error","val":{"group":"user","code":"nope","message":"bad","metadata":{"a":1},"actionId":["$BigInt","1"]}}}"#,
    ];
    for (msg, frame) in ws_to_client_in(JsonEnc).iter().zip(server) {
        assert_eq!(
            String::from_utf8(JsonEnc.encode_to_client(msg).unwrap()).unwrap(),
            frame
        );
        assert_eq!(&JsonEnc.decode_to_client(frame.as_bytes()).unwrap(), msg);
    }
    let client = [
        (
            r#"{"body":{"tag":"SubscriptionRequest","val":{"eventName":"ev","subscribe":true}}}"#,
            ToServer::SubscriptionRequest {
                event_name: "ev".into(),
                subscribe: true,
            },
        ),
        (
            r#"{"body":{"tag":"ActionRequest","val":{"id":["$BigInt","0"],"name":"increment","args":[1]}}}"#,
            ToServer::ActionRequest {
                id: 0,
                name: "increment".into(),
                args: b"[1]".to_vec(),
            },
        ),
        (
            r#"{"body":{"tag":"ActionRequest","val":{"id":["$BigInt","1"],"name":"bad","args":[]}}}"#,
            ToServer::ActionRequest {
                id: 1,
                name: "bad".into(),
                args: b"[]".to_vec(),
            },
        ),
    ];
    for (frame, msg) in client {
        assert_eq!(JsonEnc.decode_to_server(frame.as_bytes()).unwrap(), msg);
        assert_eq!(
            String::from_utf8(JsonEnc.encode_to_server(&msg).unwrap()).unwrap(),
            frame
        );
    }
    // An error without an action writes `actionId: null`; ids may come as plain integers.
    let err = ToClient::Error {
        error: ActorError::new("actor", "stopped", "bye"),
        action_id: None,
    };
    assert_eq!(
        JsonEnc.encode_to_client(&err).unwrap(),
        br#"{"body":{"tag":"Error","val":{"group":"actor","code":"stopped","message":"bye","actionId":null}}}"#
    );
    let plain_id = br#"{"body":{"tag":"ActionRequest","val":{"id":7,"name":"x","args":[]}}}"#;
    assert!(matches!(
        JsonEnc.decode_to_server(plain_id).unwrap(),
        ToServer::ActionRequest { id: 7, .. }
    ));
    let big_id = br#"{"body":{"tag":"ActionResponse","val":{"id":["$BigInt","18446744073709551615"],"output":1}}}"#;
    assert!(matches!(
        JsonEnc.decode_to_client(big_id).unwrap(),
        ToClient::ActionResponse { id: u64::MAX, .. }
    ));
}

#[test]
fn bare_websocket_exchange() {
    let server = [
        "0400 00 08 6163746f722d7773 06 636f6e6e2d31",
        "0400 03 02 6576 08 826568656c6c6f01",
        "0400 02 00 01 07",
        "0400 01 04 75736572 04 6e6f7065 03 626164 01 06 b90001616101 01 01 00",
    ];
    for (msg, frame) in ws_to_client_in(Bare).iter().zip(server) {
        assert_eq!(Bare.encode_to_client(msg).unwrap(), hex(frame), "{msg:?}");
        assert_eq!(&Bare.decode_to_client(&hex(frame)).unwrap(), msg);
    }
    let client = [
        (
            "0400 01 02 6576 01",
            ToServer::SubscriptionRequest {
                event_name: "ev".into(),
                subscribe: true,
            },
        ),
        (
            "0400 00 00 09 696e6372656d656e74 02 8101",
            ToServer::ActionRequest {
                id: 0,
                name: "increment".into(),
                args: hex("8101"),
            },
        ),
        (
            "0400 00 01 03 626164 01 80",
            ToServer::ActionRequest {
                id: 1,
                name: "bad".into(),
                args: hex("80"),
            },
        ),
    ];
    for (frame, msg) in client {
        assert_eq!(Bare.decode_to_server(&hex(frame)).unwrap(), msg);
        assert_eq!(Bare.encode_to_server(&msg).unwrap(), hex(frame));
    }
    // v1 Init carries a connectionToken, dropped.
    let v1 = hex("0100 00 01 61 01 62 03 746f6b");
    assert_eq!(
        Bare.decode_to_client(&v1).unwrap(),
        ToClient::Init {
            actor_id: "a".into(),
            connection_id: "b".into()
        }
    );
    // v3 Error has no `actor`.
    let v3 = hex("0300 01 04 75736572 04 6e6f7065 03 626164 00 00");
    assert!(matches!(
        Bare.decode_to_client(&v3).unwrap(),
        ToClient::Error {
            action_id: None,
            ..
        }
    ));
}

#[test]
fn cbor_websocket_exchange() {
    let init = hex(
        "b9000164626f6479b900026374616764496e69746376616cb90002676163746f724964686163746f722d\
         77736c636f6e6e656374696f6e496466636f6e6e2d31",
    );
    let messages = ws_to_client_in(CborEnc);
    assert_eq!(CborEnc.encode_to_client(&messages[0]).unwrap(), init);
    for msg in &messages {
        let frame = CborEnc.encode_to_client(msg).unwrap();
        assert_eq!(&CborEnc.decode_to_client(&frame).unwrap(), msg);
    }
    // Ids in the 8-byte form, whatever their size.
    let response = CborEnc.encode_to_client(&messages[2]).unwrap();
    assert!(response.ends_with(&hex("6269641b0000000000000000666f757470757407")));
    let error = CborEnc.encode_to_client(&messages[3]).unwrap();
    assert!(
        error.ends_with(&hex("68616374696f6e4964 1b0000000000000001")),
        "{error:02x?}"
    );
    let no_action = ToClient::Error {
        error: ActorError::new("a", "b", "c"),
        action_id: None,
    };
    let frame = CborEnc.encode_to_client(&no_action).unwrap();
    assert!(frame.ends_with(&hex("68616374696f6e4964 f6")));
    assert_eq!(CborEnc.decode_to_client(&frame).unwrap(), no_action);

    // What the client sends: ids as `1b` uint64, and in a cbor-x map16 envelope.
    let request = hex(
        "b9 0001 64 626f6479 b9 0002 63 746167 6d 416374696f6e52657175657374 63 76616c \
         b9 0003 62 6964 1b 0000000000000000 64 6e616d65 69 696e6372656d656e74 64 61726773 81 01",
    );
    let msg = ToServer::ActionRequest {
        id: 0,
        name: "increment".into(),
        args: hex("81 01"),
    };
    assert_eq!(CborEnc.decode_to_server(&request).unwrap(), msg);
    assert_eq!(CborEnc.encode_to_server(&msg).unwrap(), request);
    let subscribe = ToServer::SubscriptionRequest {
        event_name: "ev".into(),
        subscribe: false,
    };
    let frame = CborEnc.encode_to_server(&subscribe).unwrap();
    assert_eq!(CborEnc.decode_to_server(&frame).unwrap(), subscribe);
    // A small-int id and a `$BigInt` id are read too.
    let small = hex(
        "a1 64 626f6479 a2 63 746167 6e 416374696f6e526573706f6e7365 63 76616c \
         a2 62 6964 05 66 6f7574707574 f6",
    );
    assert!(matches!(
        CborEnc.decode_to_client(&small).unwrap(),
        ToClient::ActionResponse { id: 5, .. }
    ));
    let bigint = to_cbor(&Cbor::Map(vec![(
        text("body"),
        Cbor::Map(vec![
            (text("tag"), text("ActionResponse")),
            (
                text("val"),
                Cbor::Map(vec![
                    (text("id"), Cbor::Array(vec![text("$BigInt"), text("9")])),
                    (text("output"), Cbor::Null),
                ]),
            ),
        ]),
    )]));
    assert!(matches!(
        CborEnc.decode_to_client(&bigint).unwrap(),
        ToClient::ActionResponse { id: 9, .. }
    ));
}

// ---------------------------------------------------------------------------------------
// §7, §8 compat values

#[test]
fn json_values_are_revived() {
    let revive = |args: &str| {
        let body = format!(r#"{{"args":{args}}}"#);
        JsonEnc
            .decode_action_request(body.as_bytes())
            .map(|v| json(&v))
    };
    assert_eq!(
        revive(r#"[["$Uint8Array","AQID"]]"#).unwrap(),
        json!([[1, 2, 3]])
    );
    assert_eq!(
        revive(r#"[["$ArrayBuffer","AQI"]]"#).unwrap(),
        json!([[1, 2]])
    );
    assert_eq!(revive(r#"[["$Undefined",0]]"#).unwrap(), json!([null]));
    assert_eq!(
        revive(r#"[["$Set",[1,["$BigInt","-5"]]]]"#).unwrap(),
        json!([[1, -5]])
    );
    assert_eq!(
        revive(r#"[["$$x",["$BigInt","3"]]]"#).unwrap(),
        json!([["$x", 3]])
    );
    assert_eq!(
        revive(r#"[{"k":["$$$y",1]}]"#).unwrap(),
        json!([{"k": ["$$y", 1]}])
    );
    // Three items, or a first item not a string: no compat value.
    assert_eq!(revive(r#"["$x",1,2]"#).unwrap(), json!(["$x", 1, 2]));
    assert_eq!(revive(r#"[1,"$x"]"#).unwrap(), json!([1, "$x"]));
    // An escaped `$` is still a `$`.
    assert_eq!(revive(r#"[["\u0024BigInt","7"]]"#).unwrap(), json!([7]));
    // Integers beyond 64 bits stay exact number literals.
    let big = JsonEnc
        .decode_action_request(
            br#"{"args":[["$BigInt","-170141183460469231731687303715884105728"]]}"#,
        )
        .unwrap();
    assert_eq!(big, b"[-170141183460469231731687303715884105728]");

    rejected(
        revive(r#"[["$Date","x"]]"#),
        "[\"$Date\", …] is not a compat value",
    );
    rejected(
        revive(r#"[["$BigInt",5]]"#),
        "does not hold a string of decimal digits",
    );
    rejected(revive(r#"[["$BigInt","1.5"]]"#), "fits in 128 bits");
    rejected(
        revive(r#"[["$BigInt","170141183460469231731687303715884105728"]]"#),
        "fits in 128 bits",
    );
    rejected(revive(r#"[["$Uint8Array","!!"]]"#), "standard base64");
    rejected(revive(r#"[["$Set",{}]]"#), "does not hold an array");
    rejected(revive(r#"{"a":1}"#), "must be an array of arguments");
}

#[test]
fn json_values_are_compat_encoded() {
    let out = |value: &str| {
        String::from_utf8(JsonEnc.encode_action_response(value.as_bytes()).unwrap()).unwrap()
    };
    assert_eq!(out(r#"["$x",1]"#), r#"{"output":["$$x",1]}"#);
    assert_eq!(
        out(r#"[["$BigInt","1"],"$"]"#),
        r#"{"output":[["$$BigInt","1"],"$"]}"#
    );
    assert_eq!(out("9007199254740991"), r#"{"output":9007199254740991}"#);
    assert_eq!(
        out("9007199254740992"),
        r#"{"output":["$BigInt","9007199254740992"]}"#
    );
    assert_eq!(
        out("[-9007199254740992]"),
        r#"{"output":[["$BigInt","-9007199254740992"]]}"#
    );
    assert_eq!(
        out(r#"{"u":18446744073709551615,"f":1.2345678901234567,"s":"12345678901234567"}"#),
        r#"{"output":{"u":["$BigInt","18446744073709551615"],"f":1.2345678901234567,"s":"12345678901234567"}}"#
    );
    // Whitespace and order are kept where nothing changes.
    assert_eq!(
        out(r#"{"b": 1, "a": [2]}"#),
        r#"{"output":{"b": 1, "a": [2]}}"#
    );
    // Value bytes that are not JSON, or not an array of arguments, are not encoded.
    let err = JsonEnc.encode_action_response(b"{oops").unwrap_err();
    assert!(err.is(codes::SERIALIZATION_FAILED), "{err}");
    let err = JsonEnc.encode_action_request(b"{}").unwrap_err();
    assert!(err.is(codes::SERIALIZATION_FAILED), "{err}");
}

#[test]
fn cbor_values_are_revived() {
    // A compat output: [$BigInt, $Uint8Array, $Undefined, $Set, escaped].
    let compat = Cbor::Array(vec![
        Cbor::Array(vec![text("$BigInt"), text("-18446744073709551616")]),
        Cbor::Array(vec![text("$Uint8Array"), text("AQID")]),
        Cbor::Array(vec![text("$Undefined"), int(0)]),
        Cbor::Array(vec![text("$Set"), Cbor::Array(vec![int(1)])]),
        Cbor::Array(vec![text("$$x"), int(2)]),
    ]);
    let body = {
        let mut out = hex("a1 66 6f7574707574");
        out.extend(to_cbor(&compat));
        out
    };
    let plain = cbor(&CborEnc.decode_action_response(&body).unwrap());
    assert_eq!(
        plain,
        Cbor::Array(vec![
            int(-18446744073709551616),
            Cbor::Bytes(vec![1, 2, 3]),
            Cbor::Null,
            Cbor::Array(vec![int(1)]),
            Cbor::Array(vec![text("$x"), int(2)]),
        ])
    );
    // What cbor-x writes natively: float64 integers, tags 1/64/258/259, undefined.
    let native = hex(
        "86 fb41f0000000000000 c1 1a 5f5e1000 d8 40 42 0102 d9 0102 82 01 02 \
         d9 0103 b9 0001 01 02 f7",
    );
    let plain = cbor(&Bare.decode_action_request(&bare_data(&native)).unwrap());
    assert_eq!(
        plain,
        Cbor::Array(vec![
            int(1 << 32),
            int(1_600_000_000),
            Cbor::Bytes(vec![1, 2]),
            Cbor::Array(vec![int(1), int(2)]),
            Cbor::Map(vec![(int(1), int(2))]),
            Cbor::Null,
        ])
    );
    // Non-integral and huge floats stay floats.
    let floats = to_cbor(&Cbor::Array(vec![Cbor::Float(1.5), Cbor::Float(1e300)]));
    assert_eq!(
        cbor(&Bare.decode_action_request(&bare_data(&floats)).unwrap()),
        Cbor::Array(vec![Cbor::Float(1.5), Cbor::Float(1e300)])
    );

    let bad = |value: Cbor| {
        let mut out = hex("a1 66 6f7574707574");
        out.extend(to_cbor(&value));
        CborEnc.decode_action_response(&out)
    };
    rejected(
        bad(Cbor::Array(vec![text("$Map"), int(1)])),
        "[\"$Map\", …] is not a compat value",
    );
    rejected(
        bad(Cbor::Array(vec![
            text("$BigInt"),
            text("18446744073709551616"),
        ])),
        "does not fit a CBOR integer",
    );
    rejected(
        bad(Cbor::Array(vec![text("$BigInt"), int(1)])),
        "holds an integer, not a text string",
    );
    rejected(bad(Cbor::Array(vec![text("$Set"), int(1)])), "not an array");
}

#[test]
fn cbor_values_are_compat_encoded_as_cbor_x_would() {
    let out = |value: Cbor| {
        let body = CborEnc.encode_action_response(&to_cbor(&value)).unwrap();
        body[hex("b9 0001 66 6f7574707574").len()..].to_vec()
    };
    // Integers of 2^32 to 2^53 become float64; others stay integers.
    assert_eq!(out(int((1 << 32) - 1)), hex("1a ffffffff"));
    assert_eq!(out(int(1 << 32)), hex("fb 41f0000000000000"));
    assert_eq!(out(int(-(1 << 53))), hex("fb c340000000000000"));
    assert_eq!(out(int((1 << 53) + 1)), hex("1b 0020000000000001"));
    assert_eq!(out(Cbor::Float(1.5)), hex("fb 3ff8000000000000"));
    // `$` arrays get one more `$`, and maps a map16 header.
    assert_eq!(
        out(Cbor::Map(vec![(
            text("k"),
            Cbor::Array(vec![text("$x"), int(1)])
        )])),
        hex("b9 0001 61 6b 82 63 242478 01")
    );
    assert_eq!(out(Cbor::Bytes(vec![1])), hex("41 01"));

    // Messages to the server are plain both ways, as the TS client sends them: a user's
    // `["$x", 1]` is not escaped, nor read as a compat value.
    let user = to_cbor(&Cbor::Array(vec![Cbor::Array(vec![text("$x"), int(1)])]));
    let body = CborEnc.encode_action_request(&user).unwrap();
    assert!(body.ends_with(&user));
    assert_eq!(CborEnc.decode_action_request(&body).unwrap(), user);
    let frame = CborEnc
        .encode_to_server(&ToServer::ActionRequest {
            id: 1,
            name: "a".into(),
            args: user.clone(),
        })
        .unwrap();
    assert!(
        matches!(CborEnc.decode_to_server(&frame).unwrap(), ToServer::ActionRequest { args, .. } if args == user)
    );
    // …while bare `data` fields are compat both ways.
    let bare = Bare.encode_action_request(&user).unwrap();
    assert_eq!(bare, hex("04 00 07 81 82 63 242478 01"));
    assert_eq!(Bare.decode_action_request(&bare).unwrap(), user);
}

// ---------------------------------------------------------------------------------------
// Rejections

#[test]
fn bare_rejections_say_what_and_where() {
    rejected(
        Bare.decode_to_server(&hex("05 00 01 02 6576 01")),
        "the BARE ToServer has protocol version 5 (prefix `05 00`); this reads version 4",
    );
    rejected(
        Bare.decode_action_request(&hex("03 00 01 80")),
        "HttpActionRequest has protocol version 3",
    );
    rejected(
        Bare.decode_to_server(&hex("04")),
        "ends inside its `version prefix` field (at byte 0)",
    );
    rejected(
        Bare.decode_action_request(&hex("04 00 02 81 01 00")),
        "the BARE HttpActionRequest has 1 byte after its end (at byte 5)",
    );
    rejected(
        Bare.decode_to_server(&hex("04 00 00 8000 01 61 01 80")),
        "has a non-canonical uint (a final 00 byte) in its `id` field (at byte 3)",
    );
    rejected(
        Bare.decode_to_server(&hex("04 00 00 ffffffffffffffffff02 01 61 01 80")),
        "has a uint larger than 2^64-1 in its `id` field (at byte 3)",
    );
    rejected(
        Bare.decode_to_server(&hex("04 00 00 ffffffffffffffffff8001")),
        "larger than 2^64-1",
    );
    let max = Bare
        .decode_to_server(&hex("04 00 00 ffffffffffffffffff01 01 61 01 80"))
        .unwrap();
    assert!(matches!(max, ToServer::ActionRequest { id: u64::MAX, .. }));
    rejected(
        Bare.decode_to_server(&hex("04 00 01 02 6576 02")),
        "has the byte 02 for the bool of its `subscribe` field (at byte 6); a bool is 00 or 01",
    );
    rejected(
        Bare.decode_to_server(&hex("04 00 01 05 6576")),
        "the BARE ToServer ends inside its `eventName` field (at byte 4)",
    );
    rejected(
        Bare.decode_action_request(&hex("04 00 0d 82 05")),
        "the BARE HttpActionRequest ends inside its `args` field (at byte 3)",
    );
    rejected(
        Bare.decode_to_server(&hex("04 00 01 02 61 ff 01")),
        "has invalid UTF-8 in its `eventName` field (at byte 5)",
    );
    rejected(
        Bare.decode_to_server(&hex("04 00 07")),
        "has the unknown tag 7 (at byte 2); the tags are 0 (ActionRequest) and 1 (SubscriptionRequest)",
    );
    rejected(
        Bare.decode_to_client(&hex("04 00 04")),
        "has the unknown tag 4",
    );
    rejected(
        Bare.decode_action_request(&hex("04 00 02 81 ff")),
        "the `args` field of the BARE HttpActionRequest is not a valid value: invalid type: break",
    );
    rejected(
        Bare.decode_action_request(&hex("04 00 03 81 01 01")),
        "1 byte follows the CBOR value",
    );
    rejected(
        Bare.decode_action_request(&hex("04 00 01 01")),
        "arguments are an array",
    );
    rejected(
        Bare.decode_action_request(&hex("04 00 ffffffff0f")),
        "ends inside its `args` field",
    );
}

#[test]
fn json_rejections_say_what_and_where() {
    rejected(
        JsonEnc.decode_to_server(br#"{"body":{"tag":"Nope","val":{}}}"#),
        "the JSON ToServer message has the unknown tag `Nope`; the tags are ActionRequest and SubscriptionRequest",
    );
    rejected(
        JsonEnc.decode_to_client(br#"{"body":{"tag":"Nope","val":{}}}"#),
        "has the unknown tag `Nope`",
    );
    rejected(
        JsonEnc.decode_to_server(
            br#"{"body":{"tag":"ActionRequest","val":{"id":["$BigInt","0"],"name":"x"}}}"#,
        ),
        "the `ActionRequest` body of the JSON ToServer message is not valid: missing field `args`",
    );
    rejected(
        JsonEnc.decode_action_request(b"{}"),
        "the JSON HttpActionRequest is not valid: missing field `args`",
    );
    rejected(
        JsonEnc.decode_to_server(br#"{"body":{"val":{}}}"#),
        "missing field `tag`",
    );
    rejected(
        JsonEnc.decode_action_request(br#"{"args":[1]"#),
        "is not valid: EOF",
    );
    rejected(JsonEnc.decode_action_request(b"\xff"), "is not valid");
    rejected(
        JsonEnc
            .decode_to_client(br#"{"body":{"tag":"ActionResponse","val":{"id":-1,"output":1}}}"#),
        "invalid type: integer `-1`",
    );
    rejected(
        JsonEnc.decode_to_client(
            br#"{"body":{"tag":"ActionResponse","val":{"id":["$BigInt","-1"],"output":1}}}"#,
        ),
        "is not an integer from 0 to 2^64-1",
    );
    rejected(
        JsonEnc.decode_to_client(
            br#"{"body":{"tag":"ActionResponse","val":{"id":["$Big","1"],"output":1}}}"#,
        ),
        "expected an id",
    );
    rejected(
        JsonEnc.decode_to_client(br#"{"body":{"tag":"Event","val":{"name":"e","args":"x"}}}"#),
        "the `args` of the JSON ToClient `Event` must be an array of arguments, like [1, \"a\"]; found a string",
    );
    rejected(
        JsonEnc.decode_to_server(
            br#"{"body":{"tag":"ActionRequest","val":{"id":0,"name":"x","args":[],"id":1}}}"#,
        ),
        "duplicate field `id`",
    );
}

#[test]
fn cbor_rejections_say_what_and_where() {
    let map = |entries: Vec<(&str, Cbor)>| {
        to_cbor(&Cbor::Map(
            entries.into_iter().map(|(k, v)| (text(k), v)).collect(),
        ))
    };
    let envelope = |tag: &str, val: Cbor| {
        map(vec![(
            "body",
            Cbor::Map(vec![(text("tag"), text(tag)), (text("val"), val)]),
        )])
    };
    rejected(
        CborEnc.decode_to_server(&envelope("Nope", Cbor::Map(vec![]))),
        "the CBOR ToServer message has the unknown tag `Nope`; the tags are ActionRequest, SubscriptionRequest",
    );
    rejected(
        CborEnc.decode_to_server(&envelope(
            "ActionRequest",
            Cbor::Map(vec![(text("id"), int(0))]),
        )),
        "the `ActionRequest` body of the CBOR ToServer message has no `name` key",
    );
    rejected(
        CborEnc.decode_to_server(&envelope(
            "ActionRequest",
            Cbor::Map(vec![
                (text("id"), int(-1)),
                (text("name"), text("x")),
                (text("args"), Cbor::Array(vec![])),
            ]),
        )),
        "the `id` of the `ActionRequest` body of the CBOR ToServer message must be an integer from 0 to 2^64-1; found an integer",
    );
    rejected(
        CborEnc.decode_to_server(&envelope(
            "SubscriptionRequest",
            Cbor::Map(vec![
                (text("eventName"), text("e")),
                (text("subscribe"), int(1)),
            ]),
        )),
        "the `subscribe` of the `SubscriptionRequest` body of the CBOR ToServer message must be a bool; found an integer",
    );
    rejected(
        CborEnc.decode_action_request(&map(vec![])),
        "the CBOR HttpActionRequest has no `args` key",
    );
    rejected(
        CborEnc.decode_action_request(&map(vec![("args", int(1))])),
        "the `args` of the CBOR HttpActionRequest: arguments are an array",
    );
    rejected(
        CborEnc.decode_action_request(&hex("a2 64 61726773 80 64 61726773 80")),
        "the CBOR HttpActionRequest has the key `args` twice",
    );
    rejected(
        CborEnc.decode_action_request(&hex("80")),
        "the CBOR HttpActionRequest must be a map; found an array",
    );
    rejected(
        CborEnc.decode_action_request(&hex("a1 64 6172")),
        "is not valid CBOR: the CBOR ends before its value does",
    );
    rejected(
        CborEnc.decode_action_request(&hex("a0 00")),
        "1 byte follows the CBOR value (at byte 1)",
    );
    rejected(
        CborEnc.decode_action_request(&[]),
        "the CBOR ends before its value does",
    );
    rejected(
        CborEnc.decode_queue_request(&map(vec![("body", int(1)), ("timeout", text("soon"))])),
        "the `timeout` of the CBOR HttpQueueSendRequest must be an integer from 0 to 2^64-1; found a text string",
    );
}

/// `levels` nested arrays around `1`.
fn nested_json(levels: usize) -> String {
    format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
}

fn nested_cbor(levels: usize) -> Vec<u8> {
    let mut out = vec![0x81; levels];
    out.push(0x01);
    out
}

#[test]
fn values_nested_too_deeply_are_refused() {
    for levels in [MAX_DEPTH, MAX_DEPTH + 1, 10_000] {
        let deep = levels > MAX_DEPTH;
        let check = |result: Result<Vec<u8>, ActorError>| {
            if deep {
                rejected(result, "nested more than 128 levels deep");
            } else {
                result.unwrap();
            }
        };
        // With and without something to revive.
        let reviving = nested_json(levels - 1).replacen('1', r#"["$Undefined",0]"#, 1);
        for inner in [nested_json(levels), reviving] {
            check(JsonEnc.decode_action_request(format!(r#"{{"args":{inner}}}"#).as_bytes()));
        }
        let mut body = hex("a1 64 61726773");
        body.extend(nested_cbor(levels));
        check(CborEnc.decode_action_request(&body));
        let mut body = hex("a1 66 6f7574707574");
        body.extend(nested_cbor(levels));
        check(CborEnc.decode_action_response(&body));
        check(Bare.decode_action_request(&bare_data(&nested_cbor(levels))));
        // Encoders refuse them too.
        let encoded = JsonEnc.encode_action_response(nested_json(levels).as_bytes());
        assert_eq!(encoded.is_err(), deep);
        let encoded = Bare.encode_action_response(&nested_cbor(levels));
        assert_eq!(encoded.is_err(), deep);
    }
}

/// A BARE v4 body of one `data` field holding `data`.
fn bare_data(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x04, 0x00];
    let mut n = data.len();
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            break;
        }
        out.push(low | 0x80);
    }
    out.extend_from_slice(data);
    out
}
