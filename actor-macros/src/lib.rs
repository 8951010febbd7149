//! Procedural macros for the `actor` crate. Use them through `actor::prelude::*`.

//!
//! Each entry point is thin: parse → validate → expand, with every error of a call
//! collected and reported at once, spanned on the user's own tokens.

#![warn(missing_docs)]

mod ast;
mod attr;
mod case;
mod ctxt;
mod duration;
mod error_derive;
mod expand;
mod valid;

use proc_macro::TokenStream;
use quote::quote;
use syn::{Item, parse_macro_input};

/// Declares an actor kind. On the state struct it takes the kind's options and generates
/// the typed handle `<Struct>Handle`; on the struct's `impl` block it turns `#[action]`
/// and lifecycle methods into the kind's actions and hooks and registers the kind.
///
/// ```ignore
/// use actor::prelude::*;
///
/// #[actor(sleep_timeout = "30s", action_timeout = "10s", inbox = 256)]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Counter { count: i64 }
///
/// #[actor]
/// impl Counter {
///     #[action]
///     async fn increment(&mut self, by: i64) -> i64 { self.count += by; self.count }
/// }
/// ```
///
/// Struct options: `name = "camelCase"`, `sleep_timeout = "30s" | "never"`,
/// `action_timeout = "60s"`, `sleep_grace = "15s"`, `inbox = 1024`,
/// `save_interval = "1s"` (debounced saves), `vars = Type`.
#[proc_macro_attribute]
pub fn actor(args: TokenStream, input: TokenStream) -> TokenStream {
    expand_actor(args.into(), input.into()).into()
}

fn expand_actor(
    args: proc_macro2::TokenStream,
    input: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Struct(item)) => {
            let cx = ctxt::Ctxt::default();
            if !item.generics.params.is_empty() {
                cx.error_spanned_by(&item.generics, "actor state cannot be generic: the registry needs one concrete type per actor name; use a concrete struct");
            }
            let opts = attr::struct_options(&cx, args);
            match cx.check() {
                Ok(()) => expand::actor_struct(&item, &opts),
                Err(err) => {
                    let errors = err.to_compile_error();
                    let fallback = if item.generics.params.is_empty() {
                        expand::actor_struct(&item, &attr::StructOptions::default())
                    } else {
                        quote!(#item)
                    };
                    quote!(#fallback #errors)
                }
            }
        }
        Ok(Item::Impl(item)) => {
            let cx = ctxt::Ctxt::default();
            if !args.is_empty() {
                cx.error_spanned_by(&args, "options go on the struct: `#[actor(…)] struct …`; the impl block takes a bare `#[actor]`");
            }
            let actor = ast::parse(&cx, item);
            valid::check(&cx, &actor);
            match cx.check() {
                Ok(()) => expand::actor_impl(&actor),
                Err(err) => {
                    let errors = err.to_compile_error();
                    let item = &actor.item;
                    let fallback = expand::fallback_impl(&actor);
                    quote!(#item #fallback #errors)
                }
            }
        }
        Ok(other) => {
            let err = syn::Error::new_spanned(
                item_head(&other),
                "`#[actor]` goes on the state struct and on its `impl` block",
            )
            .to_compile_error();
            quote!(#other #err)
        }
        Err(err) => {
            let err = err.to_compile_error();
            quote!(#input #err)
        }
    }
}

/// The tokens naming an item, for spanning "wrong place" errors.
fn item_head(item: &Item) -> proc_macro2::TokenStream {
    match item {
        Item::Enum(e) => {
            let (t, i) = (&e.enum_token, &e.ident);
            quote!(#t #i)
        }
        Item::Fn(f) => {
            let (t, i) = (&f.sig.fn_token, &f.sig.ident);
            quote!(#t #i)
        }
        Item::Union(u) => {
            let (t, i) = (&u.union_token, &u.ident);
            quote!(#t #i)
        }
        Item::Trait(t) => {
            let (k, i) = (&t.trait_token, &t.ident);
            quote!(#k #i)
        }
        other => quote!(#other),
    }
}

fn misplaced(name: &str, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let target = syn::parse2::<syn::ImplItemFn>(item.clone())
        .map(|f| {
            let (t, i) = (f.sig.fn_token, f.sig.ident);
            quote!(#t #i)
        })
        .unwrap_or_else(|_| item.clone());
    let err = syn::Error::new_spanned(
        target,
        format!(
            "`#[{name}]` only works inside an `#[actor] impl` block: add `#[actor]` to the `impl`"
        ),
    )
    .to_compile_error();
    quote!(#item #err).into()
}

/// Marks an action inside an `#[actor] impl`: `&mut self` for an exclusive turn, `&self`
/// for a shared one. `#[action(name = "doThing")]` renames it for clients.
#[proc_macro_attribute]
pub fn action(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("action", item)
}

/// Marks the hook that runs once when the actor is created, with the create input.
#[proc_macro_attribute]
pub fn on_create(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("on_create", item)
}

/// Marks the hook that runs on every wake.
#[proc_macro_attribute]
pub fn on_wake(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("on_wake", item)
}

/// Marks the hook that runs before the actor sleeps.
#[proc_macro_attribute]
pub fn on_sleep(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("on_sleep", item)
}

/// Marks the hook that runs before the actor is destroyed.
#[proc_macro_attribute]
pub fn on_destroy(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("on_destroy", item)
}

/// Marks the hook that observes the state after a turn changed it (`&self` only).
#[proc_macro_attribute]
pub fn on_state_change(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("on_state_change", item)
}

/// Converts a team's own error type into `ActorError`: group from
/// `#[actor_error(group = "…")]` (default `user`), code per variant from
/// `#[actor_error(code = "…")]` (default: the variant's snake_case name), message from
/// `Display`.
#[proc_macro_derive(ActorError, attributes(actor_error))]
pub fn derive_actor_error(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as syn::DeriveInput);
    error_derive::derive(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
