//! Values crossing a handle: typed in-process, encoded over the network.

use std::any::Any;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ActorError, codes};

/// A wire encoding of arguments and results, as RivetKit's `x-rivet-encoding`.
///
/// ```
/// use actor::Encoding;
/// let bytes = Encoding::Json.encode(&(1, "a")).unwrap();
/// assert_eq!(bytes, br#"[1,"a"]"#);
/// let back: (i32, String) = Encoding::Json.decode(&bytes).unwrap();
/// assert_eq!(back, (1, "a".to_string()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
            ActorError::of(
                codes::SERIALIZATION_FAILED,
                format!("could not encode a value as {self:?}: {cause}"),
            )
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
            Self::Cbor => ciborium::from_reader(bytes).map_err(|e| e.to_string()),
        }
        .map_err(|cause| {
            ActorError::of(
                codes::INVALID_ARGUMENTS,
                format!(
                    "could not decode {self:?} into `{}`: {cause}",
                    std::any::type_name::<T>()
                ),
            )
        })
    }
}

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
    /// A typed value from an in-process caller.
    Local(Box<dyn Any + Send>),
    /// Bytes from a network caller.
    Encoded(Encoding, Vec<u8>),
}

impl Payload {
    /// Wraps a typed value.
    ///
    /// ```
    /// let _ = actor::Payload::local(1u8);
    /// ```
    pub fn local<T: Send + 'static>(value: T) -> Self {
        Self::Local(Box::new(value))
    }

    /// Takes out the value as `T`, decoding bytes if needed.
    ///
    /// ```
    /// let s: String = actor::Payload::local(String::from("hi")).decode().unwrap();
    /// assert_eq!(s, "hi");
    /// ```
    pub fn decode<T: DeserializeOwned + 'static>(self) -> Result<T, ActorError> {
        match self {
            Self::Local(any) => any.downcast::<T>().map(|b| *b).map_err(|_| {
                ActorError::of(
                    codes::INVALID_ARGUMENTS,
                    format!(
                        "expected a value of type `{}`; the handle and the actor disagree \
                         (rebuild both from the same crate version)",
                        std::any::type_name::<T>()
                    ),
                )
            }),
            Self::Encoded(encoding, bytes) => encoding.decode(&bytes),
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
