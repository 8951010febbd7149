//! What is emitted beside `compile_error!` when a call has mistakes (thiserror's
//! `fallback.rs`): the user's item unchanged, plus stub impls with the same names and
//! types as the real expansion, so the user sees their mistakes and not a cascade of
//! "`Counter: Actor` is not satisfied" or "no method `increment` on `CounterHandle`".
//!
//! A stub for a generic struct or impl holds for every instance, with the bounds the real
//! traits need written as `for<'__stub> Self: …`: rustc assumes such a bound inside the
//! impl and checks it only where the impl is used, so the stub itself reports nothing.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::{Item, WherePredicate};

use crate::ast::{ActorImpl, State};
use crate::case;
use crate::expand::handle::{self, TurnType};
use crate::expand::{self, OptionsImpl};
use crate::options;
use crate::valid::self_ident;

/// The struct with its handle and an `ActorOptions` impl using the default settings.
pub(crate) fn state(state: &State) -> TokenStream {
    let item = &state.item;
    let mut generics = item.generics.clone();
    if !generics.params.is_empty() {
        generics
            .make_where_clause()
            .predicates
            .push(syn::parse_quote! {
                Self: ::core::marker::Send + ::core::marker::Sync + 'static
            });
    }
    expand::options_impl(&OptionsImpl {
        item,
        ident: &item.ident,
        vis: &item.vis,
        generics: &generics,
        name: &options::kind_name(&state.options, &item.ident.unraw().to_string()),
        config: quote!(::core::default::Default::default()),
        vars: state.options.vars.as_ref(),
        events: state.options.events.as_ref(),
        // `HasDatabase` without the migrations: `ctx.db()` calls add no errors.
        database: state
            .options
            .migrations
            .as_ref()
            .map(|_| TokenStream::new()),
    })
}

/// The block with an `Actor` impl that has no actions, and (for a plain `impl Name`) handle
/// methods, schedule methods and workflow starts that exist but are never run.
pub(crate) fn actor_impl(actor: &ActorImpl) -> TokenStream {
    let item = &actor.item;
    let self_ty = &*item.self_ty;
    let plain_path = matches!(self_ty, syn::Type::Path(p) if p.qself.is_none());
    let (Some(handle), true, None) = (handle::handle_path(self_ty), plain_path, &item.trait_)
    else {
        return item.to_token_stream();
    };
    let input = expand::input_type(actor);
    let conn_state = expand::conn_state_type(actor);
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    if !item.generics.params.is_empty() || self_ident(self_ty).is_none() {
        // `impl<T> Holder<T>` or `impl Holder<u64>`: the handle of a generic struct takes no
        // parameters, so only the `Actor` impl is stood in for.
        let mut predicates: Vec<WherePredicate> = where_clause
            .map(|w| w.predicates.iter().cloned().collect())
            .unwrap_or_default();
        predicates.push(syn::parse_quote! {
            for<'__stub> Self: ::actor::__private::ActorOptions
                + ::core::clone::Clone
                + ::core::default::Default
                + ::actor::__private::serde::Serialize
                + ::actor::__private::serde::de::DeserializeOwned
                + ::core::marker::Send
                + ::core::marker::Sync
                + 'static
        });
        let turn_assoc = TurnType::ALL.map(|turn| {
            let (name, inner) = (turn.assoc(), turn.inner());
            quote!(type #name = #inner;)
        });
        return quote! {
            #item
            const _: () = {
                impl #impl_generics ::actor::__private::Actor for #self_ty where #(#predicates),* {
                    type Input = #input;
                    #(#turn_assoc)*
                    type ConnState = #conn_state;
                    const ACTIONS: &'static [::actor::__private::ActionInfo] = &[];
                }
            };
        };
    }
    let self_tokens = self_ty.to_token_stream();
    let methods: Vec<handle::HandleMethod> = expand::handle_methods(actor)
        .filter(|m| m.sig.generics.params.is_empty())
        .map(|m| handle::HandleMethod::new(m, &self_tokens))
        .collect();
    let (turn_assoc, turn_types) =
        expand::turn_types(self_ty, &methods, handle::HandleMethod::turn_stub);
    let methods = methods.iter().map(handle::HandleMethod::stub);
    let handle_bound = expand::handle_bound(&handle);
    let expects_actor_attribute = expand::expects_actor_attribute(self_ty);
    quote! {
        #item
        const _: () = {
            #expects_actor_attribute
            impl ::actor::__private::Actor for #self_ty #handle_bound {
                type Input = #input;
                #turn_assoc
                type ConnState = #conn_state;
                const ACTIONS: &'static [::actor::__private::ActionInfo] = &[];
            }
            impl #handle {
                #(#methods)*
            }
            #turn_types
        };
    }
}

/// `#[actor]` on something that is neither a struct nor an impl block.
pub(crate) fn wrong_target(item: Item) -> TokenStream {
    let (head, message) = match &item {
        Item::Enum(e) => {
            let (token, ident) = (&e.enum_token, &e.ident);
            (
                quote!(#token #ident),
                format!(
                    "`#[actor]` goes on a struct: the state is a struct whose fields are saved; wrap the enum in one, like `struct {ident}State {{ value: {ident} }}`"
                ),
            )
        }
        Item::Union(u) => {
            let (token, ident) = (&u.union_token, &u.ident);
            (
                quote!(#token #ident),
                "`#[actor]` goes on a struct, not a union: the state is a struct whose fields are saved".to_owned(),
            )
        }
        Item::Fn(f) => {
            let (token, ident) = (&f.sig.fn_token, &f.sig.ident);
            (
                quote!(#token #ident),
                "`#[actor]` goes on the state struct and on its `impl` block, not on a function: put the function in the struct's `#[actor] impl` block and mark it `#[action]`".to_owned(),
            )
        }
        other => (
            head_of(other),
            "`#[actor]` goes on the state struct and on its `impl` block".to_owned(),
        ),
    };
    let err = syn::Error::new_spanned(head, message).to_compile_error();
    // An enum or union still gets the struct-level names, so its `#[actor] impl` (if any)
    // does not pile errors on top.
    let stub = match &item {
        Item::Enum(syn::ItemEnum {
            ident,
            vis,
            generics,
            ..
        })
        | Item::Union(syn::ItemUnion {
            ident,
            vis,
            generics,
            ..
        }) if generics.params.is_empty() => expand::options_impl(&OptionsImpl {
            item: &TokenStream::new(),
            ident,
            vis,
            generics,
            name: &case::camel(&ident.to_string()),
            config: quote!(::core::default::Default::default()),
            vars: None,
            events: None,
            database: None,
        }),
        _ => TokenStream::new(),
    };
    quote!(#item #stub #err)
}

fn head_of(item: &Item) -> TokenStream {
    match item {
        Item::Trait(t) => {
            let (token, ident) = (&t.trait_token, &t.ident);
            quote!(#token #ident)
        }
        Item::Mod(m) => {
            let (token, ident) = (&m.mod_token, &m.ident);
            quote!(#token #ident)
        }
        Item::Type(t) => {
            let (token, ident) = (&t.type_token, &t.ident);
            quote!(#token #ident)
        }
        other => other.to_token_stream(),
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use crate::pipeline;

    fn text(tokens: TokenStream) -> String {
        tokens.to_string()
    }

    #[test]
    fn a_generic_struct_still_gets_a_handle_and_options() {
        let out = text(pipeline::actor(
            TokenStream::new(),
            quote!(
                pub struct Holder<T> {
                    value: T,
                }
            ),
        ));
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("pub struct HolderHandle"), "{out}");
        assert!(
            out.contains("impl < T > :: actor :: __private :: ActorOptions for Holder < T >"),
            "{out}"
        );
        assert!(out.contains("Self : :: core :: marker :: Send"), "{out}");
    }

    #[test]
    fn a_generic_impl_stands_in_for_every_instance() {
        let out = text(pipeline::actor(
            TokenStream::new(),
            quote!(
                impl<T> Holder<T> {
                    #[action]
                    async fn get(&self) -> i64 {
                        0
                    }
                }
            ),
        ));
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("for < '__stub > Self"), "{out}");
        // The handle of a generic struct has no parameters: no methods are stood in for.
        assert!(!out.contains("HolderHandle"), "{out}");
    }

    #[test]
    fn a_misspelled_marker_still_gives_its_method_a_handle_stub() {
        let out = text(pipeline::actor(
            TokenStream::new(),
            quote!(impl Counter { #[acton] async fn increment(&mut self, by: i64) -> i64 { by } }),
        ));
        assert!(out.contains("is not a marker"), "{out}");
        assert!(out.contains("impl CounterHandle"), "{out}");
        assert!(out.contains("pub async fn increment"), "{out}");
        assert!(
            !out.contains("# [acton]"),
            "the misspelled attribute is removed: {out}"
        );
    }

    #[test]
    fn a_trait_impl_is_left_alone() {
        let out = text(pipeline::actor(
            TokenStream::new(),
            quote!(impl Describe for Counter { fn describe(&self) {} }),
        ));
        assert!(out.contains("compile_error"), "{out}");
        assert!(!out.contains("__private :: Actor for"), "{out}");
    }
}
