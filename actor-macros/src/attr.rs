//! The attributes: `#[actor(…)]` options on the state struct, `#[action(…)]` and the hook
//! markers inside the impl block. Each value is read into a plain Rust value; a malformed
//! one is recorded in the [`Ctxt`] and parsing goes on with the next option, so every
//! mistake of one attribute is reported together.

use std::collections::HashSet;
use std::time::Duration;

use proc_macro2::{Spacing, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Lit, LitInt, LitStr, Meta, Path, Token, Type};

use crate::ast::Hook;
use crate::case;
use crate::ctxt::Ctxt;
use crate::duration;

/// The options `#[actor(…)]` takes on the state struct.
pub(crate) const STRUCT_OPTIONS: &[&str] = &[
    "name",
    "sleep_timeout",
    "action_timeout",
    "sleep_grace",
    "inbox",
    "save_interval",
    "vars",
];

/// A duration option as written.
pub(crate) struct DurationOption {
    /// The literal, for errors about its value.
    pub(crate) lit: LitStr,
    /// `None` for `"never"`.
    pub(crate) value: Option<Duration>,
}

/// What `#[actor(…)]` on the state struct said. Each field is `None` when not given (or
/// given in a malformed way, which is already an error).
#[derive(Default)]
pub(crate) struct StructOptions {
    pub(crate) name: Option<LitStr>,
    pub(crate) sleep_timeout: Option<DurationOption>,
    pub(crate) action_timeout: Option<DurationOption>,
    pub(crate) sleep_grace: Option<DurationOption>,
    pub(crate) inbox: Option<LitInt>,
    pub(crate) save_interval: Option<DurationOption>,
    pub(crate) vars: Option<Type>,
}

/// Reads `name = "…", sleep_timeout = "…", …`.
pub(crate) fn struct_options(cx: &Ctxt, args: TokenStream) -> StructOptions {
    let mut opts = StructOptions::default();
    let mut seen = HashSet::new();
    let parser = syn::meta::parser(|meta| {
        let key = key_of(&meta.path);
        if STRUCT_OPTIONS.contains(&key.as_str()) && !seen.insert(key.clone()) {
            cx.error_spanned_by(&meta.path, format!("`{key}` is given twice: keep one"));
            skip_entry(&meta)?;
            return Ok(());
        }
        match key.as_str() {
            "name" => opts.name = string(cx, &meta, "\"chatRoom\"")?,
            "sleep_timeout" => opts.sleep_timeout = duration(cx, &meta, true)?,
            "action_timeout" => opts.action_timeout = duration(cx, &meta, false)?,
            "sleep_grace" => opts.sleep_grace = duration(cx, &meta, false)?,
            "save_interval" => opts.save_interval = duration(cx, &meta, false)?,
            "inbox" => opts.inbox = integer(cx, &meta, "1024")?,
            "vars" => opts.vars = ty(cx, &meta, "MyVars")?,
            _ => {
                unknown(cx, &meta.path, "#[actor]", STRUCT_OPTIONS);
                skip_entry(&meta)?;
            }
        }
        Ok(())
    });
    if let Err(err) = parser.parse2(args) {
        cx.syn_error(err);
    }
    opts
}

/// What `#[action(…)]` said.
#[derive(Default)]
pub(crate) struct ActionOptions {
    /// The name clients call the action by, when it is not the method's name.
    pub(crate) name: Option<LitStr>,
}

/// What a marker attribute inside the impl block makes of its method.
pub(crate) enum Marker {
    Action(ActionOptions),
    Hook(Hook),
}

/// Whether `attr` is one of our markers, and what it says. Matches on the last path
/// segment, so `#[actor::action]` works as well as `#[action]`.
pub(crate) fn marker(cx: &Ctxt, attr: &Attribute) -> Option<Marker> {
    let ident = attr.path().segments.last()?.ident.to_string();
    if ident == "action" {
        return Some(Marker::Action(action_options(cx, attr)));
    }
    let hook = Hook::ALL.into_iter().find(|h| h.attr_name() == ident)?;
    if !matches!(attr.meta, Meta::Path(_)) {
        cx.error_spanned_by(
            attr,
            format!("`#[{ident}]` takes no options: write `#[{ident}]`"),
        );
    }
    Some(Marker::Hook(hook))
}

fn action_options(cx: &Ctxt, attr: &Attribute) -> ActionOptions {
    let mut opts = ActionOptions::default();
    match &attr.meta {
        Meta::Path(_) => {}
        Meta::NameValue(nv) => {
            let value = &nv.value;
            cx.error_spanned_by(
                attr,
                format!("write `#[action(name = {})]`", value.to_token_stream()),
            );
        }
        Meta::List(_) => {
            let mut seen = false;
            let result = attr.parse_nested_meta(|meta| {
                if !meta.path.is_ident("name") {
                    unknown(cx, &meta.path, "#[action]", &["name"]);
                    return skip_entry(&meta);
                }
                if std::mem::replace(&mut seen, true) {
                    cx.error_spanned_by(&meta.path, "`name` is given twice: keep one");
                    return skip_entry(&meta);
                }
                opts.name = string(cx, &meta, "\"doThing\"")?;
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
    }
    opts
}

/// The option's name as written, `a::b` for a path.
pub(crate) fn key_of(path: &Path) -> String {
    path.get_ident()
        .map(ToString::to_string)
        .unwrap_or_else(|| path.to_token_stream().to_string().replace(' ', ""))
}

/// Reports an unknown option, with the nearest known one if it looks like a typo.
pub(crate) fn unknown(cx: &Ctxt, path: &Path, attr: &str, known: &[&str]) {
    let key = key_of(path);
    let list = known
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let message = match case::closest(&key, known) {
        Some(near) => {
            format!("unknown option `{key}`: did you mean `{near}`? `{attr}` takes {list}")
        }
        None => format!("unknown option `{key}`: `{attr}` takes {list}"),
    };
    cx.error_spanned_by(path, message);
}

/// Consumes the rest of one `key …` entry, whatever it holds, so parsing can go on.
pub(crate) fn skip_entry(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.input.parse::<Token![=]>()?;
    }
    rest_of_entry(meta.input).map(drop)
}

/// The tokens up to the next top-level comma. Commas inside `<…>` belong to the value,
/// so `vars = HashMap<String, u64>` is one entry.
fn rest_of_entry(input: ParseStream) -> syn::Result<TokenStream> {
    input.step(|cursor| {
        let mut rest = *cursor;
        let mut tokens = TokenStream::new();
        let mut angle_depth = 0usize;
        let mut arrow = false;
        while let Some((tt, next)) = rest.token_tree() {
            if let TokenTree::Punct(p) = &tt {
                match p.as_char() {
                    ',' if angle_depth == 0 => break,
                    '<' => angle_depth += 1,
                    '>' if !arrow => angle_depth = angle_depth.saturating_sub(1),
                    _ => {}
                }
                arrow = p.as_char() == '-' && p.spacing() == Spacing::Joint;
            } else {
                arrow = false;
            }
            tokens.extend([tt]);
            rest = next;
        }
        Ok((tokens, rest))
    })
}

/// The value of `key = value`, or `None` after recording "needs a value".
pub(crate) fn value_of(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    example: &str,
) -> syn::Result<Option<TokenStream>> {
    let key = key_of(&meta.path);
    let needs_value = format!("`{key}` needs a value: `{key} = {example}`");
    if !meta.input.peek(Token![=]) {
        let path = &meta.path;
        let rest = rest_of_entry(meta.input)?;
        cx.error_spanned_by(quote!(#path #rest), needs_value);
        return Ok(None);
    }
    let eq: Token![=] = meta.input.parse()?;
    let tokens = rest_of_entry(meta.input)?;
    if tokens.is_empty() {
        let path = &meta.path;
        cx.error_spanned_by(quote!(#path #eq), needs_value);
        return Ok(None);
    }
    Ok(Some(tokens))
}

/// `key = "text"`.
pub(crate) fn string(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    example: &str,
) -> syn::Result<Option<LitStr>> {
    let Some(tokens) = value_of(cx, meta, example)? else {
        return Ok(None);
    };
    match syn::parse2::<LitStr>(tokens.clone()) {
        Ok(lit) => Ok(Some(lit)),
        Err(_) => {
            let key = key_of(&meta.path);
            cx.error_spanned_by(
                tokens,
                format!("`{key}` takes a string: `{key} = {example}`"),
            );
            Ok(None)
        }
    }
}

fn duration(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    never_allowed: bool,
) -> syn::Result<Option<DurationOption>> {
    let key = key_of(&meta.path);
    let Some(tokens) = value_of(cx, meta, "\"30s\"")? else {
        return Ok(None);
    };
    let lit = match syn::parse2::<Lit>(tokens.clone()) {
        Ok(Lit::Str(lit)) => lit,
        Ok(Lit::Int(int)) => {
            let fix = format!("\"{}s\"", int.base10_digits());
            cx.error_spanned_by(
                int,
                format!("durations are strings with a unit: `{key} = {fix}`"),
            );
            return Ok(None);
        }
        _ => {
            cx.error_spanned_by(
                tokens,
                format!("`{key}` takes a duration string: `{key} = \"30s\"`"),
            );
            return Ok(None);
        }
    };
    let text = lit.value();
    if text.trim() == "never" {
        if !never_allowed {
            cx.error_spanned_by(
                &lit,
                format!(
                    "`{key}` cannot be \"never\" (only `sleep_timeout` can): give a duration like \"30s\""
                ),
            );
            return Ok(None);
        }
        return Ok(Some(DurationOption { lit, value: None }));
    }
    match duration::parse(&text) {
        Some(d) => Ok(Some(DurationOption {
            lit,
            value: Some(d),
        })),
        None => {
            let never = if never_allowed { ", or \"never\"" } else { "" };
            let message = if text.trim().parse::<u64>().is_ok() {
                format!("add a unit to the duration: \"{}s\"", text.trim())
            } else {
                format!("expected a duration like \"30s\", \"500ms\" or \"2m\"{never}")
            };
            cx.error_spanned_by(&lit, message);
            Ok(None)
        }
    }
}

fn integer(cx: &Ctxt, meta: &ParseNestedMeta, example: &str) -> syn::Result<Option<LitInt>> {
    let key = key_of(&meta.path);
    let Some(tokens) = value_of(cx, meta, example)? else {
        return Ok(None);
    };
    match syn::parse2::<Lit>(tokens.clone()) {
        Ok(Lit::Int(int)) => Ok(Some(int)),
        Ok(Lit::Str(s)) if s.value().trim().parse::<u64>().is_ok() => {
            let digits = s.value().trim().to_owned();
            cx.error_spanned_by(
                s,
                format!("`{key}` takes a number, not a string: `{key} = {digits}`"),
            );
            Ok(None)
        }
        _ => {
            cx.error_spanned_by(
                tokens,
                format!("`{key}` takes a whole number: `{key} = {example}`"),
            );
            Ok(None)
        }
    }
}

fn ty(cx: &Ctxt, meta: &ParseNestedMeta, example: &str) -> syn::Result<Option<Type>> {
    let key = key_of(&meta.path);
    let Some(tokens) = value_of(cx, meta, example)? else {
        return Ok(None);
    };
    if let Ok(s) = syn::parse2::<LitStr>(tokens.clone()) {
        let written = s.value();
        cx.error_spanned_by(
            s,
            format!("`{key}` takes a type, not a string: `{key} = {written}`"),
        );
        return Ok(None);
    }
    match syn::parse2::<Type>(tokens.clone()) {
        Ok(ty) => Ok(Some(ty)),
        Err(_) => {
            cx.error_spanned_by(tokens, format!("`{key}` takes a type: `{key} = {example}`"));
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(args: TokenStream) -> (StructOptions, Vec<String>) {
        let cx = Ctxt::new();
        let opts = struct_options(&cx, args);
        let errors = match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (opts, errors)
    }

    #[test]
    fn every_option() {
        let (opts, errors) = parse(quote! {
            name = "chatRoom", sleep_timeout = "never", action_timeout = "10s",
            sleep_grace = "2s", inbox = 16, save_interval = "500ms",
            vars = std::collections::HashMap<String, u64>
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(opts.name.unwrap().value(), "chatRoom");
        assert_eq!(opts.sleep_timeout.unwrap().value, None);
        assert_eq!(
            opts.action_timeout.unwrap().value,
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            opts.sleep_grace.unwrap().value,
            Some(Duration::from_secs(2))
        );
        assert_eq!(opts.inbox.unwrap().base10_digits(), "16");
        assert_eq!(
            opts.save_interval.unwrap().value,
            Some(Duration::from_millis(500))
        );
        let vars = opts.vars.unwrap();
        assert_eq!(
            quote!(#vars).to_string(),
            quote!(std::collections::HashMap<String, u64>).to_string()
        );
    }

    #[test]
    fn collects_every_mistake() {
        let (_, errors) = parse(quote! {
            sleep_timout = "30s", inbox = "10", action_timeout = 60,
            sleep_grace = "soon", vars = "Cache", name, save_interval = "never"
        });
        assert_eq!(
            errors,
            [
                "unknown option `sleep_timout`: did you mean `sleep_timeout`? `#[actor]` takes `name`, `sleep_timeout`, `action_timeout`, `sleep_grace`, `inbox`, `save_interval`, `vars`",
                "`inbox` takes a number, not a string: `inbox = 10`",
                "durations are strings with a unit: `action_timeout = \"60s\"`",
                "expected a duration like \"30s\", \"500ms\" or \"2m\"",
                "`vars` takes a type, not a string: `vars = Cache`",
                "`name` needs a value: `name = \"chatRoom\"`",
                "`save_interval` cannot be \"never\" (only `sleep_timeout` can): give a duration like \"30s\"",
            ]
        );
    }

    #[test]
    fn twice() {
        let (opts, errors) = parse(quote!(inbox = 10, inbox = 20));
        assert_eq!(errors, ["`inbox` is given twice: keep one"]);
        assert_eq!(opts.inbox.unwrap().base10_digits(), "10");
    }

    #[test]
    fn bare_number_duration_suggests_a_unit() {
        let (_, errors) = parse(quote!(sleep_timeout = "30"));
        assert_eq!(errors, ["add a unit to the duration: \"30s\""]);
    }

    #[test]
    fn action_markers() {
        let cx = Ctxt::new();
        let attr: Attribute = syn::parse_quote!(#[action(name = "readAll")]);
        let Some(Marker::Action(opts)) = marker(&cx, &attr) else {
            panic!("not an action")
        };
        assert_eq!(opts.name.unwrap().value(), "readAll");
        let attr: Attribute = syn::parse_quote!(#[actor::on_wake]);
        assert!(matches!(marker(&cx, &attr), Some(Marker::Hook(Hook::Wake))));
        let attr: Attribute = syn::parse_quote!(#[doc = "x"]);
        assert!(marker(&cx, &attr).is_none());
        cx.check().unwrap();
    }

    #[test]
    fn marker_mistakes() {
        let cx = Ctxt::new();
        for attr in [
            syn::parse_quote!(#[action(nmae = "x")]),
            syn::parse_quote!(#[action = "x"]),
            syn::parse_quote!(#[on_wake(fast)]),
        ] {
            let attr: Attribute = attr;
            marker(&cx, &attr);
        }
        let errors: Vec<String> = cx
            .check()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            errors,
            [
                "unknown option `nmae`: did you mean `name`? `#[action]` takes `name`",
                "write `#[action(name = \"x\")]`",
                "`#[on_wake]` takes no options: write `#[on_wake]`",
            ]
        );
    }
}
