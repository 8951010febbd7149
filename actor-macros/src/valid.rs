//! The rules, checked on the parsed form (thiserror's `valid.rs`): the struct's shape and
//! options, the impl block's shape, and each marked method against its [`Role`]'s rules
//! (receiver, arguments, result, name). Every error lands on the user's token that has to
//! change and says what to write instead.

use std::collections::HashSet;

use quote::{ToTokens, quote};
use syn::{GenericArgument, PathArguments, Type};

use crate::ast::{ActorImpl, CtxForm, Method, Output, Param, Receiver, State, is_unit};
use crate::case;
use crate::ctxt::Ctxt;
use crate::options;
use crate::queue_options;
use crate::role::{ArgsRule, Expansion, Identity, Naming, OutputRule};

/// Checks the state struct and its options.
pub(crate) fn check_state(cx: &Ctxt, state: &State) {
    let item = &state.item;
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(
            &item.generics,
            "actor state cannot be generic: the registry needs one concrete type per actor name; remove the parameters and use concrete field types",
        );
    }
    options::check(cx, &state.options);
}

/// Checks the impl block and every marked method.
pub(crate) fn check_impl(cx: &Ctxt, actor: &ActorImpl) {
    let item = &actor.item;
    if !actor.args.is_empty() {
        cx.error_spanned_by(
            &actor.args,
            "options go on the struct: move them to `#[actor(…)]` on the state struct; the impl block takes a bare `#[actor]`",
        );
    }
    if let Some((path, for_token)) = &item.trait_ {
        cx.error_spanned_by(
            quote!(#path #for_token),
            "`#[actor]` goes on the state struct's own `impl Name { … }` block, not on a trait impl: move the actions there",
        );
    }
    let generic = "actor state cannot be generic: the registry needs one concrete type per actor name; remove the parameters";
    let self_ident = self_ident(&item.self_ty);
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(&item.generics, generic);
    } else if let Some(args) = generic_args(&item.self_ty) {
        cx.error_spanned_by(args, generic);
    } else if self_ident.is_none() {
        cx.error_spanned_by(
            &item.self_ty,
            "`#[actor]` goes on `impl Name { … }`, where `Name` is the `#[actor]` state struct",
        );
    }

    check_loop_names(cx, actor);
    // Names are unique per role: an action and a queue may share one.
    let mut names: HashSet<(&'static str, String)> = HashSet::new();
    let mut once: HashSet<&str> = HashSet::new();
    let mut main: Option<&Method> = None;
    for m in &actor.methods {
        if m.has_body {
            check_signature(cx, m);
            check_receiver(cx, m);
        } else {
            check_declaration(cx, m, actor);
        }
        check_params(cx, m, self_ident);
        if m.has_body {
            check_output(cx, m);
        }
        if let Some(options) = &m.queue {
            queue_options::check(cx, options);
        }
        check_main(cx, m, &mut main);
        match m.role.identity {
            Identity::Named(naming) => check_name(cx, m, naming, &mut names),
            Identity::Once => {
                let marker = m.role.marker;
                if !once.insert(marker) {
                    cx.error_spanned_by(
                        &m.marker,
                        format!(
                            "`#[{marker}]` is given twice: an actor has one `#[{marker}]`; merge the two methods"
                        ),
                    );
                }
            }
        }
    }
}

/// The rule of queue names, which RivetKit clients address by one camelCase word.
const QUEUE_NAME: case::CamelName = case::CamelName {
    what: "queue",
    why: "address a queue by one camelCase name",
    example: "taskCommand",
};

/// A named method's name, spelled by its role's rule and unique among the actor's
/// methods of that role.
fn check_name(cx: &Ctxt, m: &Method, naming: Naming, names: &mut HashSet<(&'static str, String)>) {
    let name = m.name();
    let name_tokens = match &m.name {
        Some(lit) => lit.to_token_stream(),
        None => m.ident().to_token_stream(),
    };
    let marker = m.role.marker;
    let message = match naming {
        Naming::AsWritten if case::is_camel(&name) || case::is_snake(&name) => None,
        Naming::AsWritten => Some(match (&m.name, case::suggest_camel(&name)) {
            (Some(_), Some(fix)) => {
                format!("{marker} names are camelCase or snake_case ASCII: use `{fix}`")
            }
            (Some(_), None) => {
                format!("{marker} names are camelCase or snake_case ASCII, like `doThing`")
            }
            (None, _) => format!(
                "`{name}` cannot be {} {marker} name: {marker} names are camelCase or snake_case ASCII; give one with `#[{marker}(name = \"doThing\")]`",
                if marker.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                }
            ),
        }),
        Naming::Camel => QUEUE_NAME.error(&name, m.name.is_some()),
    };
    if let Some(message) = message {
        cx.error_spanned_by(&name_tokens, message);
    }
    if !names.insert((m.role.marker, name.clone())) {
        cx.error_spanned_by(
            &name_tokens,
            format!(
                "two {} are named `{name}`: rename one with `#[{}(name = \"…\")]`",
                m.role, m.role.marker
            ),
        );
    }
}

/// A main workflow (`#[workflow(main)]`) takes no input, and an actor has at most one;
/// `first` is the one seen so far.
fn check_main<'a>(cx: &Ctxt, m: &'a Method, first: &mut Option<&'a Method>) {
    let Some(flag) = &m.main else { return };
    if let Some(input) = m.args().next() {
        let (pat, ty) = (&input.pat, &input.ty);
        cx.error_spanned_by(
            quote!(#pat: #ty),
            "a main workflow starts by itself when the actor is created, so it takes no input; remove it and read what it needs from the state in a step, or drop `main` and start the workflow with its input",
        );
    }
    match first {
        Some(main) => cx.error_spanned_by(
            flag,
            format!(
                "an actor has one main workflow, and it is `fn {}`: remove `main` from one of them",
                main.ident()
            ),
        ),
        None => *first = Some(m),
    }
}

/// A queue declared without a body, for the run loop: no `self`, no result, and a loop
/// to take its messages.
fn check_declaration(cx: &Ctxt, m: &Method, actor: &ActorImpl) {
    let sig = &m.sig;
    let name = m.name();
    if let Some(receiver) = sig.receiver() {
        cx.error_spanned_by(
            receiver,
            format!(
                "a queue the run loop takes is declared without `self` and without a body: `fn {}(message: T);`",
                m.ident()
            ),
        );
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output
        && !is_unit(ty)
    {
        cx.error_spanned_by(
            ty,
            "the run loop takes this queue's messages, so no handler returns a value: remove the return type (give the method a body to make it a handler)",
        );
    }
    // A run loop or a workflow (`wf.message(…)`) takes the messages.
    let has_taker = actor
        .methods
        .iter()
        .any(|other| matches!(other.role.expansion, Expansion::Run | Expansion::Workflow));
    if !has_taker {
        cx.error_spanned_by(
            sig,
            format!(
                "queue `{name}` has no handler, and the actor has neither a `#[run]` loop nor a `#[workflow]` to take its messages: give it a body (and `&mut self`) to handle each message, or add a `#[run]` method"
            ),
        );
    }
}

/// The queue names the run loop passes as literals: each one of its queues.
fn check_loop_names(cx: &Ctxt, actor: &ActorImpl) {
    let loop_queues: Vec<String> = actor
        .methods
        .iter()
        .filter(|m| matches!(m.role.expansion, Expansion::Queue) && !m.has_body)
        .map(Method::name)
        .collect();
    let listed = if loop_queues.is_empty() {
        "it declares none: add one like `#[queue] fn tick(tick: Tick);`".to_string()
    } else {
        let names: Vec<String> = loop_queues.iter().map(|n| format!("`{n}`")).collect();
        format!("its queues are {}", names.join(", "))
    };
    for m in actor
        .methods
        .iter()
        .filter(|m| matches!(m.role.expansion, Expansion::Run))
    {
        for lit in &m.loop_names {
            let name = lit.value();
            if loop_queues.contains(&name) {
                continue;
            }
            let handled = actor.methods.iter().find(|q| {
                matches!(q.role.expansion, Expansion::Queue) && q.has_body && q.name() == name
            });
            let message = match handled {
                Some(handler) => format!(
                    "queue `{name}` has a handler (`fn {}`), which takes its messages; the loop takes only the queues declared without a body: {listed}",
                    handler.ident()
                ),
                None => format!("the run loop has no queue `{name}`: {listed}"),
            };
            cx.error_spanned_by(lit, message);
        }
    }
}

/// The struct's name, when the impl is `impl Name` or `impl path::to::Name`.
pub(crate) fn self_ident(ty: &Type) -> Option<&syn::Ident> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    (p.qself.is_none() && matches!(last.arguments, PathArguments::None)).then_some(&last.ident)
}

/// The `<…>` of `impl Name<…>`, if any.
fn generic_args(ty: &Type) -> Option<&syn::AngleBracketedGenericArguments> {
    let Type::Path(p) = ty else { return None };
    match &p.path.segments.last()?.arguments {
        PathArguments::AngleBracketed(args) => Some(args),
        _ => None,
    }
}

fn check_signature(cx: &Ctxt, m: &Method) {
    let sig = &m.sig;
    let ident = &sig.ident;
    let subject = m.role;
    if sig.asyncness.is_none() {
        cx.error_spanned_by(sig.fn_token, m.role.not_async(ident));
    }
    if let syn::Safety::Unsafe(token) = &sig.safety {
        cx.error_spanned_by(
            token,
            format!("{subject} cannot be `unsafe`: the runtime cannot uphold a safety contract; remove `unsafe`"),
        );
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(
            abi,
            format!(
                "{subject} use the Rust ABI: remove `{}`",
                abi.to_token_stream()
            ),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        let generics = &sig.generics;
        let where_clause = &generics.where_clause;
        cx.error_spanned_by(
            quote!(#generics #where_clause),
            format!("{subject} cannot be generic: a client must know the argument types; use concrete types"),
        );
    }
}

fn check_receiver(cx: &Ctxt, m: &Method) {
    let Some(message) = m.role.receiver_error(m.receiver) else {
        return;
    };
    let sig = &m.sig;
    match sig.inputs.first() {
        Some(receiver) if m.receiver != Receiver::Missing => cx.error_spanned_by(receiver, message),
        _ => cx.error_at(sig.paren_token.span.join(), message),
    }
}

fn check_params(cx: &Ctxt, m: &Method, self_ident: Option<&syn::Ident>) {
    match m.role.args {
        ArgsRule::LoopContext => return check_loop_context(cx, m),
        ArgsRule::Connection => return check_connection(cx, m, self_ident),
        ArgsRule::WorkflowContext { .. } => check_workflow_context(cx, m),
        _ => {
            for (i, p) in m.params.iter().enumerate() {
                match p.ctx {
                    Some(form) => check_ctx(cx, p, form, i, self_ident),
                    None => check_arg(cx, p),
                }
            }
        }
    }
    let args: Vec<&Param> = m.args().collect();
    let subject = m.role;
    match m.role.args {
        ArgsRule::Any => {}
        ArgsRule::AtMostOne { fix } | ArgsRule::WorkflowContext { fix } => {
            if let Some(extra) = args.get(1) {
                let (pat, ty) = (&extra.pat, &extra.ty);
                cx.error_spanned_by(
                    quote!(#pat: #ty),
                    format!(
                        "{subject} {} at most one input after the context: {fix}",
                        subject.verb("takes", "take")
                    ),
                );
            }
        }
        ArgsRule::One {
            what,
            missing,
            extra,
        } => {
            let take = subject.verb("takes", "take");
            match args.get(1) {
                None if args.is_empty() => {
                    let sig = &m.sig;
                    cx.error_at(
                        sig.paren_token.span.join(),
                        format!("{subject} {take} one {what}: {missing}"),
                    );
                }
                None => {}
                Some(second) => {
                    let (pat, ty) = (&second.pat, &second.ty);
                    cx.error_spanned_by(
                        quote!(#pat: #ty),
                        format!("{subject} {take} one {what}, not several: {extra}"),
                    );
                }
            }
        }
        ArgsRule::LoopContext => unreachable!("checked by `check_loop_context`"),
        ArgsRule::Connection => unreachable!("checked by `check_connection`"),
        ArgsRule::None => {
            for extra in &args {
                let (pat, ty) = (&extra.pat, &extra.ty);
                cx.error_spanned_by(
                    quote!(#pat: #ty),
                    format!(
                        "{subject} takes no arguments besides the context: remove `{}`",
                        quote!(#pat: #ty).to_string().replace(" :", ":")
                    ),
                );
            }
        }
    }
}

/// Whether the method's own context is taken by value (`lp: Loop<Self>`, not
/// `lp: &Loop<Self>`).
fn own_context_by_value(m: &Method) -> bool {
    m.own_context()
        .is_some_and(|p| !matches!(p.ty, Type::Reference(_)))
}

/// The run loop takes `lp: Loop<Self>` and nothing else.
fn check_loop_context(cx: &Ctxt, m: &Method) {
    let subject = m.role;
    match &m.params[..] {
        [] => cx.error_at(
            m.sig.paren_token.span.join(),
            format!("{subject} takes the loop's context: write `lp: Loop<Self>`"),
        ),
        [first, rest @ ..] => {
            if !own_context_by_value(m) {
                let ty = &first.ty;
                cx.error_spanned_by(
                    ty,
                    format!("{subject} takes the loop's context, by value: write `Loop<Self>`"),
                );
            }
            for extra in rest {
                let (pat, ty) = (&extra.pat, &extra.ty);
                cx.error_spanned_by(
                    quote!(#pat: #ty),
                    format!("{subject} takes only the loop's context: remove this parameter (the loop reaches the actor's context as `lp.ctx()`)"),
                );
            }
        }
    }
}

/// A workflow takes `wf: Workflow<Self>` first, by value, and no `ctx`; its input is an
/// argument like an action's (how many is the [`ArgsRule`]'s business).
fn check_workflow_context(cx: &Ctxt, m: &Method) {
    let subject = m.role;
    match (m.params.first(), m.own_context()) {
        (None, _) => cx.error_at(
            m.sig.paren_token.span.join(),
            format!("{subject} take the workflow's context first: add `wf: Workflow<Self>`"),
        ),
        (Some(first), None) => {
            let (pat, ty) = (&first.pat, &first.ty);
            cx.error_spanned_by(
                quote!(#pat: #ty),
                format!("{subject} take the workflow's context first: add `wf: Workflow<Self>` before this parameter"),
            );
        }
        (Some(context), Some(_)) if !own_context_by_value(m) => cx.error_spanned_by(
            &context.ty,
            format!("{subject} take the workflow's context by value: write `Workflow<Self>`"),
        ),
        (Some(_), Some(_)) => {}
    }
    for p in m.after_own_context() {
        if p.ctx.is_some() {
            cx.error_spanned_by(
                &p.ty,
                format!("{subject} take no `ctx`: it belongs to one turn, and a workflow runs beside the turns; reach the actor inside a step (`wf.turn(…)`) and remove it"),
            );
        } else {
            check_arg(cx, p);
        }
    }
}

/// A connection hook takes, after the optional `ctx`, exactly `conn: &Conn<Self>`: the
/// connection is recognised by the last path segment of its type.
fn check_connection(cx: &Ctxt, m: &Method, self_ident: Option<&syn::Ident>) {
    let subject = m.role;
    let mut conn = None;
    for (i, p) in m.params.iter().enumerate() {
        let (pat, ty) = (&p.pat, &p.ty);
        if let Some(form) = p.ctx {
            check_ctx(cx, p, form, i, self_ident);
        } else if conn.is_some() {
            cx.error_spanned_by(
                quote!(#pat: #ty),
                format!(
                    "{subject} takes only the connection after the context: remove `{}`",
                    tidy(&quote!(#pat: #ty))
                ),
            );
        } else if is_conn(ty) {
            conn = Some(p);
            match ty {
                Type::Reference(r) if r.mutability.is_none() => {
                    if !names_self(&r.elem, self_ident) {
                        cx.error_spanned_by(
                            ty,
                            "the connection is this actor's: write `&Conn<Self>`",
                        );
                    }
                }
                Type::Reference(_) => cx.error_spanned_by(
                    ty,
                    format!(
                        "{subject} takes the connection by shared reference: write `&Conn<Self>`"
                    ),
                ),
                _ => cx.error_spanned_by(
                    ty,
                    format!("{subject} takes the connection by reference: write `&Conn<Self>`"),
                ),
            }
        } else {
            // Another argument where the connection goes: this is its place.
            conn = Some(p);
            cx.error_spanned_by(
                quote!(#pat: #ty),
                format!(
                    "{subject} takes the connection, not other arguments: write `conn: &Conn<Self>` instead of `{}`",
                    tidy(&quote!(#pat: #ty))
                ),
            );
        }
    }
    if conn.is_none() {
        cx.error_at(
            m.sig.paren_token.span.join(),
            format!("{subject} takes the connection: add `conn: &Conn<Self>`"),
        );
    }
}

/// Whether `ty` is the connection, by value or behind a reference: a path whose last
/// segment is `Conn`.
fn is_conn(ty: &Type) -> bool {
    let named = match ty {
        Type::Reference(r) => &*r.elem,
        ty => ty,
    };
    matches!(named, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "Conn"))
}

/// Tokens as written, without the spaces `to_string` puts around punctuation.
fn tidy(tokens: &proc_macro2::TokenStream) -> String {
    tokens
        .to_string()
        .replace(" :", ":")
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace("& ", "&")
}

/// Whether the one type argument of `ty` (a path, `Ctx<…>` or `Conn<…>`) names this actor:
/// `Self`, or the struct's name.
fn names_self(ty: &Type, self_ident: Option<&syn::Ident>) -> bool {
    let Type::Path(path) = ty else { return false };
    let last = path.path.segments.last().expect("a path has a segment");
    match &last.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            GenericArgument::Type(Type::Path(arg)) => {
                arg.qself.is_none()
                    && (arg.path.is_ident("Self")
                        || self_ident.is_some_and(|s| {
                            arg.path.segments.last().is_some_and(|l| &l.ident == s)
                        }))
            }
            _ => false,
        },
        _ => false,
    }
}

fn check_ctx(cx: &Ctxt, p: &Param, form: CtxForm, index: usize, self_ident: Option<&syn::Ident>) {
    let ty = &p.ty;
    if index != 0 {
        cx.error_spanned_by(
            ty,
            "the context goes right after the receiver: `(&mut self, ctx: &Ctx<Self>, …)`",
        );
        return;
    }
    match form {
        CtxForm::Shared => {}
        CtxForm::Mut => {
            cx.error_spanned_by(ty, "take the context by shared reference: `&Ctx<Self>`");
            return;
        }
        CtxForm::Value => {
            cx.error_spanned_by(ty, "take the context by reference: `&Ctx<Self>`");
            return;
        }
    }
    let Type::Reference(r) = ty else { return };
    if !matches!(&*r.elem, Type::Path(_)) {
        return;
    }
    if !names_self(&r.elem, self_ident) {
        cx.error_spanned_by(ty, "the context is this actor's: write `&Ctx<Self>`");
    }
}

fn check_arg(cx: &Ctxt, p: &Param) {
    if p.ident().is_none() {
        cx.error_spanned_by(
            &p.pat,
            "arguments are plain names, like `point: Point`: name this one and destructure it inside the body",
        );
    }
    check_wire_type(
        cx,
        &p.ty,
        "arguments arrive over the network and must be owned",
        "write",
    );
}

fn check_output(cx: &Ctxt, m: &Method) {
    let returned = match &m.sig.output {
        syn::ReturnType::Type(_, ty) => Some(&**ty),
        syn::ReturnType::Default => None,
    };
    let subject = m.role;
    match (&m.role.output, &m.output) {
        (OutputRule::Value, Output::Plain(ty) | Output::Result { ok: ty, .. }) => check_wire_type(
            cx,
            ty,
            "outputs travel back over the network and must be owned",
            "return",
        ),
        (OutputRule::Value, Output::Unit) => {}
        (OutputRule::ConnState, Output::Plain(ty) | Output::Result { ok: ty, .. }) => {
            check_conn_state(cx, ty)
        }
        (OutputRule::ConnState, Output::Unit) => {}
        (OutputRule::Unit { .. }, Output::Unit) => {}
        (OutputRule::Unit { because }, _) => {
            cx.error_spanned_by(returned, format!("{subject} returns `()`: {because}"))
        }
        (OutputRule::UnitOrResult, Output::Unit) => {}
        (OutputRule::UnitOrResult, Output::Result { ok, .. }) if is_unit(ok) => {}
        (OutputRule::UnitOrResult, Output::Result { ok, .. }) => cx.error_spanned_by(
            ok,
            format!("{subject} returns `()` or `Result<(), E>`: use `()` here"),
        ),
        (OutputRule::UnitOrResult, Output::Plain(_)) => cx.error_spanned_by(
            returned,
            format!(
                "{subject} returns `()` or `Result<(), E>`: return the value from an action instead"
            ),
        ),
    }
}

/// The connection's state is kept beside the connection and named in the `Actor` impl
/// (`type ConnState`): no borrows, no `impl Trait`.
fn check_conn_state(cx: &Ctxt, ty: &Type) {
    match ty {
        Type::Reference(r) => {
            let (owned, written) = owned_form(r);
            cx.error_spanned_by(
                ty,
                format!("the connection's state is kept as long as the connection is open, so it is owned: return `{owned}` instead of `{written}`"),
            );
        }
        Type::ImplTrait(_) => cx.error_spanned_by(
            ty,
            "the connection's state is a named type (`conn.state()` gives it): return a concrete type instead of `impl Trait`",
        ),
        _ => {}
    }
}

/// The owned type for a borrowed one, and the borrowed one as written: `String` for
/// `&str`, `Vec<T>` for `&[T]`.
fn owned_form(r: &syn::TypeReference) -> (String, String) {
    let elem = &r.elem;
    let owned = match &**elem {
        Type::Path(p) if p.path.is_ident("str") => quote!(String),
        Type::Slice(s) => {
            let inner = &s.elem;
            quote!(Vec<#inner>)
        }
        Type::Path(p) if p.path.is_ident("Path") => quote!(PathBuf),
        other => quote!(#other),
    };
    let written = quote!(#r).to_string().replace("& ", "&");
    let owned = owned.to_string().replace(" < ", "<").replace(" >", ">");
    (owned, written)
}

/// Arguments and outputs cross the network: no borrows, no `impl Trait`.
fn check_wire_type(cx: &Ctxt, ty: &Type, why: &str, verb: &str) {
    match ty {
        Type::Reference(r) => {
            let (owned, written) = owned_form(r);
            cx.error_spanned_by(ty, format!("{why}: {verb} `{owned}` instead of `{written}`"));
        }
        Type::ImplTrait(_) => cx.error_spanned_by(
            ty,
            format!("{why} and a client must know their type: {verb} a concrete type instead of `impl Trait`"),
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::TokenStream;
    use quote::quote;

    fn errors(args: TokenStream, block: TokenStream) -> Vec<String> {
        let cx = Ctxt::new();
        let actor = ActorImpl::from_syn(&cx, syn::parse2(block).unwrap(), args);
        check_impl(&cx, &actor);
        match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_good_block_passes() {
        let found = errors(
            TokenStream::new(),
            quote! {
                impl Counter {
                    #[on_create] async fn init(&mut self, ctx: &Ctx<Self>, start: i64) -> Result<(), E> {}
                    #[on_wake] async fn wake(&mut self, ctx: &actor::Ctx<Counter>) {}
                    #[on_sleep] async fn sleep(&mut self) {}
                    #[on_destroy] async fn destroy(&mut self) {}
                    #[on_state_change] async fn changed(&self, ctx: &Ctx<Self>) {}
                    #[action] async fn add(&mut self, ctx: &Ctx<Self>, by: i64, mut times: u8) -> Result<i64, E> {}
                    #[action(name = "readAll")] async fn read_all(&self) -> Vec<i64> {}
                    #[action] async fn reset_all(&mut self) {}
                    fn helper(&self, x: &str) -> &str { x }
                }
            },
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn every_mistake_of_a_block_at_once() {
        let found = errors(
            quote!(inbox = 1),
            quote! {
                impl Counter {
                    #[action] fn a(&mut self) {}
                    #[action] async fn b(self) {}
                    #[action] async fn c() {}
                    #[action] async fn d<T>(&self, t: T) {}
                    #[action] async fn e(&self, (x, y): (i64, i64)) {}
                    #[action] async fn f(&self, name: &str) -> &[u8] {}
                    #[action(name = "a")] async fn g(&self, by: i64, ctx: &Ctx<Self>) {}
                    #[action(name = "bad-name")] async fn h(&self) {}
                    #[on_create] async fn i(&self, a: i64, b: i64) {}
                    #[on_create] async fn j(&mut self, ctx: &mut Ctx<Self>) {}
                    #[on_wake] async fn k(&mut self, reason: String) -> i64 {}
                    #[on_state_change] async fn l(&mut self) -> Result<(), E> {}
                }
            },
        );
        assert_eq!(
            found,
            [
                "options go on the struct: move them to `#[actor(…)]` on the state struct; the impl block takes a bare `#[actor]`",
                "actions must be `async fn`: add `async` before `fn a`",
                "actions borrow the state, which the runtime keeps: write `&mut self` (exclusive) or `&self` (shared)",
                "actions take `&self` (shared: runs alongside other calls) or `&mut self` (exclusive: one at a time) first: add `&self` or `&mut self`",
                "actions cannot be generic: a client must know the argument types; use concrete types",
                "arguments are plain names, like `point: Point`: name this one and destructure it inside the body",
                "arguments arrive over the network and must be owned: write `String` instead of `&str`",
                "outputs travel back over the network and must be owned: return `Vec<u8>` instead of `&[u8]`",
                "the context goes right after the receiver: `(&mut self, ctx: &Ctx<Self>, …)`",
                "two actions are named `a`: rename one with `#[action(name = \"…\")]`",
                "action names are camelCase or snake_case ASCII: use `badName`",
                "`#[on_create]` takes `&mut self`: lifecycle hooks may change the state; write `&mut self`",
                "`#[on_create]` takes at most one input after the context: put the values in one struct or tuple, like `input: (i64, String)`",
                "take the context by shared reference: `&Ctx<Self>`",
                "`#[on_create]` is given twice: an actor has one `#[on_create]`; merge the two methods",
                "`#[on_wake]` takes no arguments besides the context: remove `reason: String`",
                "`#[on_wake]` returns `()` or `Result<(), E>`: return the value from an action instead",
                "`#[on_state_change]` takes `&self`: it observes the new state and cannot change it; write `&self` and move the change into an action",
                "`#[on_state_change]` returns `()`: it runs after the reply is sent, so no caller would see a value or an error; handle errors inside the hook",
            ]
        );
    }

    #[test]
    fn workflow_rules() {
        let good = errors(
            TokenStream::new(),
            quote! {
                impl Provisioner {
                    #[workflow] async fn provision(wf: Workflow<Self>, task: Task) -> Result<Sandbox, E> {}
                    #[workflow(name = "cleanUp")] async fn clean_up(_wf: actor::Workflow<Self>) {}
                    #[workflow(main)] async fn supervise(wf: Workflow<Self>) -> u64 {}
                    // Workflow and action names are apart.
                    #[action] async fn provision_now(&mut self) {}
                    #[action(name = "provision")] async fn other(&self) {}
                }
            },
        );
        assert!(good.is_empty(), "{good:?}");
        let found = errors(
            TokenStream::new(),
            quote! {
                impl Provisioner {
                    #[workflow] fn a(wf: Workflow<Self>) {}
                    #[workflow] async fn b(&mut self, wf: Workflow<Self>) {}
                    #[workflow] async fn c(task: Task) {}
                    #[workflow] async fn d() {}
                    #[workflow] async fn e(wf: &Workflow<Self>, ctx: &Ctx<Self>) {}
                    #[workflow] async fn f(wf: Workflow<Self>, task: Task, region: Region) {}
                    #[workflow(name = "a")] async fn g(wf: Workflow<Self>, name: &str) -> &str {}
                    #[workflow(main)] async fn h(wf: Workflow<Self>, task: Task) {}
                    #[workflow(main)] async fn i(wf: Workflow<Self>) {}
                    #[workflow] async fn Bad(wf: Workflow<Self>) {}
                }
            },
        );
        assert_eq!(
            found,
            [
                "workflows must be `async fn`: add `async` before `fn a`",
                "workflows take no `self`: a workflow runs beside the actor's turns and reaches the state only inside its steps (`wf.turn(…)`, `wf.step(…).apply(…)`); remove it",
                "workflows take the workflow's context first: add `wf: Workflow<Self>` before this parameter",
                "workflows take the workflow's context first: add `wf: Workflow<Self>`",
                "workflows take the workflow's context by value: write `Workflow<Self>`",
                "workflows take no `ctx`: it belongs to one turn, and a workflow runs beside the turns; reach the actor inside a step (`wf.turn(…)`) and remove it",
                "workflows take at most one input after the context: put the values in one struct or tuple, like `task: (Task, Region)`",
                "arguments arrive over the network and must be owned: write `String` instead of `&str`",
                "outputs travel back over the network and must be owned: return `String` instead of `&str`",
                "two workflows are named `a`: rename one with `#[workflow(name = \"…\")]`",
                "a main workflow starts by itself when the actor is created, so it takes no input; remove it and read what it needs from the state in a step, or drop `main` and start the workflow with its input",
                "an actor has one main workflow, and it is `fn h`: remove `main` from one of them",
                "`Bad` cannot be a workflow name: workflow names are camelCase or snake_case ASCII; give one with `#[workflow(name = \"doThing\")]`",
            ]
        );
    }

    #[test]
    fn connection_hooks() {
        let good = errors(
            TokenStream::new(),
            quote! {
                impl Room {
                    #[on_before_connect] async fn check(&self, ctx: &Ctx<Self>, params: Option<Params>) -> Result<Member, E> {}
                    #[on_connect] async fn joined(&mut self, conn: &actor::Conn<Self>) {}
                    #[on_disconnect] async fn left(&mut self, ctx: &Ctx<Self>, conn: &Conn<Room>) -> Result<(), E> {}
                }
            },
        );
        assert!(good.is_empty(), "{good:?}");
        // No return type: the state is `()`.
        assert!(
            errors(
                TokenStream::new(),
                quote!(impl Room { #[on_before_connect] async fn check(&self, _params: Params) {} }),
            )
            .is_empty()
        );
        let found = errors(
            TokenStream::new(),
            quote! {
                impl Room {
                    #[on_before_connect] async fn a(&mut self, params: Params) -> Member {}
                    #[on_before_connect] async fn b(&self) -> &str {}
                    #[on_before_connect] async fn c(&self, ctx: &Ctx<Self>, token: String, name: String) -> impl Send {}
                    #[on_connect] async fn d(&self, conn: &Conn<Self>) {}
                    #[on_connect] async fn e(&mut self, ctx: &Ctx<Self>) {}
                    #[on_disconnect] async fn f(&mut self, conn: Conn<Self>, extra: u8) -> u8 {}
                    #[on_disconnect] async fn g(&mut self, conn: &mut Conn<Self>) {}
                    #[on_disconnect] async fn h(&mut self, id: String) {}
                    #[on_disconnect] async fn i(&mut self, conn: &Conn<Other>, ctx: &Ctx<Self>) {}
                }
            },
        );
        assert_eq!(
            found,
            [
                "`#[on_before_connect]` takes `&self`: it checks a connection before the actor takes it and cannot change the state; change the state in `#[on_connect]`",
                "`#[on_before_connect]` takes one argument, the connection's params: add it after the context, like `params: Params` (any `Deserialize` type; take an `Option<Params>` to accept a client that gives none)",
                "the connection's state is kept as long as the connection is open, so it is owned: return `String` instead of `&str`",
                "`#[on_before_connect]` is given twice: an actor has one `#[on_before_connect]`; merge the two methods",
                "`#[on_before_connect]` takes one argument, the connection's params, not several: a client gives one params value; put the fields in one struct, like `params: Params`",
                "the connection's state is a named type (`conn.state()` gives it): return a concrete type instead of `impl Trait`",
                "`#[on_before_connect]` is given twice: an actor has one `#[on_before_connect]`; merge the two methods",
                "`#[on_connect]` takes `&mut self`: connection hooks run as exclusive turns and may change the state; write `&mut self`",
                "`#[on_connect]` takes the connection: add `conn: &Conn<Self>`",
                "`#[on_connect]` is given twice: an actor has one `#[on_connect]`; merge the two methods",
                "`#[on_disconnect]` takes the connection by reference: write `&Conn<Self>`",
                "`#[on_disconnect]` takes only the connection after the context: remove `extra: u8`",
                "`#[on_disconnect]` returns `()` or `Result<(), E>`: return the value from an action instead",
                "`#[on_disconnect]` takes the connection by shared reference: write `&Conn<Self>`",
                "`#[on_disconnect]` is given twice: an actor has one `#[on_disconnect]`; merge the two methods",
                "`#[on_disconnect]` takes the connection, not other arguments: write `conn: &Conn<Self>` instead of `id: String`",
                "`#[on_disconnect]` is given twice: an actor has one `#[on_disconnect]`; merge the two methods",
                "the connection is this actor's: write `&Conn<Self>`",
                "the context goes right after the receiver: `(&mut self, ctx: &Ctx<Self>, …)`",
                "`#[on_disconnect]` is given twice: an actor has one `#[on_disconnect]`; merge the two methods",
            ]
        );
    }

    #[test]
    fn impl_shape() {
        let found = errors(
            TokenStream::new(),
            quote!(
                impl<T> Describe for Holder<T> {}
            ),
        );
        assert_eq!(
            found,
            [
                "`#[actor]` goes on the state struct's own `impl Name { … }` block, not on a trait impl: move the actions there",
                "actor state cannot be generic: the registry needs one concrete type per actor name; remove the parameters",
            ]
        );
    }

    #[test]
    fn ctx_must_name_this_actor() {
        let found = errors(
            TokenStream::new(),
            quote!(impl Counter { #[action] async fn a(&self, ctx: &Ctx<Other>) {} }),
        );
        assert_eq!(found, ["the context is this actor's: write `&Ctx<Self>`"]);
    }

    fn state_errors(args: TokenStream, item: TokenStream) -> Vec<String> {
        let cx = Ctxt::new();
        let state = State::from_syn(&cx, syn::parse2(item).unwrap(), args);
        check_state(&cx, &state);
        match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn state_rules() {
        let found = state_errors(
            quote!(name = "Chat_Room", inbox = 0, action_timeout = "0s"),
            quote!(
                struct S<T> {
                    t: T,
                }
            ),
        );
        assert_eq!(
            found,
            [
                "actor state cannot be generic: the registry needs one concrete type per actor name; remove the parameters and use concrete field types",
                "actor names are camelCase: use `chatRoom`",
                "an `action_timeout` of zero fails every action: give a duration like \"60s\"",
                "`inbox` is how many calls may wait for their turn: use at least 1, like `inbox = 1024`",
            ]
        );
        assert!(
            state_errors(
                quote!(name = "chatRoom2"),
                quote!(
                    struct S;
                )
            )
            .is_empty()
        );
    }
}
