//! The wire checks. Every argument and output type is asserted to cross the network
//! (`__private::wire_type::<T>()`, spanned on `T`) first in each generated body that uses
//! it; every later use of `T` in that body (decoding, wrapping, the handle's call) carries
//! a bound the assertion implies, at the same span, so rustc reports a missing derive once,
//! on the user's type, with the assertion's message. The assertions in the dispatch and in
//! the handle are the same diagnostic, which rustc prints once.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Type;
use syn::spanned::Spanned;

/// `::actor::__private::wire_type::<T>();`, spanned on `T`; nothing for a type that
/// [surely](surely_wire) crosses the network.
pub(crate) fn assert_wire_type(ty: &Type) -> Option<TokenStream> {
    (!surely_wire(ty)).then(|| quote_spanned!(ty.span()=> ::actor::__private::wire_type::<#ty>();))
}

/// Whether `ty` is one whose `Serialize`, `Deserialize` and `Send` impls certainly exist: a
/// primitive, `String`, or a standard container, tuple or array of such types.
pub(crate) fn surely_wire(ty: &Type) -> bool {
    match ty {
        Type::Tuple(t) => t.elems.iter().all(surely_wire),
        Type::Array(a) => surely_wire(&a.elem),
        Type::Paren(p) => surely_wire(&p.elem),
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return false;
            };
            let name = last.ident.to_string();
            match &last.arguments {
                syn::PathArguments::None => matches!(
                    name.as_str(),
                    "bool"
                        | "char"
                        | "i8"
                        | "i16"
                        | "i32"
                        | "i64"
                        | "i128"
                        | "isize"
                        | "u8"
                        | "u16"
                        | "u32"
                        | "u64"
                        | "u128"
                        | "usize"
                        | "f32"
                        | "f64"
                        | "String"
                ),
                syn::PathArguments::AngleBracketed(args) => {
                    matches!(
                        name.as_str(),
                        "Vec"
                            | "Option"
                            | "VecDeque"
                            | "BTreeMap"
                            | "BTreeSet"
                            | "HashMap"
                            | "HashSet"
                    ) && args.args.iter().all(|a| match a {
                        syn::GenericArgument::Type(t) => surely_wire(t),
                        _ => false,
                    })
                }
                syn::PathArguments::Parenthesized(_) => false,
            }
        }
        _ => false,
    }
}

/// The module of argument decoders, one per arity in use, inside the generated `const _`.
/// Each takes the user's types as turbofish arguments with a bound per type, so a type
/// that cannot be decoded is blamed on its own token.
pub(crate) fn decoders(arities: &BTreeSet<usize>) -> TokenStream {
    let decoders: Vec<TokenStream> = arities
        .iter()
        .filter(|n| **n > 0)
        .map(|&n| {
            let name = format_ident!("decode_arguments_{}", n);
            let params: Vec<_> = (0..n).map(|i| format_ident!("A{}", i)).collect();
            quote! {
                pub(super) fn #name<#(#params: ::actor::__private::WireType + ::core::marker::Send + 'static),*>(
                    payload: ::actor::__private::Payload,
                ) -> ::core::result::Result<(#(#params,)*), ::actor::__private::ActorError> {
                    payload.decode_arguments(#n)
                }
            }
        })
        .collect();
    if decoders.is_empty() {
        return TokenStream::new();
    }
    quote! {
        mod __actor_wire {
            #(#decoders)*
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_that_surely_cross_the_network() {
        let ty = |t: TokenStream| syn::parse2::<Type>(t).unwrap();
        assert!(surely_wire(&ty(quote!(i64))));
        assert!(surely_wire(&ty(quote!(
            std::collections::HashMap<String, Vec<(u8, bool)>>
        ))));
        assert!(surely_wire(&ty(quote!([u8; 4]))));
        assert!(!surely_wire(&ty(quote!(Opaque))));
        assert!(!surely_wire(&ty(quote!(Vec<Opaque>))));
        assert!(!surely_wire(&ty(quote!(&str))));
    }

    #[test]
    fn one_decoder_per_arity_and_none_for_no_arguments() {
        assert!(decoders(&BTreeSet::from([0])).is_empty());
        let module = decoders(&BTreeSet::from([0, 1, 3])).to_string();
        assert!(module.contains("decode_arguments_1"), "{module}");
        assert!(module.contains("decode_arguments_3"), "{module}");
        assert!(!module.contains("decode_arguments_0"), "{module}");
    }
}
