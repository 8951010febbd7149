//! Values crossing a handle: typed in-process, encoded over the network.

use std::any::Any;
use std::fmt;

use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::error::ActorError;

/// A wire encoding of arguments and results, as RivetKit's `x-rivet-encoding`.
///
/// ```
/// use actor::Encoding;
/// let bytes = Encoding::Json.encode(&(1, "a")).unwrap();
/// assert_eq!(bytes, br#"[1,"a"]"#);
/// let back: (i32, String) = Encoding::Json.decode(&bytes).unwrap();
/// assert_eq!(back, (1, "a".to_string()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// JSON text.
    Json,
    /// CBOR (RFC 8949).
    Cbor,
}

impl Encoding {
    /// Encodes a value.
    ///
    /// ```
    /// assert!(!actor::Encoding::Cbor.encode(&5u8).unwrap().is_empty());
    /// ```
    pub fn encode<T: Serialize + ?Sized>(self, value: &T) -> Result<Vec<u8>, ActorError> {
        match self {
            Self::Json => serde_json::to_vec(value).map_err(|e| e.to_string()),
            Self::Cbor => {
                let mut out = Vec::new();
                ciborium::into_writer(value, &mut out)
                    .map(|()| out)
                    .map_err(|e| e.to_string())
            }
        }
        .map_err(|cause| {
            ActorError::serialization_failed(format_args!("a value as {self:?}"), cause)
        })
    }

    /// Decodes a value; a mismatch is an `actor/invalid_arguments` error naming the type.
    ///
    /// ```
    /// let err = actor::Encoding::Json.decode::<i64>(b"\"x\"").unwrap_err();
    /// assert_eq!(err.code(), "invalid_arguments");
    /// ```
    pub fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T, ActorError> {
        match self {
            Self::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
            Self::Cbor => cbor_document(bytes),
        }
        .map_err(|cause| {
            ActorError::invalid_arguments(format!(
                "could not decode {self:?} into `{}`: {cause}",
                std::any::type_name::<T>()
            ))
        })
    }
}

/// A CBOR decoding failure in words, not Rust debug text.
fn cbor_cause(err: ciborium::de::Error<std::io::Error>) -> String {
    use ciborium::de::Error;
    match err {
        Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the CBOR ends before the value does".into()
        }
        Error::Io(e) => format!("the CBOR could not be read: {e}"),
        Error::Syntax(at) => format!("the bytes are not valid CBOR (at byte {at})"),
        Error::Semantic(Some(at), what) => format!("{what} (at byte {at})"),
        Error::Semantic(None, what) => what,
        Error::RecursionLimitExceeded => "the CBOR is nested too deeply".into(),
    }
}

/// Reads one whole CBOR value: bytes after it are an error too (ciborium stops at the end
/// of the value, and a truncated array still fills a short tuple).
fn cbor_document<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut rest = bytes;
    let value = ciborium::from_reader(&mut rest).map_err(cbor_cause)?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(format!("{} bytes follow the CBOR value", rest.len()))
    }
}

/// What is wrong with encoded arguments for an action of `count` parameters, if
/// anything: they are not one whole value in their encoding, not an array, or an array of
/// another length (decoders would take the first values of a longer array and ignore the
/// rest). `None` when they are an array of `count` values, which the typed decoding then
/// checks value by value.
fn misshapen_arguments(encoding: Encoding, bytes: &[u8], count: usize) -> Option<String> {
    // The common case, counted without building values.
    let counted = match encoding {
        Encoding::Json => serde_json::from_slice::<Vec<IgnoredAny>>(bytes)
            .map(|v| v.len())
            .ok(),
        Encoding::Cbor => cbor_document::<Vec<IgnoredAny>>(bytes)
            .map(|v| v.len())
            .ok(),
    };
    if counted == Some(count) {
        return None;
    }
    let found = match encoding {
        Encoding::Json => match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(serde_json::Value::Array(items)) => Ok(items.len()),
            Ok(serde_json::Value::Null) => Err("null"),
            Ok(serde_json::Value::Object(_)) => Err("an object"),
            Ok(_) => Err("a single value"),
            Err(e) => return Some(format!("the arguments are not valid JSON: {e}")),
        },
        Encoding::Cbor => match cbor_document::<ciborium::Value>(bytes) {
            Ok(ciborium::Value::Array(items)) => Ok(items.len()),
            Ok(ciborium::Value::Null) => Err("null"),
            Ok(ciborium::Value::Map(_)) => Err("a map"),
            Ok(_) => Err("a single value"),
            Err(e) => return Some(format!("the arguments are not valid CBOR: {e}")),
        },
    };
    let takes = match count {
        0 => "no arguments".to_string(),
        1 => "1 argument".to_string(),
        n => format!("{n} arguments"),
    };
    match found {
        Ok(n) if n == count => None,
        Ok(n) => Some(format!(
            "the action takes {takes}, and {n} came; send an array of {count}"
        )),
        Err(what) => Some(format!(
            "arguments are an array of the action's parameters (it takes {takes}), like [1, \"a\"]; {what} came"
        )),
    }
}

/// A typed value in a [`Payload`]: what it is, and how to encode it should it leave the
/// process.
pub struct LocalValue(Local);

enum Local {
    /// A value of a common small type, held without an allocation.
    Inline(Inline),
    /// Any other value, behind a pointer.
    Boxed(Box<dyn Erased>),
}

impl LocalValue {
    fn new<T: Serialize + Send + 'static>(value: T) -> Self {
        let mut slot = Some(value);
        match Inline::hold(&mut slot) {
            Some(inline) => Self(Local::Inline(inline)),
            None => Self(Local::Boxed(Box::new(Held(slot)))),
        }
    }

    /// The value if it is a `T`.
    fn take<T: 'static>(self) -> Option<T> {
        let mut out: Option<T> = None;
        match self.0 {
            Local::Inline(inline) => inline.give(&mut out),
            Local::Boxed(mut boxed) => boxed.give(&mut out),
        }
        out
    }

    /// The value encoded in `encoding`; the value stays.
    pub(crate) fn encode(&self, encoding: Encoding) -> Result<Vec<u8>, ActorError> {
        match &self.0 {
            Local::Inline(inline) => inline.encode(encoding),
            Local::Boxed(boxed) => boxed.encode(encoding),
        }
    }
}

/// A `Serialize` value behind a pointer.
trait Erased: Send {
    /// Moves the value into `out` if `out` is an `Option` of its type.
    fn give(&mut self, out: &mut dyn Any);
    fn encode(&self, encoding: Encoding) -> Result<Vec<u8>, ActorError>;
}

/// A boxed value, in an `Option` so it can be moved out through `&mut dyn Any`.
struct Held<T>(Option<T>);

impl<T: Serialize + Send + 'static> Erased for Held<T> {
    fn give(&mut self, out: &mut dyn Any) {
        if let Some(out) = out.downcast_mut::<Option<T>>() {
            *out = self.0.take();
        }
    }

    fn encode(&self, encoding: Encoding) -> Result<Vec<u8>, ActorError> {
        encoding.encode(&self.0)
    }
}

/// Declares [`Inline`] over `Bare / Single: type` entries: values of those types, and
/// one-element tuples of them (the arguments of an action with one parameter). Which type
/// a `T` is, is a `TypeId` comparison the compiler resolves for each `T`, so a value of
/// another type costs nothing here. The types are at most 8 bytes, so an inline value is
/// no larger than the pointer it replaces and moves as cheaply.
macro_rules! inline_values {
    ($($bare:ident / $single:ident: $ty:ty),* $(,)?) => {
        /// Arguments and results of the commonest scalar types, held in the payload
        /// itself: a call to an action taking and returning them allocates nothing for
        /// its values.
        enum Inline {
            $($bare($ty), $single($ty),)*
        }

        impl Inline {
            /// Takes the value out of `slot` if it has one of the inline types.
            fn hold<T: 'static>(slot: &mut Option<T>) -> Option<Self> {
                let slot: &mut dyn Any = slot;
                $(
                    if let Some(Some(v)) = slot.downcast_mut::<Option<$ty>>().map(Option::take) {
                        return Some(Self::$bare(v));
                    }
                    if let Some(Some((v,))) = slot.downcast_mut::<Option<($ty,)>>().map(Option::take) {
                        return Some(Self::$single(v));
                    }
                )*
                None
            }

            /// Moves the value into `out` if `out` is an `Option` of its type.
            fn give<T: 'static>(self, out: &mut Option<T>) {
                let out: &mut dyn Any = out;
                match self {
                    $(
                        Self::$bare(v) => {
                            if let Some(out) = out.downcast_mut::<Option<$ty>>() {
                                *out = Some(v);
                            }
                        }
                        Self::$single(v) => {
                            if let Some(out) = out.downcast_mut::<Option<($ty,)>>() {
                                *out = Some((v,));
                            }
                        }
                    )*
                }
            }

            fn encode(&self, encoding: Encoding) -> Result<Vec<u8>, ActorError> {
                match self {
                    $(
                        Self::$bare(v) => encoding.encode(v),
                        Self::$single(v) => encoding.encode(&(v,)),
                    )*
                }
            }
        }
    };
}

inline_values!(
    Unit / UnitSingle: (),
    I64 / I64Single: i64,
    U64 / U64Single: u64,
    I32 / I32Single: i32,
    U32 / U32Single: u32,
    F64 / F64Single: f64,
    Bool / BoolSingle: bool,
    // What a queue send is answered with.
    Message / MessageSingle: crate::queue::MessageId,
);

/// Arguments or a result on their way through a mailbox.
///
/// In-process calls carry the typed value untouched; network calls carry bytes in the
/// client's encoding, and the reply is encoded the same way.
///
/// ```
/// use actor::{Encoding, Payload};
/// let p = Payload::local((5i64,));
/// let (n,): (i64,) = p.decode().unwrap();
/// assert_eq!(n, 5);
///
/// let p = Payload::Encoded(Encoding::Json, b"[5]".to_vec());
/// let (n,): (i64,) = p.decode().unwrap();
/// assert_eq!(n, 5);
/// ```
pub enum Payload {
    /// A typed value from an in-process caller; a route that leaves the process encodes
    /// it ([`into_encoded`](Self::into_encoded)).
    Local(LocalValue),
    /// Bytes from a network caller.
    Encoded(Encoding, Vec<u8>),
}

impl Payload {
    /// Wraps a typed value.
    ///
    /// ```
    /// let _ = actor::Payload::local(1u8);
    /// ```
    pub fn local<T: Serialize + Send + 'static>(value: T) -> Self {
        Self::Local(LocalValue::new(value))
    }

    /// The payload as bytes: a typed value encoded in `encoding`, or encoded bytes as they
    /// are (in their own encoding). What a route that leaves the process sends.
    ///
    /// ```
    /// use actor::{Encoding, Payload};
    /// let (encoding, bytes) = Payload::local((5i64,)).into_encoded(Encoding::Json).unwrap();
    /// assert_eq!((encoding, bytes.as_slice()), (Encoding::Json, &b"[5]"[..]));
    /// ```
    pub fn into_encoded(self, encoding: Encoding) -> Result<(Encoding, Vec<u8>), ActorError> {
        match self {
            Self::Local(value) => Ok((encoding, value.encode(encoding)?)),
            Self::Encoded(encoding, bytes) => Ok((encoding, bytes)),
        }
    }

    /// Takes out the value as `T`, decoding bytes if needed.
    ///
    /// ```
    /// let s: String = actor::Payload::local(String::from("hi")).decode().unwrap();
    /// assert_eq!(s, "hi");
    /// ```
    pub fn decode<T: DeserializeOwned + 'static>(self) -> Result<T, ActorError> {
        match self {
            Self::Local(value) => value.take::<T>().ok_or_else(|| {
                ActorError::invalid_arguments(format!(
                    "expected a value of type `{}`; the handle and the actor disagree \
                     (rebuild both from the same crate version)",
                    std::any::type_name::<T>()
                ))
            }),
            Self::Encoded(encoding, bytes) => encoding.decode(&bytes),
        }
    }

    /// Decodes the arguments of an action with `count` parameters (a tuple `T`); encoded
    /// arguments that are not an array of exactly `count` values are refused, saying so.
    ///
    /// ```
    /// use actor::{Encoding, Payload};
    /// let err = Payload::Encoded(Encoding::Json, b"[1, 2]".to_vec())
    ///     .decode_arguments::<(i64,)>(1)
    ///     .unwrap_err();
    /// assert!(err.message().contains("takes 1 argument, and 2 came"), "{err}");
    /// ```
    pub fn decode_arguments<T: DeserializeOwned + 'static>(
        self,
        count: usize,
    ) -> Result<T, ActorError> {
        match self {
            Self::Encoded(encoding, bytes) => match misshapen_arguments(encoding, &bytes, count) {
                Some(why) => Err(ActorError::invalid_arguments(why)),
                None => encoding.decode(&bytes),
            },
            local => local.decode(),
        }
    }

    /// Checks the arguments of an action without parameters: nothing, `[]` or `null` (in
    /// either encoding); anything else is `actor/invalid_arguments`.
    ///
    /// ```
    /// use actor::{Encoding, Payload};
    /// assert!(Payload::Encoded(Encoding::Json, b" [] ".to_vec()).no_arguments().is_ok());
    /// assert!(Payload::Encoded(Encoding::Json, b"".to_vec()).no_arguments().is_ok());
    /// assert!(Payload::Encoded(Encoding::Json, b"[1]".to_vec()).no_arguments().is_err());
    /// assert!(Payload::Encoded(Encoding::Json, b"{oops".to_vec()).no_arguments().is_err());
    /// ```
    #[inline]
    pub fn no_arguments(&self) -> Result<(), ActorError> {
        match self {
            Self::Local(_) => Ok(()),
            Self::Encoded(encoding, bytes) => no_encoded_arguments(*encoding, bytes),
        }
    }

    /// How a reply to this payload should be shaped.
    ///
    /// ```
    /// use actor::{Encoding, Payload, ReplyShape};
    /// assert_eq!(Payload::local(()).reply_shape(), ReplyShape::Local);
    /// assert_eq!(Payload::Encoded(Encoding::Cbor, vec![]).reply_shape(), ReplyShape::Encoded(Encoding::Cbor));
    /// ```
    pub fn reply_shape(&self) -> ReplyShape {
        match self {
            Self::Local(_) => ReplyShape::Local,
            Self::Encoded(e, _) => ReplyShape::Encoded(*e),
        }
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(_) => f.write_str("Payload::Local(..)"),
            Self::Encoded(e, b) => write!(f, "Payload::Encoded({e:?}, {} bytes)", b.len()),
        }
    }
}

/// Whether a reply travels typed or encoded.
///
/// ```
/// use actor::ReplyShape;
/// let p = ReplyShape::Local.wrap(7u32).unwrap();
/// let n: u32 = p.decode().unwrap();
/// assert_eq!(n, 7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyShape {
    /// Typed, for an in-process caller.
    Local,
    /// Encoded, for a network caller.
    Encoded(Encoding),
}

impl ReplyShape {
    /// Wraps a value in this shape.
    ///
    /// ```
    /// let p = actor::ReplyShape::Encoded(actor::Encoding::Json).wrap(1).unwrap();
    /// assert!(matches!(p, actor::Payload::Encoded(_, b) if b == b"1"));
    /// ```
    pub fn wrap<T: Serialize + Send + 'static>(self, value: T) -> Result<Payload, ActorError> {
        match self {
            Self::Local => Ok(Payload::local(value)),
            Self::Encoded(e) => e.encode(&value).map(|b| Payload::Encoded(e, b)),
        }
    }
}

/// [`Payload::no_arguments`] for encoded arguments.
fn no_encoded_arguments(encoding: Encoding, bytes: &[u8]) -> Result<(), ActorError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let nothing = match encoding {
        Encoding::Json => matches!(
            serde_json::from_slice::<serde_json::Value>(bytes),
            Ok(serde_json::Value::Null)
        ),
        Encoding::Cbor => matches!(
            cbor_document::<ciborium::Value>(bytes),
            Ok(ciborium::Value::Null)
        ),
    };
    match misshapen_arguments(encoding, bytes, 0) {
        _ if nothing => Ok(()),
        None => Ok(()),
        Some(why) => Err(ActorError::invalid_arguments(why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `value` survives the trip through a local payload, and leaves the process encoded
    /// exactly as the value itself would be.
    fn round_trip<T>(value: T)
    where
        T: Serialize + DeserializeOwned + Clone + PartialEq + fmt::Debug + Send + 'static,
    {
        for encoding in [Encoding::Json, Encoding::Cbor] {
            let (_, bytes) = Payload::local(value.clone())
                .into_encoded(encoding)
                .unwrap();
            assert_eq!(bytes, encoding.encode(&value).unwrap(), "{value:?}");
        }
        assert_eq!(Payload::local(value.clone()).decode::<T>().unwrap(), value);
    }

    #[test]
    fn values_inline_or_boxed_come_back_as_they_went_and_encode_the_same() {
        round_trip(());
        round_trip(((),));
        round_trip(-5i64);
        round_trip((7i64,));
        round_trip(u64::MAX);
        round_trip((3u64,));
        round_trip(-2i32);
        round_trip((2u32,));
        round_trip(1.5f64);
        round_trip((true,));
        round_trip(crate::MessageId::from(9));
        // Boxed: other types, and tuples of more than one value.
        round_trip(String::from("hé, \"quoted\""));
        round_trip((String::new(),));
        round_trip(vec![1u8, 2, 3]);
        round_trip((1i64, String::from("a")));
        round_trip(Some(4i64));
    }

    #[test]
    fn a_value_is_only_taken_as_its_own_type() {
        let wrong = |p: Payload| p.decode::<(i64,)>().unwrap_err();
        for err in [
            wrong(Payload::local(5i64)),
            wrong(Payload::local((5u64,))),
            wrong(Payload::local((5i64, 6i64))),
            wrong(Payload::local(vec![5i64])),
        ] {
            assert!(err.is(crate::codes::INVALID_ARGUMENTS), "{err}");
            assert!(err.message().contains("(i64,)"), "{err}");
        }
        assert_eq!(Payload::local((5i64,)).decode::<(i64,)>().unwrap(), (5,));
    }
}
