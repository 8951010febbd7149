//! The network server: RivetKit's client protocol (v4) over HTTP, so the official
//! TypeScript client and this crate's remote client reach the registry's actors.
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = registry::Registry::builder().build().await?;
//! let server = registry.serve(registry::ServerOptions::default()).await?;
//! println!("serving on {}", server.endpoint());
//! tokio::signal::ctrl_c().await?;
//! server.shutdown().await;
//! registry.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! | module | what it holds |
//! |---|---|
//! | `access` | tokens and who needs which |
//! | `reply` | answers and errors: status, encoding, masking, logging |
//! | `manager` | `/metadata`, `/health`, `/actors` (RivetKit's manager API) |
//! | `gateway` | `/gateway/…`: finding the actor, and its paths (`action`, `queue`, `health`) |
//!
//! What is served, and where it differs from RivetKit, is in `docs/protocol.md`.

mod access;
mod gateway;
mod listen;
mod manager;
mod reply;
mod socket;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Method};
use axum::routing::{any, delete, get};
use tokio::sync::oneshot;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::{Registry, RegistryError};

pub use access::Token;

/// RivetKit's port, the default of [`ServerOptions::address`].
pub const DEFAULT_PORT: u16 = 6420;

/// How [`Registry::serve`] serves: where, who may call, and the limits.
///
/// ```
/// use registry::ServerOptions;
/// let options = ServerOptions::default()
///     .address(([127, 0, 0, 1], 0))
///     .client_token("s3cret-client")
///     .admin_token("s3cret-admin")
///     .max_incoming(16 * 1024);
/// assert_eq!(options.max_incoming_bytes(), 16 * 1024);
/// ```
#[derive(Clone)]
pub struct ServerOptions {
    address: SocketAddr,
    client_token: Option<Token>,
    admin_token: Option<Token>,
    development: bool,
    max_incoming: usize,
    max_outgoing: usize,
    namespace: String,
    queue_wait: Duration,
    body_timeout: Duration,
    max_connections: usize,
    header_timeout: Duration,
}

impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens print as whether they are set, never as their text.
        f.debug_struct("ServerOptions")
            .field("address", &self.address)
            .field("client_token", &self.client_token.is_some())
            .field("admin_token", &self.admin_token.is_some())
            .field("development", &self.development)
            .field("max_incoming", &self.max_incoming)
            .field("max_outgoing", &self.max_outgoing)
            .field("namespace", &self.namespace)
            .field("queue_wait", &self.queue_wait)
            .field("body_timeout", &self.body_timeout)
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .finish()
    }
}

impl Default for ServerOptions {
    /// `127.0.0.1:6420`, no tokens, development mode in debug builds, 64 KiB in and
    /// 1 MiB out, namespace `default`, 30 s for a stalled request body, 60 s for a queue
    /// send that waits, 10,000 connections at once, 30 s for a request's head.
    fn default() -> Self {
        Self {
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            client_token: None,
            admin_token: None,
            development: cfg!(debug_assertions),
            max_incoming: 64 * 1024,
            max_outgoing: 1024 * 1024,
            namespace: "default".into(),
            queue_wait: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            header_timeout: Duration::from_secs(30),
        }
    }
}

impl ServerOptions {
    /// The address to listen on (port 0 picks a free one; see [`Server::local_addr`]).
    /// An address other than loopback needs a client token.
    pub fn address(mut self, address: impl Into<SocketAddr>) -> Self {
        self.address = address.into();
        self
    }

    /// Requires this token on every actor call and lookup (`Authorization: Bearer …`,
    /// `x-rivet-token`, or the RivetKit client's `token` option).
    pub fn client_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(Token::new(token));
        self
    }

    /// The token that lists and destroys actors (it also passes where the client token
    /// is asked for). Without one, listing and destroying are refused.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(Token::new(token));
        self
    }

    /// Whether an internal error's message reaches the client (it is always logged).
    /// On by default in debug builds only; user errors are never masked.
    pub fn development(mut self, on: bool) -> Self {
        self.development = on;
        self
    }

    /// The largest request body or WebSocket message accepted, in bytes (default
    /// 64 KiB); larger ones get `message/incoming_too_long`.
    pub fn max_incoming(mut self, bytes: usize) -> Self {
        self.max_incoming = bytes;
        self
    }

    /// The largest answer sent, in bytes (default 1 MiB); a larger one is replaced by
    /// `message/outgoing_too_long`.
    pub fn max_outgoing(mut self, bytes: usize) -> Self {
        self.max_outgoing = bytes;
        self
    }

    /// The namespace clients must name (`rvt-namespace`, `?namespace=`); default
    /// `default`, RivetKit's.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// How long a queue send with `wait` and no `timeout` waits for its handler
    /// (default 60 s).
    pub fn queue_wait(mut self, wait: Duration) -> Self {
        self.queue_wait = wait;
        self
    }

    /// How long a request body may go without sending anything before the server gives
    /// up on it with `request/invalid` (default 30 s), so a client that stalls mid-body
    /// does not hold its request open.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// How many connections may be open at once, WebSockets included (default 10,000):
    /// each holds buffers, so this bounds the memory clients can make the server hold.
    /// While that many are open, new connections wait in the kernel's backlog until one
    /// closes (the log says so). At least 1.
    ///
    /// ```
    /// let options = registry::ServerOptions::default().max_connections(2_000);
    /// # let _ = options;
    /// ```
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long a request's head (its line and headers) may take to arrive, counted
    /// from when the connection is ready for a request (default 30 s). A client that
    /// trickles its headers is closed after that long, and so is a kept-alive
    /// connection left idle that long between requests. WebSockets are not affected:
    /// they are pinged, and closed after 45 s without a word.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = registry::ServerOptions::default().header_timeout(Duration::from_secs(10));
    /// # let _ = options;
    /// ```
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// See [`max_incoming`](Self::max_incoming).
    pub fn max_incoming_bytes(&self) -> usize {
        self.max_incoming
    }
}

/// What every request handler shares.
pub(crate) struct Shared {
    registry: Registry,
    options: ServerOptions,
    handles: gateway::Handles,
    /// Set when the server stops: open connections close (`ws.going_away`).
    closing: tokio::sync::watch::Sender<bool>,
}

/// A running server; [`shutdown`](Self::shutdown) stops it gracefully.
#[must_use = "dropping a Server leaves it running until the process ends; call shutdown"]
pub struct Server {
    local_addr: SocketAddr,
    closing: tokio::sync::watch::Sender<bool>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl Server {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The endpoint clients are given: `http://<address>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Stops accepting connections, closes the open WebSockets (reason `ws.going_away`,
    /// on which RivetKit's client reconnects) and returns once the requests in flight
    /// have been answered. The registry keeps running: shut it down after.
    pub async fn shutdown(self) {
        self.closing.send_replace(true);
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the server task failed");
        }
    }
}

impl Registry {
    /// Serves this registry's actors over HTTP with RivetKit's client protocol, on
    /// `options`' address, until [`Server::shutdown`].
    ///
    /// Without a client token the server listens on loopback only (and says so in the
    /// log); asking for another address without one is
    /// [`RegistryError::Unprotected`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), registry::RegistryError> {
    /// let registry = registry::Registry::builder().memory().build().await?;
    /// let server = registry
    ///     .serve(registry::ServerOptions::default().address(([127, 0, 0, 1], 0)))
    ///     .await?;
    /// assert!(server.endpoint().starts_with("http://127.0.0.1:"));
    /// server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn serve(&self, options: ServerOptions) -> Result<Server, RegistryError> {
        if options.client_token.is_none() && !options.address.ip().is_loopback() {
            return Err(RegistryError::Unprotected {
                address: options.address,
            });
        }
        let listener = tokio::net::TcpListener::bind(options.address)
            .await
            .map_err(|e| RegistryError::Bind {
                address: options.address,
                cause: e.to_string(),
            })?;
        let local_addr = listener.local_addr().map_err(|e| RegistryError::Bind {
            address: options.address,
            cause: e.to_string(),
        })?;
        if options.client_token.is_none() {
            tracing::warn!(
                address = %local_addr,
                "serving actors without a client token: listening on loopback only; set \
                 ServerOptions::client_token to serve other hosts"
            );
        } else {
            tracing::info!(address = %local_addr, "serving actors");
        }
        let shared = Arc::new(Shared {
            registry: self.clone(),
            options,
            handles: gateway::Handles::default(),
            closing: tokio::sync::watch::Sender::new(false),
        });
        let closing = shared.closing.clone();
        let limits = listen::Limits {
            max_connections: shared.options.max_connections,
            header_timeout: shared.options.header_timeout,
        };
        let app = router(shared);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(listen::serve(listener, app, limits, stopped));
        Ok(Server {
            local_addr,
            closing,
            stop,
            task,
        })
    }
}

/// Every route, with CORS for browser clients.
fn router(shared: Arc<Shared>) -> Router {
    let body_timeout = shared.options.body_timeout;
    Router::new()
        .route("/metadata", get(manager::metadata))
        .route("/health", get(manager::health))
        .route(
            "/actors",
            get(manager::list)
                .put(manager::get_or_create)
                .post(manager::create),
        )
        .route("/actors/{id}", delete(manager::destroy))
        .route("/gateway/{*rest}", any(gateway::serve))
        .fallback(reply::route_not_found)
        .with_state(shared)
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
        .layer(cors())
}

/// What the RivetKit client needs from a browser: its own headers, credentials (its
/// manager calls use `credentials: "include"`, so the origin is echoed, not `*`), and
/// the ray id readable on errors.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_credentials(true)
        .allow_headers(AllowHeaders::mirror_request())
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::OPTIONS,
        ])
        .expose_headers([HeaderName::from_static(reply::RAY_ID)])
        .max_age(Duration::from_secs(86_400))
}
