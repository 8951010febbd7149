//! Whether a method's body can wait: an `async fn` without `.await` finishes on its first
//! poll, so the runtime may run its turn to the end at once, without a boxed future.

use proc_macro2::{Spacing, TokenStream, TokenTree};

/// Macros known to expand to no `.await`; any other macro might (`tokio::select!`,
/// `join!`, a user's own), so a body that calls one is taken to wait.
const PLAIN_MACROS: &[&str] = &[
    "assert",
    "assert_eq",
    "assert_ne",
    "debug",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "eprint",
    "eprintln",
    "error",
    "format",
    "info",
    "matches",
    "panic",
    "print",
    "println",
    "trace",
    "unreachable",
    "vec",
    "warn",
    "write",
    "writeln",
];

/// Whether `body` contains an `.await`, or a macro that might expand to one.
pub(crate) fn may_wait(body: TokenStream) -> bool {
    let mut prev: Option<TokenTree> = None;
    for tree in body {
        let waits = match (&prev, &tree) {
            (Some(TokenTree::Punct(dot)), TokenTree::Ident(ident)) => {
                dot.as_char() == '.' && ident == "await"
            }
            (Some(TokenTree::Ident(name)), TokenTree::Punct(bang)) => {
                // `name!`, not `name != …` (whose `!` is joined to the `=`).
                bang.as_char() == '!'
                    && bang.spacing() == Spacing::Alone
                    && !PLAIN_MACROS.iter().any(|m| name == m)
            }
            (_, TokenTree::Group(group)) => may_wait(group.stream()),
            _ => false,
        };
        if waits {
            return true;
        }
        prev = Some(tree);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::may_wait;
    use quote::quote;

    #[test]
    fn an_await_anywhere_or_an_unknown_macro_may_wait() {
        assert!(!may_wait(quote!({
            self.n += 1;
            self.n
        })));
        assert!(!may_wait(quote!({
            let s = format!("{}", self.n);
            assert!(!s.is_empty());
            s
        })));
        assert!(!may_wait(quote!({
            if self.n != 0 {
                self.n = !self.n;
            }
        })));
        assert!(may_wait(quote!({ other.call().await })));
        assert!(may_wait(quote!({
            if x {
                for y in z {
                    f(y).await?;
                }
            }
        })));
        assert!(may_wait(quote!({
            let f = async { g().await };
            1
        })));
        assert!(may_wait(quote!({
            tokio::select! { _ = a => 1 }
        })));
        assert!(may_wait(quote!({ my_macro!(x) })));
        // A field or method named `await` cannot exist (it is a keyword): `.await` is
        // always a wait.
        assert!(!may_wait(quote!({ r#await() })));
    }
}
