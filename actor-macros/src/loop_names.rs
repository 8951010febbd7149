//! The queue names a `#[run]` loop's body passes as literals to the loop's message
//! methods (`lp.next(&["tick", "command"], …)`), so validation can check each against the
//! loop's queues. Read from the body's tokens: a call `lp.next(…)`, `lp.next_batch(…)`,
//! `lp.stream(…)` or `lp.next_coalesced(…)` on the loop's own parameter whose arguments
//! include an array of string literals (`&[…]` or `[…]`). Names built at run time, and
//! calls through a clone of the loop, are checked when the loop runs.

use proc_macro2::{Delimiter, Ident, TokenStream, TokenTree};
use syn::LitStr;

/// The loop methods whose arguments name queues.
const METHODS: &[&str] = &["next", "next_batch", "stream", "next_coalesced"];

/// Every string literal in an array argument of a loop method called on `lp` in `body`.
pub(crate) fn read(lp: &Ident, body: TokenStream) -> Vec<LitStr> {
    let mut names = Vec::new();
    scan(lp, body, &mut names);
    names
}

fn scan(lp: &Ident, tokens: TokenStream, names: &mut Vec<LitStr>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tt) in tokens.iter().enumerate() {
        if let TokenTree::Group(group) = tt {
            let called = i >= 3
                && group.delimiter() == Delimiter::Parenthesis
                && matches!(&tokens[i - 1], TokenTree::Ident(id) if METHODS.contains(&id.to_string().as_str()))
                && matches!(&tokens[i - 2], TokenTree::Punct(p) if p.as_char() == '.')
                && matches!(&tokens[i - 3], TokenTree::Ident(id) if id == lp);
            if called {
                arrays_of_names(group.stream(), names);
            }
            scan(lp, group.stream(), names);
        }
    }
}

/// The string literals in each `[…]` group directly among `args`.
fn arrays_of_names(args: TokenStream, names: &mut Vec<LitStr>) {
    for tt in args {
        let TokenTree::Group(group) = tt else {
            continue;
        };
        if group.delimiter() != Delimiter::Bracket {
            continue;
        }
        names.extend(
            group
                .stream()
                .into_iter()
                .filter_map(|t| syn::parse2::<LitStr>(t.into()).ok()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn names(body: TokenStream) -> Vec<String> {
        let lp: Ident = syn::parse_quote!(lp);
        read(&lp, body).iter().map(LitStr::value).collect()
    }

    #[test]
    fn literals_in_loop_calls() {
        let body = quote!({
            loop {
                let m = lp
                    .next(&["tick", "command"], Duration::from_secs(1))
                    .await?;
                let b = lp.next_batch(["a"], 10, t).await?;
                let c = lp.next_coalesced(&["tick"], &["tick"], w, t).await?;
                let s = lp.stream(&["events"]);
                let other = vec.next(&["not", "a", "loop"]);
                let built = lp.next(&names, t);
                let mixed = lp.next(&["ok", name], t);
            }
        });
        assert_eq!(
            names(body),
            ["tick", "command", "a", "tick", "tick", "events", "ok"]
        );
    }
}
