//! Name rules: actor and action names are camelCase.

use heck::ToLowerCamelCase;

/// `TaskStatusSync` → `taskStatusSync`.
pub(crate) fn camel(name: &str) -> String {
    name.to_lower_camel_case()
}

/// Whether `name` is already camelCase: ASCII letters and digits, starting lowercase.
pub(crate) fn is_camel(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric())
        && camel(name) == name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_of_struct_names() {
        assert_eq!(camel("TaskStatusSync"), "taskStatusSync");
        assert_eq!(camel("Counter"), "counter");
        assert_eq!(camel("HTTPProxy"), "httpProxy");
    }

    #[test]
    fn camel_case_check() {
        assert!(is_camel("counter"));
        assert!(is_camel("chatRoom2"));
        assert!(!is_camel("ChatRoom"));
        assert!(!is_camel("chat_room"));
        assert!(!is_camel("chat.room"));
        assert!(!is_camel(""));
    }
}
