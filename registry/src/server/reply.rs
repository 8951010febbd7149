//! Answers and errors: the status from the one table (`actor::codes::http_status`), the
//! body in the request's encoding, internal causes masked outside development mode and
//! always logged with the actor, its key or id, and the call.

use actor::protocol::WireEncoding;
use actor::{ActorError, codes};
use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::ServerOptions;

/// The header that names a failed request in the server's log.
pub(crate) const RAY_ID: &str = "x-rivet-ray-id";

/// What a failed call was, for its log line.
#[derive(Debug, Default, Clone)]
pub(crate) struct Call {
    /// The actor kind.
    pub(crate) actor: Option<String>,
    /// Its key, or its id.
    pub(crate) instance: Option<String>,
    /// The action or queue.
    pub(crate) target: Option<String>,
}

/// A failed request: its error, the encoding to answer in, and what it was.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: ActorError,
    pub(crate) encoding: WireEncoding,
    pub(crate) call: Call,
}

impl Failure {
    pub(crate) fn new(error: ActorError, encoding: WireEncoding) -> Self {
        Self {
            error,
            encoding,
            call: Call::default(),
        }
    }

    /// The HTTP answer: status from the codes table, the error in the request's
    /// encoding (RivetKit's `HttpResponseError`), the ray id in a header.
    pub(crate) fn respond(self, options: &ServerOptions) -> Response {
        let status = codes::http_status((self.error.group(), self.error.code()));
        let ray = uuid::Uuid::new_v4().simple().to_string();
        let Call {
            actor,
            instance,
            target,
        } = &self.call;
        let (actor, instance, target) = (
            actor.as_deref().unwrap_or("-"),
            instance.as_deref().unwrap_or("-"),
            target.as_deref().unwrap_or("-"),
        );
        let internal = status >= 500 && codes::is_runtime(self.error.group());
        if internal {
            tracing::error!(
                actor, instance, call = target, ray, error = %self.error,
                "a network call failed inside the server"
            );
        } else {
            tracing::debug!(actor, instance, call = target, ray, error = %self.error, "a network call was refused");
        }
        let shown = if internal && !options.development {
            ActorError::new(
                self.error.group().to_string(),
                self.error.code().to_string(),
                format!(
                    "the server failed to answer; its log has the cause under ray id {ray} \
                     (start the server in development mode to see it here)"
                ),
            )
        } else {
            self.error
        };
        let body = self.encoding.encode_error(&shown);
        let mut response = (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(self.encoding.content_type()),
        );
        if let Ok(ray) = HeaderValue::from_str(&ray) {
            headers.insert(RAY_ID, ray);
        }
        response
    }
}

/// A successful answer in `encoding`.
pub(crate) fn ok(encoding: WireEncoding, body: Vec<u8>) -> Response {
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static(encoding.content_type()),
        )],
        body,
    )
        .into_response()
}

/// The encoding a request names in `x-rivet-encoding` (JSON when it names none).
pub(crate) fn encoding(headers: &HeaderMap) -> Result<WireEncoding, ActorError> {
    let named = headers
        .get("x-rivet-encoding")
        .map(|v| {
            v.to_str().map_err(|_| {
                ActorError::of(
                    codes::INVALID_REQUEST,
                    "the x-rivet-encoding header is not text; send json, cbor or bare",
                )
            })
        })
        .transpose()?;
    WireEncoding::from_name(named)
}

/// Reads a whole request body, refusing one longer than `max` before reading past it.
pub(crate) async fn body(
    headers: &HeaderMap,
    body: Body,
    options: &ServerOptions,
) -> Result<Bytes, ActorError> {
    let max = options.max_incoming;
    let too_long = |bytes: Option<usize>| {
        let message = match bytes {
            Some(n) => {
                format!("the request body holds {n} bytes, more than the {max} this server accepts")
            }
            None => format!("the request body is longer than the {max} bytes this server accepts"),
        };
        ActorError::of(codes::INCOMING_TOO_LONG, message)
            .with_metadata(serde_json::json!({ "bytes": bytes, "max": max }))
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared.filter(|n| *n > max) {
        return Err(too_long(Some(n)));
    }
    // A streamed (chunked) body has no length: the limit stops it as it arrives.
    axum::body::to_bytes(body, max).await.map_err(|e| {
        if caused_by::<http_body_util::LengthLimitError>(&e) {
            too_long(None)
        } else if caused_by::<tower_http::timeout::TimeoutError>(&e) {
            ActorError::of(
                codes::INVALID_REQUEST,
                format!(
                    "the request body stopped arriving: nothing came for {:?}",
                    options.body_timeout
                ),
            )
        } else {
            ActorError::of(
                codes::INVALID_REQUEST,
                format!("the request body could not be read: {e}"),
            )
        }
    })
}

/// Whether `T` is somewhere in `err`'s chain of causes (a body's errors arrive wrapped
/// in axum's own, once for each layer).
fn caused_by<T: std::error::Error + 'static>(err: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(err), |e| e.source()).any(|e| e.is::<T>())
}

/// The fallback: no route answers this method and path.
pub(crate) async fn route_not_found(
    axum::extract::State(shared): axum::extract::State<std::sync::Arc<super::Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let encoding = encoding(&headers).unwrap_or(WireEncoding::Json);
    Failure::new(not_found(&method, uri.path()), encoding).respond(&shared.options)
}

/// `request/route_not_found` for `method path`.
pub(crate) fn not_found(method: &Method, path: &str) -> ActorError {
    ActorError::of(
        codes::ROUTE_NOT_FOUND,
        format!(
            "nothing is served at {method} {path}; the server answers /metadata, /health, /actors \
             and /gateway/{{actor}}/action/{{name}}, /queue/{{name}}, /health, /connect"
        ),
    )
    .with_metadata(serde_json::json!({ "method": method.as_str(), "path": path }))
}
