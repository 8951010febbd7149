//! Checks that need the whole picture: receivers per role, async-ness, arity, duplicates.

use std::collections::HashMap;

use syn::ItemImpl;

use crate::ast::{ActorImpl, Method, Output, Receiver, Role};
use crate::ctxt::Ctxt;

fn check_method(cx: &Ctxt, m: &Method) {
    let sig = &m.func.sig;
    let attr = m.role.attr_name();
    if sig.asyncness.is_none() {
        cx.error_spanned_by(
            sig.fn_token,
            format!(
                "`#[{attr}]` methods must be `async fn`: add `async` before `fn {}`",
                sig.ident
            ),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(&sig.generics, format!("`#[{attr}]` methods cannot be generic: a network client must know the argument types; use concrete types"));
    }
    let needs_mut = matches!(
        m.role,
        Role::OnCreate | Role::OnWake | Role::OnSleep | Role::OnDestroy
    );
    let receiver_span = sig
        .inputs
        .first()
        .map(quote::ToTokens::to_token_stream)
        .unwrap_or_else(|| quote::ToTokens::to_token_stream(&sig.ident));
    match (&m.role, m.receiver) {
        (Role::OnStateChange, Receiver::Exclusive) => cx.error_spanned_by(
            receiver_span,
            "`#[on_state_change]` receives `&self`: it observes the new state and cannot change it; move the change into an action",
        ),
        (Role::OnStateChange, Receiver::Shared) | (Role::Action(_), Receiver::Shared | Receiver::Exclusive) => {}
        (_, Receiver::Exclusive) if needs_mut => {}
        (_, Receiver::Shared) if needs_mut => cx.error_spanned_by(
            receiver_span,
            format!("`#[{attr}]` takes `&mut self`: lifecycle hooks may change the state"),
        ),
        (_, Receiver::Value) => cx.error_spanned_by(
            receiver_span,
            format!("`#[{attr}]` cannot take `self` by value: the runtime keeps the state; take `&self` (shared) or `&mut self` (exclusive)"),
        ),
        (Role::Action(_), _) => cx.error_spanned_by(
            receiver_span,
            "actions take `&self` (shared, concurrent) or `&mut self` (exclusive, one at a time) first",
        ),
        (_, _) => cx.error_spanned_by(
            receiver_span,
            format!("`#[{attr}]` takes `{}` first", if needs_mut { "&mut self" } else { "&self" }),
        ),
    }
    match m.role {
        Role::Action(_) => {}
        Role::OnCreate => {
            if m.args.len() > 1 {
                cx.error_spanned_by(
                    &m.args[1].1,
                    "`#[on_create]` takes at most one input after the context; put several values in a struct or a tuple",
                );
            }
        }
        _ => {
            if let Some((_, ty)) = m.args.first() {
                cx.error_spanned_by(
                    ty,
                    format!(
                        "`#[{attr}]` takes no arguments besides `&self`/`&mut self` and the context"
                    ),
                );
            }
        }
    }
    if !matches!(m.role, Role::Action(_)) {
        match &m.output {
            Output::Unit => {}
            Output::Result { ok, .. } if is_unit(ok) => {}
            Output::Plain(ty) | Output::Result { ok: ty, .. } => cx.error_spanned_by(
                ty,
                format!("`#[{attr}]` returns nothing or `Result<(), E>`"),
            ),
        }
    }
}

fn is_unit(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Tuple(t) if t.elems.is_empty())
}

/// Validates the block and its methods, recording every problem in `cx`.
pub(crate) fn check(cx: &Ctxt, actor: &ActorImpl) {
    check_impl(cx, &actor.item);
    let mut names: HashMap<String, &Method> = HashMap::new();
    let mut hooks: HashMap<&'static str, &Method> = HashMap::new();
    for m in &actor.methods {
        check_method(cx, m);
        if let Role::Action(_) = m.role {
            let name = m.name();
            if names.insert(name.clone(), m).is_some() {
                cx.error_spanned_by(
                    &m.attr,
                    format!(
                        "two actions are named `{name}`; rename one with `#[action(name = \"…\")]`"
                    ),
                );
            }
        } else if hooks.insert(m.role.attr_name(), m).is_some() {
            cx.error_spanned_by(
                &m.attr,
                format!(
                    "`#[{}]` is given twice; an actor has one of each hook: merge them",
                    m.role.attr_name()
                ),
            );
        }
    }
}

fn check_impl(cx: &Ctxt, item: &ItemImpl) {
    if let Some((_, path, _)) = item.trait_.as_ref().map(|(p, f)| ((), p, f)) {
        cx.error_spanned_by(path, "`#[actor]` goes on the inherent `impl` block of the state struct (`impl Counter { … }`), not on a trait impl");
    }
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(
            &item.generics,
            "actor state cannot be generic: the registry needs one concrete type per actor name",
        );
    }
    if !matches!(&*item.self_ty, syn::Type::Path(p) if p.qself.is_none()) {
        cx.error_spanned_by(&item.self_ty, "`#[actor]` goes on `impl YourStruct { … }`");
    }
}
