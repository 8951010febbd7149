//! Registering a kind by type is idempotent with inventory and forces the link.

use actor::prelude::*;
use registry::Registry;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Lamp {
    on: bool,
}

#[actor]
impl Lamp {
    #[action]
    async fn toggle(&mut self) -> bool {
        self.on = !self.on;
        self.on
    }
}

#[tokio::test]
async fn registering_a_kind_inventory_already_found_is_fine() {
    let registry = Registry::builder()
        .memory()
        .register::<Lamp>()
        .register::<Lamp>()
        .build()
        .await
        .unwrap();
    assert_eq!(registry.kinds().filter(|k| k.name() == "lamp").count(), 1);
    let lamp = Lamp::get_or_create(&registry.client(), ["hall"])
        .await
        .unwrap();
    assert!(lamp.toggle().await.unwrap());
    registry.shutdown().await;
}
