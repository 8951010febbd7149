//! The stages every macro input goes through, written once: parse (collecting every
//! mistake in a [`Ctxt`]), validate, then expand, or, when there were mistakes, emit the
//! errors beside [`Stages::fallback`]'s stubs so the rest of the program does not add a
//! cascade. Each input kind says what its four stages are in one `impl Stages`, below.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Item, ItemImpl, ItemStruct};

use crate::ast::{ActorImpl, State};
use crate::ctxt::Ctxt;
use crate::error_derive::ErrorType;
use crate::events_derive::EventsType;
use crate::{expand, fallback, valid};

/// One macro input taken through parse → validate → expand.
pub(crate) trait Stages: Sized {
    /// What the macro is applied to.
    type Input;
    /// Reads the input; malformed parts are recorded in `cx`.
    fn parse(cx: &Ctxt, input: Self::Input, args: TokenStream) -> Self;
    /// Checks the rules, recording every broken one in `cx`.
    fn validate(&self, cx: &Ctxt);
    /// The code for a valid input.
    fn expand(&self) -> TokenStream;
    /// What goes beside the errors: the input and stubs with the real names.
    fn fallback(&self) -> TokenStream;
}

/// Runs the stages of `S` on one input.
pub(crate) fn run<S: Stages>(input: S::Input, args: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let parsed = S::parse(&cx, input, args);
    parsed.validate(&cx);
    match cx.check() {
        Ok(()) => parsed.expand(),
        Err(err) => {
            let stubs = parsed.fallback();
            let err = err.to_compile_error();
            quote!(#stubs #err)
        }
    }
}

/// `#[actor(…)]`: on a struct or an impl block, anything else is an error.
pub(crate) fn actor(args: TokenStream, input: TokenStream) -> TokenStream {
    match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Struct(item)) => run::<State>(item, args),
        Ok(Item::Impl(item)) => run::<ActorImpl>(item, args),
        Ok(other) => fallback::wrong_target(other),
        Err(err) => {
            let err = err.to_compile_error();
            quote!(#input #err)
        }
    }
}

/// `#[derive(ActorError)]`.
pub(crate) fn derive_actor_error(input: TokenStream) -> TokenStream {
    match syn::parse2(input) {
        Ok(input) => run::<ErrorType>(input, TokenStream::new()),
        Err(err) => err.to_compile_error(),
    }
}

/// `#[derive(Events)]`.
pub(crate) fn derive_events(input: TokenStream) -> TokenStream {
    match syn::parse2(input) {
        Ok(input) => run::<EventsType>(input, TokenStream::new()),
        Err(err) => err.to_compile_error(),
    }
}

impl Stages for State {
    type Input = ItemStruct;
    fn parse(cx: &Ctxt, item: ItemStruct, args: TokenStream) -> Self {
        State::from_syn(cx, item, args)
    }
    fn validate(&self, cx: &Ctxt) {
        valid::check_state(cx, self);
    }
    fn expand(&self) -> TokenStream {
        expand::state(self)
    }
    fn fallback(&self) -> TokenStream {
        fallback::state(self)
    }
}

impl Stages for ActorImpl {
    type Input = ItemImpl;
    fn parse(cx: &Ctxt, item: ItemImpl, args: TokenStream) -> Self {
        ActorImpl::from_syn(cx, item, args)
    }
    fn validate(&self, cx: &Ctxt) {
        valid::check_impl(cx, self);
    }
    fn expand(&self) -> TokenStream {
        expand::actor_impl(self)
    }
    fn fallback(&self) -> TokenStream {
        fallback::actor_impl(self)
    }
}

impl Stages for ErrorType {
    type Input = syn::DeriveInput;
    fn parse(cx: &Ctxt, input: syn::DeriveInput, _: TokenStream) -> Self {
        ErrorType::from_syn(cx, input)
    }
    fn validate(&self, cx: &Ctxt) {
        self.check(cx);
    }
    fn expand(&self) -> TokenStream {
        self.conversion()
    }
    // With mistakes the impl is still emitted, with defaults where a value was wrong, so
    // `?` on this error type keeps compiling elsewhere.
    fn fallback(&self) -> TokenStream {
        self.conversion()
    }
}

impl Stages for EventsType {
    type Input = syn::DeriveInput;
    fn parse(cx: &Ctxt, input: syn::DeriveInput, _: TokenStream) -> Self {
        EventsType::from_syn(cx, input)
    }
    fn validate(&self, cx: &Ctxt) {
        self.check(cx);
    }
    fn expand(&self) -> TokenStream {
        self.events_impl()
    }
    // With mistakes, an enum still gets an impl with its events' names that never encodes,
    // so `#[actor(events = T)]` and `T::NAMES` keep compiling elsewhere.
    fn fallback(&self) -> TokenStream {
        self.stub()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_input_expands_without_errors() {
        let out = actor(
            quote!(inbox = 4),
            quote!(
                #[derive(Clone)]
                pub struct Counter {
                    count: i64,
                }
            ),
        )
        .to_string();
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains("inbox_capacity : 4usize"), "{out}");
    }

    #[test]
    fn mistakes_come_with_the_stubs() {
        let out = actor(
            quote!(inbox = 0),
            quote!(
                pub struct Counter {
                    count: i64,
                }
            ),
        )
        .to_string();
        assert!(out.contains("compile_error"), "{out}");
        // The stand-in keeps the default settings and the names the rest of the code uses.
        assert!(out.contains("pub struct CounterHandle"), "{out}");
        assert!(!out.contains("inbox_capacity"), "{out}");
    }

    #[test]
    fn a_derive_with_mistakes_still_converts() {
        let out = derive_actor_error(quote! {
            #[actor_error(group = "Billing")]
            enum BillingError { CardDeclined }
        })
        .to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("From < BillingError >"), "{out}");
    }

    #[test]
    fn a_derive_of_events_with_mistakes_still_names_them() {
        let out = derive_events(quote! {
            enum RoomEvent { #[event(name = "user.joined")] Joined(String) }
        })
        .to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("Events for RoomEvent"), "{out}");
        assert!(!out.contains("encode_1"), "{out}");
    }
}
