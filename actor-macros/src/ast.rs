//! The `impl` block of an actor, read into what the expansion needs.

use syn::{Attribute, FnArg, ImplItem, ImplItemFn, ItemImpl, Pat, PathArguments, ReturnType, Type};

use crate::attr::{self, ActionOptions};
use crate::ctxt::Ctxt;

/// What a marked method is.
pub(crate) enum Role {
    Action(ActionOptions),
    OnCreate,
    OnWake,
    OnSleep,
    OnDestroy,
    OnStateChange,
}

impl Role {
    pub(crate) fn attr_name(&self) -> &'static str {
        match self {
            Role::Action(_) => "action",
            Role::OnCreate => "on_create",
            Role::OnWake => "on_wake",
            Role::OnSleep => "on_sleep",
            Role::OnDestroy => "on_destroy",
            Role::OnStateChange => "on_state_change",
        }
    }
}

/// How the method takes `self`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Receiver {
    None,
    Value,
    Shared,
    Exclusive,
    Other,
}

/// What the method returns.
pub(crate) enum Output {
    Unit,
    Plain(Box<Type>),
    /// `Result<ok, err>`; `err` is `None` for one-argument aliases like `io::Result<T>`.
    Result {
        ok: Box<Type>,
        err: Option<Box<Type>>,
    },
}

/// One marked method.
pub(crate) struct Method {
    pub(crate) role: Role,
    pub(crate) attr: Attribute,
    pub(crate) func: ImplItemFn,
    pub(crate) receiver: Receiver,
    pub(crate) ctx: bool,
    pub(crate) args: Vec<(syn::Ident, Type)>,
    pub(crate) output: Output,
}

impl Method {
    pub(crate) fn ident(&self) -> &syn::Ident {
        &self.func.sig.ident
    }

    /// The name clients call an action by.
    pub(crate) fn name(&self) -> String {
        match &self.role {
            Role::Action(ActionOptions { name: Some(lit) }) => lit.value(),
            _ => self.ident().to_string(),
        }
    }
}

/// The whole block: the methods we generate for, and the block with our attributes removed.
pub(crate) struct ActorImpl {
    pub(crate) item: ItemImpl,
    pub(crate) methods: Vec<Method>,
}

fn role_of(cx: &Ctxt, attr: &Attribute) -> Option<Role> {
    let ident = attr.path().segments.last()?.ident.to_string();
    let role = match ident.as_str() {
        "action" => Role::Action(attr::action_options(cx, attr)),
        "on_create" => Role::OnCreate,
        "on_wake" => Role::OnWake,
        "on_sleep" => Role::OnSleep,
        "on_destroy" => Role::OnDestroy,
        "on_state_change" => Role::OnStateChange,
        _ => return None,
    };
    if !matches!(role, Role::Action(_)) && !matches!(attr.meta, syn::Meta::Path(_)) {
        cx.error_spanned_by(attr, format!("`#[{ident}]` takes no options"));
    }
    Some(role)
}

/// Whether `ty` is `&Ctx<…>`.
fn is_ctx(ty: &Type) -> bool {
    let Type::Reference(r) = ty else { return false };
    let Type::Path(p) = &*r.elem else {
        return false;
    };
    p.path.segments.last().is_some_and(|s| s.ident == "Ctx")
}

fn output_of(ret: &ReturnType) -> Output {
    let ty = match ret {
        ReturnType::Default => return Output::Unit,
        ReturnType::Type(_, ty) => &**ty,
    };
    if let Type::Tuple(t) = ty
        && t.elems.is_empty()
    {
        return Output::Unit;
    }
    if let Type::Path(p) = ty
        && p.qself.is_none()
        && let Some(last) = p.path.segments.last()
        && last.ident == "Result"
        && let PathArguments::AngleBracketed(args) = &last.arguments
    {
        let mut types = args.args.iter().filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        });
        if let Some(ok) = types.next() {
            return Output::Result {
                ok: Box::new(ok),
                err: types.next().map(Box::new),
            };
        }
    }
    Output::Plain(Box::new(ty.clone()))
}

fn method(cx: &Ctxt, role: Role, attr: Attribute, func: ImplItemFn) -> Method {
    let mut receiver = Receiver::None;
    let mut ctx = false;
    let mut args = Vec::new();
    for (i, input) in func.sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => {
                receiver = match &r.kind {
                    syn::ReceiverKind::Value => Receiver::Value,
                    syn::ReceiverKind::Reference(_, _, None) => Receiver::Shared,
                    syn::ReceiverKind::Reference(_, _, Some(_)) => Receiver::Exclusive,
                    _ => Receiver::Other,
                };
            }
            FnArg::Typed(pat) => {
                if is_ctx(&pat.ty) {
                    if i == 1 && receiver != Receiver::None {
                        ctx = true;
                    } else {
                        cx.error_spanned_by(&pat.ty, "the context comes right after `self`: `(&mut self, ctx: &Ctx<Self>, …)`");
                    }
                    continue;
                }
                match &*pat.pat {
                    Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                        args.push((p.ident.clone(), (*pat.ty).clone()));
                    }
                    other => cx.error_spanned_by(
                        other,
                        "action arguments must be plain names (`point: Point`); destructure inside the body",
                    ),
                }
            }
        }
    }
    let output = output_of(&func.sig.output);
    Method {
        role,
        attr,
        func,
        receiver,
        ctx,
        args,
        output,
    }
}

/// Reads the block, removing our attributes from the methods it keeps.
pub(crate) fn parse(cx: &Ctxt, mut item: ItemImpl) -> ActorImpl {
    let mut methods = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(func) = impl_item else {
            continue;
        };
        let mut found: Option<(Role, Attribute)> = None;
        let mut keep = Vec::new();
        for attr in std::mem::take(&mut func.attrs) {
            match role_of(cx, &attr) {
                Some(role) => {
                    if let Some((first, _)) = &found {
                        cx.error_spanned_by(
                            &attr,
                            format!(
                                "this method is already `#[{}]`; a method has one role",
                                first.attr_name()
                            ),
                        );
                    } else {
                        found = Some((role, attr));
                    }
                }
                None => keep.push(attr),
            }
        }
        func.attrs = keep;
        if let Some((role, attr)) = found {
            methods.push(method(cx, role, attr, func.clone()));
        }
    }
    ActorImpl { item, methods }
}
