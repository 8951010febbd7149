//! What a marked method in an `#[actor] impl` block can be. Each role is one entry of
//! [`ROLES`]: its marker, the receiver, arguments and result it accepts (with the message
//! for each way of getting them wrong), and what it expands to. Validation
//! ([`valid`](crate::valid)) and code generation ([`expand`](crate::expand)) read the
//! entry; neither matches on a role's name. A new role (`#[queue]`, `#[run]`,
//! `#[workflow]`, the connection hooks) is a new entry here, plus a variant of
//! [`Expansion`] if it expands to something new.

use std::fmt;

use crate::ast::Receiver;
use crate::case;

/// One role.
#[derive(Debug)]
pub(crate) struct Role {
    /// The marker attribute: `action` for `#[action]`.
    pub(crate) marker: &'static str,
    /// How messages name methods of this role.
    pub(crate) subject: Subject,
    /// Named (callable by name, `#[marker(name = "…")]`) or at most once per actor.
    pub(crate) identity: Identity,
    /// What the marker's parentheses take.
    pub(crate) options: MarkerOptions,
    /// Whether a method of the role may be declared without a body (a queue the run loop
    /// takes).
    pub(crate) bodyless: bool,
    /// How it takes the state.
    pub(crate) receiver: ReceiverRule,
    /// What it takes after the optional context.
    pub(crate) args: ArgsRule,
    /// What it returns.
    pub(crate) output: OutputRule,
    /// What it becomes.
    pub(crate) expansion: Expansion,
}

/// How messages name methods of a role.
#[derive(Debug)]
pub(crate) enum Subject {
    /// A plural noun: "actions must be `async fn`".
    Plural(&'static str),
    /// The marker itself: "`#[on_wake]` must be an `async fn`".
    Marker,
}

/// Named roles are called by name; the others appear at most once per actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Identity {
    /// Called by a name, unique among the actor's methods of this role, spelled by the
    /// rule; `#[marker(name = "…")]` gives another.
    Named(Naming),
    /// At most one method of the actor has this role.
    Once,
}

/// How a named role's names are spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Naming {
    /// The method's name as written, or any camelCase or snake_case ASCII name.
    AsWritten,
    /// camelCase without dots: the camelCase of the method's name by default (queues,
    /// which RivetKit clients address by such names).
    Camel,
}

/// What a marker takes in parentheses.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum MarkerOptions {
    /// Nothing: `#[on_wake]`.
    None,
    /// `name = "…"` only.
    Name,
    /// `name` and the queue's options (`queue_options`).
    Queue,
    /// `name` and the flag `main` (the actor's main workflow).
    Workflow,
}

/// How a role takes the state.
#[derive(Debug)]
pub(crate) enum ReceiverRule {
    /// `&mut self` makes an exclusive call, `&self` a shared one.
    ExclusiveOrShared,
    /// `&mut self` only; `because` follows "takes `&mut self`: " when `&self` is written.
    Exclusive { because: &'static str },
    /// `&self` only; `because` follows "takes `&self`: " when `&mut self` is written.
    Shared { because: &'static str },
    /// No `self` at all; `because` follows "takes no `self`: ".
    NoSelf { because: &'static str },
}

/// What a role takes after the optional context.
#[derive(Debug)]
pub(crate) enum ArgsRule {
    /// Any number: they cross the network.
    Any,
    /// At most one, the create input; `fix` follows the error about a second one.
    AtMostOne { fix: &'static str },
    /// Exactly one, `what` ("message" for a queue handler): `missing` follows the error
    /// about none, `extra` the one about a second.
    One {
        what: &'static str,
        missing: &'static str,
        extra: &'static str,
    },
    /// Exactly the connection, `conn: &Conn<Self>`, recognised by the last path segment of
    /// its type.
    Connection,
    /// None.
    None,
    /// Exactly the run loop's context, `lp: Loop<Self>`.
    LoopContext,
    /// The workflow's context, `wf: Workflow<Self>`, first, then at most one input; `fix`
    /// follows the error about a second one.
    WorkflowContext { fix: &'static str },
}

impl ArgsRule {
    /// The last path segment of the context the role takes first instead of `self`
    /// (`Loop` for `lp: Loop<Self>`), if it takes one.
    pub(crate) fn own_context(&self) -> Option<&'static str> {
        match self {
            ArgsRule::LoopContext => Some("Loop"),
            ArgsRule::WorkflowContext { .. } => Some("Workflow"),
            ArgsRule::Any
            | ArgsRule::AtMostOne { .. }
            | ArgsRule::One { .. }
            | ArgsRule::None
            | ArgsRule::Connection => None,
        }
    }

    /// The last path segment of a runtime type among the parameters whose type argument
    /// must be an actor (`Workflow` in `wf: Workflow<Self>`, `Conn` in `conn: &Conn<Self>`):
    /// a misplaced marker assumes it is one, so the parameter adds no error of its own.
    pub(crate) fn actor_context(&self) -> Option<&'static str> {
        match self {
            ArgsRule::Connection => Some("Conn"),
            other => other.own_context(),
        }
    }
}

/// What a role returns.
#[derive(Debug)]
pub(crate) enum OutputRule {
    /// `T`, `Result<T, E>` or nothing; `T` crosses the network.
    Value,
    /// `()` or `Result<(), E>`.
    UnitOrResult,
    /// `()` only; `because` says why.
    Unit { because: &'static str },
    /// `T`, `Result<T, E>` or nothing: `T` is the connection's state, kept in memory beside
    /// it (`type ConnState`), so owned and named.
    ConnState,
}

/// What a role expands to.
#[derive(Debug)]
pub(crate) enum Expansion {
    /// An entry of `Actor::ACTIONS`, an arm of `call_exclusive` or `call_shared` (by the
    /// receiver), and a typed method on the handle.
    Action,
    /// An entry of `Actor::QUEUES`, an arm of `call_queue` (for a queue with a handler),
    /// and a handle method that sends a message to it.
    Queue,
    /// `Actor::run` and `HAS_RUN`.
    Run,
    /// An entry of `Actor::WORKFLOWS`, an arm of `call_workflow`, a method of the
    /// `<Struct>Workflows` type that starts it in a turn, and a handle method that starts
    /// it.
    Workflow,
    /// The `Actor` method `method`, forwarding to the user's method with `arg`; it sets
    /// the `Actor` constant `flag` to `true` when given.
    Hook {
        method: &'static str,
        arg: HookArg,
        flag: Option<&'static str>,
    },
    /// `Actor::on_before_connect`, which decodes the params into the user's type and
    /// returns the user's value as the connection's state; `type ConnState`, that value's
    /// type; and `HAS_ON_BEFORE_CONNECT`.
    BeforeConnect,
}

/// What a hook's `Actor` method passes on after the context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HookArg {
    /// Nothing.
    None,
    /// The create input (`Self::Input`), when the user's method takes one.
    Input,
    /// The connection (`&Conn<Self>`).
    Conn,
}

const HOOK_RECEIVER: ReceiverRule = ReceiverRule::Exclusive {
    because: "lifecycle hooks may change the state; write `&mut self`",
};

/// A hook without arguments run at a point of the lifecycle (`#[on_wake]`, `#[on_sleep]`,
/// `#[on_destroy]`): the marker names the `Actor` method it expands to.
const fn lifecycle_hook(marker: &'static str) -> Role {
    Role {
        marker,
        subject: Subject::Marker,
        identity: Identity::Once,
        options: MarkerOptions::None,
        bodyless: false,
        receiver: HOOK_RECEIVER,
        args: ArgsRule::None,
        output: OutputRule::UnitOrResult,
        expansion: Expansion::Hook {
            method: marker,
            arg: HookArg::None,
            flag: None,
        },
    }
}

/// A hook run on a connection as an exclusive turn (`#[on_connect]`, `#[on_disconnect]`):
/// the marker names the `Actor` method it expands to.
const fn connection_hook(marker: &'static str) -> Role {
    Role {
        marker,
        subject: Subject::Marker,
        identity: Identity::Once,
        options: MarkerOptions::None,
        bodyless: false,
        receiver: ReceiverRule::Exclusive {
            because: "connection hooks run as exclusive turns and may change the state; write `&mut self`",
        },
        args: ArgsRule::Connection,
        output: OutputRule::UnitOrResult,
        expansion: Expansion::Hook {
            method: marker,
            arg: HookArg::Conn,
            flag: None,
        },
    }
}

/// Every role.
pub(crate) const ROLES: &[Role] = &[
    Role {
        marker: "action",
        subject: Subject::Plural("actions"),
        identity: Identity::Named(Naming::AsWritten),
        options: MarkerOptions::Name,
        bodyless: false,
        receiver: ReceiverRule::ExclusiveOrShared,
        args: ArgsRule::Any,
        output: OutputRule::Value,
        expansion: Expansion::Action,
    },
    Role {
        marker: "queue",
        subject: Subject::Plural("queue handlers"),
        identity: Identity::Named(Naming::Camel),
        options: MarkerOptions::Queue,
        bodyless: true,
        receiver: ReceiverRule::Exclusive {
            because: "a handler runs as an exclusive turn, and its changes commit with the message's removal; write `&mut self`",
        },
        args: ArgsRule::One {
            what: "message",
            missing: "add the message after the context, like `task: InitializeTask`",
            extra: "put the values in one struct (or a tuple), like `task: InitializeTask`",
        },
        output: OutputRule::Value,
        expansion: Expansion::Queue,
    },
    Role {
        marker: "run",
        subject: Subject::Marker,
        identity: Identity::Once,
        options: MarkerOptions::None,
        bodyless: false,
        receiver: ReceiverRule::NoSelf {
            because: "the loop runs beside the actor's turns and reaches the state only through `lp.turn(…)` and `lp.complete(…)`; remove it",
        },
        args: ArgsRule::LoopContext,
        output: OutputRule::UnitOrResult,
        expansion: Expansion::Run,
    },
    Role {
        marker: "workflow",
        subject: Subject::Plural("workflows"),
        identity: Identity::Named(Naming::AsWritten),
        options: MarkerOptions::Workflow,
        bodyless: false,
        receiver: ReceiverRule::NoSelf {
            because: "a workflow runs beside the actor's turns and reaches the state only inside its steps (`wf.turn(…)`, `wf.step(…).apply(…)`); remove it",
        },
        args: ArgsRule::WorkflowContext {
            fix: "put the values in one struct or tuple, like `task: (Task, Region)`",
        },
        output: OutputRule::Value,
        expansion: Expansion::Workflow,
    },
    Role {
        marker: "on_create",
        subject: Subject::Marker,
        identity: Identity::Once,
        options: MarkerOptions::None,
        bodyless: false,
        receiver: HOOK_RECEIVER,
        args: ArgsRule::AtMostOne {
            fix: "put the values in one struct or tuple, like `input: (i64, String)`",
        },
        output: OutputRule::UnitOrResult,
        expansion: Expansion::Hook {
            method: "on_create",
            arg: HookArg::Input,
            flag: None,
        },
    },
    lifecycle_hook("on_wake"),
    lifecycle_hook("on_sleep"),
    lifecycle_hook("on_destroy"),
    Role {
        marker: "on_before_connect",
        subject: Subject::Marker,
        identity: Identity::Once,
        options: MarkerOptions::None,
        bodyless: false,
        receiver: ReceiverRule::Shared {
            because: "it checks a connection before the actor takes it and cannot change the state; change the state in `#[on_connect]`",
        },
        args: ArgsRule::One {
            what: "argument, the connection's params",
            missing: "add it after the context, like `params: Params` (any `Deserialize` type; take an `Option<Params>` to accept a client that gives none)",
            extra: "a client gives one params value; put the fields in one struct, like `params: Params`",
        },
        output: OutputRule::ConnState,
        expansion: Expansion::BeforeConnect,
    },
    connection_hook("on_connect"),
    connection_hook("on_disconnect"),
    Role {
        marker: "on_state_change",
        subject: Subject::Marker,
        identity: Identity::Once,
        options: MarkerOptions::None,
        bodyless: false,
        receiver: ReceiverRule::Shared {
            because: "it observes the new state and cannot change it; write `&self` and move the change into an action",
        },
        args: ArgsRule::None,
        output: OutputRule::Unit {
            because: "it runs after the reply is sent, so no caller would see a value or an error; handle errors inside the hook",
        },
        expansion: Expansion::Hook {
            method: "on_state_change",
            arg: HookArg::None,
            flag: Some("HAS_ON_STATE_CHANGE"),
        },
    },
];

/// The role whose marker is `name`.
pub(crate) fn by_marker(name: &str) -> Option<&'static Role> {
    ROLES.iter().find(|r| r.marker == name)
}

/// The role a misspelled marker most likely meant: one edit away (`#[acton]`,
/// `#[on_wkae]`). Kept to one edit so an attribute macro of the user's with a name near
/// a marker is rarely taken for a typo.
pub(crate) fn misspelled(name: &str) -> Option<&'static Role> {
    if by_marker(name).is_some() {
        return None;
    }
    ROLES
        .iter()
        .find(|r| case::edit_distance(&name.to_ascii_lowercase(), r.marker) <= 1)
}

/// `#[action]`, `#[on_create]`, … for messages that list the markers.
pub(crate) fn marker_list() -> String {
    let markers: Vec<String> = ROLES.iter().map(|r| format!("`#[{}]`", r.marker)).collect();
    match markers.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => markers.concat(),
    }
}

impl Role {
    /// Whether a method of this role is called with `&mut self`.
    pub(crate) fn takes_mut(&self, receiver: Receiver) -> bool {
        match self.receiver {
            ReceiverRule::ExclusiveOrShared => receiver == Receiver::Exclusive,
            ReceiverRule::Exclusive { .. } => true,
            ReceiverRule::Shared { .. } | ReceiverRule::NoSelf { .. } => false,
        }
    }

    /// The verb that agrees with this role's subject ("`#[on_wake]` takes", "queue
    /// handlers take").
    pub(crate) fn verb(&self, singular: &'static str, plural: &'static str) -> &'static str {
        match self.subject {
            Subject::Plural(_) => plural,
            Subject::Marker => singular,
        }
    }

    /// "must be `async fn`" in this role's grammar.
    pub(crate) fn not_async(&self, ident: &syn::Ident) -> String {
        match self.subject {
            Subject::Plural(noun) => {
                format!("{noun} must be `async fn`: add `async` before `fn {ident}`")
            }
            Subject::Marker => {
                format!("{self} must be an `async fn`: add `async` before `fn {ident}`")
            }
        }
    }

    /// The message for a receiver this role does not accept, or `None` if it accepts it.
    pub(crate) fn receiver_error(&self, receiver: Receiver) -> Option<String> {
        let subject = self;
        match (&self.receiver, receiver) {
            (ReceiverRule::NoSelf { .. }, Receiver::Missing) => None,
            (ReceiverRule::NoSelf { because }, _) => Some(format!(
                "{subject} {} no `self`: {because}",
                self.verb("takes", "take")
            )),
            (ReceiverRule::ExclusiveOrShared, Receiver::Shared | Receiver::Exclusive) => None,
            (ReceiverRule::ExclusiveOrShared, Receiver::Missing) => Some(format!(
                "{subject} take `&self` (shared: runs alongside other calls) or `&mut self` (exclusive: one at a time) first: add `&self` or `&mut self`"
            )),
            (ReceiverRule::ExclusiveOrShared, Receiver::Value | Receiver::Other) => Some(format!(
                "{subject} borrow the state, which the runtime keeps: write `&mut self` (exclusive) or `&self` (shared)"
            )),
            (ReceiverRule::Exclusive { .. }, Receiver::Exclusive)
            | (ReceiverRule::Shared { .. }, Receiver::Shared) => None,
            (ReceiverRule::Exclusive { because }, Receiver::Shared) => Some(format!(
                "{subject} {} `&mut self`: {because}",
                self.verb("takes", "take")
            )),
            (ReceiverRule::Shared { because }, Receiver::Exclusive) => Some(format!(
                "{subject} {} `&self`: {because}",
                self.verb("takes", "take")
            )),
            (rule, Receiver::Missing) => {
                let wanted = rule.written();
                Some(format!(
                    "{subject} {} `{wanted}` first: add `{wanted}`",
                    self.verb("takes", "take")
                ))
            }
            (rule, Receiver::Value | Receiver::Other) => Some(format!(
                "{subject} {} the state, which the runtime keeps: write `{}`",
                self.verb("borrows", "borrow"),
                rule.written()
            )),
        }
    }
}

impl ReceiverRule {
    /// The receiver as written, for a single-receiver rule.
    fn written(&self) -> &'static str {
        match self {
            ReceiverRule::Shared { .. } => "&self",
            ReceiverRule::Exclusive { .. }
            | ReceiverRule::ExclusiveOrShared
            | ReceiverRule::NoSelf { .. } => "&mut self",
        }
    }
}

/// The role's subject in a sentence: "actions" or "`#[on_wake]`".
impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.subject {
            Subject::Plural(noun) => f.write_str(noun),
            Subject::Marker => write!(f, "`#[{}]`", self.marker),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marker_is_one_role() {
        let mut markers: Vec<&str> = ROLES.iter().map(|r| r.marker).collect();
        markers.sort_unstable();
        markers.dedup();
        assert_eq!(markers.len(), ROLES.len());
        assert!(by_marker("on_wake").is_some() && by_marker("wake").is_none());
    }

    #[test]
    fn misspellings() {
        assert_eq!(misspelled("acton").map(|r| r.marker), Some("action"));
        assert_eq!(misspelled("Action").map(|r| r.marker), Some("action"));
        assert_eq!(misspelled("on_wkae").map(|r| r.marker), Some("on_wake"));
        assert_eq!(
            misspelled("on_destory").map(|r| r.marker),
            Some("on_destroy")
        );
        assert_eq!(
            misspelled("on_conect").map(|r| r.marker),
            Some("on_connect")
        );
        assert_eq!(
            misspelled("on_disconect").map(|r| r.marker),
            Some("on_disconnect")
        );
        assert_eq!(
            misspelled("on_before_conect").map(|r| r.marker),
            Some("on_before_connect")
        );
        // Two edits: not a typo of `on_connect`.
        assert!(misspelled("on_connected").is_none());
        assert!(misspelled("action").is_none());
        assert!(misspelled("actix").is_none());
        assert!(misspelled("instrument").is_none());
    }

    #[test]
    fn receiver_messages() {
        let action = by_marker("action").unwrap();
        assert_eq!(action.receiver_error(Receiver::Shared), None);
        assert_eq!(action.receiver_error(Receiver::Exclusive), None);
        assert!(action.takes_mut(Receiver::Exclusive) && !action.takes_mut(Receiver::Shared));
        let wake = by_marker("on_wake").unwrap();
        assert_eq!(
            wake.receiver_error(Receiver::Missing).unwrap(),
            "`#[on_wake]` takes `&mut self` first: add `&mut self`"
        );
        let changed = by_marker("on_state_change").unwrap();
        assert_eq!(
            changed.receiver_error(Receiver::Value).unwrap(),
            "`#[on_state_change]` borrows the state, which the runtime keeps: write `&self`"
        );
        assert!(!changed.takes_mut(Receiver::Shared));
        let workflow = by_marker("workflow").unwrap();
        assert_eq!(workflow.receiver_error(Receiver::Missing), None);
        assert_eq!(
            workflow.receiver_error(Receiver::Exclusive).unwrap(),
            "workflows take no `self`: a workflow runs beside the actor's turns and reaches the state only inside its steps (`wf.turn(…)`, `wf.step(…).apply(…)`); remove it"
        );
        assert_eq!(workflow.args.own_context(), Some("Workflow"));
        assert_eq!(workflow.args.actor_context(), Some("Workflow"));
    }

    #[test]
    fn connection_hooks() {
        let before = by_marker("on_before_connect").unwrap();
        assert_eq!(before.receiver_error(Receiver::Shared), None);
        assert_eq!(
            before.receiver_error(Receiver::Exclusive).unwrap(),
            "`#[on_before_connect]` takes `&self`: it checks a connection before the actor takes it and cannot change the state; change the state in `#[on_connect]`"
        );
        assert!(matches!(before.expansion, Expansion::BeforeConnect));
        assert_eq!(before.args.actor_context(), None);
        for marker in ["on_connect", "on_disconnect"] {
            let hook = by_marker(marker).unwrap();
            assert_eq!(hook.receiver_error(Receiver::Exclusive), None);
            assert_eq!(
                hook.receiver_error(Receiver::Shared).unwrap(),
                format!(
                    "`#[{marker}]` takes `&mut self`: connection hooks run as exclusive turns and may change the state; write `&mut self`"
                )
            );
            assert!(matches!(
                hook.expansion,
                Expansion::Hook { method, arg: HookArg::Conn, flag: None } if method == marker
            ));
            assert_eq!(hook.args.own_context(), None);
            assert_eq!(hook.args.actor_context(), Some("Conn"));
        }
    }

    #[test]
    fn marker_list_reads_as_a_sentence() {
        assert_eq!(
            marker_list(),
            "`#[action]`, `#[queue]`, `#[run]`, `#[workflow]`, `#[on_create]`, `#[on_wake]`, `#[on_sleep]`, `#[on_destroy]`, `#[on_before_connect]`, `#[on_connect]`, `#[on_disconnect]` or `#[on_state_change]`"
        );
    }
}
