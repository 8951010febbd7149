//! `#[actor(…)]` on the state struct: the options, one entry each in [`OPTIONS`] with how
//! its value is read, the rule it must follow and the `ActorConfig` field it fills.

use std::collections::HashSet;
use std::time::Duration;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{LitInt, LitStr, Type};

use crate::case;
use crate::ctxt::Ctxt;
use crate::meta::{self, DurationValue, key_of};

/// What `#[actor(…)]` on the state struct said. Each field is `None` when not given (or
/// given in a malformed way, which is already an error).
#[derive(Default)]
pub(crate) struct StructOptions {
    pub(crate) name: Option<LitStr>,
    pub(crate) sleep_timeout: Option<DurationValue>,
    pub(crate) action_timeout: Option<DurationValue>,
    pub(crate) sleep_grace: Option<DurationValue>,
    pub(crate) inbox: Option<LitInt>,
    pub(crate) max_shared: Option<LitInt>,
    pub(crate) save_interval: Option<DurationValue>,
    pub(crate) max_schedules: Option<LitInt>,
    pub(crate) min_schedule_interval: Option<DurationValue>,
    pub(crate) keep_workflows: Option<LitInt>,
    pub(crate) vars: Option<Type>,
    pub(crate) events: Option<Type>,
    pub(crate) migrations: Option<LitStr>,
    pub(crate) namespace: Option<LitStr>,
    pub(crate) adopt_baseline: Option<syn::LitBool>,
    pub(crate) shared_database: Option<LitStr>,
}

/// One option: its key, how its value is read, its rule, and what it sets in `ActorConfig`.
pub(crate) struct OptionSpec {
    pub(crate) key: &'static str,
    read: fn(&Ctxt, &ParseNestedMeta, &mut StructOptions) -> syn::Result<()>,
    check: fn(&Ctxt, &StructOptions),
    config: fn(&StructOptions) -> Option<TokenStream>,
}

fn no_rule(_: &Ctxt, _: &StructOptions) {}

fn no_field(_: &StructOptions) -> Option<TokenStream> {
    None
}

/// Every option `#[actor(…)]` takes, in the order its messages list them.
pub(crate) const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        key: "name",
        read: |cx, meta, o| {
            o.name = meta::string(cx, meta, "\"chatRoom\"")?;
            Ok(())
        },
        check: |cx, o| {
            if let Some(lit) = &o.name {
                check_name(cx, lit);
            }
        },
        config: no_field,
    },
    OptionSpec {
        key: "sleep_timeout",
        read: |cx, meta, o| {
            o.sleep_timeout = meta::duration(cx, meta, true)?;
            Ok(())
        },
        check: no_rule,
        config: |o| {
            let value = match o.sleep_timeout.as_ref()?.value {
                Some(d) => {
                    let d = duration(d);
                    quote!(::core::option::Option::Some(#d))
                }
                None => quote!(::core::option::Option::None),
            };
            Some(quote!(sleep_timeout: #value))
        },
    },
    OptionSpec {
        key: "action_timeout",
        read: |cx, meta, o| {
            o.action_timeout = meta::duration(cx, meta, false)?;
            Ok(())
        },
        check: |cx, o| {
            if let Some(timeout) = &o.action_timeout
                && timeout.value == Some(Duration::ZERO)
            {
                cx.error_spanned_by(
                    &timeout.lit,
                    "an `action_timeout` of zero fails every action: give a duration like \"60s\"",
                );
            }
        },
        config: |o| duration_field("action_timeout", o.action_timeout.as_ref()),
    },
    OptionSpec {
        key: "sleep_grace",
        read: |cx, meta, o| {
            o.sleep_grace = meta::duration(cx, meta, false)?;
            Ok(())
        },
        check: no_rule,
        config: |o| duration_field("sleep_grace", o.sleep_grace.as_ref()),
    },
    OptionSpec {
        key: "inbox",
        read: |cx, meta, o| {
            o.inbox = meta::integer(cx, meta, "1024")?;
            Ok(())
        },
        check: |cx, o| {
            check_count(
                cx,
                o.inbox.as_ref(),
                "inbox",
                "how many calls may wait for their turn",
                "1024",
            )
        },
        config: |o| {
            let n = count(o.inbox.as_ref())?;
            Some(quote!(inbox_capacity: #n))
        },
    },
    OptionSpec {
        key: "max_shared",
        read: |cx, meta, o| {
            o.max_shared = meta::integer(cx, meta, "64")?;
            Ok(())
        },
        check: |cx, o| {
            check_count(
                cx,
                o.max_shared.as_ref(),
                "max_shared",
                "how many shared actions may run at once",
                "64",
            )
        },
        config: |o| {
            let n = count(o.max_shared.as_ref())?;
            Some(quote!(max_shared: #n))
        },
    },
    OptionSpec {
        key: "save_interval",
        read: |cx, meta, o| {
            o.save_interval = meta::duration(cx, meta, false)?;
            Ok(())
        },
        check: no_rule,
        config: |o| {
            let d = duration(o.save_interval.as_ref()?.value?);
            Some(quote!(save: ::actor::__private::SaveMode::Debounced(#d)))
        },
    },
    OptionSpec {
        key: "max_schedules",
        read: |cx, meta, o| {
            o.max_schedules = meta::integer(cx, meta, "1000")?;
            Ok(())
        },
        check: |cx, o| {
            check_count(
                cx,
                o.max_schedules.as_ref(),
                "max_schedules",
                "how many schedules one actor may hold",
                "1000",
            )
        },
        config: |o| {
            let n = count(o.max_schedules.as_ref())?;
            Some(quote!(max_schedules: #n))
        },
    },
    OptionSpec {
        key: "min_schedule_interval",
        read: |cx, meta, o| {
            o.min_schedule_interval = meta::duration(cx, meta, false)?;
            Ok(())
        },
        check: no_rule,
        config: |o| duration_field("min_schedule_interval", o.min_schedule_interval.as_ref()),
    },
    OptionSpec {
        key: "keep_workflows",
        read: |cx, meta, o| {
            o.keep_workflows = meta::integer(cx, meta, "100")?;
            Ok(())
        },
        check: |cx, o| {
            check_count(
                cx,
                o.keep_workflows.as_ref(),
                "keep_workflows",
                "how many finished workflows one actor keeps",
                "100",
            )
        },
        config: |o| {
            let n = count(o.keep_workflows.as_ref())?;
            Some(quote!(keep_workflows: #n))
        },
    },
    OptionSpec {
        key: "migrations",
        read: |cx, meta, o| {
            o.migrations = meta::string(cx, meta, "\"migrations\"")?;
            Ok(())
        },
        check: |cx, o| {
            if let Some(lit) = &o.migrations {
                check_migrations(cx, lit);
            }
        },
        config: no_field,
    },
    OptionSpec {
        key: "namespace",
        read: |cx, meta, o| {
            o.namespace = meta::string(cx, meta, "\"chat_room\"")?;
            Ok(())
        },
        check: |cx, o| {
            let Some(lit) = &o.namespace else { return };
            if o.migrations.is_none() {
                cx.error_spanned_by(
                    lit,
                    "`namespace` names the table the database's migrations are recorded in: \
                     declare the database too, with `migrations = \"migrations\"`",
                );
            } else {
                check_identifier(cx, lit, "a namespace", "chat_room");
            }
        },
        config: no_field,
    },
    OptionSpec {
        key: "adopt_baseline",
        read: |cx, meta, o| {
            o.adopt_baseline = meta::boolean(cx, meta)?;
            Ok(())
        },
        check: |cx, o| {
            if let Some(lit) = &o.adopt_baseline
                && o.migrations.is_none()
            {
                cx.error_spanned_by(
                    lit,
                    "`adopt_baseline` is about the database's migrations: declare the database \
                     too, with `migrations = \"migrations\"`",
                );
            }
        },
        config: no_field,
    },
    OptionSpec {
        key: "shared_database",
        read: |cx, meta, o| {
            o.shared_database = meta::string(cx, meta, "\"app\"")?;
            Ok(())
        },
        check: |cx, o| {
            let Some(lit) = &o.shared_database else {
                return;
            };
            if o.migrations.is_none() {
                cx.error_spanned_by(
                    lit,
                    "`shared_database` names the file the kind's database lives in: declare \
                     the database too, with `migrations = \"migrations\"`",
                );
            } else {
                check_identifier(cx, lit, "a shared database's name", "app");
            }
        },
        config: no_field,
    },
    OptionSpec {
        key: "vars",
        read: |cx, meta, o| {
            o.vars = meta::ty(cx, meta, "MyVars")?;
            Ok(())
        },
        check: no_rule,
        config: no_field,
    },
    OptionSpec {
        key: "events",
        read: |cx, meta, o| {
            o.events = meta::ty(cx, meta, "RoomEvent")?;
            Ok(())
        },
        check: no_rule,
        config: no_field,
    },
];

/// The keys of [`OPTIONS`].
pub(crate) fn keys() -> Vec<&'static str> {
    OPTIONS.iter().map(|o| o.key).collect()
}

/// Reads `name = "…", sleep_timeout = "…", …`.
pub(crate) fn parse(cx: &Ctxt, args: TokenStream) -> StructOptions {
    let mut opts = StructOptions::default();
    let mut seen = HashSet::new();
    let parser = syn::meta::parser(|meta| {
        let key = key_of(&meta.path);
        let Some(spec) = OPTIONS.iter().find(|o| o.key == key) else {
            meta::unknown(cx, &meta.path, "#[actor]", &keys());
            return meta::skip_entry(&meta);
        };
        if !seen.insert(spec.key) {
            cx.error_spanned_by(&meta.path, format!("`{key}` is given twice: keep one"));
            return meta::skip_entry(&meta);
        }
        (spec.read)(cx, &meta, &mut opts)
    });
    if let Err(err) = parser.parse2(args) {
        cx.syn_error(err);
    }
    opts
}

/// Checks every option's rule.
pub(crate) fn check(cx: &Ctxt, opts: &StructOptions) {
    for spec in OPTIONS {
        (spec.check)(cx, opts);
    }
}

/// `ActorConfig { given fields, ..Default::default() }`.
pub(crate) fn config(opts: &StructOptions) -> TokenStream {
    let fields: Vec<TokenStream> = OPTIONS.iter().filter_map(|o| (o.config)(opts)).collect();
    if fields.is_empty() {
        return quote!(::core::default::Default::default());
    }
    quote! {
        ::actor::__private::ActorConfig {
            #(#fields,)*
            ..::core::default::Default::default()
        }
    }
}

/// The kind's name: `name = "…"` when it is valid, else the camelCase of the struct's name
/// (a malformed name is reported; the stubs beside the error keep the default).
pub(crate) fn kind_name(opts: &StructOptions, struct_name: &str) -> String {
    opts.name
        .as_ref()
        .map(LitStr::value)
        .filter(|n| case::is_camel(n))
        .unwrap_or_else(|| case::camel(struct_name))
}

/// A namespace: `[a-z][a-z0-9_]*`.
fn is_namespace(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `what` (a namespace, a shared database's name) must be `[a-z][a-z0-9_]*`.
fn check_identifier(cx: &Ctxt, lit: &LitStr, what: &str, example: &str) {
    let name = lit.value();
    if is_namespace(&name) {
        return;
    }
    let message = match case::suggest_snake(&name).filter(|s| is_namespace(s)) {
        Some(fix) => format!(
            "{what} is lowercase letters, digits and `_`, starting with a letter: use `{fix}`"
        ),
        None => format!(
            "{what} is lowercase letters, digits and `_`, starting with a letter, like `{example}`"
        ),
    };
    cx.error_spanned_by(lit, message);
}

/// The migrations folder must exist (relative to the crate's `Cargo.toml`, as for
/// `sqlx::migrate!`).
fn check_migrations(cx: &Ctxt, lit: &LitStr) {
    let Ok(root) = std::env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    let path = lit.value();
    if std::path::Path::new(&path).is_absolute() {
        cx.error_spanned_by(
            lit,
            "an absolute path only works on this machine: give the migrations folder \
             relative to the crate's Cargo.toml, like `migrations = \"migrations\"`",
        );
        return;
    }
    let dir = std::path::Path::new(&root).join(&path);
    if !dir.is_dir() {
        cx.error_spanned_by(
            lit,
            format!(
                "no migrations folder at `{}`: the path is relative to the crate's Cargo.toml; \
                 create the first migration with `sqlx migrate add -r init --source {}`",
                dir.display(),
                lit.value()
            ),
        );
    }
}

/// The kind's database, for `ActorOptions` (`DATABASE`), when `migrations` names one:
/// the migrations embedded by `sqlx::migrate!`, spanned on the option so that a missing
/// `sqlx` dependency is reported there.
pub(crate) fn database(opts: &StructOptions, kind_name: &str) -> Option<TokenStream> {
    let lit = opts.migrations.as_ref()?;
    let namespace = opts.namespace.as_ref().map_or_else(
        || heck::ToSnakeCase::to_snake_case(kind_name),
        LitStr::value,
    );
    // `sqlx::migrate!` takes `./migrations`, not `migrations`: both mean the same here.
    let path = lit.value();
    let relative = if path.starts_with("./") || path.starts_with("../") {
        path
    } else {
        format!("./{path}")
    };
    let relative = LitStr::new(&relative, lit.span());
    let migrate = quote::quote_spanned!(lit.span()=> ::sqlx::migrate!(#relative));
    let adopt = opts.adopt_baseline.as_ref().is_some_and(|b| b.value);
    let shared = match &opts.shared_database {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    Some(quote! {
        const DATABASE: ::core::option::Option<&'static ::actor::database::DatabaseSpec> = {
            static SPEC: ::actor::database::DatabaseSpec = ::actor::database::DatabaseSpec {
                migrator: #migrate,
                source: #lit,
                namespace: #namespace,
                adopt_baseline: #adopt,
                shared: #shared,
                crate_name: ::core::env!("CARGO_PKG_NAME"),
            };
            ::core::option::Option::Some(&SPEC)
        };
    })
}

fn check_name(cx: &Ctxt, lit: &LitStr) {
    let name = lit.value();
    if !case::is_camel(&name) {
        let message = match case::suggest_camel(&name) {
            Some(fix) => format!("actor names are camelCase: use `{fix}`"),
            None => "actor names are camelCase ASCII letters and digits starting with a lowercase letter, like `chatRoom`".to_owned(),
        };
        cx.error_spanned_by(lit, message);
    }
}

/// A count option (`inbox`, `max_shared`): a number of at least 1 that fits a `usize`.
pub(crate) fn check_count(
    cx: &Ctxt,
    lit: Option<&LitInt>,
    key: &str,
    meaning: &str,
    example: &str,
) {
    let Some(lit) = lit else { return };
    match lit.base10_parse::<usize>() {
        Ok(0) => cx.error_spanned_by(
            lit,
            format!("`{key}` is {meaning}: use at least 1, like `{key} = {example}`"),
        ),
        Ok(_) => {}
        Err(_) => cx.error_spanned_by(
            lit,
            format!(
                "`{key}` is too large for this platform: use a smaller number, like `{key} = {example}`"
            ),
        ),
    }
}

/// The value of a count option that `check_count` accepted.
pub(crate) fn count(lit: Option<&LitInt>) -> Option<usize> {
    lit?.base10_parse().ok()
}

fn duration_field(field: &str, value: Option<&DurationValue>) -> Option<TokenStream> {
    let (field, d) = (format_ident!("{field}"), duration(value?.value?));
    Some(quote!(#field: #d))
}

/// A `Duration` constructor that reads naturally in the expansion.
pub(crate) fn duration(d: Duration) -> TokenStream {
    if d.subsec_nanos() == 0 {
        let secs = d.as_secs();
        quote!(::actor::__private::Duration::from_secs(#secs))
    } else if d.subsec_nanos().is_multiple_of(1_000_000) {
        let millis = d.as_millis() as u64;
        quote!(::actor::__private::Duration::from_millis(#millis))
    } else {
        let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
        quote!(::actor::__private::Duration::new(#secs, #nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(args: TokenStream) -> (StructOptions, Vec<String>) {
        let cx = Ctxt::new();
        let opts = parse(&cx, args);
        check(&cx, &opts);
        let errors = match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (opts, errors)
    }

    #[test]
    fn every_option() {
        let (opts, errors) = parse_all(quote! {
            name = "chatRoom", sleep_timeout = "never", action_timeout = "10s",
            sleep_grace = "2s", inbox = 16, max_shared = 8, save_interval = "500ms",
            vars = std::collections::HashMap<String, u64>, events = RoomEvent
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(opts.name.as_ref().unwrap().value(), "chatRoom");
        assert_eq!(opts.sleep_timeout.as_ref().unwrap().value, None);
        assert_eq!(
            opts.action_timeout.as_ref().unwrap().value,
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            opts.sleep_grace.as_ref().unwrap().value,
            Some(Duration::from_secs(2))
        );
        assert_eq!(opts.inbox.as_ref().unwrap().base10_digits(), "16");
        assert_eq!(opts.max_shared.as_ref().unwrap().base10_digits(), "8");
        assert_eq!(
            opts.save_interval.as_ref().unwrap().value,
            Some(Duration::from_millis(500))
        );
        let vars = opts.vars.as_ref().unwrap();
        assert_eq!(
            quote!(#vars).to_string(),
            quote!(std::collections::HashMap<String, u64>).to_string()
        );
        let events = opts.events.as_ref().unwrap();
        assert_eq!(quote!(#events).to_string(), "RoomEvent");
        let config = config(&opts).to_string();
        for field in [
            "sleep_timeout",
            "action_timeout",
            "sleep_grace",
            "inbox_capacity : 16usize",
            "max_shared : 8usize",
            "SaveMode :: Debounced",
        ] {
            assert!(config.contains(field), "{field} missing from {config}");
        }
    }

    #[test]
    fn collects_every_mistake() {
        let (_, errors) = parse_all(quote! {
            sleep_timout = "30s", inbox = "10", action_timeout = 60,
            sleep_grace = "soon", vars = "Cache", name, save_interval = "never",
            max_shared = 0, events = "RoomEvent"
        });
        assert_eq!(
            errors,
            [
                "unknown option `sleep_timout`: did you mean `sleep_timeout`? `#[actor]` takes `name`, `sleep_timeout`, `action_timeout`, `sleep_grace`, `inbox`, `max_shared`, `save_interval`, `max_schedules`, `min_schedule_interval`, `keep_workflows`, `migrations`, `namespace`, `adopt_baseline`, `shared_database`, `vars`, `events`",
                "`inbox` takes a number, not a string: `inbox = 10`",
                "durations are strings with a unit: `action_timeout = \"60s\"`",
                "expected a duration like \"30s\", \"500ms\" or \"2m\"",
                "`vars` takes a type, not a string: `vars = Cache`",
                "`name` needs a value: `name = \"chatRoom\"`",
                "`save_interval` cannot be \"never\" (only `sleep_timeout` can): give a duration like \"30s\"",
                "`events` takes a type, not a string: `events = RoomEvent`",
                "`max_shared` is how many shared actions may run at once: use at least 1, like `max_shared = 64`",
            ]
        );
    }

    #[test]
    fn rules() {
        let (_, errors) = parse_all(quote!(
            name = "Chat_Room",
            inbox = 0,
            action_timeout = "0s",
            max_shared = 99999999999999999999999
        ));
        assert_eq!(
            errors,
            [
                "actor names are camelCase: use `chatRoom`",
                "an `action_timeout` of zero fails every action: give a duration like \"60s\"",
                "`inbox` is how many calls may wait for their turn: use at least 1, like `inbox = 1024`",
                "`max_shared` is too large for this platform: use a smaller number, like `max_shared = 64`",
            ]
        );
    }

    #[test]
    fn twice() {
        let (opts, errors) = parse_all(quote!(inbox = 10, inbox = 20));
        assert_eq!(errors, ["`inbox` is given twice: keep one"]);
        assert_eq!(opts.inbox.unwrap().base10_digits(), "10");
    }

    #[test]
    fn bare_number_duration_suggests_a_unit() {
        let (_, errors) = parse_all(quote!(sleep_timeout = "30"));
        assert_eq!(errors, ["add a unit to the duration: \"30s\""]);
    }

    #[test]
    fn config_only_names_what_was_given() {
        assert_eq!(
            config(&StructOptions::default()).to_string(),
            quote!(::core::default::Default::default()).to_string()
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(
            duration(Duration::from_secs(30)).to_string(),
            quote!(::actor::__private::Duration::from_secs(30u64)).to_string()
        );
        assert_eq!(
            duration(Duration::from_millis(1500)).to_string(),
            quote!(::actor::__private::Duration::from_millis(1500u64)).to_string()
        );
        assert_eq!(
            duration(Duration::from_nanos(5)).to_string(),
            quote!(::actor::__private::Duration::new(0u64, 5u32)).to_string()
        );
    }
}
