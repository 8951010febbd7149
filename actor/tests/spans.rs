//! Each action runs in an `action` span naming it and its access, when a subscriber
//! listens (and costs nothing when none does).

use actor_test_support as common;

use std::sync::{Arc, Mutex};

use actor::prelude::*;
use common::Counter;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

/// A span's name and its fields.
type Opened = (String, Vec<(String, String)>);

/// Records every span opened.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Opened>>>);

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().into(), value.into()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().into(), format!("{value:?}")));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut fields = Fields(Vec::new());
        attrs.record(&mut fields);
        self.0
            .lock()
            .unwrap()
            .push((attrs.metadata().name().into(), fields.0));
    }
}

#[test]
fn actions_run_in_spans_naming_them_when_a_subscriber_listens() {
    let spans = Spans::default();
    let subscriber = Registry::default().with(spans.clone());
    let _listening = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let registry = common::memory().await;
        let counter = Counter::get_or_create(&registry.client(), ["traced"])
            .await
            .unwrap();
        counter.increment(1).await.unwrap();
        counter.get().await.unwrap();
        registry.shutdown().await;
    });
    let actions: Vec<Vec<(String, String)>> = spans
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(name, _)| name == "action")
        .map(|(_, fields)| fields.clone())
        .collect();
    let field = |name: &str, value: &str| (name.to_string(), value.to_string());
    assert!(
        actions.contains(&vec![
            field("name", "increment"),
            field("access", "exclusive")
        ]),
        "{actions:?}"
    );
    assert!(
        actions.contains(&vec![field("name", "get"), field("access", "shared")]),
        "{actions:?}"
    );
}
