//! The expansion of `snapshots/counter.rs`, compared with the checked-in
//! `snapshots/counter.expanded.rs`, which the crate's rustdoc includes (and compiles) as
//! "what `#[actor]` expands to". Regenerate after a deliberate change with
//! `UPDATE_EXPANSION=1 cargo test -p actor-macros snapshot`, then read the diff.

use std::path::Path;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Attribute, Item, Meta};

use crate::pipeline;

/// The file with every `#[actor]` item replaced by its expansion.
fn expand_file(source: &str) -> String {
    let file: syn::File = syn::parse_str(source).expect("the snapshot input parses");
    let mut items = Vec::new();
    for mut item in file.items {
        let Some(args) = take_actor_attribute(&mut item) else {
            items.push(item);
            continue;
        };
        let expanded = pipeline::actor(args, item.into_token_stream());
        let expanded: syn::File = syn::parse2(expanded).expect("the expansion parses");
        items.extend(expanded.items);
    }
    prettyplease::unparse(&syn::File { items, ..file })
}

/// Removes the item's `#[actor(…)]` and returns what it held.
fn take_actor_attribute(item: &mut Item) -> Option<TokenStream> {
    let attrs: &mut Vec<Attribute> = match item {
        Item::Struct(s) => &mut s.attrs,
        Item::Impl(i) => &mut i.attrs,
        _ => return None,
    };
    let at = attrs.iter().position(|a| a.path().is_ident("actor"))?;
    match attrs.remove(at).meta {
        Meta::List(list) => Some(list.tokens),
        _ => Some(TokenStream::new()),
    }
}

#[test]
fn counter_expansion_matches_the_snapshot() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
    let source = std::fs::read_to_string(dir.join("counter.rs")).unwrap();
    let expanded = expand_file(&source);
    let snapshot = dir.join("counter.expanded.rs");
    if std::env::var_os("UPDATE_EXPANSION").is_some() {
        std::fs::write(&snapshot, &expanded).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
    assert!(
        expected == expanded,
        "the expansion of snapshots/counter.rs changed; if that is intended, run \
         `UPDATE_EXPANSION=1 cargo test -p actor-macros snapshot` and review the diff.\n\
         --- now ---\n{expanded}"
    );
}
