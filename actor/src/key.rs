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

    /// The key in RivetKit's manager-API form (`serializeActorKey`): parts joined by
    /// `/`, each `\\` and `/` inside a part escaped with a backslash, an empty part
    /// written `\0`, and the empty key written `/`. Every key has exactly one such
    /// form, whatever its parts hold (commas, slashes, `%`, unicode, empty strings).
    ///
    /// ```
    /// use actor::ActorKey;
    /// let key = ActorKey::from(["a,b", "c/d", "", "50%"]);
    /// assert_eq!(key.to_path(), r"a,b/c\/d/\0/50%");
    /// assert_eq!(ActorKey::from_path(&key.to_path()).unwrap(), key);
    /// assert_eq!(ActorKey::from(Vec::<String>::new()).to_path(), "/");
    /// ```
    pub fn to_path(&self) -> String {
        if self.0.is_empty() {
            return "/".to_string();
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|part| {
                if part.is_empty() {
                    return r"\0".to_string();
                }
                part.replace('\\', r"\\").replace('/', r"\/")
            })
            .collect();
        parts.join("/")
    }

    /// Reads a key written by [`to_path`](Self::to_path) (or by RivetKit's
    /// `serializeActorKey`). `/` and the empty string are the empty key. A backslash that
    /// escapes nothing, or a `\0` that is not a whole part, is `request/invalid`: no
    /// serializer writes them.
    ///
    /// ```
    /// use actor::ActorKey;
    /// assert_eq!(ActorKey::from_path(r"room/k\/2").unwrap().parts(), ["room", "k/2"]);
    /// assert!(ActorKey::from_path(r"dangling\").is_err());
    /// ```
    pub fn from_path(text: &str) -> Result<Self, ActorError> {
        if text.is_empty() || text == "/" {
            return Ok(Self::from(Vec::<String>::new()));
        }
        let invalid = |why: &str| {
            ActorError::of(
                codes::INVALID_REQUEST,
                format!("the key `{text}` is not in the `/`-separated key form: {why}"),
            )
            .with_metadata(serde_json::json!({ "field": "key" }))
        };
        let mut parts = Vec::new();
        let mut part = String::new();
        // Whether the part so far is exactly the empty-part marker `\0`.
        let mut empty_marker = false;
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('0') if part.is_empty() && !empty_marker => empty_marker = true,
                    Some('0') => return Err(invalid(r"`\0` (an empty part) must be a whole part")),
                    Some(escaped) if !empty_marker => part.push(escaped),
                    Some(_) => return Err(invalid(r"`\0` (an empty part) must be a whole part")),
                    None => return Err(invalid("it ends with a backslash that escapes nothing")),
                },
                '/' => {
                    parts.push(std::mem::take(&mut part));
                    empty_marker = false;
                }
                _ if empty_marker => {
                    return Err(invalid(r"`\0` (an empty part) must be a whole part"));
                }
                _ => part.push(c),
            }
        }
        parts.push(part);
        Ok(Self::from(parts))
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::ActorKey;

    fn part() -> impl Strategy<Value = String> {
        // Heavy on the characters the form escapes or that break other forms.
        proptest::collection::vec(
            prop_oneof![
                Just('/'),
                Just('\\'),
                Just(','),
                Just('0'),
                Just('%'),
                Just('ü'),
                any::<char>()
            ],
            0..6,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn every_key_survives_the_path_form(parts in proptest::collection::vec(part(), 0..5)) {
            let key = ActorKey::from(parts);
            prop_assert_eq!(ActorKey::from_path(&key.to_path()).unwrap(), key);
        }

        #[test]
        fn any_text_reads_as_a_key_or_a_clear_error(text in ".{0,24}") {
            if let Ok(key) = ActorKey::from_path(&text) {
                // Whatever reads as a key reads back the same from its own form.
                prop_assert_eq!(ActorKey::from_path(&key.to_path()).unwrap(), key);
            } else {
                prop_assert!(ActorKey::from_path(&text).unwrap_err().is(crate::codes::INVALID_REQUEST));
            }
        }
    }

    #[test]
    fn the_forms_rivetkit_writes_are_read() {
        for (text, parts) in [
            ("/", vec![]),
            (r"\0", vec![""]),
            (r"k1/k\/2", vec!["k1", "k/2"]),
            (r"a\\b", vec![r"a\b"]),
            (
                r"a,b/c\/d/\0/50%/x y+z",
                vec!["a,b", "c/d", "", "50%", "x y+z"],
            ),
            ("a/", vec!["a", ""]),
        ] {
            assert_eq!(ActorKey::from_path(text).unwrap().parts(), parts, "{text}");
        }
        for bad in [r"dangling\", r"\0x", r"x\0"] {
            assert!(ActorKey::from_path(bad).is_err(), "{bad}");
        }
    }
}
