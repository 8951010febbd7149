//! Two kinds whose databases record their migrations in one namespace cannot share a
//! registry: each would read the other's journal as its own.

use actor::prelude::*;
use registry::{Registry, RegistryError};

#[actor(migrations = "../actor/tests/migrations/notes", namespace = "inbox")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct MailInbox {}

#[actor]
impl MailInbox {}

#[actor(migrations = "../actor/tests/migrations/notes_v1", namespace = "inbox")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct ChatInbox {}

#[actor]
impl ChatInbox {}

#[tokio::test]
async fn a_namespace_two_kinds_share_is_refused_when_the_registry_is_built() {
    let Err(err) = Registry::builder().memory().build().await else {
        panic!("a registry with two kinds in namespace `inbox` was built");
    };
    let RegistryError::NamespaceClash {
        namespace,
        first,
        first_crate,
        second,
        second_crate,
    } = &err
    else {
        panic!("not a namespace clash: {err}");
    };
    assert_eq!(*namespace, "inbox");
    assert_eq!((*first, *second), ("chatInbox", "mailInbox"));
    assert_eq!((*first_crate, *second_crate), ("registry", "registry"));
    let message = err.to_string();
    for part in [
        "chatInbox",
        "mailInbox",
        "crate `registry`",
        "__inbox_migrations",
        "#[actor(namespace",
    ] {
        assert!(message.contains(part), "{part} missing from: {message}");
    }

    // Served apart, each is fine.
    let registry = Registry::builder()
        .memory()
        .without::<ChatInbox>()
        .build()
        .await
        .unwrap();
    registry.shutdown().await;
}
