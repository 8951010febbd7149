//! `#[queue(…)]` on a handler: the queue's name and options, one entry each in
//! [`QUEUE_OPTIONS`] with how its value is read, its rule and the `QueueInfo` field it
//! fills (as `options.rs` does for the struct's options).

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitInt, LitStr, Meta};

use crate::case;
use crate::ctxt::Ctxt;
use crate::meta::{self, DurationValue, key_of};
use crate::options::{check_count, count, duration};

/// What `#[queue(…)]` said; each field `None` when not given (or malformed, which is
/// already an error).
#[derive(Default)]
pub(crate) struct QueueOptions {
    pub(crate) name: Option<LitStr>,
    max_attempts: Option<LitInt>,
    backoff: Option<DurationValue>,
    max_backoff: Option<DurationValue>,
    dead_letters: Option<LitStr>,
    capacity: Option<LitInt>,
    max_message_size: Option<LitInt>,
}

/// One option: its key, how its value is read, its rule, and the `QueueInfo` field.
struct QueueOptionSpec {
    key: &'static str,
    read: fn(&Ctxt, &ParseNestedMeta, &mut QueueOptions) -> syn::Result<()>,
    check: fn(&Ctxt, &QueueOptions),
    field: fn(&QueueOptions) -> Option<TokenStream>,
}

/// The dead-letter policies, as written.
const POLICIES: &[(&str, &str)] = &[("keep", "Keep"), ("discard", "Discard")];

/// Every option, in the order messages list them.
const QUEUE_OPTIONS: &[QueueOptionSpec] = &[
    QueueOptionSpec {
        key: "name",
        read: |cx, meta, o| {
            o.name = meta::string(cx, meta, "\"taskCommand\"")?;
            Ok(())
        },
        // The name's rule is the role's (`valid::check_name`).
        check: |_, _| {},
        field: |_| None,
    },
    QueueOptionSpec {
        key: "max_attempts",
        read: |cx, meta, o| {
            o.max_attempts = meta::integer(cx, meta, "5")?;
            Ok(())
        },
        check: |cx, o| {
            let Some(lit) = &o.max_attempts else { return };
            match lit.base10_parse::<u32>() {
                Ok(0) => cx.error_spanned_by(
                    lit,
                    "`max_attempts` counts the first attempt too: use at least 1, like `max_attempts = 5`",
                ),
                Ok(_) => {}
                Err(_) => cx.error_spanned_by(
                    lit,
                    "`max_attempts` is at most 4294967295: use a smaller number, like `max_attempts = 5`",
                ),
            }
        },
        field: |o| {
            let n: u32 = o.max_attempts.as_ref()?.base10_parse().ok()?;
            Some(quote!(max_attempts: #n))
        },
    },
    QueueOptionSpec {
        key: "backoff",
        read: |cx, meta, o| {
            o.backoff = meta::duration(cx, meta, false)?;
            Ok(())
        },
        check: |_, _| {},
        field: |o| {
            let d = duration(o.backoff.as_ref()?.value?);
            Some(quote!(first_backoff: #d))
        },
    },
    QueueOptionSpec {
        key: "max_backoff",
        read: |cx, meta, o| {
            o.max_backoff = meta::duration(cx, meta, false)?;
            Ok(())
        },
        check: |cx, o| {
            let (Some(first), Some(max)) = (&o.backoff, &o.max_backoff) else {
                return;
            };
            if let (Some(f), Some(m)) = (first.value, max.value)
                && m < f
            {
                cx.error_spanned_by(
                    &max.lit,
                    format!(
                        "`max_backoff` is shorter than `backoff` ({:?} < {:?}): make it at least {:?}",
                        m, f, f
                    ),
                );
            }
        },
        field: |o| {
            let d = duration(o.max_backoff.as_ref()?.value?);
            Some(quote!(max_backoff: #d))
        },
    },
    QueueOptionSpec {
        key: "dead_letters",
        read: |cx, meta, o| {
            o.dead_letters = meta::string(cx, meta, "\"keep\"")?;
            Ok(())
        },
        check: |cx, o| {
            let Some(lit) = &o.dead_letters else { return };
            let value = lit.value();
            if POLICIES.iter().any(|(p, _)| *p == value) {
                return;
            }
            let names: Vec<&str> = POLICIES.iter().map(|(p, _)| *p).collect();
            let hint = case::closest(&value, &names)
                .map(|p| format!("did you mean \"{p}\"? "))
                .unwrap_or_default();
            cx.error_spanned_by(
                lit,
                format!(
                    "{hint}`dead_letters` is \"keep\" (failed messages are kept to list, replay or discard) or \"discard\" (they are logged and dropped)"
                ),
            );
        },
        field: |o| {
            let value = o.dead_letters.as_ref()?.value();
            let (_, variant) = POLICIES.iter().find(|(p, _)| *p == value)?;
            let variant = format_ident!("{variant}");
            Some(quote!(dead_letters: ::actor::__private::DeadLetters::#variant))
        },
    },
    QueueOptionSpec {
        key: "capacity",
        read: |cx, meta, o| {
            o.capacity = meta::integer(cx, meta, "1000")?;
            Ok(())
        },
        check: |cx, o| {
            check_count(
                cx,
                o.capacity.as_ref(),
                "capacity",
                "how many messages the queue holds",
                "1000",
            )
        },
        field: |o| {
            let n = count(o.capacity.as_ref())?;
            Some(quote!(capacity: #n))
        },
    },
    QueueOptionSpec {
        key: "max_message_size",
        read: |cx, meta, o| {
            o.max_message_size = meta::integer(cx, meta, "65536")?;
            Ok(())
        },
        check: |cx, o| {
            check_count(
                cx,
                o.max_message_size.as_ref(),
                "max_message_size",
                "the largest message in bytes",
                "65536",
            )
        },
        field: |o| {
            let n = count(o.max_message_size.as_ref())?;
            Some(quote!(max_message_size: #n))
        },
    },
];

fn keys() -> Vec<&'static str> {
    QUEUE_OPTIONS.iter().map(|o| o.key).collect()
}

/// Reads `#[queue]` or `#[queue(name = "…", max_attempts = 3, …)]`.
pub(crate) fn parse(cx: &Ctxt, attr: &Attribute) -> QueueOptions {
    let mut opts = QueueOptions::default();
    match &attr.meta {
        Meta::Path(_) => {}
        Meta::NameValue(nv) => {
            let value = &nv.value;
            cx.error_spanned_by(attr, format!("write `#[queue(name = {})]`", quote!(#value)));
        }
        Meta::List(_) => {
            let mut seen = HashSet::new();
            let result = attr.parse_nested_meta(|meta| {
                let key = key_of(&meta.path);
                let Some(spec) = QUEUE_OPTIONS.iter().find(|o| o.key == key) else {
                    meta::unknown(cx, &meta.path, "#[queue]", &keys());
                    return meta::skip_entry(&meta);
                };
                if !seen.insert(spec.key) {
                    cx.error_spanned_by(&meta.path, format!("`{key}` is given twice: keep one"));
                    return meta::skip_entry(&meta);
                }
                (spec.read)(cx, &meta, &mut opts)
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
    }
    opts
}

/// Checks every option's rule.
pub(crate) fn check(cx: &Ctxt, opts: &QueueOptions) {
    for spec in QUEUE_OPTIONS {
        (spec.check)(cx, opts);
    }
}

/// The queue's `QueueInfo`: the defaults with what was written; `handled` is `false` for
/// a queue the run loop takes.
pub(crate) fn info(name: &str, handled: bool, opts: &QueueOptions) -> TokenStream {
    let mut fields: Vec<TokenStream> = QUEUE_OPTIONS
        .iter()
        .filter_map(|o| (o.field)(opts))
        .collect();
    if !handled {
        fields.push(quote!(handled: false));
    }
    quote! {
        ::actor::__private::QueueInfo {
            #(#fields,)*
            ..::actor::__private::QueueInfo::new(#name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(attr: Attribute) -> (QueueOptions, Vec<String>) {
        let cx = Ctxt::new();
        let opts = parse(&cx, &attr);
        check(&cx, &opts);
        let errors = match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (opts, errors)
    }

    #[test]
    fn every_option() {
        let (opts, errors) = read(syn::parse_quote!(#[queue(
            name = "tasks", max_attempts = 3, backoff = "500ms", max_backoff = "1m",
            dead_letters = "discard", capacity = 10, max_message_size = 1024
        )]));
        assert!(errors.is_empty(), "{errors:?}");
        let info = info("tasks", true, &opts).to_string();
        for field in [
            "max_attempts : 3u32",
            "first_backoff : :: actor :: __private :: Duration :: from_millis (500u64)",
            "max_backoff : :: actor :: __private :: Duration :: from_secs (60u64)",
            "DeadLetters :: Discard",
            "capacity : 10usize",
            "max_message_size : 1024usize",
            "QueueInfo :: new (\"tasks\")",
        ] {
            assert!(info.contains(field), "{field} in {info}");
        }
    }

    #[test]
    fn mistakes() {
        let (_, errors) = read(syn::parse_quote!(#[queue(
            max_attempts = 0, backoff = "2s", max_backoff = "1s", dead_letters = "kep",
            capacity = 0, retries = 3
        )]));
        assert_eq!(
            errors,
            [
                "unknown option `retries`: `#[queue]` takes `name`, `max_attempts`, `backoff`, `max_backoff`, `dead_letters`, `capacity`, `max_message_size`",
                "`max_attempts` counts the first attempt too: use at least 1, like `max_attempts = 5`",
                "`max_backoff` is shorter than `backoff` (1s < 2s): make it at least 2s",
                "did you mean \"keep\"? `dead_letters` is \"keep\" (failed messages are kept to list, replay or discard) or \"discard\" (they are logged and dropped)",
                "`capacity` is how many messages the queue holds: use at least 1, like `capacity = 1000`",
            ]
        );
    }
}
