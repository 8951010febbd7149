//! What `#[actor]` is applied to, read from syn into the form the later stages work on
//! (thiserror's `ast.rs`). Parsing records shapes; whether a shape is allowed is
//! [`valid`](crate::valid)'s business, by the rules of each method's [`Role`].

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{
    Attribute, FnArg, GenericArgument, Ident, ImplItem, ItemImpl, ItemStruct, LitStr, Pat,
    PathArguments, ReturnType, Signature, TraitItemFn, Type,
};

use crate::ctxt::Ctxt;
use crate::marker;
use crate::options::{self, StructOptions};
use crate::queue_options::QueueOptions;
use crate::role::{Expansion, Identity, Naming, Role};

/// `#[actor(…)] struct …`: the state struct and its options.
pub(crate) struct State {
    pub(crate) item: ItemStruct,
    pub(crate) options: StructOptions,
}

impl State {
    pub(crate) fn from_syn(cx: &Ctxt, item: ItemStruct, args: TokenStream) -> Self {
        State {
            options: options::parse(cx, args),
            item,
        }
    }
}

/// How a method takes `self`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Receiver {
    Missing,
    /// `self` or `mut self`.
    Value,
    /// `&self` or `self: &Self`.
    Shared,
    /// `&mut self` or `self: &mut Self`.
    Exclusive,
    /// `self: Box<Self>` and friends.
    Other,
}

/// How a parameter whose type names `Ctx` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CtxForm {
    /// `&Ctx<Self>`: the one accepted form.
    Shared,
    /// `&mut Ctx<Self>`.
    Mut,
    /// `Ctx<Self>` by value.
    Value,
}

/// A typed parameter after the receiver.
pub(crate) struct Param {
    pub(crate) pat: Pat,
    pub(crate) ty: Type,
    /// `Some` when the type is syntactically the context (last path segment `Ctx`).
    pub(crate) ctx: Option<CtxForm>,
}

impl Param {
    /// The parameter's name when it is a plain identifier pattern (`x`, `mut x`).
    pub(crate) fn ident(&self) -> Option<&Ident> {
        match &self.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => Some(&p.ident),
            _ => None,
        }
    }
}

/// What a method returns, read syntactically.
pub(crate) enum Output {
    /// Nothing, or `()`.
    Unit,
    /// Any other type `T`.
    Plain(Box<Type>),
    /// A type whose last path segment is `Result`; `err` is `None` for one-argument
    /// aliases such as `io::Result<T>`.
    Result {
        ok: Box<Type>,
        err: Option<Box<Type>>,
    },
}

/// One marked method.
pub(crate) struct Method {
    pub(crate) role: &'static Role,
    /// `name = "…"` on the marker.
    pub(crate) name: Option<LitStr>,
    /// A queue handler's options.
    pub(crate) queue: Option<QueueOptions>,
    /// `main` on a `#[workflow(main)]` marker: the actor's main workflow.
    pub(crate) main: Option<Ident>,
    /// The marker attribute, for errors about the role.
    pub(crate) marker: Attribute,
    pub(crate) sig: Signature,
    /// The method's `///` lines, copied onto its handle method.
    pub(crate) docs: Vec<Attribute>,
    pub(crate) receiver: Receiver,
    pub(crate) params: Vec<Param>,
    pub(crate) output: Output,
    /// Its body may wait (has an `.await`, or a macro that might hold one): if not, its
    /// turn finishes on its first poll.
    pub(crate) waits: bool,
    /// Declared with a body (a queue declared without one is the run loop's).
    pub(crate) has_body: bool,
    /// The queue names its body passes as literals to `next`, `next_batch`, `stream` and
    /// `next_coalesced`, to check against the loop's queues.
    pub(crate) loop_names: Vec<syn::LitStr>,
}

impl Method {
    pub(crate) fn ident(&self) -> &Ident {
        &self.sig.ident
    }

    /// The name clients call a named role by: `name = "…"`, or the method's own name
    /// (its camelCase, for a role whose names are camelCase).
    pub(crate) fn name(&self) -> String {
        let own = self.ident().unraw().to_string();
        match (&self.name, self.role.identity) {
            (Some(lit), _) => lit.value(),
            (None, Identity::Named(Naming::Camel)) => crate::case::camel(&own),
            (None, _) => own,
        }
    }

    /// Whether the method takes the context (first, as validation requires).
    pub(crate) fn takes_ctx(&self) -> bool {
        self.params.first().is_some_and(|p| p.ctx.is_some())
    }

    /// The parameters a caller supplies: every one but the contexts (`ctx: &Ctx<Self>`, and
    /// the role's [own context](Self::own_context)).
    pub(crate) fn args(&self) -> impl Iterator<Item = &Param> {
        self.after_own_context().iter().filter(|p| p.ctx.is_none())
    }

    /// The parameters after the role's [own context](Self::own_context), or all of them
    /// when it takes none.
    pub(crate) fn after_own_context(&self) -> &[Param] {
        &self.params[usize::from(self.own_context().is_some())..]
    }

    /// The first parameter, when it is the context the role takes instead of `self`
    /// (`lp: Loop<Self>`, `wf: Workflow<Self>`): detected syntactically, by the last path
    /// segment of its type, by value or (which validation reports) behind a reference.
    pub(crate) fn own_context(&self) -> Option<&Param> {
        let name = self.role.args.own_context()?;
        self.params.first().filter(|p| match &p.ty {
            Type::Reference(r) => is_named(&r.elem, name),
            ty => is_named(ty, name),
        })
    }

    /// Whether it takes `&mut self`: an exclusive turn.
    pub(crate) fn is_exclusive(&self) -> bool {
        self.role.takes_mut(self.receiver)
    }
}

/// `#[actor] impl …`: the block with our markers removed, and the marked methods.
pub(crate) struct ActorImpl {
    pub(crate) item: ItemImpl,
    /// What was written inside `#[actor(…)]`; must be empty on an impl.
    pub(crate) args: TokenStream,
    pub(crate) methods: Vec<Method>,
}

impl ActorImpl {
    /// Reads the block, taking our markers off the methods it keeps. A method declared
    /// without a body (`#[queue] fn tick(tick: Tick);`, a queue the run loop takes) is
    /// not Rust an impl block may hold: it is read and taken out.
    pub(crate) fn from_syn(cx: &Ctxt, mut item: ItemImpl, args: TokenStream) -> Self {
        let mut methods = Vec::new();
        let mut kept_items = Vec::with_capacity(item.items.len());
        for mut impl_item in std::mem::take(&mut item.items) {
            if let ImplItem::Verbatim(tokens) = &impl_item
                && let Ok(declared) = syn::parse2::<TraitItemFn>(tokens.clone())
                && declared.default.is_none()
            {
                let mut attrs = declared.attrs.clone();
                match take_marker(cx, &mut attrs) {
                    Some((marker, attr)) if marker.role.bodyless => methods.push(Method::from_syn(
                        marker,
                        attr,
                        &declared.sig,
                        &attrs,
                        None,
                    )),
                    Some((marker, _)) => cx.error_spanned_by(
                        &declared.sig,
                        format!(
                            "`#[{}]` needs a body: only a queue the `#[run]` loop takes is declared without one",
                            marker.role.marker
                        ),
                    ),
                    None => kept_items.push(impl_item),
                }
                continue;
            }
            let attrs = match &mut impl_item {
                ImplItem::Fn(func) => &mut func.attrs,
                ImplItem::Const(c) => &mut c.attrs,
                ImplItem::Type(t) => &mut t.attrs,
                ImplItem::Macro(m) => &mut m.attrs,
                _ => {
                    kept_items.push(impl_item);
                    continue;
                }
            };
            let found = take_marker(cx, attrs);
            if let Some((marker, attr)) = found {
                match &impl_item {
                    ImplItem::Fn(func) => methods.push(Method::from_syn(
                        marker,
                        attr,
                        &func.sig,
                        &func.attrs,
                        Some(&func.block),
                    )),
                    _ => cx.error_spanned_by(
                        &attr,
                        format!(
                            "`#[{}]` goes on an `async fn` in this block",
                            marker.role.marker
                        ),
                    ),
                }
            }
            kept_items.push(impl_item);
        }
        item.items = kept_items;
        ActorImpl {
            item,
            args,
            methods,
        }
    }
}

/// Takes our marker off `attrs`, reporting a second one.
fn take_marker(cx: &Ctxt, attrs: &mut Vec<Attribute>) -> Option<(marker::Marker, Attribute)> {
    let mut found: Option<(marker::Marker, Attribute)> = None;
    let mut kept = Vec::new();
    for attr in std::mem::take(attrs) {
        let Some(marker) = marker::read(cx, &attr) else {
            kept.push(attr);
            continue;
        };
        match &found {
            Some((first, _)) => cx.error_spanned_by(
                &attr,
                format!(
                    "this method is already `#[{}]` and a method has one role: remove `#[{}]`",
                    first.role.marker, marker.role.marker
                ),
            ),
            None => found = Some((marker, attr)),
        }
    }
    *attrs = kept;
    found
}

impl Method {
    fn from_syn(
        found: marker::Marker,
        marker: Attribute,
        sig: &Signature,
        attrs: &[Attribute],
        body: Option<&syn::Block>,
    ) -> Self {
        let mut receiver = Receiver::Missing;
        let mut params = Vec::new();
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(r) => receiver = receiver_of(r),
                FnArg::Typed(p) => params.push(Param {
                    pat: (*p.pat).clone(),
                    ty: (*p.ty).clone(),
                    ctx: ctx_form(&p.ty),
                }),
            }
        }
        let loop_names = match (
            &found.role.expansion,
            params.first().and_then(Param::ident),
            body,
        ) {
            (Expansion::Run, Some(lp), Some(body)) => {
                crate::loop_names::read(lp, body.to_token_stream())
            }
            _ => Vec::new(),
        };
        Method {
            role: found.role,
            name: found.name,
            queue: found.queue,
            main: found.main,
            marker,
            sig: sig.clone(),
            docs: attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .cloned()
                .collect(),
            receiver,
            output: output_of(&sig.output),
            waits: body.is_some_and(|b| crate::waits::may_wait(b.to_token_stream())),
            has_body: body.is_some(),
            params,
            loop_names,
        }
    }
}

fn receiver_of(r: &syn::Receiver) -> Receiver {
    match &r.kind {
        syn::ReceiverKind::Value => Receiver::Value,
        syn::ReceiverKind::Reference(_, _, None) => Receiver::Shared,
        syn::ReceiverKind::Reference(_, _, Some(_)) => Receiver::Exclusive,
        syn::ReceiverKind::Typed(_, ty) => match &**ty {
            Type::Reference(r) if is_self(&r.elem) => {
                if r.mutability.is_some() {
                    Receiver::Exclusive
                } else {
                    Receiver::Shared
                }
            }
            ty if is_self(ty) => Receiver::Value,
            _ => Receiver::Other,
        },
        _ => Receiver::Other,
    }
}

fn is_self(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self"))
}

/// Whether `ty` is a path whose last segment is `name` (`Ctx` for `&actor::Ctx<Self>`'s
/// referent): how the runtime's types in a signature are recognised.
fn is_named(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == name))
}

/// The actor `A` of a context type whose last path segment is `name` (`Workflow<A>`): its
/// first type argument.
pub(crate) fn context_actor<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last().filter(|_| is_named(ty, name))?;
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// Whether `ty` is the context, and how it is taken: detected syntactically, as a path
/// whose last segment is `Ctx`.
fn ctx_form(ty: &Type) -> Option<CtxForm> {
    match ty {
        Type::Reference(r) if is_named(&r.elem, "Ctx") => Some(if r.mutability.is_some() {
            CtxForm::Mut
        } else {
            CtxForm::Shared
        }),
        ty if is_named(ty, "Ctx") => Some(CtxForm::Value),
        _ => None,
    }
}

fn output_of(ret: &ReturnType) -> Output {
    let ty = match ret {
        ReturnType::Default => return Output::Unit,
        ReturnType::Type(_, ty) => &**ty,
    };
    if is_unit(ty) {
        return Output::Unit;
    }
    if let Type::Path(p) = ty
        && p.qself.is_none()
        && let Some(last) = p.path.segments.last()
        && last.ident == "Result"
        && let PathArguments::AngleBracketed(args) = &last.arguments
    {
        let mut types = args.args.iter().filter_map(|a| match a {
            GenericArgument::Type(t) => Some(Box::new(t.clone())),
            _ => None,
        });
        if let Some(ok) = types.next() {
            return Output::Result {
                ok,
                err: types.next(),
            };
        }
    }
    Output::Plain(Box::new(ty.clone()))
}

pub(crate) fn is_unit(ty: &Type) -> bool {
    match ty {
        Type::Tuple(t) => t.elems.is_empty(),
        Type::Paren(p) => is_unit(&p.elem),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(tokens: TokenStream) -> ActorImpl {
        let cx = Ctxt::new();
        let actor = ActorImpl::from_syn(&cx, syn::parse2(tokens).unwrap(), TokenStream::new());
        cx.check().unwrap();
        actor
    }

    #[test]
    fn reads_roles_receivers_ctx_and_outputs() {
        let actor = parse(quote! {
            impl Counter {
                #[on_create]
                async fn init(&mut self, ctx: &Ctx<Self>, start: i64) {}
                /// Adds.
                #[action(name = "addUp")]
                async fn add(&mut self, by: i64, mut times: u8) -> Result<i64, MyError> { todo!() }
                #[action]
                async fn get(self: &Self) -> io::Result<i64> { todo!() }
                #[action]
                async fn r#type(&self) -> () {}
                fn helper(&self) {}
            }
        });
        assert_eq!(actor.methods.len(), 4);
        let [init, add, get, ty] = &actor.methods[..] else {
            unreachable!()
        };
        assert_eq!(init.role.marker, "on_create");
        assert!(init.takes_ctx());
        assert_eq!(init.args().count(), 1);
        assert_eq!(add.name(), "addUp");
        assert_eq!(add.docs.len(), 1);
        assert!(add.is_exclusive());
        let names: Vec<String> = add.args().map(|p| p.ident().unwrap().to_string()).collect();
        assert_eq!(names, ["by", "times"]);
        assert!(matches!(&add.output, Output::Result { err: Some(_), .. }));
        assert_eq!(get.receiver, Receiver::Shared);
        assert!(matches!(&get.output, Output::Result { err: None, .. }));
        assert_eq!(ty.name(), "type");
        assert!(matches!(ty.output, Output::Unit));
        // Markers are gone from the block; other attributes and methods stay.
        let item = &actor.item;
        let text = quote!(#item).to_string();
        assert!(!text.contains("on_create") && !text.contains("action"));
        assert!(text.contains("helper") && text.contains("doc"));
    }

    #[test]
    fn a_workflow_context_is_not_an_input() {
        let actor = parse(quote! {
            impl Provisioner {
                #[workflow(main)]
                async fn supervise(wf: Workflow<Self>) {}
                #[workflow(name = "provisionSandbox")]
                async fn provision(wf: actor::Workflow<Self>, task: Task) -> Sandbox { todo!() }
                #[workflow]
                async fn forgot(task: Task) {}
            }
        });
        let [supervise, provision, forgot] = &actor.methods[..] else {
            unreachable!()
        };
        assert!(supervise.main.is_some() && supervise.args().next().is_none());
        assert!(provision.main.is_none() && provision.own_context().is_some());
        assert_eq!(provision.name(), "provisionSandbox");
        let input: Vec<String> = provision
            .args()
            .map(|p| p.ident().unwrap().to_string())
            .collect();
        assert_eq!(input, ["task"]);
        assert!(forgot.own_context().is_none());
        assert_eq!(forgot.args().count(), 1);
    }

    #[test]
    fn ctx_forms() {
        let ty = |t: TokenStream| syn::parse2::<Type>(t).unwrap();
        assert_eq!(ctx_form(&ty(quote!(&Ctx<Self>))), Some(CtxForm::Shared));
        assert_eq!(
            ctx_form(&ty(quote!(&actor::Ctx<Counter>))),
            Some(CtxForm::Shared)
        );
        assert_eq!(ctx_form(&ty(quote!(&mut Ctx<Self>))), Some(CtxForm::Mut));
        assert_eq!(ctx_form(&ty(quote!(Ctx<Self>))), Some(CtxForm::Value));
        assert_eq!(ctx_form(&ty(quote!(&Context))), None);
    }
}
