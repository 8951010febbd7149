//! RivetKit's manager API: `/metadata`, `/health`, and `/actors` to look actors up,
//! create them, list them (admin) and destroy them (admin). JSON only, as in RivetKit.

use std::sync::Arc;

use actor::client::{Address, CreateMode};
use actor::driver::ActorRecord;
use actor::protocol::WireEncoding;
use actor::{ActorError, ActorId, ActorKey, codes};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use super::access::{self, Needs};
use super::reply::{self, Failure};
use super::{ServerOptions, Shared};

type Answer = Result<Response, Failure>;

fn answer(shared: &Shared, answer: Answer) -> Response {
    answer.unwrap_or_else(|failure| failure.respond(&shared.options))
}

fn fail(error: ActorError) -> Failure {
    Failure::new(error, WireEncoding::Json)
}

fn invalid(message: impl Into<String>) -> ActorError {
    ActorError::of(codes::INVALID_REQUEST, message)
}

/// `GET /metadata`: what the RivetKit client reads before its first call (it retries
/// until it gets a JSON object).
pub(crate) async fn metadata(State(shared): State<Arc<Shared>>) -> Response {
    let mut names: Vec<&str> = shared.registry.kinds().map(|k| k.name()).collect();
    names.sort_unstable();
    let actor_names: serde_json::Map<String, serde_json::Value> = names
        .into_iter()
        .map(|name| (name.to_string(), json!({ "metadata": {} })))
        .collect();
    axum::Json(json!({
        "runtime": "rust-actor",
        "version": env!("CARGO_PKG_VERSION"),
        "actorNames": actor_names,
    }))
    .into_response()
}

/// `GET /health`.
pub(crate) async fn health() -> Response {
    axum::Json(json!({
        "status": "ok",
        "runtime": "rust-actor",
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

/// An actor as the manager API shows it (the engine's shape; the client needs
/// `actor_id`, `name` and `key`).
fn actor_json(
    options: &ServerOptions,
    id: &ActorId,
    name: &str,
    key: &ActorKey,
) -> serde_json::Value {
    json!({
        "actor_id": id.as_str(),
        "name": name,
        "key": key.to_path(),
        "namespace_id": options.namespace,
        "runner_name_selector": "default",
        "crash_policy": "sleep",
        "create_ts": null,
        "start_ts": null,
        "connectable_ts": null,
        "sleep_ts": null,
        "destroy_ts": null,
        "error": null,
    })
}

/// The query's pairs, each name at most once and every name one of `allowed`.
pub(crate) fn query_pairs(
    query: Option<&str>,
    allowed: &[&str],
) -> Result<Vec<(String, String)>, ActorError> {
    let pairs = parse_query(query)?;
    check_pairs(&pairs, allowed)?;
    Ok(pairs)
}

/// The query's pairs, decoded.
pub(crate) fn parse_query(query: Option<&str>) -> Result<Vec<(String, String)>, ActorError> {
    serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| invalid(format!("the query string could not be read: {e}")))
}

/// Refuses a name given twice, or one not in `allowed`.
pub(crate) fn check_pairs(pairs: &[(String, String)], allowed: &[&str]) -> Result<(), ActorError> {
    for (i, (name, _)) in pairs.iter().enumerate() {
        if !allowed.contains(&name.as_str()) {
            return Err(invalid(format!(
                "unknown query parameter `{name}`; this path takes {}",
                allowed.join(", ")
            ))
            .with_metadata(json!({ "parameter": name })));
        }
        if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(invalid(format!("query parameter `{name}` is given twice"))
                .with_metadata(json!({ "parameter": name })));
        }
    }
    Ok(())
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Refuses a namespace other than the server's.
pub(crate) fn check_namespace(
    options: &ServerOptions,
    given: Option<&str>,
) -> Result<(), ActorError> {
    match given {
        Some(ns) if ns != options.namespace => Err(invalid(format!(
            "this server serves namespace `{}`, not `{ns}`",
            options.namespace
        ))
        .with_metadata(json!({ "parameter": "namespace" }))),
        _ => Ok(()),
    }
}

fn kind_known(shared: &Shared, name: &str) -> Result<(), ActorError> {
    // The in-process client gives the full error (with the registered kinds).
    if shared.registry.kind(name).is_some() {
        Ok(())
    } else {
        Err(ActorError::of(
            codes::KIND_NOT_REGISTERED,
            format!("no actor kind named `{name}` is served here"),
        )
        .with_metadata(json!({ "actor": name })))
    }
}

/// `GET /actors`: by `actor_ids` (comma-separated), by `name` and `key`, or every actor
/// of `name` (admin; pages with `limit` and `cursor`).
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(
        &shared,
        list_inner(&shared, &headers, query.as_deref()).await,
    )
}

async fn list_inner(shared: &Shared, headers: &HeaderMap, query: Option<&str>) -> Answer {
    let pairs = query_pairs(
        query,
        &["namespace", "name", "key", "actor_ids", "limit", "cursor"],
    )
    .map_err(fail)?;
    check_namespace(&shared.options, param(&pairs, "namespace")).map_err(fail)?;
    let name = param(&pairs, "name");
    let driver = shared.registry.driver();
    let storage = |e| fail(ActorError::from_storage(e));
    let mut actors = Vec::new();
    if let Some(ids) = param(&pairs, "actor_ids") {
        access::check(
            &shared.options,
            Needs::Client,
            access::presented(headers, None),
        )
        .map_err(fail)?;
        for id in ids.split(',').filter(|id| !id.is_empty()) {
            let id = ActorId::from(id);
            if let Some(loaded) = driver.load(&id).await.map_err(storage)?
                && name.is_none_or(|n| n == loaded.record.kind)
            {
                let ActorRecord { id, kind, key } = loaded.record;
                actors.push(actor_json(&shared.options, &id, &kind, &key));
            }
        }
        return Ok(axum::Json(json!({ "actors": actors })).into_response());
    }
    let Some(name) = name else {
        return Err(fail(invalid(
            "GET /actors needs `actor_ids`, or `name` (with `key` to look one up)",
        )));
    };
    kind_known(shared, name).map_err(fail)?;
    if let Some(key) = param(&pairs, "key") {
        access::check(
            &shared.options,
            Needs::Client,
            access::presented(headers, None),
        )
        .map_err(fail)?;
        let key = ActorKey::from_path(key).map_err(fail)?;
        if let Some(id) = driver.lookup(name, &key).await.map_err(storage)? {
            actors.push(actor_json(&shared.options, &id, name, &key));
        }
        return Ok(axum::Json(json!({ "actors": actors })).into_response());
    }
    access::check(
        &shared.options,
        Needs::Admin,
        access::presented(headers, None),
    )
    .map_err(fail)?;
    let limit = match param(&pairs, "limit") {
        None => 100,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| fail(invalid(format!("`limit` is {n}; give 1 to 1000"))))?,
    };
    let after = param(&pairs, "cursor").map(ActorId::from);
    let page = driver
        .list(name, after.as_ref(), limit)
        .await
        .map_err(storage)?;
    let cursor = (page.len() == limit).then(|| page.last().map(|r| r.id.to_string()));
    for ActorRecord { id, kind, key } in &page {
        actors.push(actor_json(&shared.options, id, kind, key));
    }
    Ok(
        axum::Json(json!({ "actors": actors, "pagination": { "cursor": cursor.flatten() } }))
            .into_response(),
    )
}

/// The body of `PUT` and `POST /actors`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    #[serde(default)]
    key: Option<String>,
    /// Standard base64 of the CBOR input; absent when the input is falsy in JS.
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    runner_name_selector: Option<String>,
    #[serde(default)]
    crash_policy: Option<String>,
    /// A region; this server has one, so any is accepted and none is read.
    #[serde(default, rename = "datacenter")]
    _datacenter: Option<serde::de::IgnoredAny>,
}

/// Reads a create request: the kind, the key, and the input as JSON (the in-process
/// create's form).
async fn create_request(
    shared: &Shared,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Body,
) -> Result<(String, ActorKey, Vec<u8>), Failure> {
    let pairs = query_pairs(query, &["namespace"]).map_err(fail)?;
    check_namespace(&shared.options, param(&pairs, "namespace")).map_err(fail)?;
    access::check(
        &shared.options,
        Needs::Client,
        access::presented(headers, None),
    )
    .map_err(fail)?;
    let bytes = reply::body(headers, body, &shared.options)
        .await
        .map_err(fail)?;
    let request: CreateBody = serde_json::from_slice(&bytes)
        .map_err(|e| fail(invalid(format!("the create request is not valid: {e}"))))?;
    crash_policy(request.crash_policy.as_deref()).map_err(fail)?;
    runner(request.runner_name_selector.as_deref()).map_err(fail)?;
    kind_known(shared, &request.name).map_err(fail)?;
    let key = ActorKey::from_path(request.key.as_deref().unwrap_or("/")).map_err(fail)?;
    let input = match request.input.as_deref() {
        None => b"null".to_vec(),
        Some(b64) => {
            let cbor = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| fail(invalid(format!("`input` is not base64: {e}"))))?;
            actor::protocol::input_from_cbor(&cbor).map_err(fail)?
        }
    };
    Ok((request.name, key, input))
}

/// The only crash policy served: an actor that fails sleeps and wakes on its next call.
pub(crate) fn crash_policy(policy: Option<&str>) -> Result<(), ActorError> {
    match policy {
        None | Some("sleep") => Ok(()),
        Some(other) => Err(invalid(format!(
            "crash policy `{other}` is not served: actors here sleep after a failure and wake on \
             their next call (`sleep`)"
        ))
        .with_metadata(json!({ "parameter": "crash_policy" }))),
    }
}

/// The only pool served is `default`: this process runs every kind.
pub(crate) fn runner(name: Option<&str>) -> Result<(), ActorError> {
    match name {
        None | Some("default") => Ok(()),
        Some(other) => Err(invalid(format!(
            "runner pool `{other}` is not served: this server runs every actor itself (`default`)"
        ))
        .with_metadata(json!({ "parameter": "runner" }))),
    }
}

/// Finds or creates the actor of `name` under `key` as `create` says; the manager API's
/// view of it.
async fn create_actor(
    shared: &Shared,
    name: &str,
    key: &ActorKey,
    create: CreateMode,
) -> Result<serde_json::Value, Failure> {
    let address = Address::Key {
        key: key.clone(),
        create,
    };
    let handle = shared
        .registry
        .client()
        .handle(name, address)
        .await
        .map_err(fail)?;
    Ok(actor_json(&shared.options, &handle.id(), name, key))
}

/// `PUT /actors`: the actor under the key, created with the input if it is missing.
pub(crate) async fn get_or_create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let result = async {
        let (name, key, input) = create_request(&shared, &headers, query.as_deref(), body).await?;
        let existed = shared
            .registry
            .driver()
            .lookup(&name, &key)
            .await
            .map_err(|e| fail(ActorError::from_storage(e)))?
            .is_some();
        let actor = create_actor(&shared, &name, &key, CreateMode::IfMissing(input)).await?;
        Ok(axum::Json(json!({ "actor": actor, "created": !existed })).into_response())
    };
    answer(&shared, result.await)
}

/// `POST /actors`: creates the actor under the key; `actor/already_exists` if there is one.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let result = async {
        let (name, key, input) = create_request(&shared, &headers, query.as_deref(), body).await?;
        let actor = create_actor(&shared, &name, &key, CreateMode::Always(input)).await?;
        Ok(axum::Json(json!({ "actor": actor })).into_response())
    };
    answer(&shared, result.await)
}

/// `DELETE /actors/{id}` (admin): destroys the actor and every stored byte of it.
pub(crate) async fn destroy(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let pairs = query_pairs(query.as_deref(), &["namespace"]).map_err(fail)?;
        check_namespace(&shared.options, param(&pairs, "namespace")).map_err(fail)?;
        access::check(
            &shared.options,
            Needs::Admin,
            access::presented(&headers, None),
        )
        .map_err(fail)?;
        let handle = shared
            .handles
            .by_id(&shared, &ActorId::from(id.as_str()))
            .await
            .map_err(fail)?;
        handle.destroy().await.map_err(fail)?;
        shared.handles.forget(&handle.id());
        Ok(axum::Json(json!({})).into_response())
    };
    answer(&shared, result.await)
}
