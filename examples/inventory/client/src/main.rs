//! Calls the inventory server's warehouses through their typed handles, exactly as code
//! in the server's process would: `Warehouse::get_or_create(&client, key)`,
//! `warehouse.take(…)`, `warehouse.delivery(…).wait(…)`. Only the handles and the remote
//! client are linked: no registry, no storage.
//!
//! ```sh
//! cargo run -p inventory-server &
//! cargo run -p inventory-client                     # INVENTORY_ENDPOINT, INVENTORY_TOKEN
//! ```

use std::time::Duration;

use actor::remote::RemoteOptions;
use actor::{ActorError, ActorLookup, Client};
use inventory_actors::{Delivery, Warehouse};

#[tokio::main]
async fn main() -> Result<(), ActorError> {
    let endpoint =
        std::env::var("INVENTORY_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:6420".into());
    let mut options = RemoteOptions::new(&endpoint);
    if let Ok(token) = std::env::var("INVENTORY_TOKEN") {
        options = options.token(token);
    }
    let client = Client::remote_with(options);

    // A key of two parts; a comma or a slash inside a part would do as well.
    let berlin = Warehouse::get_or_create(&client, ["eu", "berlin-1"]).await?;
    println!("warehouse {} at {endpoint}", berlin.id());

    // A durable delivery, waited for until its handler has restocked.
    let delivery = Delivery {
        item: "bolts".into(),
        quantity: 40,
    };
    let count = berlin
        .delivery(delivery)
        .wait(Duration::from_secs(10))
        .await?;
    println!("delivered: {count} bolts in stock");

    println!("took 25, {} left", berlin.take("bolts".into(), 25).await?);

    // A user error crosses the network with its group, code and message.
    match berlin.take("bolts".into(), 1_000).await {
        Err(err) if err.is(("inventory", "insufficient_stock")) => {
            println!("refused: {}", err.message());
        }
        other => println!("unexpected: {other:?}"),
    }
    println!("stock: {:?}", berlin.stock().await?);
    Ok(())
}
