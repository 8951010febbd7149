//! Durations written as strings in attributes (`"30s"`, `"500ms"`, `"2m"`), parsed at
//! compile time so a typo is a compile error, not a panic at startup.

use std::time::Duration;

/// Parses a duration; `None` means the text is malformed. A bare number is malformed:
/// the unit is part of the meaning.
pub(crate) fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    humantime::parse_duration(text).ok()
}

#[cfg(test)]
mod tests {
    use super::parse;
    use std::time::Duration;

    #[test]
    fn well_formed() {
        assert_eq!(parse("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse("1h 30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse(" 15s "), Some(Duration::from_secs(15)));
        assert_eq!(parse("0s"), Some(Duration::ZERO));
    }

    #[test]
    fn malformed() {
        assert_eq!(parse("thirty"), None);
        assert_eq!(parse("30"), None);
        assert_eq!(parse("30 parsecs"), None);
        assert_eq!(parse("-5s"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("never"), None);
    }
}
