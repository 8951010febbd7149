//! The inventory example's actors, in a library of their own: the server hosts them, the
//! client calls them through their typed handles over the network, and neither repeats
//! their shape.
//!
//! One `Warehouse` per site (`["eu", "berlin-1"]`): stock per item, taken with checks
//! that fail with a typed error, and a durable queue of deliveries that restock it.

use std::collections::BTreeMap;

use actor::prelude::*;

/// Stock per item.
#[actor(sleep_timeout = "1m")]
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Warehouse {
    stock: BTreeMap<String, u32>,
    deliveries: u32,
}

/// A delivery that arrives through the `delivery` queue.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Delivery {
    /// The item.
    pub item: String,
    /// How many arrived.
    pub quantity: u32,
}

/// Why stock could not be taken: a user error with its own group, which reaches remote
/// callers with its code, message and metadata.
#[derive(Debug, thiserror::Error, actor::ActorError)]
#[actor_error(group = "inventory")]
pub enum StockError {
    /// Fewer left than asked for.
    #[error("only {left} of {item} left, {wanted} wanted")]
    #[actor_error(code = "insufficient_stock")]
    Insufficient {
        /// The item.
        item: String,
        /// How many are left.
        left: u32,
        /// How many were asked for.
        wanted: u32,
    },
}

#[actor]
impl Warehouse {
    /// Takes `quantity` of `item`; what is left, or `inventory/insufficient_stock`.
    #[action]
    async fn take(&mut self, item: String, quantity: u32) -> Result<u32, StockError> {
        let left = self.stock.get(&item).copied().unwrap_or(0);
        if left < quantity {
            return Err(StockError::Insufficient {
                item,
                left,
                wanted: quantity,
            });
        }
        self.stock.insert(item, left - quantity);
        Ok(left - quantity)
    }

    /// Everything in stock.
    #[action]
    async fn stock(&self) -> BTreeMap<String, u32> {
        self.stock.clone()
    }

    /// Restocks from a delivery (queue `delivery`); the new count.
    #[queue]
    async fn delivery(&mut self, delivery: Delivery) -> u32 {
        self.deliveries += 1;
        let count = self.stock.entry(delivery.item).or_default();
        *count += delivery.quantity;
        *count
    }
}
