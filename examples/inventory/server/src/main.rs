//! Hosts the inventory's actors and serves them with RivetKit's client protocol on
//! 127.0.0.1:6420 (the official TypeScript client works against it too).
//!
//! ```sh
//! cargo run -p inventory-server            # then, in another terminal:
//! cargo run -p inventory-client
//! ```
//!
//! Set `INVENTORY_TOKEN` to require a client token (needed to listen beyond loopback
//! with `INVENTORY_ADDRESS=0.0.0.0:6420`).

// The actors live in another crate: name it, so the linker keeps them and inventory
// registers them.
use inventory_actors as _;

use actor::ActorError;
use registry::{Registry, ServerOptions};

#[tokio::main]
async fn main() -> Result<(), ActorError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let registry = Registry::builder().sqlite("data-inventory").build().await?;
    let mut options = ServerOptions::default();
    if let Ok(address) = std::env::var("INVENTORY_ADDRESS") {
        let address: std::net::SocketAddr = address.parse().map_err(|e| {
            ActorError::user("bad_address", format!("INVENTORY_ADDRESS `{address}`: {e}"))
        })?;
        options = options.address(address);
    }
    if let Ok(token) = std::env::var("INVENTORY_TOKEN") {
        options = options.client_token(token);
    }
    let server = registry.serve(options).await?;
    println!(
        "inventory served on {} (Ctrl-C stops it)",
        server.endpoint()
    );
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    registry.shutdown().await;
    Ok(())
}
