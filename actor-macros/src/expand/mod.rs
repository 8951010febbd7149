//! Code generation (thiserror's `expand.rs`) for a valid input. Generated code reaches the
//! runtime only through `::actor::__private` (and the public `::actor::Ctx`), and is
//! wrapped in `const _: () = { … };` where it needs no public name (serde_derive's
//! `dummy.rs`).
//!
//! | module | what it writes |
//! |---|---|
//! | this one | the struct's `ActorOptions` impl; the impl block's `Actor` impl, by role |
//! | [`handle`] | the typed handle: its type, and its methods (shared with the stubs); the schedule and workflows types |
//! | [`call`] | calls of the user's methods: dispatch arms and hook methods |
//! | [`wire`] | the checks that arguments and outputs cross the network |

mod call;
pub(crate) mod handle;
pub(crate) mod wire;

#[cfg(test)]
mod snapshot;

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, Type};

use crate::ast::{self, ActorImpl, Method, State};
use crate::options;
use crate::queue_options;
use crate::role::{Expansion, HookArg};
use handle::{HandleMethod, TurnType};

/// The struct, its handle type and its `ActorOptions` impl.
pub(crate) fn state(state: &State) -> TokenStream {
    let item = &state.item;
    let opts = &state.options;
    let name = options::kind_name(opts, &item.ident.unraw().to_string());
    options_impl(&OptionsImpl {
        item,
        ident: &item.ident,
        vis: &item.vis,
        generics: &item.generics,
        name: &name,
        config: options::config(opts),
        vars: opts.vars.as_ref(),
        events: opts.events.as_ref(),
        database: options::database(opts, &name),
    })
}

/// What [`options_impl`] writes: the real expansion of a struct, or its stand-in beside
/// errors (default settings, and for a generic struct, bounds that are assumed).
pub(crate) struct OptionsImpl<'a> {
    /// The user's item, emitted unchanged.
    pub(crate) item: &'a dyn ToTokens,
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a syn::Visibility,
    /// The generics of the `ActorOptions` impl.
    pub(crate) generics: &'a syn::Generics,
    pub(crate) name: &'a str,
    pub(crate) config: TokenStream,
    pub(crate) vars: Option<&'a Type>,
    /// `events = T`; `NoEvents` when not given.
    pub(crate) events: Option<&'a Type>,
    /// `DATABASE`, for a kind that declares one (empty in a stand-in); then it also
    /// implements `HasDatabase`.
    pub(crate) database: Option<TokenStream>,
}

/// The item, the handle struct, and `ActorOptions`.
pub(crate) fn options_impl(spec: &OptionsImpl<'_>) -> TokenStream {
    let OptionsImpl {
        item,
        ident,
        vis,
        generics,
        name,
        config,
        vars,
        events,
        database,
    } = spec;
    let handle = handle::handle_ident(ident);
    let handle_struct = handle::handle_struct(ident, vis, name);
    let handle_impls = handle::handle_impls(ident);
    let vars = vars.map_or_else(|| quote!(()), ToTokens::to_token_stream);
    let events = events.map_or_else(
        || quote!(::actor::connection::NoEvents),
        ToTokens::to_token_stream,
    );
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let has_database = database.is_some().then(|| {
        quote! {
            #[automatically_derived]
            impl #impl_generics ::actor::database::HasDatabase for #ident #ty_generics #where_clause {}
        }
    });
    quote! {
        #item

        #handle_struct

        const _: () = {
            #handle_impls

            #[automatically_derived]
            impl #impl_generics ::actor::__private::ActorOptions for #ident #ty_generics #where_clause {
                const NAME: &'static str = #name;
                type Vars = #vars;
                type Events = #events;
                type Handle = #handle;
                fn config() -> ::actor::__private::ActorConfig {
                    #config
                }
                #database
            }
            #has_database
        };
    }
}

/// `#[action]`, `#[workflow]` or another marker that no `#[actor] impl` consumed: the item
/// and the error. A runtime type among the parameters whose type argument must be an actor
/// (`wf: Workflow<Self>`, `conn: &Conn<Self>`) requires it to be one, which without an
/// `#[actor] impl` it is not: that bound is assumed on the method
/// (`where for<'__stub> Self: Actor`, as the stubs do), so it adds no error of its own.
pub(crate) fn misplaced(marker: &str, item: TokenStream) -> TokenStream {
    let message = format!(
        "`#[{marker}]` only works inside an `#[actor] impl` block: add `#[actor]` to the `impl`"
    );
    let Ok(mut f) = syn::parse2::<syn::ImplItemFn>(item.clone()) else {
        let err = syn::Error::new_spanned(&item, message).to_compile_error();
        return quote!(#item #err);
    };
    let (fn_token, ident) = (&f.sig.fn_token, &f.sig.ident);
    let err = syn::Error::new_spanned(quote!(#fn_token #ident), message).to_compile_error();
    let actor = crate::role::by_marker(marker)
        .and_then(|role| role.args.actor_context())
        .and_then(|context| {
            f.sig.inputs.iter().find_map(|a| match a {
                syn::FnArg::Typed(p) => {
                    let ty = match &*p.ty {
                        Type::Reference(r) => &*r.elem,
                        ty => ty,
                    };
                    ast::context_actor(ty, context).cloned()
                }
                syn::FnArg::Receiver(_) => None,
            })
        });
    if let Some(actor) = actor {
        f.sig
            .generics
            .make_where_clause()
            .predicates
            .push(syn::parse_quote!(for<'__stub> #actor: ::actor::__private::Actor));
    }
    quote!(#f #err)
}

/// Local names in generated bodies, hygienic so they never meet the user's argument names.
pub(crate) struct Locals {
    ctx: Ident,
    index: Ident,
    args: Ident,
    shape: Ident,
    out: Ident,
    input: Ident,
    /// The run loop's context, in `run`.
    lp: Ident,
    /// A workflow's context, in `call_workflow`.
    wf: Ident,
    /// A workflow's decoded input.
    decoded: Ident,
    /// A connection's params, in `on_before_connect`.
    params: Ident,
    /// The connection, in `on_connect` and `on_disconnect`.
    conn: Ident,
}

impl Locals {
    fn new() -> Self {
        let local = |name: &str| Ident::new(name, Span::mixed_site());
        Locals {
            ctx: local("__ctx"),
            index: local("__index"),
            args: local("__args"),
            shape: local("__shape"),
            out: local("__out"),
            input: local("__input"),
            lp: local("__lp"),
            wf: local("__wf"),
            decoded: local("__in"),
            params: local("__params"),
            conn: local("__conn"),
        }
    }
}

fn future(output: TokenStream) -> TokenStream {
    quote!(impl ::core::future::Future<Output = #output> + ::core::marker::Send)
}

/// `type Input`: the `#[on_create]` input's type, or `()`.
pub(crate) fn input_type(actor: &ActorImpl) -> TokenStream {
    actor
        .methods
        .iter()
        .find(|m| {
            matches!(
                m.role.expansion,
                Expansion::Hook {
                    arg: HookArg::Input,
                    ..
                }
            )
        })
        .and_then(|m| m.args().next())
        .map_or_else(|| quote!(()), |p| p.ty.to_token_stream())
}

/// `type ConnState`: the type of the value `#[on_before_connect]` returns, or `()`. A
/// borrowed type or `impl Trait` (an error already) is `()` here, so the stubs beside the
/// error add none of their own.
pub(crate) fn conn_state_type(actor: &ActorImpl) -> TokenStream {
    let state = actor
        .methods
        .iter()
        .find(|m| matches!(m.role.expansion, Expansion::BeforeConnect))
        .and_then(|m| match &m.output {
            ast::Output::Unit => None,
            ast::Output::Plain(ty) | ast::Output::Result { ok: ty, .. } => Some(&**ty),
        })
        .filter(|ty| !matches!(ty, Type::Reference(_) | Type::ImplTrait(_)));
    state.map_or_else(|| quote!(()), ToTokens::to_token_stream)
}

/// The methods that are actions, in declaration order: their index is their place in
/// `Actor::ACTIONS`.
pub(crate) fn actions(actor: &ActorImpl) -> impl Iterator<Item = &Method> {
    actor
        .methods
        .iter()
        .filter(|m| matches!(m.role.expansion, Expansion::Action))
}

/// The methods that are queue handlers, in declaration order: their index is their place
/// in `Actor::QUEUES`.
pub(crate) fn queues(actor: &ActorImpl) -> impl Iterator<Item = &Method> {
    actor
        .methods
        .iter()
        .filter(|m| matches!(m.role.expansion, Expansion::Queue))
}

/// The methods that are workflows, in declaration order: their index is their place in
/// `Actor::WORKFLOWS`.
pub(crate) fn workflows(actor: &ActorImpl) -> impl Iterator<Item = &Method> {
    actor
        .methods
        .iter()
        .filter(|m| matches!(m.role.expansion, Expansion::Workflow))
}

/// The methods the handle gets one of each: actions, then queues, then workflows.
pub(crate) fn handle_methods(actor: &ActorImpl) -> impl Iterator<Item = &Method> {
    actions(actor).chain(queues(actor)).chain(workflows(actor))
}

/// The [`TurnType`]s of the impl of `self_ty`: the `Actor` impl's associated types naming
/// them (`type Schedule = CounterSchedule;` for `impl a::Counter`), and the types, each with
/// `method` (the real one or the stub) of every one of `methods` it holds.
pub(crate) fn turn_types<'a>(
    self_ty: &Type,
    methods: &[HandleMethod<'a>],
    method: fn(&HandleMethod<'a>) -> TokenStream,
) -> (TokenStream, TokenStream) {
    let state = self_ty.to_token_stream().to_string();
    let state_ident = match self_ty {
        Type::Path(p) => p.path.segments.last().map(|s| &s.ident),
        _ => None,
    };
    let mut assoc = TokenStream::new();
    let mut types = TokenStream::new();
    for turn in TurnType::ALL {
        let (name, ident) = (
            turn.assoc(),
            state_ident.map_or_else(|| turn.assoc(), |s| turn.ident(s)),
        );
        let methods = methods
            .iter()
            .filter(|m| turn.holds(m))
            .map(method)
            .collect();
        assoc.extend(quote!(type #name = #ident;));
        types.extend(turn.emit(&ident, &state, methods));
    }
    (assoc, types)
}

/// `where Handle: Sized` on the `Actor` impl: always true, and when the struct has no
/// `#[actor]` (so no handle), an unresolved name, which makes rustc skip the impl's other
/// checks instead of reporting the struct's missing options once per use.
pub(crate) fn handle_bound(handle: &syn::Path) -> TokenStream {
    quote!(where #handle: ::core::marker::Sized)
}

/// The one check that the struct has `#[actor]`, spanned on its name in `impl Name`: when
/// it has not, this error says so (and what to write) beside the unresolved handle.
pub(crate) fn expects_actor_attribute(self_ty: &Type) -> TokenStream {
    quote_spanned! {self_ty.span()=>
        const _: () = ::actor::__private::expects_actor_attribute::<#self_ty>();
    }
}

/// The block with its markers removed, the `Actor` impl, the handle's methods and the
/// inventory entry.
pub(crate) fn actor_impl(actor: &ActorImpl) -> TokenStream {
    let item = &actor.item;
    let self_ty = &*item.self_ty;
    let self_tokens = self_ty.to_token_stream();
    let handle = handle::handle_path(self_ty).expect("validated: the impl is for a plain path");
    let locals = Locals::new();
    let Locals {
        ctx, index, args, ..
    } = &locals;

    let actions: Vec<&Method> = actions(actor).collect();
    let infos = actions.iter().map(|m| {
        let name = m.name();
        let access = if m.is_exclusive() {
            quote!(Exclusive)
        } else {
            quote!(Shared)
        };
        quote!(::actor::__private::ActionInfo { name: #name, access: ::actor::__private::Access::#access })
    });
    let not_found = quote! {
        _ => ::core::result::Result::Err(::actor::__private::action_not_found(
            <Self as ::actor::__private::ActorOptions>::NAME,
            #index,
        )),
    };
    let payload = future(
        quote!(::core::result::Result<::actor::__private::Payload, ::actor::__private::ActorError>),
    );
    let dispatch = |exclusive: bool| -> Option<TokenStream> {
        let arms: Vec<TokenStream> = actions
            .iter()
            .enumerate()
            .filter(|(_, m)| m.is_exclusive() == exclusive)
            .map(|(i, m)| call::dispatch_arm(self_ty, i, m, &locals))
            .collect();
        if arms.is_empty() {
            return None;
        }
        let (method, receiver) = if exclusive {
            (quote!(call_exclusive), quote!(&mut self))
        } else {
            (quote!(call_shared), quote!(&self))
        };
        Some(quote! {
            fn #method(#receiver, #ctx: &::actor::Ctx<Self>, #index: usize, #args: ::actor::__private::Payload) -> #payload {
                async move {
                    match #index {
                        #(#arms)*
                        #not_found
                    }
                }
            }
        })
    };
    let call_exclusive = dispatch(true);
    let call_shared = dispatch(false);
    // Exclusive actions whose bodies never wait: the runtime runs their turns to the end
    // at once. No user type appears here, so it adds no diagnostics.
    // Shared ones likewise, run on the caller's stack without a boxed future.
    let never_waits = |exclusive: bool, method: proc_macro2::TokenStream| {
        let now: Vec<usize> = actions
            .iter()
            .enumerate()
            .filter(|(_, m)| m.is_exclusive() == exclusive && !m.waits)
            .map(|(i, _)| i)
            .collect();
        (!now.is_empty()).then(|| {
            quote! {
                fn #method(#index: usize) -> bool {
                    ::core::matches!(#index, #(#now)|*)
                }
            }
        })
    };
    let exclusive_now = never_waits(true, quote!(exclusive_now));
    let shared_now = never_waits(false, quote!(shared_now));

    let hooks = actor.methods.iter().filter_map(|m| match m.role.expansion {
        Expansion::Hook { method, arg, flag } => {
            Some(call::hook_fn(self_ty, m, method, arg, flag, &locals))
        }
        Expansion::Action
        | Expansion::Queue
        | Expansion::Run
        | Expansion::Workflow
        | Expansion::BeforeConnect => None,
    });
    // Always written: the trait's default refuses every connection.
    let before_connect = actor
        .methods
        .iter()
        .find(|m| matches!(m.role.expansion, Expansion::BeforeConnect))
        .map_or_else(call::accept_every_connection, |m| {
            call::before_connect_fn(self_ty, m, &locals)
        });
    let conn_state = conn_state_type(actor);
    let run = actor
        .methods
        .iter()
        .find(|m| matches!(m.role.expansion, Expansion::Run))
        .map(|m| call::run_fn(self_ty, m, &locals));
    let queues: Vec<&Method> = queues(actor).collect();
    let queue_infos = queues.iter().map(|m| {
        let options = m.queue.as_ref().expect("a queue has its options");
        queue_options::info(&m.name(), m.has_body, options)
    });
    let queue_list = (!queues.is_empty()).then(
        || quote!(const QUEUES: &'static [::actor::__private::QueueInfo] = &[#(#queue_infos),*];),
    );
    // Arms only for the queues with a handler; the run loop takes the others' messages.
    let call_queue = queues.iter().any(|m| m.has_body).then(|| {
        let arms = queues
            .iter()
            .enumerate()
            .filter(|(_, m)| m.has_body)
            .map(|(i, m)| call::queue_arm(self_ty, i, m, &locals));
        quote! {
            fn call_queue(&mut self, #ctx: &::actor::Ctx<Self>, #index: usize, #args: ::actor::__private::Payload) -> #payload {
                async move {
                    match #index {
                        #(#arms)*
                        _ => ::core::result::Result::Err(::actor::__private::queue_not_found(
                            <Self as ::actor::__private::ActorOptions>::NAME,
                            #index,
                        )),
                    }
                }
            }
        }
    });
    // Handlers whose bodies never wait, like `exclusive_now` for actions.
    let queue_now: Vec<usize> = queues
        .iter()
        .enumerate()
        .filter(|(_, m)| m.has_body && !m.waits)
        .map(|(i, _)| i)
        .collect();
    let queue_now = (!queue_now.is_empty()).then(|| {
        quote! {
            fn queue_now(#index: usize) -> bool {
                ::core::matches!(#index, #(#queue_now)|*)
            }
        }
    });
    let workflows: Vec<&Method> = workflows(actor).collect();
    let workflow_infos = workflows.iter().map(|m| {
        let (name, main) = (m.name(), m.main.is_some());
        quote!(::actor::__private::WorkflowInfo { name: #name, main: #main })
    });
    let workflow_list = (!workflows.is_empty()).then(|| {
        quote!(const WORKFLOWS: &'static [::actor::__private::WorkflowInfo] = &[#(#workflow_infos),*];)
    });
    let call_workflow = (!workflows.is_empty()).then(|| {
        let Locals { wf, input, .. } = &locals;
        let arms = workflows
            .iter()
            .enumerate()
            .map(|(i, m)| call::workflow_arm(self_ty, i, m, &locals));
        quote! {
            fn call_workflow(#wf: ::actor::Workflow<Self>, #index: usize, #input: ::actor::__private::Payload) -> #payload {
                async move {
                    match #index {
                        #(#arms)*
                        _ => ::core::result::Result::Err(::actor::__private::workflow_not_found(
                            <Self as ::actor::__private::ActorOptions>::NAME,
                            #index,
                        )),
                    }
                }
            }
        }
    });
    let input = input_type(actor);
    let handle_methods: Vec<HandleMethod> = handle_methods(actor)
        .map(|m| HandleMethod::new(m, &self_tokens))
        .collect();
    let (turn_assoc, turn_types) = turn_types(self_ty, &handle_methods, HandleMethod::turn_real);
    let handle_methods = handle_methods.iter().map(HandleMethod::real);
    let arities: BTreeSet<usize> = actions.iter().map(|m| m.args().count()).collect();
    let decoders = wire::decoders(&arities);
    // Spanned on the struct's name, so what the state lacks is reported on it.
    let actor_trait = quote_spanned!(self_ty.span()=> ::actor::__private::Actor);
    let handle_bound = handle_bound(&handle);
    let expects_actor_attribute = expects_actor_attribute(self_ty);

    quote! {
        #item

        const _: () = {
            #expects_actor_attribute
            #decoders

            #[automatically_derived]
            impl #actor_trait for #self_ty #handle_bound {
                type Input = #input;
                #turn_assoc
                type ConnState = #conn_state;
                const ACTIONS: &'static [::actor::__private::ActionInfo] = &[#(#infos),*];
                #queue_list
                #workflow_list
                #(#hooks)*
                #before_connect
                #call_exclusive
                #exclusive_now
                #call_shared
                #shared_now
                #call_queue
                #queue_now
                #run
                #call_workflow
            }

            // Each method takes what the user's takes: a lint on their count is the
            // user's to meet on their own method, not again on ours.
            #[allow(clippy::too_many_arguments)]
            impl #handle {
                #(#handle_methods)*
            }

            #turn_types

            ::actor::__private::inventory::submit! {
                ::actor::__private::ActorKind::of::<#self_ty>()
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctxt::Ctxt;

    #[test]
    fn a_misplaced_workflow_assumes_its_actor() {
        let out = misplaced(
            "workflow",
            quote!(
                async fn provision(wf: Workflow<Self>) {}
            ),
        );
        let out = out.to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(
            out.contains("where for < '__stub > Self : :: actor :: __private :: Actor"),
            "{out}"
        );
        for marker in ["on_connect", "on_disconnect"] {
            let out = misplaced(
                marker,
                quote!(
                    async fn arrived(&mut self, ctx: &Ctx<Self>, conn: &Conn<Self>) {}
                ),
            )
            .to_string();
            assert!(out.contains("compile_error"), "{out}");
            assert!(
                out.contains("where for < '__stub > Self : :: actor :: __private :: Actor"),
                "{out}"
            );
        }
        let out = misplaced(
            "on_before_connect",
            quote!(
                async fn check(&self, params: String) -> String {
                    params
                }
            ),
        )
        .to_string();
        assert!(
            out.contains("compile_error") && !out.contains("__stub"),
            "{out}"
        );
        let out = misplaced(
            "action",
            quote!(
                async fn get(&self) {}
            ),
        )
        .to_string();
        assert!(
            out.contains("compile_error") && !out.contains("__stub"),
            "{out}"
        );
    }

    #[test]
    fn zero_argument_actions_do_not_decode() {
        let cx = Ctxt::new();
        let actor = ActorImpl::from_syn(
            &cx,
            syn::parse_quote!(impl Counter {
                #[action] async fn get(&self) -> i64 { 0 }
                #[action] async fn add(&mut self, by: i64) {}
            }),
            TokenStream::new(),
        );
        cx.check().unwrap();
        let locals = Locals::new();
        let self_ty: Type = syn::parse_quote!(Counter);
        let get = call::dispatch_arm(&self_ty, 0, &actor.methods[0], &locals).to_string();
        let add = call::dispatch_arm(&self_ty, 1, &actor.methods[1], &locals).to_string();
        assert!(!get.contains("decode"), "{get}");
        assert!(add.contains("decode"), "{add}");
    }
}
