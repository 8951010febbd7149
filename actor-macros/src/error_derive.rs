//! `#[derive(ActorError)]`: a team's own error type becomes an `ActorError` with a
//! group, a code per variant, and its `Display` as the message.

use heck::ToSnakeCase;
use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, Data, DeriveInput, LitStr};

use crate::ctxt::Ctxt;

#[derive(Default)]
struct Options {
    group: Option<LitStr>,
    code: Option<LitStr>,
}

fn options(cx: &Ctxt, attrs: &[Attribute], allow_group: bool) -> Options {
    let mut opts = Options::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("actor_error")) {
        let result = attr.parse_nested_meta(|meta| {
            let key = if meta.path.is_ident("code") {
                &mut opts.code
            } else if meta.path.is_ident("group") && allow_group {
                &mut opts.group
            } else {
                let path = &meta.path;
                let allowed = if allow_group {
                    "`group = \"…\"` and `code = \"…\"`"
                } else {
                    "`code = \"…\"` on a variant (`group` goes on the type)"
                };
                return Err(meta.error(format!(
                    "unknown option `{}`; `#[actor_error]` takes {allowed}",
                    quote!(#path)
                )));
            };
            let lit: LitStr = meta.value()?.parse()?;
            let v = lit.value();
            if v.is_empty()
                || !v
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                cx.error_spanned_by(
                    &lit,
                    format!(
                        "codes and groups are snake_case: use `{}`",
                        v.to_snake_case()
                    ),
                );
            }
            *key = Some(lit);
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    opts
}

pub(crate) fn derive(input: DeriveInput) -> syn::Result<TokenStream> {
    let cx = Ctxt::default();
    let ident = &input.ident;
    let top = options(&cx, &input.attrs, true);
    let group = top
        .group
        .map(|g| g.value())
        .unwrap_or_else(|| "user".into());
    let code = match &input.data {
        Data::Enum(data) => {
            let arms = data.variants.iter().map(|v| {
                let opts = options(&cx, &v.attrs, false);
                let code = opts
                    .code
                    .map(|c| c.value())
                    .unwrap_or_else(|| v.ident.to_string().to_snake_case());
                let variant = &v.ident;
                quote!(#ident::#variant { .. } => #code,)
            });
            quote!(match &err { #(#arms)* })
        }
        Data::Struct(_) => {
            let code = top
                .code
                .map(|c| c.value())
                .unwrap_or_else(|| ident.to_string().to_snake_case());
            quote!(#code)
        }
        Data::Union(_) => {
            cx.error_spanned_by(ident, "`#[derive(ActorError)]` works on enums and structs");
            quote!("")
        }
    };
    cx.check()?;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::core::convert::From<#ident #ty_generics> for ::actor::__private::ActorError #where_clause {
            fn from(err: #ident #ty_generics) -> Self {
                let code: &'static str = #code;
                ::actor::__private::ActorError::new(#group, code, ::std::string::ToString::to_string(&err))
            }
        }
    })
}
