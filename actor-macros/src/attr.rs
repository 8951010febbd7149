//! The options of `#[actor(...)]` on the state struct, and of `#[action(...)]`.

use std::time::Duration;

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::{Expr, ExprLit, Lit, LitStr, Type};

use crate::case;
use crate::ctxt::Ctxt;
use crate::duration;

const STRUCT_OPTIONS: &str =
    "name, sleep_timeout, action_timeout, sleep_grace, inbox, save_interval, vars";

/// What `#[actor(...)]` on a struct said.
#[derive(Default)]
pub(crate) struct StructOptions {
    pub(crate) name: Option<String>,
    /// `Some(None)` is `"never"`.
    pub(crate) sleep_timeout: Option<Option<Duration>>,
    pub(crate) action_timeout: Option<Duration>,
    pub(crate) sleep_grace: Option<Duration>,
    pub(crate) inbox: Option<usize>,
    pub(crate) save_interval: Option<Duration>,
    pub(crate) vars: Option<Type>,
}

fn string(cx: &Ctxt, expr: &Expr, option: &str, example: &str) -> Option<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.clone()),
        other => {
            cx.error_spanned_by(
                other,
                format!("`{option}` takes a string: `{option} = {example}`"),
            );
            None
        }
    }
}

fn duration_of(cx: &Ctxt, lit: &LitStr, option: &str) -> Option<Duration> {
    let parsed = duration::parse(&lit.value());
    if parsed.is_none() {
        cx.error_spanned_by(
            lit,
            format!("`{option}` expects a duration like \"30s\", \"500ms\" or \"2m\""),
        );
    }
    parsed
}

fn once<T>(cx: &Ctxt, slot: &mut Option<T>, value: Option<T>, path: &syn::Path, option: &str) {
    if slot.is_some() {
        cx.error_spanned_by(path, format!("`{option}` is given twice; keep one"));
    } else if value.is_some() {
        *slot = value;
    }
}

/// Parses `name = "…", sleep_timeout = "…", …`, recording every mistake in `cx`.
pub(crate) fn struct_options(cx: &Ctxt, args: TokenStream) -> StructOptions {
    let mut opts = StructOptions::default();
    let parser = syn::meta::parser(|meta| {
        let path = meta.path.clone();
        let key = path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let value: Expr = match meta.value() {
            Ok(v) => v.parse()?,
            Err(_) => {
                cx.error_spanned_by(
                    &path,
                    format!(
                        "`{}` needs a value: `{} = …`; options are {STRUCT_OPTIONS}",
                        quote::quote!(#path),
                        quote::quote!(#path)
                    ),
                );
                return Ok(());
            }
        };
        match key.as_str() {
            "name" => {
                let name = string(cx, &value, "name", "\"chatRoom\"").and_then(|lit| {
                    let name = lit.value();
                    if case::is_camel(&name) {
                        Some(name)
                    } else {
                        let fix = case::camel(&name.replace(['.', '-', ' '], "_"));
                        cx.error_spanned_by(
                            &lit,
                            format!("actor names are camelCase: use `{fix}`"),
                        );
                        None
                    }
                });
                once(cx, &mut opts.name, name, &path, "name");
            }
            "sleep_timeout" => {
                let d = string(cx, &value, "sleep_timeout", "\"30s\"").and_then(|lit| {
                    if lit.value() == "never" {
                        Some(None)
                    } else {
                        duration_of(cx, &lit, "sleep_timeout").map(Some)
                    }
                });
                once(cx, &mut opts.sleep_timeout, d, &path, "sleep_timeout");
            }
            "action_timeout" | "sleep_grace" | "save_interval" => {
                let d =
                    string(cx, &value, &key, "\"30s\"").and_then(|lit| duration_of(cx, &lit, &key));
                let slot = match key.as_str() {
                    "action_timeout" => &mut opts.action_timeout,
                    "sleep_grace" => &mut opts.sleep_grace,
                    _ => &mut opts.save_interval,
                };
                once(cx, slot, d, &path, &key);
            }
            "inbox" => {
                let n = match &value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Int(int), ..
                    }) => match int.base10_parse::<usize>() {
                        Ok(0) | Err(_) => {
                            cx.error_spanned_by(int, "`inbox` is the number of calls that may wait: use a whole number of at least 1, like `inbox = 1024`");
                            None
                        }
                        Ok(n) => Some(n),
                    },
                    other => {
                        cx.error_spanned_by(other, "`inbox` takes a number: `inbox = 1024`");
                        None
                    }
                };
                once(cx, &mut opts.inbox, n, &path, "inbox");
            }
            "vars" => {
                let ty = match syn::parse2::<Type>(quote::quote!(#value)) {
                    Ok(ty) => Some(ty),
                    Err(_) => {
                        cx.error_spanned_by(&value, "`vars` takes a type: `vars = MyVars`");
                        None
                    }
                };
                once(cx, &mut opts.vars, ty, &path, "vars");
            }
            _ => cx.error_spanned_by(
                &path,
                format!(
                    "unknown option `{}`; `#[actor]` takes {STRUCT_OPTIONS}",
                    quote::quote!(#path)
                ),
            ),
        }
        Ok(())
    });
    if let Err(err) = parser.parse2(args) {
        cx.syn_error(err);
    }
    opts
}

/// What `#[action(...)]` said.
#[derive(Default)]
pub(crate) struct ActionOptions {
    pub(crate) name: Option<LitStr>,
}

/// Parses `#[action]` or `#[action(name = "…")]`.
pub(crate) fn action_options(cx: &Ctxt, attr: &syn::Attribute) -> ActionOptions {
    let mut opts = ActionOptions::default();
    if matches!(attr.meta, syn::Meta::Path(_)) {
        return opts;
    }
    let result = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("name") {
            let lit: LitStr = meta.value()?.parse()?;
            let name = lit.value();
            let ok = !name.is_empty()
                && name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                cx.error_spanned_by(
                    &lit,
                    format!("action names are identifiers like `doThing`; `{name}` is not one"),
                );
            } else if opts.name.is_some() {
                cx.error_spanned_by(&meta.path, "`name` is given twice; keep one");
            } else {
                opts.name = Some(lit);
            }
            Ok(())
        } else {
            let path = &meta.path;
            Err(meta.error(format!(
                "unknown option `{}`; `#[action]` takes `name = \"…\"`",
                quote::quote!(#path)
            )))
        }
    });
    if let Err(err) = result {
        cx.syn_error(err);
    }
    opts
}
