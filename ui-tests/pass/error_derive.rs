//! `#[derive(ActorError)]` on enums of every variant shape, structs, generic types and
//! empty enums, with and without `#[actor_error]`.
use actor::ActorError;

#[derive(Debug, ActorError)]
pub enum Plain {
    NotFound,
    TooLong(usize),
    Invalid { field: String },
}

impl std::fmt::Display for Plain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Plain::NotFound => f.write_str("not found"),
            Plain::TooLong(n) => write!(f, "{n} is too long"),
            Plain::Invalid { field } => write!(f, "{field} is invalid"),
        }
    }
}

#[derive(Debug, ActorError)]
#[actor_error(group = "quota", code = "quota_exceeded")]
pub struct QuotaError {
    pub limit: u32,
}

impl std::fmt::Display for QuotaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "over the quota of {}", self.limit)
    }
}

#[derive(Debug, ActorError)]
pub struct ParseFailure;

impl std::fmt::Display for ParseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("could not parse")
    }
}

#[derive(Debug, ActorError)]
#[actor_error(group = "storage")]
pub enum Wrapped<E: std::fmt::Display> {
    #[actor_error(code = "backend_failed")]
    Backend(E),
}

impl<E: std::fmt::Display> std::fmt::Display for Wrapped<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Wrapped::Backend(e) => write!(f, "backend: {e}"),
        }
    }
}

#[derive(Debug, ActorError)]
pub enum Never {}

impl std::fmt::Display for Never {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

fn main() {
    let e = ActorError::from(Plain::TooLong(3));
    assert_eq!(
        (e.group(), e.code(), e.message()),
        ("user", "too_long", "3 is too long")
    );
    let e = ActorError::from(Plain::Invalid {
        field: "name".into(),
    });
    assert_eq!(e.code(), "invalid");
    assert_eq!(ActorError::from(Plain::NotFound).code(), "not_found");

    let e = ActorError::from(QuotaError { limit: 3 });
    assert_eq!((e.group(), e.code()), ("quota", "quota_exceeded"));
    assert_eq!(e.message(), "over the quota of 3");

    let e = ActorError::from(ParseFailure);
    assert_eq!((e.group(), e.code()), ("user", "parse_failure"));

    let e = ActorError::from(Wrapped::Backend("disk full"));
    assert_eq!(
        (e.group(), e.code(), e.message()),
        ("storage", "backend_failed", "backend: disk full")
    );

    let _: fn(Never) -> ActorError = ActorError::from;
}
