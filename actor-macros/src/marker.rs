//! The marker attributes on methods (`#[action]`, `#[on_wake]`, …): which [`Role`] an
//! attribute gives its method, and the options it carries. Matched on the last path
//! segment, so `#[actor::action]` works as well as `#[action]`.

use quote::ToTokens;
use syn::{Attribute, Ident, LitStr, Meta, Token};

use crate::ctxt::Ctxt;
use crate::meta;
use crate::queue_options::{self, QueueOptions};
use crate::role::{self, MarkerOptions, Role};

/// What a marker said.
pub(crate) struct Marker {
    pub(crate) role: &'static Role,
    /// `name = "…"`, the name clients call a named role by when it is not the method's.
    pub(crate) name: Option<LitStr>,
    /// A queue's options (`#[queue(…)]`).
    pub(crate) queue: Option<QueueOptions>,
    /// The flag `main` of `#[workflow(main)]`, as written.
    pub(crate) main: Option<Ident>,
}

/// Reads `attr` if it is one of our markers. An attribute one edit away from a marker
/// (`#[acton]`) is reported as a misspelling and read as the marker it resembles, so the
/// stubs beside the error still give the method its role and its callers compile.
pub(crate) fn read(cx: &Ctxt, attr: &Attribute) -> Option<Marker> {
    let ident = attr.path().segments.last()?.ident.to_string();
    let role = match role::by_marker(&ident) {
        Some(role) => role,
        None => {
            let role = role::misspelled(attr.path().get_ident()?.to_string().as_str())?;
            cx.error_spanned_by(
                attr.path(),
                format!(
                    "`#[{ident}]` is not a marker: did you mean `#[{}]`? An `#[actor]` impl marks methods with {}",
                    role.marker,
                    role::marker_list()
                ),
            );
            role
        }
    };
    let (name, queue, main) = match role.options {
        MarkerOptions::Name | MarkerOptions::Workflow => {
            let (name, main) = named_options(cx, attr, role);
            (name, None, main)
        }
        MarkerOptions::Queue => {
            let options = queue_options::parse(cx, attr);
            (options.name.clone(), Some(options), None)
        }
        MarkerOptions::None => {
            if !matches!(attr.meta, Meta::Path(_)) {
                let marker = role.marker;
                cx.error_spanned_by(
                    attr,
                    format!("`#[{marker}]` takes no options: write `#[{marker}]`"),
                );
            }
            (None, None, None)
        }
    };
    Some(Marker {
        role,
        name,
        queue,
        main,
    })
}

/// `#[action]` or `#[action(name = "…")]`; for a workflow, also the flag `main`
/// (`#[workflow(main)]`, `#[workflow(name = "…", main)]`).
fn named_options(cx: &Ctxt, attr: &Attribute, role: &Role) -> (Option<LitStr>, Option<Ident>) {
    let marker = role.marker;
    let known: &[&str] = match role.options {
        MarkerOptions::Workflow => &["name", "main"],
        _ => &["name"],
    };
    match &attr.meta {
        Meta::Path(_) => (None, None),
        Meta::NameValue(nv) => {
            let value = nv.value.to_token_stream();
            cx.error_spanned_by(attr, format!("write `#[{marker}(name = {value})]`"));
            (None, None)
        }
        Meta::List(_) => {
            let mut name = None;
            let mut main = None;
            let mut seen = Vec::new();
            let result = attr.parse_nested_meta(|meta| {
                let key = meta::key_of(&meta.path);
                if !known.contains(&key.as_str()) {
                    meta::unknown(cx, &meta.path, &format!("#[{marker}]"), known);
                    return meta::skip_entry(&meta);
                }
                if seen.contains(&key) {
                    cx.error_spanned_by(&meta.path, format!("`{key}` is given twice: keep one"));
                    return meta::skip_entry(&meta);
                }
                seen.push(key);
                if meta.path.is_ident("name") {
                    name = meta::string(cx, &meta, "\"doThing\"")?;
                } else if meta.input.is_empty() || meta.input.peek(Token![,]) {
                    main = meta.path.get_ident().cloned();
                } else {
                    cx.error_spanned_by(
                        &meta.path,
                        format!("`main` is a flag and takes no value: write `#[{marker}(main)]`"),
                    );
                    return meta::skip_entry(&meta);
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
            (name, main)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(cx: Ctxt) -> Vec<String> {
        match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn markers() {
        let cx = Ctxt::new();
        let attr: Attribute = syn::parse_quote!(#[action(name = "readAll")]);
        let marker = read(&cx, &attr).unwrap();
        assert_eq!(marker.role.marker, "action");
        assert_eq!(marker.name.unwrap().value(), "readAll");
        let attr: Attribute = syn::parse_quote!(#[actor::on_wake]);
        assert_eq!(read(&cx, &attr).unwrap().role.marker, "on_wake");
        let attr: Attribute = syn::parse_quote!(#[doc = "x"]);
        assert!(read(&cx, &attr).is_none());
        let attr: Attribute = syn::parse_quote!(#[my::acton]);
        assert!(
            read(&cx, &attr).is_none(),
            "a path is never taken for a typo"
        );
        let attr: Attribute = syn::parse_quote!(#[workflow(name = "provisionSandbox", main)]);
        let marker = read(&cx, &attr).unwrap();
        assert_eq!(marker.name.unwrap().value(), "provisionSandbox");
        assert!(marker.main.is_some());
        let attr: Attribute = syn::parse_quote!(#[workflow]);
        assert!(read(&cx, &attr).unwrap().main.is_none());
        assert!(errors(cx).is_empty());
    }

    #[test]
    fn mistakes() {
        let cx = Ctxt::new();
        for attr in [
            syn::parse_quote!(#[action(nmae = "x")]),
            syn::parse_quote!(#[action = "x"]),
            syn::parse_quote!(#[on_wake(fast)]),
            syn::parse_quote!(#[acton]),
            syn::parse_quote!(#[action(main)]),
            syn::parse_quote!(#[workflow(main = true)]),
            syn::parse_quote!(#[workflow(main, main)]),
        ] {
            let attr: Attribute = attr;
            read(&cx, &attr);
        }
        assert_eq!(
            errors(cx),
            [
                "unknown option `nmae`: did you mean `name`? `#[action]` takes `name`",
                "write `#[action(name = \"x\")]`",
                "`#[on_wake]` takes no options: write `#[on_wake]`",
                "`#[acton]` is not a marker: did you mean `#[action]`? An `#[actor]` impl marks methods with `#[action]`, `#[queue]`, `#[run]`, `#[workflow]`, `#[on_create]`, `#[on_wake]`, `#[on_sleep]`, `#[on_destroy]`, `#[on_before_connect]`, `#[on_connect]`, `#[on_disconnect]` or `#[on_state_change]`",
                "unknown option `main`: `#[action]` takes `name`",
                "`main` is a flag and takes no value: write `#[workflow(main)]`",
                "`main` is given twice: keep one",
            ]
        );
    }
}
