//! Code generation. Generated code reaches the runtime only through `::actor::__private`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemStruct, Type};

use crate::ast::{ActorImpl, Method, Output, Receiver, Role};
use crate::attr::StructOptions;
use crate::case;

fn duration(d: std::time::Duration) -> TokenStream {
    let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
    quote!(::actor::__private::Duration::new(#secs, #nanos))
}

/// The handle type's name: `Counter` → `CounterHandle`.
fn handle_ident(ident: &syn::Ident) -> syn::Ident {
    format_ident!("{}Handle", ident)
}

/// `#[actor(...)]` on the struct: the struct itself, its handle type, its options.
pub(crate) fn actor_struct(item: &ItemStruct, opts: &StructOptions) -> TokenStream {
    let ident = &item.ident;
    let vis = &item.vis;
    let handle = handle_ident(ident);
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| case::camel(&ident.to_string()));
    let mut config = Vec::new();
    if let Some(timeout) = opts.sleep_timeout {
        let value = match timeout {
            Some(d) => {
                let d = duration(d);
                quote!(::core::option::Option::Some(#d))
            }
            None => quote!(::core::option::Option::None),
        };
        config.push(quote!(config.sleep_timeout = #value;));
    }
    if let Some(d) = opts.action_timeout {
        let d = duration(d);
        config.push(quote!(config.action_timeout = #d;));
    }
    if let Some(d) = opts.sleep_grace {
        let d = duration(d);
        config.push(quote!(config.sleep_grace = #d;));
    }
    if let Some(n) = opts.inbox {
        config.push(quote!(config.inbox_capacity = #n;));
    }
    if let Some(d) = opts.save_interval {
        let d = duration(d);
        config.push(quote!(config.save = ::actor::__private::SaveMode::Debounced(#d);));
    }
    let vars = match &opts.vars {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    };
    let handle_doc = format!(
        "The typed handle to a [`{ident}`] actor (kind `{name}`): one async method per action. \
         Get one with `{ident}::get_or_create(&client, key)`; it derefs to \
         [`ActorHandle`](::actor::ActorHandle) for `id()`, `sleep()`, `destroy()` and calls by name."
    );
    quote! {
        #item

        #[doc = #handle_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #handle {
            inner: ::actor::__private::ActorHandle,
        }

        const _: () = {
            impl ::core::convert::From<::actor::__private::ActorHandle> for #handle {
                fn from(inner: ::actor::__private::ActorHandle) -> Self {
                    Self { inner }
                }
            }

            impl ::core::ops::Deref for #handle {
                type Target = ::actor::__private::ActorHandle;
                fn deref(&self) -> &Self::Target {
                    &self.inner
                }
            }

            impl ::actor::__private::ActorOptions for #ident {
                const NAME: &'static str = #name;
                type Vars = #vars;
                type Handle = #handle;
                fn config() -> ::actor::__private::ActorConfig {
                    #[allow(unused_mut)]
                    let mut config = ::actor::__private::ActorConfig::default();
                    #(#config)*
                    config
                }
            }
        };
    }
}

/// What a method's call evaluates to inside generated code, as `Result<T, ActorError>`.
fn call_expr(self_ty: &Type, m: &Method, args: &[TokenStream]) -> TokenStream {
    let ident = m.ident();
    let ctx = m.ctx.then(|| quote!(ctx,));
    let call = quote!(<#self_ty>::#ident(self, #ctx #(#args,)*).await);
    match &m.output {
        Output::Result { err: Some(err), .. } => {
            quote_spanned!(err.span()=> ::actor::__private::into_result::<_, #err>(#call))
        }
        Output::Result { err: None, .. } => quote!(::actor::__private::into_result(#call)),
        Output::Unit | Output::Plain(_) => {
            quote!(::core::result::Result::<_, ::actor::__private::ActorError>::Ok(#call))
        }
    }
}

fn output_type(m: &Method) -> TokenStream {
    match &m.output {
        Output::Unit => quote!(()),
        Output::Plain(ty) | Output::Result { ok: ty, .. } => quote!(#ty),
    }
}

/// The match arm that runs action `index`.
fn arg_names(m: &Method) -> Vec<TokenStream> {
    m.args.iter().map(|(a, _)| quote!(#a)).collect()
}

fn dispatch_arm(self_ty: &Type, index: usize, m: &Method) -> TokenStream {
    let call = call_expr(self_ty, m, &arg_names(m));
    // Spanned on the user's types, so a type that cannot cross the wire is reported there.
    let decode = match m.args.first() {
        None => quote!(::core::mem::drop(args);),
        Some((_, first)) => {
            let names = m.args.iter().map(|(a, _)| a);
            let types = m.args.iter().map(|(_, t)| t);
            quote_spanned!(first.span()=> let (#(#names,)*): (#(#types,)*) = args.decode()?;)
        }
    };
    let wrap = match &m.output {
        Output::Plain(ty) | Output::Result { ok: ty, .. } => {
            quote_spanned!(ty.span()=> shape.wrap(out))
        }
        Output::Unit => quote!(shape.wrap(out)),
    };
    quote! {
        #index => {
            let shape = args.reply_shape();
            #decode
            let out = #call?;
            #wrap
        }
    }
}

/// `#[actor]` on the impl block: the `Actor` impl, the handle's methods, the registration.
pub(crate) fn actor_impl(actor: &ActorImpl) -> TokenStream {
    let item = &actor.item;
    let self_ty = &*item.self_ty;
    let handle = match self_ty {
        Type::Path(p) => {
            let mut path = p.path.clone();
            let last = path.segments.last_mut().expect("a type path has a segment");
            last.ident = handle_ident(&last.ident);
            quote!(#path)
        }
        _ => return quote!(#item),
    };
    let actions: Vec<&Method> = actor
        .methods
        .iter()
        .filter(|m| matches!(m.role, Role::Action(_)))
        .collect();
    let hook = |role: fn(&Role) -> bool| actor.methods.iter().find(|m| role(&m.role));

    let infos = actions.iter().map(|m| {
        let name = m.name();
        let access = if m.receiver == Receiver::Exclusive { quote!(Exclusive) } else { quote!(Shared) };
        quote!(::actor::__private::ActionInfo { name: #name, access: ::actor::__private::Access::#access })
    });
    let exclusive_arms = actions
        .iter()
        .enumerate()
        .filter(|(_, m)| m.receiver == Receiver::Exclusive)
        .map(|(i, m)| dispatch_arm(self_ty, i, m));
    let shared_arms = actions
        .iter()
        .enumerate()
        .filter(|(_, m)| m.receiver != Receiver::Exclusive)
        .map(|(i, m)| dispatch_arm(self_ty, i, m));

    let on_create = hook(|r| matches!(r, Role::OnCreate));
    let input_ty = on_create
        .and_then(|m| m.args.first())
        .map(|(_, ty)| quote!(#ty))
        .unwrap_or_else(|| quote!(()));
    let create_body = match on_create {
        Some(m) => {
            let has_input = !m.args.is_empty();
            let input: Vec<TokenStream> = has_input.then(|| quote!(input)).into_iter().collect();
            let call = call_expr(self_ty, m, &input);
            let drop_input = (!has_input).then(|| quote!(::core::mem::drop(input);));
            quote!(#drop_input #call)
        }
        None => quote!(::core::mem::drop(input); ::core::result::Result::Ok(())),
    };
    let simple_hook = |fn_name: &str, role: fn(&Role) -> bool| {
        let fn_ident = format_ident!("{}", fn_name);
        hook(role).map(|m| {
            let call = call_expr(self_ty, m, &[]);
            quote! {
                fn #fn_ident(&mut self, ctx: &::actor::Ctx<Self>) -> impl ::core::future::Future<Output = ::core::result::Result<(), ::actor::__private::ActorError>> + ::core::marker::Send {
                    async move { #call }
                }
            }
        })
    };
    let on_wake = simple_hook("on_wake", |r| matches!(r, Role::OnWake));
    let on_sleep = simple_hook("on_sleep", |r| matches!(r, Role::OnSleep));
    let on_destroy = simple_hook("on_destroy", |r| matches!(r, Role::OnDestroy));
    let on_state_change = hook(|r| matches!(r, Role::OnStateChange)).map(|m| {
        let ident = m.ident();
        let ctx = m.ctx.then(|| quote!(ctx));
        quote! {
            const HAS_ON_STATE_CHANGE: bool = true;
            fn on_state_change(&self, ctx: &::actor::Ctx<Self>) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send {
                async move { let _ = <#self_ty>::#ident(self, #ctx).await; }
            }
        }
    });

    let handle_methods = actions.iter().map(|m| {
        let ident = m.ident();
        let name = m.name();
        let docs = m.func.attrs.iter().filter(|a| a.path().is_ident("doc"));
        let names: Vec<_> = m.args.iter().map(|(a, _)| a).collect();
        let types: Vec<_> = m.args.iter().map(|(_, t)| t).collect();
        let out = output_type(m);
        let span = m.args.first().map(|(_, t)| t.span()).or_else(|| match &m.output {
            Output::Plain(ty) | Output::Result { ok: ty, .. } => Some(ty.span()),
            Output::Unit => None,
        });
        let call = match span {
            Some(span) => quote_spanned!(span=> self.inner.call::<(#(#types,)*), #out>(#name, (#(#names,)*)).await),
            None => quote!(self.inner.call::<(), ()>(#name, ()).await),
        };
        let access = if m.receiver == Receiver::Exclusive { "Exclusive: runs alone, and answers once its writes are durable." } else { "Shared: runs concurrently on a snapshot of the state." };
        quote! {
            #(#docs)*
            #[doc = ""]
            #[doc = #access]
            pub async fn #ident(&self, #(#names: #types),*) -> ::core::result::Result<#out, ::actor::__private::ActorError> {
                #call
            }
        }
    });

    quote! {
        #item

        const _: () = {
            impl ::actor::__private::Actor for #self_ty {
                type Input = #input_ty;
                const ACTIONS: &'static [::actor::__private::ActionInfo] = &[#(#infos),*];

                fn on_create(&mut self, ctx: &::actor::Ctx<Self>, input: Self::Input) -> impl ::core::future::Future<Output = ::core::result::Result<(), ::actor::__private::ActorError>> + ::core::marker::Send {
                    #[allow(unused_variables)]
                    let ctx = ctx;
                    async move { #create_body }
                }
                #on_wake
                #on_sleep
                #on_destroy
                #on_state_change

                #[allow(unused_variables)]
                fn call_exclusive(&mut self, ctx: &::actor::Ctx<Self>, index: usize, args: ::actor::__private::Payload) -> impl ::core::future::Future<Output = ::core::result::Result<::actor::__private::Payload, ::actor::__private::ActorError>> + ::core::marker::Send {
                    async move {
                        match index {
                            #(#exclusive_arms)*
                            _ => ::core::result::Result::Err(::actor::__private::action_not_found(<Self as ::actor::__private::ActorOptions>::NAME, index)),
                        }
                    }
                }

                #[allow(unused_variables)]
                fn call_shared(&self, ctx: &::actor::Ctx<Self>, index: usize, args: ::actor::__private::Payload) -> impl ::core::future::Future<Output = ::core::result::Result<::actor::__private::Payload, ::actor::__private::ActorError>> + ::core::marker::Send {
                    async move {
                        match index {
                            #(#shared_arms)*
                            _ => ::core::result::Result::Err(::actor::__private::action_not_found(<Self as ::actor::__private::ActorOptions>::NAME, index)),
                        }
                    }
                }
            }

            impl #handle {
                #(#handle_methods)*
            }

            ::actor::__private::inventory::submit! {
                ::actor::__private::ActorKind::of::<#self_ty>()
            }

        };
    }
}

/// The `Actor` impl emitted beside `compile_error!` when the block has mistakes, so the
/// user sees those mistakes and not a cascade of missing-trait errors.
pub(crate) fn fallback_impl(actor: &ActorImpl) -> TokenStream {
    let self_ty = &actor.item.self_ty;
    if actor.item.trait_.is_some() || !actor.item.generics.params.is_empty() {
        return quote!();
    }
    quote! {
        const _: () = {
            impl ::actor::__private::Actor for #self_ty {
                type Input = ();
                const ACTIONS: &'static [::actor::__private::ActionInfo] = &[];
            }
        };
    }
}
