//! The registry collects every linked kind through inventory and refuses duplicate names.

use actor::prelude::*;
use registry::{Registry, RegistryError};

mod billing {
    use actor::prelude::*;

    #[actor(name = "ledger")]
    #[derive(Clone, Default, Serialize, Deserialize)]
    pub struct Ledger {
        pub total: i64,
    }

    #[actor]
    impl Ledger {}
}

mod audit {
    use actor::prelude::*;

    /// Same name as `billing::Ledger`: only one may be in a registry.
    #[actor(name = "ledger")]
    #[derive(Clone, Default, Serialize, Deserialize)]
    pub struct Ledger {
        pub entries: u32,
    }

    #[actor]
    impl Ledger {}
}

/// Named by the camelCase of its struct.
#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct TaskStatusSync {}

#[actor]
impl TaskStatusSync {}

#[tokio::test]
async fn duplicate_names_are_an_error_naming_both_types() {
    let err = Registry::builder().memory().build().await.unwrap_err();
    let RegistryError::DuplicateName {
        name,
        first,
        second,
    } = &err
    else {
        panic!("expected DuplicateName, got {err}");
    };
    assert_eq!(*name, "ledger");
    assert!(first.ends_with("audit::Ledger"), "{first}");
    assert!(second.ends_with("billing::Ledger"), "{second}");
    assert!(
        err.to_string().contains("#[actor(name = "),
        "the message says how to fix it: {err}"
    );
}

#[test]
fn names_default_to_the_camel_case_of_the_struct() {
    assert_eq!(<TaskStatusSync as ActorOptions>::NAME, "taskStatusSync");
    let kinds: Vec<_> = actor::kind::ActorKind::all().map(|k| k.name()).collect();
    assert!(kinds.contains(&"taskStatusSync"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|n| **n == "ledger").count(), 2);
}
