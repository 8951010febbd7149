//! Name rules (serde_derive's `case.rs` is the model): actor names are camelCase; action
//! names are camelCase or snake_case; queue and event names are camelCase without dots;
//! error codes are snake_case. Each check has a suggestion, so an error can say what to
//! write instead.

use heck::{ToLowerCamelCase, ToSnakeCase};

/// The camelCase of a Rust name: `TaskStatusSync` → `taskStatusSync`.
pub(crate) fn camel(name: &str) -> String {
    name.to_lower_camel_case()
}

/// camelCase: ASCII letters and digits, a lowercase first letter, and already in the
/// form [`camel`] gives (`userId`, not `userID`).
pub(crate) fn is_camel(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
        && camel(name) == name
}

/// snake_case: lowercase ASCII letters, digits and single inner underscores.
pub(crate) fn is_snake(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_')
}

/// The camelCase spelling closest to `name`, if there is one: `chat_room` → `chatRoom`,
/// `Chat.Room` → `chatRoom`.
pub(crate) fn suggest_camel(name: &str) -> Option<String> {
    let words: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    Some(camel(&words)).filter(|s| is_camel(s))
}

/// The snake_case spelling closest to `name`, if there is one: `CardDeclined` →
/// `card_declined`.
pub(crate) fn suggest_snake(name: &str) -> Option<String> {
    let words: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    Some(words.to_snake_case()).filter(|s| is_snake(s))
}

/// A name RivetKit clients address by one camelCase word: a queue's or an event's.
pub(crate) struct CamelName {
    /// What is named: `queue`, `event`; also the attribute that gives another name
    /// (`#[queue(name = "…")]`).
    pub(crate) what: &'static str,
    /// Why there are no dots, after "(RivetKit clients " : "address a queue by one camelCase
    /// name".
    pub(crate) why: &'static str,
    /// A good name, for the suggestion when none can be made from the written one.
    pub(crate) example: &'static str,
}

impl CamelName {
    /// The error for `name` if it is not camelCase (without dots), or `None`. `given` is
    /// whether it was written as `name = "…"` (the error then suggests a spelling) or
    /// derived from a Rust name (the error then says how to give one).
    pub(crate) fn error(&self, name: &str, given: bool) -> Option<String> {
        if is_camel(name) {
            return None;
        }
        let CamelName { what, why, example } = self;
        let rule = if name.contains('.') {
            format!("{what} names are camelCase, without dots (RivetKit clients {why})")
        } else {
            format!("{what} names are camelCase")
        };
        Some(match (given, suggest_camel(name)) {
            (true, Some(fix)) => format!("{rule}: use `{fix}`"),
            (true, None) => format!("{rule}, like `{example}`"),
            (false, _) => format!(
                "`{name}` cannot be {} {what} name: {rule}; give one with `#[{what}(name = \"{example}\")]`",
                if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                }
            ),
        })
    }
}

/// The candidate nearest to a misspelled `word`, if one is near enough to be a typo.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string
/// alignment), by bytes: option names are ASCII.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_of_struct_names() {
        assert_eq!(camel("TaskStatusSync"), "taskStatusSync");
        assert_eq!(camel("Counter"), "counter");
        assert_eq!(camel("HTTPProxy"), "httpProxy");
        assert_eq!(camel("Room2"), "room2");
        assert_eq!(camel("My_Thing"), "myThing");
    }

    #[test]
    fn camel_case_check() {
        assert!(is_camel("counter"));
        assert!(is_camel("chatRoom2"));
        assert!(is_camel("taskStatusSync"));
        assert!(!is_camel("ChatRoom"));
        assert!(!is_camel("chat_room"));
        assert!(!is_camel("chat.room"));
        assert!(!is_camel("chat-room"));
        assert!(!is_camel("userID"));
        assert!(!is_camel("2fast"));
        assert!(!is_camel("café"));
        assert!(!is_camel(""));
    }

    #[test]
    fn snake_case_check() {
        assert!(is_snake("reset_all"));
        assert!(is_snake("get"));
        assert!(is_snake("v2_api"));
        assert!(!is_snake("resetAll"));
        assert!(!is_snake("_private"));
        assert!(!is_snake("double__underscore"));
        assert!(!is_snake("trailing_"));
        assert!(!is_snake(""));
    }

    #[test]
    fn camel_suggestions() {
        assert_eq!(suggest_camel("chat_room").as_deref(), Some("chatRoom"));
        assert_eq!(suggest_camel("ChatRoom").as_deref(), Some("chatRoom"));
        assert_eq!(suggest_camel("chat.room").as_deref(), Some("chatRoom"));
        assert_eq!(suggest_camel("chat-room v2").as_deref(), Some("chatRoomV2"));
        assert_eq!(suggest_camel("userID").as_deref(), Some("userId"));
        assert_eq!(suggest_camel("2fast"), None);
        assert_eq!(suggest_camel("..."), None);
    }

    #[test]
    fn snake_suggestions() {
        assert_eq!(
            suggest_snake("CardDeclined").as_deref(),
            Some("card_declined")
        );
        assert_eq!(
            suggest_snake("card-declined").as_deref(),
            Some("card_declined")
        );
        assert_eq!(suggest_snake("!!"), None);
    }

    #[test]
    fn camel_names_without_dots() {
        let event = CamelName {
            what: "event",
            why: "subscribe to an event by its one camelCase name",
            example: "userJoined",
        };
        assert_eq!(event.error("userJoined", true), None);
        assert_eq!(
            event.error("user.joined", true).unwrap(),
            "event names are camelCase, without dots (RivetKit clients subscribe to an event by its one camelCase name): use `userJoined`"
        );
        assert_eq!(
            event.error("User_Joined", true).unwrap(),
            "event names are camelCase: use `userJoined`"
        );
        assert_eq!(
            event.error("...", true).unwrap(),
            "event names are camelCase, without dots (RivetKit clients subscribe to an event by its one camelCase name), like `userJoined`"
        );
        assert_eq!(
            event.error("café", false).unwrap(),
            "`café` cannot be an event name: event names are camelCase; give one with `#[event(name = \"userJoined\")]`"
        );
    }

    #[test]
    fn typo_suggestions() {
        let options = ["name", "sleep_timeout", "action_timeout", "inbox", "vars"];
        assert_eq!(closest("sleep_timout", &options), Some("sleep_timeout"));
        assert_eq!(closest("inbx", &options), Some("inbox"));
        assert_eq!(closest("nmae", &options), Some("name"));
        assert_eq!(closest("colour", &options), None);
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("nmae", "name"), 1);
    }
}
