//! Tokens, and which calls need which.

use std::fmt;
use std::sync::Arc;

use actor::{ActorError, codes};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;

use super::ServerOptions;

/// A secret the server compares requests against: in constant time, and never printed
/// (`Debug` shows `Token(..)`).
///
/// ```
/// let token = registry::Token::new("s3cret");
/// assert!(token.matches("s3cret"));
/// assert!(!token.matches("s3cre"));
/// assert_eq!(format!("{token:?}"), "Token(..)");
/// ```
#[derive(Clone)]
pub struct Token(Arc<str>);

impl Token {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into().into())
    }

    /// Whether `given` is this token. The time taken depends on the lengths only.
    pub fn matches(&self, given: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(given.as_bytes()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

/// What a call needs to be let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Actor calls and lookups: the client token, if one is set (the admin token passes
    /// too).
    Client,
    /// Listing and destroying actors: the admin token, which must be set.
    Admin,
}

/// The tokens a request carries: `Authorization: Bearer`, `x-rivet-token`, and whatever
/// the caller found in the URL (`@token` of the gateway's path, `rvt-token`).
pub(crate) fn presented<'a>(
    headers: &'a HeaderMap,
    in_url: Option<&'a str>,
) -> impl Iterator<Item = &'a str> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let header = headers.get("x-rivet-token").and_then(|v| v.to_str().ok());
    [bearer, header, in_url].into_iter().flatten()
}

/// Lets the call through, or says which token it lacks (never which it sent).
pub(crate) fn check<'a>(
    options: &ServerOptions,
    needs: Needs,
    mut tokens: impl Iterator<Item = &'a str>,
) -> Result<(), ActorError> {
    let admin = options.admin_token.as_ref();
    let passes = |token: &str| match needs {
        Needs::Client => {
            options
                .client_token
                .as_ref()
                .is_none_or(|t| t.matches(token))
                || admin.is_some_and(|t| t.matches(token))
        }
        Needs::Admin => admin.is_some_and(|t| t.matches(token)),
    };
    match needs {
        Needs::Client if options.client_token.is_none() => return Ok(()),
        _ if tokens.any(passes) => return Ok(()),
        _ => {}
    }
    let message = match needs {
        Needs::Client => {
            "this server requires its client token on actor calls: send it as \
             `Authorization: Bearer <token>` or `x-rivet-token`, or give the client its `token`"
        }
        Needs::Admin if admin.is_none() => {
            "listing and destroying actors need the admin token, and this server has none: \
             start it with ServerOptions::admin_token"
        }
        Needs::Admin => {
            "listing and destroying actors need the admin token: send it as \
             `Authorization: Bearer <token>`"
        }
    };
    let needs = match needs {
        Needs::Client => "client",
        Needs::Admin => "admin",
    };
    Err(ActorError::of(codes::FORBIDDEN, message)
        .with_metadata(serde_json::json!({ "needs": needs })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn client_calls_pass_without_a_client_token_and_need_it_once_set() {
        let open = ServerOptions::default();
        assert!(check(&open, Needs::Client, presented(&HeaderMap::new(), None)).is_ok());
        let closed = ServerOptions::default().client_token("c").admin_token("a");
        let err = check(&closed, Needs::Client, presented(&HeaderMap::new(), None)).unwrap_err();
        assert!(err.is(codes::FORBIDDEN), "{err}");
        assert_eq!(err.metadata().unwrap()["needs"], "client");
        for (h, url) in [
            (headers(&[("authorization", "Bearer c")]), None),
            (headers(&[("x-rivet-token", "c")]), None),
            (HeaderMap::new(), Some("c")),
            (headers(&[("authorization", "Bearer a")]), None),
        ] {
            assert!(check(&closed, Needs::Client, presented(&h, url)).is_ok());
        }
        let wrong = headers(&[("authorization", "Bearer nope")]);
        assert!(check(&closed, Needs::Client, presented(&wrong, None)).is_err());
    }

    #[test]
    fn admin_calls_need_the_admin_token_which_must_be_set() {
        let none = ServerOptions::default().client_token("c");
        let err = check(
            &none,
            Needs::Admin,
            presented(&headers(&[("authorization", "Bearer c")]), None),
        )
        .unwrap_err();
        assert!(err.message().contains("has none"), "{err}");
        let set = ServerOptions::default().admin_token("a");
        assert!(
            check(
                &set,
                Needs::Admin,
                presented(&headers(&[("authorization", "Bearer a")]), None)
            )
            .is_ok()
        );
        let sent = headers(&[("x-rivet-token", "wrong-token-x9")]);
        let err = check(&set, Needs::Admin, presented(&sent, None)).unwrap_err();
        assert!(!err.to_string().contains("wrong-token-x9"), "{err}");
        assert_eq!(err.metadata().unwrap()["needs"], "admin");
    }
}
