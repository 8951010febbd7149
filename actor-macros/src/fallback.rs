//! What is emitted beside `compile_error!` when a call has mistakes (thiserror's
//! `fallback.rs`): the user's item unchanged, plus stub impls with the same names and
//! types as the real expansion, so the user sees their mistakes and not a cascade of
//! "`Counter: Actor` is not satisfied" or "no method `increment` on `CounterHandle`".

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::Item;

use crate::ast::{ActorImpl, Output, Role, State};
use crate::case;
use crate::expand::{self, handle_path, input_type, replace_self_ty, state_expansion};
use crate::valid::self_ident;

/// The struct with its handle and an `ActorOptions` impl using the default settings.
pub(crate) fn state(state: &State, err: syn::Error) -> TokenStream {
    let err = err.to_compile_error();
    let item = &state.item;
    if !item.generics.params.is_empty() {
        return quote!(#item #err);
    }
    // A malformed name was reported; the stub keeps the default.
    let name = state
        .options
        .name
        .as_ref()
        .map(syn::LitStr::value)
        .filter(|n| case::is_camel(n))
        .unwrap_or_else(|| expand::kind_name(item, &Default::default()));
    let expansion = state_expansion(
        &item.ident,
        &item.vis,
        item,
        &name,
        quote!(::core::default::Default::default()),
        state.options.vars.as_ref(),
    );
    quote!(#expansion #err)
}

/// The block with an `Actor` impl that has no actions, and handle methods that exist
/// but are never run.
pub(crate) fn actor_impl(actor: &ActorImpl, err: syn::Error) -> TokenStream {
    let err = err.to_compile_error();
    let item = &actor.item;
    let self_ty = &*item.self_ty;
    if item.trait_.is_some() || !item.generics.params.is_empty() || self_ident(self_ty).is_none() {
        return quote!(#item #err);
    }
    let handle = handle_path(self_ty).expect("checked: a plain path");
    let self_tokens = self_ty.to_token_stream();
    let input = input_type(actor);
    let methods = actor
        .methods
        .iter()
        .filter(|m| matches!(m.role, Role::Action(_)) && m.sig.generics.params.is_empty())
        .map(|m| {
            let ident = m.ident();
            let names = m
                .args()
                .enumerate()
                .map(|(i, p)| p.ident().cloned().unwrap_or_else(|| format_ident!("arg{}", i)));
            let types = m.args().map(|p| replace_self_ty(&p.ty, &self_tokens));
            let out = match &m.output {
                Output::Unit => quote!(()),
                Output::Plain(ty) | Output::Result { ok: ty, .. } => {
                    replace_self_ty(ty, &self_tokens).to_token_stream()
                }
            };
            quote! {
                #[allow(unused_variables)]
                pub async fn #ident(&self, #(#names: #types),*) -> ::core::result::Result<#out, ::actor::__private::ActorError> {
                    ::core::unimplemented!()
                }
            }
        });
    quote! {
        #item
        #err
        const _: () = {
            impl ::actor::__private::Actor for #self_ty {
                type Input = #input;
                const ACTIONS: &'static [::actor::__private::ActionInfo] = &[];
            }
            impl #handle {
                #(#methods)*
            }
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
        }) if generics.params.is_empty() => {
            let name = case::camel(&ident.to_string());
            state_expansion(
                ident,
                vis,
                &TokenStream::new(),
                &name,
                quote!(::core::default::Default::default()),
                None,
            )
        }
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
