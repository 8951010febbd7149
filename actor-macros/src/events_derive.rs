//! `#[derive(Events)]`: an enum whose variants are the events an actor sends its
//! connections (`#[actor(events = T)]`). Each variant is one event: its name is the
//! camelCase of the variant's (`#[event(name = "…")]` gives another), and its fields are the
//! event's arguments, in order, as RivetKit clients receive them.

use std::collections::{BTreeSet, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::ext::IdentExt;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, LitStr, Meta, Type};

use crate::case::{self, CamelName};
use crate::ctxt::Ctxt;
use crate::expand::wire;
use crate::meta;

/// The rule of event names, which RivetKit clients subscribe to by one camelCase word.
const EVENT_NAME: CamelName = CamelName {
    what: "event",
    why: "subscribe to an event by its one camelCase name",
    example: "userJoined",
};

/// A type deriving `Events`, with its events when it is an enum.
pub(crate) struct EventsType {
    input: DeriveInput,
    /// One per variant, in declaration order; none for a struct or union (an error).
    events: Vec<Event>,
}

/// One variant: one event.
struct Event {
    variant: Ident,
    /// `#[event(name = "…")]`.
    given: Option<LitStr>,
    args: Args,
    /// The variant's fields as written, for the error about named ones.
    fields: Fields,
}

/// An event's arguments, by the variant's shape.
enum Args {
    /// `Cleared`: none, encoded `[]`.
    Unit,
    /// `Posted(A, B)` (or `Posted()`): these, in order.
    Tuple(Vec<Type>),
    /// `Posted { text: String }`: an error, the arguments are positional.
    Named,
}

impl Event {
    /// The name clients subscribe to.
    fn name(&self) -> String {
        match &self.given {
            Some(lit) => lit.value(),
            None => case::camel(&self.variant.unraw().to_string()),
        }
    }

    /// Where an error about the name goes: the literal, or the variant's name.
    fn name_tokens(&self) -> TokenStream {
        match &self.given {
            Some(lit) => lit.to_token_stream(),
            None => self.variant.to_token_stream(),
        }
    }

    /// The argument types, none for a unit variant (or named fields, an error).
    fn types(&self) -> &[Type] {
        match &self.args {
            Args::Tuple(types) => types,
            Args::Unit | Args::Named => &[],
        }
    }
}

impl EventsType {
    /// Reads the variants and their `#[event]` attributes.
    pub(crate) fn from_syn(cx: &Ctxt, input: DeriveInput) -> Self {
        let mut events = Vec::new();
        if let Data::Enum(data) = &input.data {
            misplaced_attrs(cx, &input.attrs);
            for v in &data.variants {
                let args = match &v.fields {
                    Fields::Unit => Args::Unit,
                    Fields::Unnamed(fields) => {
                        for field in &fields.unnamed {
                            misplaced_attrs(cx, &field.attrs);
                        }
                        Args::Tuple(fields.unnamed.iter().map(|f| f.ty.clone()).collect())
                    }
                    Fields::Named(_) => Args::Named,
                };
                events.push(Event {
                    variant: v.ident.clone(),
                    given: event_name(cx, &v.attrs),
                    args,
                    fields: v.fields.clone(),
                });
            }
        }
        EventsType { input, events }
    }

    /// The type is a plain enum; names are camelCase and unique; arguments are positional.
    pub(crate) fn check(&self, cx: &Ctxt) {
        let input = &self.input;
        let ident = &input.ident;
        match &input.data {
            Data::Enum(_) => {}
            Data::Struct(s) => {
                let token = &s.struct_token;
                cx.error_spanned_by(
                    quote!(#token #ident),
                    format!(
                        "`#[derive(Events)]` goes on an enum whose variants are the events: make `{ident}` an enum, or one event's argument, as in `enum RoomEvent {{ {ident}({ident}) }}` (with `#[derive(Serialize, Deserialize)]` on `{ident}`)"
                    ),
                );
                return;
            }
            Data::Union(u) => {
                let token = &u.union_token;
                cx.error_spanned_by(
                    quote!(#token #ident),
                    format!(
                        "`#[derive(Events)]` goes on an enum whose variants are the events: make `{ident}` an enum"
                    ),
                );
                return;
            }
        }
        let generics = &input.generics;
        if !generics.params.is_empty() || generics.where_clause.is_some() {
            let where_clause = &generics.where_clause;
            cx.error_spanned_by(
                quote!(#generics #where_clause),
                "events cannot be generic: an actor names one concrete type in `#[actor(events = …)]`; remove the parameters and use concrete argument types",
            );
        }
        let mut names = HashSet::new();
        for event in &self.events {
            let name = event.name();
            if let Some(message) = EVENT_NAME.error(&name, event.given.is_some()) {
                cx.error_spanned_by(event.name_tokens(), message);
            }
            if !names.insert(name.clone()) {
                cx.error_spanned_by(
                    event.name_tokens(),
                    format!(
                        "two events are named `{name}`: rename one with `#[event(name = \"…\")]`"
                    ),
                );
            }
            if let Args::Named = event.args {
                let (variant, fields) = (&event.variant, &event.fields);
                let types: Vec<String> = fields
                    .iter()
                    .map(|f| {
                        let ty = &f.ty;
                        tidy(quote!(#ty))
                    })
                    .collect();
                let positional = if types.is_empty() {
                    variant.to_string()
                } else {
                    format!("{variant}({})", types.join(", "))
                };
                cx.error_spanned_by(
                    quote!(#variant #fields),
                    format!(
                        "event arguments are positional, as RivetKit clients receive them: write `{positional}`, or one struct `{variant}({variant})`"
                    ),
                );
            }
        }
    }

    /// `impl Events`, with the encoders and decoders of the arities in use.
    pub(crate) fn events_impl(&self) -> TokenStream {
        let ident = &self.input.ident;
        let [name, encoding, args] = ["__name", "__encoding", "__args"].map(local);
        let names: Vec<String> = self.events.iter().map(Event::name).collect();
        if self.events.is_empty() {
            return quote! {
                #[automatically_derived]
                impl ::actor::connection::Events for #ident {
                    const NAMES: &'static [&'static str] = &[];
                    fn name(&self) -> &'static str {
                        match *self {}
                    }
                    fn encode_args(&self, _: ::actor::Encoding) -> ::core::result::Result<::std::vec::Vec<u8>, ::actor::__private::ActorError> {
                        match *self {}
                    }
                    fn decode(#name: &str, _: ::actor::Encoding, _: &[u8]) -> ::core::result::Result<Self, ::actor::__private::ActorError> {
                        ::core::result::Result::Err(::actor::connection::unknown_event(#name, Self::NAMES))
                    }
                }
            };
        }
        let name_arms = self.events.iter().zip(&names).map(|(e, n)| {
            let variant = &e.variant;
            quote!(Self::#variant { .. } => #n,)
        });
        let mut arities = BTreeSet::new();
        let mut encode_arms = Vec::new();
        let mut decode_arms = Vec::new();
        for (e, n) in self.events.iter().zip(&names) {
            let variant = &e.variant;
            let types = e.types();
            let values: Vec<Ident> = (0..types.len())
                .map(|i| local(&format!("__a{i}")))
                .collect();
            let (pattern, built) = match &e.args {
                Args::Unit | Args::Named => (quote!(Self::#variant), quote!(Self::#variant)),
                Args::Tuple(_) => (
                    quote!(Self::#variant(#(#values),*)),
                    quote!(Self::#variant(#(#values),*)),
                ),
            };
            if types.is_empty() {
                encode_arms.push(quote! {
                    #pattern => #encoding.encode::<[(); 0]>(&[]),
                });
                decode_arms.push(quote! {
                    #n => {
                        #encoding.decode::<[(); 0]>(#args)?;
                        ::core::result::Result::Ok(#built)
                    }
                });
                continue;
            }
            arities.insert(types.len());
            // In both bodies: each later use of a type there is implied by its assertion
            // (at the same span), and the two assertions are one diagnostic, printed once.
            let checks: Vec<TokenStream> =
                types.iter().filter_map(wire::assert_wire_type).collect();
            let encode = format_ident!("encode_{}", types.len());
            let decode = format_ident!("decode_{}", types.len());
            encode_arms.push(quote! {
                #pattern => {
                    #(#checks)*
                    __actor_events::#encode::<#(#types),*>(#encoding, #(#values),*)
                }
            });
            decode_arms.push(quote! {
                #n => {
                    #(#checks)*
                    let (#(#values,)*) = __actor_events::#decode::<#(#types),*>(#encoding, #args)?;
                    ::core::result::Result::Ok(#built)
                }
            });
        }
        let helpers = helpers(&arities);
        quote! {
            const _: () = {
                #helpers

                #[automatically_derived]
                impl ::actor::connection::Events for #ident {
                    const NAMES: &'static [&'static str] = &[#(#names),*];

                    fn name(&self) -> &'static str {
                        match self {
                            #(#name_arms)*
                        }
                    }

                    fn encode_args(&self, #encoding: ::actor::Encoding) -> ::core::result::Result<::std::vec::Vec<u8>, ::actor::__private::ActorError> {
                        match self {
                            #(#encode_arms)*
                        }
                    }

                    fn decode(#name: &str, #encoding: ::actor::Encoding, #args: &[u8]) -> ::core::result::Result<Self, ::actor::__private::ActorError> {
                        match #name {
                            #(#decode_arms)*
                            _ => ::core::result::Result::Err(::actor::connection::unknown_event(#name, Self::NAMES)),
                        }
                    }
                }
            };
        }
    }

    /// Beside the errors: for a plain enum, an `Events` impl with the names that never
    /// encodes, so `#[actor(events = T)]` and uses of `T::NAMES` add no errors; nothing for
    /// another type.
    pub(crate) fn stub(&self) -> TokenStream {
        let input = &self.input;
        let ident = &input.ident;
        if !matches!(input.data, Data::Enum(_)) || !input.generics.params.is_empty() {
            return TokenStream::new();
        }
        let names = self.events.iter().map(Event::name);
        let decoded = local("__name");
        let name = if self.events.is_empty() {
            quote!(match *self {})
        } else {
            let arms = self.events.iter().map(|e| {
                let (variant, n) = (&e.variant, e.name());
                quote!(Self::#variant { .. } => #n,)
            });
            quote!(match self { #(#arms)* })
        };
        quote! {
            #[automatically_derived]
            impl ::actor::connection::Events for #ident {
                const NAMES: &'static [&'static str] = &[#(#names),*];
                fn name(&self) -> &'static str {
                    #name
                }
                fn encode_args(&self, _: ::actor::Encoding) -> ::core::result::Result<::std::vec::Vec<u8>, ::actor::__private::ActorError> {
                    ::core::result::Result::Err(::actor::connection::unknown_event(self.name(), Self::NAMES))
                }
                fn decode(#decoded: &str, _: ::actor::Encoding, _: &[u8]) -> ::core::result::Result<Self, ::actor::__private::ActorError> {
                    ::core::result::Result::Err(::actor::connection::unknown_event(#decoded, Self::NAMES))
                }
            }
        }
    }
}

/// A local name of the generated bodies, hygienic so it never meets the user's names.
fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The module of encoders and decoders, one of each per arity in use. Each takes the
/// argument types as turbofish arguments with a bound per type, so a type that cannot
/// cross the network is blamed on its own token, and only once: the bound is the one of
/// the `wire_type::<T>()` assertion before the call, at the same span.
fn helpers(arities: &BTreeSet<usize>) -> TokenStream {
    let helpers = arities.iter().map(|&n| {
        let encode = format_ident!("encode_{}", n);
        let decode = format_ident!("decode_{}", n);
        let params: Vec<Ident> = (0..n).map(|i| format_ident!("A{}", i)).collect();
        let values: Vec<Ident> = (0..n).map(|i| format_ident!("a{}", i)).collect();
        let bounds =
            quote!(#(#params: ::actor::__private::WireType + ::core::marker::Send + 'static),*);
        quote! {
            pub(super) fn #encode<#bounds>(
                encoding: ::actor::Encoding,
                #(#values: &#params),*
            ) -> ::core::result::Result<::std::vec::Vec<u8>, ::actor::__private::ActorError> {
                encoding.encode(&(#(#values,)*))
            }

            pub(super) fn #decode<#bounds>(
                encoding: ::actor::Encoding,
                args: &[u8],
            ) -> ::core::result::Result<(#(#params,)*), ::actor::__private::ActorError> {
                encoding.decode::<(#(#params,)*)>(args)
            }
        }
    });
    quote! {
        mod __actor_events {
            #(#helpers)*
        }
    }
}

/// `#[event(name = "…")]` on a variant.
fn event_name(cx: &Ctxt, attrs: &[Attribute]) -> Option<LitStr> {
    let mut name: Option<LitStr> = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("event")) {
        match &attr.meta {
            Meta::List(_) => {}
            Meta::Path(_) => {
                cx.error_spanned_by(
                    attr,
                    "`#[event]` gives the event's name: write `#[event(name = \"userJoined\")]`, or remove it to use the camelCase of the variant's name",
                );
                continue;
            }
            Meta::NameValue(nv) => {
                let value = nv.value.to_token_stream();
                cx.error_spanned_by(attr, format!("write `#[event(name = {value})]`"));
                continue;
            }
        }
        let result = attr.parse_nested_meta(|meta| {
            if !meta.path.is_ident("name") {
                meta::unknown(cx, &meta.path, "#[event]", &["name"]);
                return meta::skip_entry(&meta);
            }
            if name.is_some() {
                cx.error_spanned_by(&meta.path, "`name` is given twice: keep one");
                return meta::skip_entry(&meta);
            }
            name = meta::string(cx, &meta, "\"userJoined\"")?;
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    name
}

/// `#[event]` anywhere but on a variant (the enum, a field).
fn misplaced_attrs(cx: &Ctxt, attrs: &[Attribute]) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("event")) {
        cx.error_spanned_by(attr, "`#[event(…)]` names one event: put it on the variant");
    }
}

/// Tokens as written, without the spaces `to_string` puts around punctuation.
fn tidy(tokens: TokenStream) -> String {
    tokens
        .to_string()
        .replace(" :: ", "::")
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(input: TokenStream) -> Vec<String> {
        let cx = Ctxt::new();
        EventsType::from_syn(&cx, syn::parse2(input).unwrap()).check(&cx);
        match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn names_default_to_camel_case() {
        let cx = Ctxt::new();
        let events = EventsType::from_syn(
            &cx,
            syn::parse_quote! {
                enum RoomEvent {
                    MessagePosted(String, u32),
                    #[event(name = "userLeft")]
                    Left(Member),
                    Cleared,
                    r#Reset(),
                }
            },
        );
        events.check(&cx);
        cx.check().unwrap();
        let names: Vec<String> = events.events.iter().map(Event::name).collect();
        assert_eq!(names, ["messagePosted", "userLeft", "cleared", "reset"]);
        let tokens = events.events_impl().to_string();
        for part in [
            "\"messagePosted\" , \"userLeft\" , \"cleared\" , \"reset\"",
            "encode_2 :: < String , u32 >",
            "decode_1 :: < Member >",
            "wire_type :: < Member >",
            "encode :: < [() ; 0] >",
            "unknown_event",
        ] {
            assert!(tokens.contains(part), "{part} missing from {tokens}");
        }
        // Arities in use only; `String` and `u32` surely cross the network.
        assert!(!tokens.contains("encode_0"), "{tokens}");
        assert!(!tokens.contains("wire_type :: < String >"), "{tokens}");
    }

    #[test]
    fn an_empty_enum_has_no_events() {
        let cx = Ctxt::new();
        let events = EventsType::from_syn(
            &cx,
            syn::parse_quote!(
                enum Silent {}
            ),
        );
        events.check(&cx);
        cx.check().unwrap();
        let tokens = events.events_impl().to_string();
        assert!(tokens.contains("match * self { }"), "{tokens}");
        assert!(!tokens.contains("__actor_events"), "{tokens}");
    }

    #[test]
    fn every_mistake_at_once() {
        let found = errors(quote! {
            #[event(name = "room")]
            enum RoomEvent<T> {
                #[event(name = "user.joined")]
                Joined(String),
                #[event(name = "messagePosted")]
                Posted(String),
                MessagePosted(String),
                Edited { id: u64, text: Vec<String> },
                #[event(nmae = "x", name = "ok", name = "again")]
                Other,
                #[event]
                Bare,
                #[event = "bare"]
                Assigned(#[event(name = "field")] u8),
                Café,
            }
        });
        assert_eq!(
            found,
            [
                "`#[event(…)]` names one event: put it on the variant",
                "unknown option `nmae`: did you mean `name`? `#[event]` takes `name`",
                "`name` is given twice: keep one",
                "`#[event]` gives the event's name: write `#[event(name = \"userJoined\")]`, or remove it to use the camelCase of the variant's name",
                "`#[event(…)]` names one event: put it on the variant",
                "write `#[event(name = \"bare\")]`",
                "events cannot be generic: an actor names one concrete type in `#[actor(events = …)]`; remove the parameters and use concrete argument types",
                "event names are camelCase, without dots (RivetKit clients subscribe to an event by its one camelCase name): use `userJoined`",
                "two events are named `messagePosted`: rename one with `#[event(name = \"…\")]`",
                "event arguments are positional, as RivetKit clients receive them: write `Edited(u64, Vec<String>)`, or one struct `Edited(Edited)`",
                "`café` cannot be an event name: event names are camelCase; give one with `#[event(name = \"userJoined\")]`",
            ]
        );
    }

    #[test]
    fn only_enums() {
        assert_eq!(
            errors(quote!(
                struct Joined {
                    name: String,
                }
            )),
            [
                "`#[derive(Events)]` goes on an enum whose variants are the events: make `Joined` an enum, or one event's argument, as in `enum RoomEvent { Joined(Joined) }` (with `#[derive(Serialize, Deserialize)]` on `Joined`)"
            ]
        );
        assert_eq!(
            errors(quote!(
                union U {
                    a: u8,
                }
            )),
            ["`#[derive(Events)]` goes on an enum whose variants are the events: make `U` an enum"]
        );
    }

    #[test]
    fn the_stub_names_every_event_and_never_encodes() {
        let cx = Ctxt::new();
        let events = EventsType::from_syn(
            &cx,
            syn::parse_quote!(
                enum RoomEvent {
                    Joined { name: String },
                    Left(Opaque),
                }
            ),
        );
        events.check(&cx);
        assert!(cx.check().is_err());
        let tokens = events.stub().to_string();
        assert!(tokens.contains("\"joined\" , \"left\""), "{tokens}");
        assert!(
            !tokens.contains("Opaque") && !tokens.contains("String"),
            "{tokens}"
        );
    }
}
