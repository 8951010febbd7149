//! Calling the user's methods from the generated `Actor` impl: the dispatch arm of an
//! action, queue handler or workflow, and the trait method of a hook or the run loop, all
//! through [`forward`], which is where the user's future must be `Send` and the user's
//! error must convert into `ActorError`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, Type};

use super::{Locals, future, wire};
use crate::ast::{Method, Output};
use crate::role::{HookArg, OutputRule};

/// The call of a user's method with `first` (`self`, or the role's own context) and its
/// `.await`. The future is required to be `Send` there, spanned on the method's name: a
/// value held across an `.await` that is not `Send` is reported on the method, naming the
/// value. The result is `Result<T, ActorError>`, except for a role that returns `()` only.
fn forward(
    self_ty: &Type,
    m: &Method,
    locals: &Locals,
    first: &TokenStream,
    args: &[TokenStream],
) -> TokenStream {
    let ident = m.ident();
    let ctx = m.takes_ctx().then_some(&locals.ctx).into_iter();
    let call = quote_spanned! {ident.span()=>
        ::actor::__private::send_future(<#self_ty>::#ident(#first, #(#ctx,)* #(#args,)*)).await
    };
    if let OutputRule::Unit { .. } = m.role.output {
        return call;
    }
    into_actor_result(m, call)
}

/// `call`'s value as `Result<T, ActorError>`: its error converted for a method that
/// returns `Result<T, E>`, wrapped in `Ok` for one that returns a plain value.
fn into_actor_result(m: &Method, call: TokenStream) -> TokenStream {
    match &m.output {
        // Spanned on `E`: an error type that does not convert is reported on it.
        Output::Result { err: Some(err), .. } => {
            quote_spanned!(err.span()=> ::actor::__private::actor_result::<_, #err>(#call))
        }
        Output::Result { ok, err: None } => {
            quote_spanned!(ok.span()=> ::actor::__private::actor_result(#call))
        }
        Output::Unit | Output::Plain(_) => {
            quote!(::core::result::Result::<_, ::actor::__private::ActorError>::Ok(#call))
        }
    }
}

/// The match arm that decodes the arguments of action `index`, runs it, and wraps the reply.
pub(super) fn dispatch_arm(
    self_ty: &Type,
    index: usize,
    m: &Method,
    locals: &Locals,
) -> TokenStream {
    let Locals {
        args, shape, out, ..
    } = locals;
    let names: Vec<&Ident> = m.args().filter_map(|p| p.ident()).collect();
    let types: Vec<&Type> = m.args().map(|p| &p.ty).collect();
    let out_ty: Option<&Type> = match &m.output {
        Output::Unit => None,
        Output::Plain(ty) | Output::Result { ok: ty, .. } => Some(ty),
    };
    let checks = types
        .iter()
        .copied()
        .chain(out_ty)
        .filter_map(wire::assert_wire_type);
    let call = forward(
        self_ty,
        m,
        locals,
        &quote!(self),
        &names.iter().map(|n| quote!(#n)).collect::<Vec<_>>(),
    );
    // A zero-argument action takes `[]`, `null` or nothing, and refuses anything else.
    let decode = if names.is_empty() {
        quote!(#args.no_arguments()?;)
    } else {
        let decoder = format_ident!("decode_arguments_{}", names.len());
        quote!(let (#(#names,)*) = __actor_wire::#decoder::<#(#types),*>(#args)?;)
    };
    let wrap_ty = out_ty.map_or_else(|| quote!(()), |ty| quote!(#ty));
    quote! {
        #index => {
            #(#checks)*
            let #shape = #args.reply_shape();
            #decode
            let #out = #call?;
            ::actor::__private::wrap_output::<#wrap_ty>(#shape, #out)
        }
    }
}

/// The match arm of `call_queue` that decodes the message of queue `index`, runs its
/// handler, and wraps the result for a sender that waits.
pub(super) fn queue_arm(self_ty: &Type, index: usize, m: &Method, locals: &Locals) -> TokenStream {
    let Locals {
        ctx,
        args,
        shape,
        out,
        ..
    } = locals;
    let message = m
        .args()
        .next()
        .expect("validated: a handler takes one message");
    let (name, ty) = (message.ident(), &message.ty);
    let out_ty: Option<&Type> = match &m.output {
        Output::Unit => None,
        Output::Plain(ty) | Output::Result { ok: ty, .. } => Some(ty),
    };
    let checks = std::iter::once(ty)
        .chain(out_ty)
        .filter_map(wire::assert_wire_type);
    let call = forward(self_ty, m, locals, &quote!(self), &[quote!(#name)]);
    let queue = m.name();
    let wrap_ty = out_ty.map_or_else(|| quote!(()), |ty| quote!(#ty));
    quote! {
        #index => {
            #(#checks)*
            let #shape = ::actor::__private::handler_shape(&#args, #ctx);
            let #name = ::actor::__private::decode_message::<#ty>(#args, #queue)?;
            let #out = #call?;
            ::actor::__private::wrap_output::<#wrap_ty>(#shape, #out)
        }
    }
}

/// The match arm of `call_workflow` that decodes the input of workflow `index` (if it
/// takes one), runs it, and encodes its output.
pub(super) fn workflow_arm(
    self_ty: &Type,
    index: usize,
    m: &Method,
    locals: &Locals,
) -> TokenStream {
    let Locals {
        wf,
        input,
        decoded,
        out,
        ..
    } = locals;
    let input_ty: Option<&Type> = m.args().next().map(|p| &p.ty);
    let out_ty: Option<&Type> = match &m.output {
        Output::Unit => None,
        Output::Plain(ty) | Output::Result { ok: ty, .. } => Some(ty),
    };
    let checks = input_ty
        .into_iter()
        .chain(out_ty)
        .filter_map(wire::assert_wire_type);
    let name = m.name();
    let decode = input_ty.map(|ty| {
        quote!(let #decoded = ::actor::__private::decode_workflow_input::<#ty>(#input, #name)?;)
    });
    let args: Vec<TokenStream> = input_ty.map(|_| quote!(#decoded)).into_iter().collect();
    let call = forward(self_ty, m, locals, &quote!(#wf), &args);
    let wrap_ty = out_ty.map_or_else(|| quote!(()), |ty| quote!(#ty));
    quote! {
        #index => {
            #(#checks)*
            #decode
            let #out = #call?;
            ::actor::__private::workflow_output::<#wrap_ty>(#out)
        }
    }
}

/// `Actor::run`, forwarding to the user's `#[run]` method, and `HAS_RUN`.
pub(super) fn run_fn(self_ty: &Type, m: &Method, locals: &Locals) -> TokenStream {
    let ident = m.ident();
    let lp = &locals.lp;
    let result = forward(self_ty, m, locals, &quote!(#lp), &[]);
    let ret = future(quote!(::core::result::Result<(), ::actor::__private::ActorError>));
    let body = quote_spanned!(ident.span()=> async move { #result });
    quote! {
        const HAS_RUN: bool = true;
        fn run(#lp: ::actor::Loop<Self>) -> #ret {
            #body
        }
    }
}

/// The `Actor` method a hook implements, with the flag constant it sets.
pub(super) fn hook_fn(
    self_ty: &Type,
    m: &Method,
    method: &str,
    arg: HookArg,
    flag: Option<&str>,
    locals: &Locals,
) -> TokenStream {
    let Locals {
        ctx, input, conn, ..
    } = locals;
    let fn_ident = format_ident!("{}", method);
    let receiver = if m.is_exclusive() {
        quote!(&mut self)
    } else {
        quote!(&self)
    };
    let (param, args) = match arg {
        HookArg::None => (None, Vec::new()),
        // The create input is passed on only to a method that takes one.
        HookArg::Input => (
            Some(quote!(#input: Self::Input)),
            m.args()
                .next()
                .map(|_| quote!(#input))
                .into_iter()
                .collect(),
        ),
        HookArg::Conn => (
            Some(quote!(#conn: &::actor::Conn<Self>)),
            vec![quote!(#conn)],
        ),
    };
    let output = match m.role.output {
        OutputRule::Unit { .. } => quote!(()),
        _ => quote!(::core::result::Result<(), ::actor::__private::ActorError>),
    };
    let ret = future(output);
    let call = forward(self_ty, m, locals, &quote!(self), &args);
    let flag = flag.map(|flag| {
        let flag = format_ident!("{}", flag);
        quote!(const #flag: bool = true;)
    });
    // The async block is spanned on the user's method, like the call inside it.
    let body = quote_spanned!(m.ident().span()=> async move { #call });
    quote! {
        #flag
        fn #fn_ident(#receiver, #ctx: &::actor::Ctx<Self>, #param) -> #ret {
            #body
        }
    }
}

/// `Actor::on_before_connect` with `HAS_ON_BEFORE_CONNECT`: the params decoded into the
/// type the user's method takes (a mismatch is `actor/invalid_arguments`, and refuses the
/// connection), and its value, the connection's state, returned as `Self::ConnState`.
pub(super) fn before_connect_fn(self_ty: &Type, m: &Method, locals: &Locals) -> TokenStream {
    let Locals { ctx, params, .. } = locals;
    let p = m
        .args()
        .next()
        .expect("validated: `#[on_before_connect]` takes the params");
    let (name, ty) = (p.ident(), &p.ty);
    // Spanned on the params' type: one that is not `Deserialize` is reported there.
    let decode = quote_spanned!(ty.span()=> let #name = #params.decode::<#ty>()?;);
    let call = forward(self_ty, m, locals, &quote!(self), &[quote!(#name)]);
    let ret = future(quote!(
        ::core::result::Result<Self::ConnState, ::actor::__private::ActorError>
    ));
    let body = quote_spanned!(m.ident().span()=> async move { #decode #call });
    quote! {
        const HAS_ON_BEFORE_CONNECT: bool = true;
        fn on_before_connect(&self, #ctx: &::actor::Ctx<Self>, #params: ::actor::__private::Payload) -> #ret {
            #body
        }
    }
}

/// `Actor::on_before_connect` for a kind without the hook: it accepts any params, and the
/// connection's state is `()`.
pub(super) fn accept_every_connection() -> TokenStream {
    let ret = future(quote!(
        ::core::result::Result<Self::ConnState, ::actor::__private::ActorError>
    ));
    quote! {
        fn on_before_connect(&self, _: &::actor::Ctx<Self>, _: ::actor::__private::Payload) -> #ret {
            async { ::core::result::Result::Ok(()) }
        }
    }
}
