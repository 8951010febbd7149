//! Reading one `key = value` entry of an attribute into a plain Rust value. A malformed
//! value is recorded in the [`Ctxt`] and `None` is returned, so the caller goes on with the
//! next entry and every mistake of one attribute is reported together. Used by the
//! struct's options, the method markers and `#[actor_error]`.

use std::time::Duration;

use proc_macro2::{Spacing, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::{Lit, LitInt, LitStr, Path, Token, Type};

use crate::case;
use crate::ctxt::Ctxt;
use crate::duration;

/// A duration as written, with its value.
pub(crate) struct DurationValue {
    /// The literal, for errors about its value.
    pub(crate) lit: LitStr,
    /// `None` for `"never"`.
    pub(crate) value: Option<Duration>,
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
fn value_of(cx: &Ctxt, meta: &ParseNestedMeta, example: &str) -> syn::Result<Option<TokenStream>> {
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

/// `key = "30s"`; `"never"` only where `never_allowed`.
pub(crate) fn duration(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    never_allowed: bool,
) -> syn::Result<Option<DurationValue>> {
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
        return Ok(Some(DurationValue { lit, value: None }));
    }
    match duration::parse(&text) {
        Some(d) => Ok(Some(DurationValue {
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

/// `key = 1024`.
pub(crate) fn integer(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    example: &str,
) -> syn::Result<Option<LitInt>> {
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

/// `key = true` or `key = false`.
pub(crate) fn boolean(cx: &Ctxt, meta: &ParseNestedMeta) -> syn::Result<Option<syn::LitBool>> {
    let key = key_of(&meta.path);
    let Some(tokens) = value_of(cx, meta, "true")? else {
        return Ok(None);
    };
    match syn::parse2::<Lit>(tokens.clone()) {
        Ok(Lit::Bool(b)) => Ok(Some(b)),
        Ok(Lit::Str(s)) if matches!(s.value().as_str(), "true" | "false") => {
            let value = s.value();
            cx.error_spanned_by(
                s,
                format!("`{key}` takes `true` or `false`, not a string: `{key} = {value}`"),
            );
            Ok(None)
        }
        _ => {
            cx.error_spanned_by(
                tokens,
                format!("`{key}` takes `true` or `false`: `{key} = true`"),
            );
            Ok(None)
        }
    }
}

/// `key = Type`.
pub(crate) fn ty(cx: &Ctxt, meta: &ParseNestedMeta, example: &str) -> syn::Result<Option<Type>> {
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
