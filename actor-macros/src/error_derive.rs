//! `#[derive(ActorError)]`: a team's own error type becomes an `ActorError` with a group,
//! a code per variant, and its `Display` output as the message.

use heck::ToSnakeCase;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Attribute, Data, DeriveInput, LitStr};

use crate::case;
use crate::ctxt::Ctxt;
use crate::meta::{self, key_of};

/// Where an `#[actor_error(…)]` attribute sits, which decides the keys it may hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Struct,
    Enum,
    Variant,
}

#[derive(Default)]
struct Options {
    group: Option<LitStr>,
    code: Option<LitStr>,
}

/// A type deriving `ActorError`, with what its `#[actor_error]` attributes said.
pub(crate) struct ErrorType {
    input: DeriveInput,
    /// The type's options; default for a union, which is an error.
    top: Options,
    /// Each variant's options, for an enum.
    variants: Vec<Options>,
}

impl ErrorType {
    /// Reads the type's and its variants' `#[actor_error]` attributes.
    pub(crate) fn from_syn(cx: &Ctxt, input: DeriveInput) -> Self {
        let (top, variants) = match &input.data {
            Data::Union(_) => (Options::default(), Vec::new()),
            Data::Struct(_) => (options(cx, &input.attrs, Place::Struct), Vec::new()),
            Data::Enum(data) => (
                options(cx, &input.attrs, Place::Enum),
                data.variants
                    .iter()
                    .map(|v| options(cx, &v.attrs, Place::Variant))
                    .collect(),
            ),
        };
        ErrorType {
            input,
            top,
            variants,
        }
    }

    /// Unions are refused; every value rule was checked while reading.
    pub(crate) fn check(&self, cx: &Ctxt) {
        if let Data::Union(_) = self.input.data {
            cx.error_spanned_by(
                &self.input.ident,
                "`#[derive(ActorError)]` works on enums and structs: make this an enum",
            );
        }
    }

    /// `impl From<Type> for ActorError`; nothing for a union.
    pub(crate) fn conversion(&self) -> TokenStream {
        let input = &self.input;
        let ident = &input.ident;
        let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
        let group = self
            .top
            .group
            .as_ref()
            .map_or_else(|| "user".to_owned(), LitStr::value);
        let code = match &input.data {
            Data::Union(_) => return TokenStream::new(),
            Data::Enum(data) if data.variants.is_empty() => {
                return quote! {
                    #[automatically_derived]
                    impl #impl_generics ::core::convert::From<#ident #ty_generics> for ::actor::__private::ActorError #where_clause {
                        fn from(err: #ident #ty_generics) -> Self {
                            match err {}
                        }
                    }
                };
            }
            Data::Enum(data) => {
                let arms = data.variants.iter().zip(&self.variants).map(|(v, opts)| {
                    let code = opts
                        .code
                        .as_ref()
                        .map_or_else(|| v.ident.to_string().to_snake_case(), LitStr::value);
                    let variant = &v.ident;
                    quote!(#ident::#variant { .. } => #code,)
                });
                quote!(match &err { #(#arms)* })
            }
            Data::Struct(_) => {
                let code = self
                    .top
                    .code
                    .as_ref()
                    .map_or_else(|| ident.to_string().to_snake_case(), LitStr::value);
                quote!(#code)
            }
        };
        // Spanned on the type's name: a missing `Display` impl is reported there.
        let message = quote_spanned!(ident.span()=> ::std::string::ToString::to_string(&err));
        quote! {
            #[automatically_derived]
            impl #impl_generics ::core::convert::From<#ident #ty_generics> for ::actor::__private::ActorError #where_clause {
                fn from(err: #ident #ty_generics) -> Self {
                    let code: &'static str = #code;
                    ::actor::__private::ActorError::new(#group, code, #message)
                }
            }
        }
    }
}

fn options(cx: &Ctxt, attrs: &[Attribute], place: Place) -> Options {
    let mut opts = Options::default();
    let allowed: &[&str] = match place {
        Place::Struct => &["group", "code"],
        Place::Enum => &["group"],
        Place::Variant => &["code"],
    };
    for attr in attrs.iter().filter(|a| a.path().is_ident("actor_error")) {
        let result = attr.parse_nested_meta(|meta| {
            let key = key_of(&meta.path);
            let slot = match key.as_str() {
                "code" if place == Place::Enum => {
                    cx.error_spanned_by(
                        &meta.path,
                        "`code` goes on each variant of an enum: move it to `#[actor_error(code = \"…\")]` on a variant",
                    );
                    return meta::skip_entry(&meta);
                }
                "group" if place == Place::Variant => {
                    cx.error_spanned_by(
                        &meta.path,
                        "`group` goes on the enum, not on a variant: move it to `#[actor_error(group = \"…\")]` on the type",
                    );
                    return meta::skip_entry(&meta);
                }
                "group" => &mut opts.group,
                "code" => &mut opts.code,
                _ => {
                    meta::unknown(cx, &meta.path, "#[actor_error]", allowed);
                    return meta::skip_entry(&meta);
                }
            };
            if slot.is_some() {
                cx.error_spanned_by(&meta.path, format!("`{key}` is given twice: keep one"));
                return meta::skip_entry(&meta);
            }
            let example = if key == "group" {
                "\"billing\""
            } else {
                "\"card_declined\""
            };
            if let Some(lit) = meta::string(cx, &meta, example)? {
                let value = lit.value();
                if case::is_snake(&value) {
                    *slot = Some(lit);
                } else {
                    let message = match case::suggest_snake(&value) {
                        Some(fix) => format!("error {key}s are snake_case: use `{fix}`"),
                        None => format!("error {key}s are snake_case ASCII, like {example}"),
                    };
                    cx.error_spanned_by(&lit, message);
                }
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    opts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(input: TokenStream) -> Vec<String> {
        let cx = Ctxt::new();
        ErrorType::from_syn(&cx, syn::parse2(input).unwrap()).check(&cx);
        match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn codes_default_to_snake_case() {
        let cx = Ctxt::new();
        let tokens = ErrorType::from_syn(
            &cx,
            syn::parse_quote! {
                #[actor_error(group = "billing")]
                enum BillingError { CardDeclined, #[actor_error(code = "gone")] Missing(u8) }
            },
        )
        .conversion()
        .to_string();
        cx.check().unwrap();
        assert!(tokens.contains("\"card_declined\""), "{tokens}");
        assert!(
            tokens.contains("\"gone\"") && tokens.contains("\"billing\""),
            "{tokens}"
        );
    }

    #[test]
    fn every_mistake_at_once() {
        let found = errors(quote! {
            #[actor_error(grup = "billing", code = "x")]
            enum BillingError {
                #[actor_error(group = "a", code = "Card Declined")]
                CardDeclined,
                #[actor_error(code = "a", code = "b")]
                Other,
            }
        });
        assert_eq!(
            found,
            [
                "unknown option `grup`: did you mean `group`? `#[actor_error]` takes `group`",
                "`code` goes on each variant of an enum: move it to `#[actor_error(code = \"…\")]` on a variant",
                "`group` goes on the enum, not on a variant: move it to `#[actor_error(group = \"…\")]` on the type",
                "error codes are snake_case: use `card_declined`",
                "`code` is given twice: keep one",
            ]
        );
    }

    #[test]
    fn unions_are_rejected() {
        assert_eq!(
            errors(quote!(union U { a: u8 })),
            ["`#[derive(ActorError)]` works on enums and structs: make this an enum"]
        );
    }
}
