//! Actor keys: the string arrays that address one instance of a kind.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{ActorError, codes};

/// The most bytes a key may take as stored (a JSON array of strings), so every part,
/// every quote and escape, and every separator counts.
pub const MAX_KEY_BYTES: usize = 1024;

/// The address of one actor inside its kind, as in RivetKit: an array of strings.
///
/// Build one from anything string-like; `["room", "42"]`, `"user-1"` and
/// `vec![String::from("a")]` all work.
///
/// ```
/// use actor::ActorKey;
///
/// let key = ActorKey::from(["room", "42"]);
/// assert_eq!(key.parts(), ["room", "42"]);
/// assert_eq!(ActorKey::from("user-1").to_string(), "[\"user-1\"]");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActorKey(Arc<[String]>);

impl ActorKey {
    /// The key's parts, in order.
    ///
    /// ```
    /// assert_eq!(actor::ActorKey::from(["a", "b"]).parts().len(), 2);
    /// ```
    pub fn parts(&self) -> &[String] {
        &self.0
    }

    /// Checks the key's size and content, so bad keys fail before any storage is touched.
    ///
    /// ```
    /// use actor::ActorKey;
    /// assert!(ActorKey::from("ok").validate().is_ok());
    /// assert!(ActorKey::from("nul\0byte").validate().is_err());
    /// // What is stored counts: 400 quotes take 800 bytes escaped, 802 with the brackets.
    /// assert!(ActorKey::from("\"".repeat(600)).validate().is_err());
    /// assert!(ActorKey::from(vec![String::new(); 400]).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), ActorError> {
        if let Some(i) = self.0.iter().position(|p| p.contains('\0')) {
            return Err(ActorError::of(
                codes::INVALID_KEY,
                format!("key part {i} contains a NUL byte; remove it"),
            )
            .with_metadata(serde_json::json!({ "part": i })));
        }
        let stored = self.to_json().len();
        if stored > MAX_KEY_BYTES {
            return Err(ActorError::of(
                codes::INVALID_KEY,
                format!(
                    "key takes {stored} bytes as stored ({} parts, a JSON array of strings); keys \
                     may take at most {MAX_KEY_BYTES}: use fewer or shorter parts, or a hash of a long one",
                    self.0.len()
                ),
            )
            .with_metadata(serde_json::json!({ "bytes": stored, "max": MAX_KEY_BYTES, "parts": self.0.len() })));
        }
        Ok(())
    }

    /// The key as stored: a JSON array.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("string arrays always serialize")
    }

    /// Reads a key stored by [`to_json`](Self::to_json).
    #[cfg(feature = "sqlite")]
    pub(crate) fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str::<Vec<String>>(text).map(Self::from)
    }
}

impl fmt::Display for ActorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl fmt::Debug for ActorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl From<Vec<String>> for ActorKey {
    fn from(parts: Vec<String>) -> Self {
        Self(parts.into())
    }
}

impl From<&[&str]> for ActorKey {
    fn from(parts: &[&str]) -> Self {
        Self(parts.iter().map(|p| p.to_string()).collect())
    }
}

impl<const N: usize> From<[&str; N]> for ActorKey {
    fn from(parts: [&str; N]) -> Self {
        Self(parts.iter().map(|p| p.to_string()).collect())
    }
}

impl<const N: usize> From<[String; N]> for ActorKey {
    fn from(parts: [String; N]) -> Self {
        Self(parts.into_iter().collect())
    }
}

impl From<&str> for ActorKey {
    fn from(part: &str) -> Self {
        Self([part.to_string()].into())
    }
}

impl From<String> for ActorKey {
    fn from(part: String) -> Self {
        Self([part].into())
    }
}

impl From<&ActorKey> for ActorKey {
    fn from(key: &ActorKey) -> Self {
        key.clone()
    }
}

/// The unique id of one actor instance, stable for its whole life (across sleeps and
/// restarts) and never reused after it is destroyed.
///
/// ```
/// let id = actor::ActorId::random();
/// assert_eq!(id.as_str().len(), 32);
/// assert_ne!(id, actor::ActorId::random());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActorId(Arc<str>);

impl ActorId {
    /// A fresh random id (128 bits, hex).
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string().into())
    }

    /// The id as text.
    ///
    /// ```
    /// let id = actor::ActorId::from("abc");
    /// assert_eq!(id.as_str(), "abc");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ActorId {
    fn from(id: &str) -> Self {
        Self(id.into())
    }
}

impl From<String> for ActorId {
    fn from(id: String) -> Self {
        Self(id.into())
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
