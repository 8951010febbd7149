//! Where an awake instance is in its life: one [`Phase`], kept in the core under its
//! lock, read by callers (may they run a call in place?) and by the instance task (what
//! is left to do?).
//!
//! ```text
//!            open                       in-place call's commit failed
//! Starting ───────▶ Running ───────────────────────────────▶ Failed
//!                     │                                        │ task sees it
//!                     │ sleep or destroy requested,            ▼
//!                     │ idle past sleep_timeout        Stopping(Crash)
//!                     ▼                                        ▲
//!           Stopping(Sleep | Destroy) ──── a failure ──────────┘
//!                     │                                        │
//!                     └──────────── stop() done ───────────────┴──▶ Retired
//! ```
//!
//! - **Starting**: the state is being created or loaded; nobody has the mailbox yet
//!   (the directory hands it out once the start succeeded), so calls cannot arrive. A
//!   start that fails ends the task without leaving this phase.
//! - **Running**: callers may take the state and run a call in place (`Live::open_to`
//!   checks this first); otherwise the task takes calls from the inbox.
//! - **Failed**: a caller running a turn in place found that its commit failed. It
//!   answered its own call and nudged the task; the task takes the failure
//!   ([`Phase::take_failure`]) and stops on it. Nothing runs in place any more.
//! - **Stopping**: the inbox is closed and no call runs in place. For `Sleep` and
//!   `Destroy` the task still answers the calls it took (the loop drains the inbox, then
//!   waits for running turns, shared actions and commits), then runs `on_sleep` or
//!   `on_destroy`. For `Crash` it flushes earlier commits, lets running shared actions
//!   finish, fails the running exclusive turn and hands calls it never started to the next
//!   instance. A failure while stopping for a sleep or destroy turns it into a crash.
//! - **Retired**: the task is gone. A caller still running a turn in place answers it
//!   `actor/stopped` and saves nothing; hand-overs and held replies are answered the same.

use crate::error::ActorError;

/// Why an instance stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stop {
    /// Asked to, or idle past its sleep timeout: save and sleep.
    Sleep,
    /// Asked to: run `on_destroy`, remove every stored byte.
    Destroy,
    /// A commit failed: wake again from what is stored.
    Crash,
}

/// See the module docs for the transitions.
#[derive(Debug, Default)]
pub(super) enum Phase {
    #[default]
    Starting,
    Running,
    Failed(ActorError),
    Stopping(Stop),
    Retired,
}

impl Phase {
    /// Starting → Running: the state is in place.
    pub(super) fn open(&mut self) {
        debug_assert!(matches!(self, Self::Starting), "opened twice: {self:?}");
        *self = Self::Running;
    }

    /// Whether callers may run calls in place.
    pub(super) fn takes_calls(&self) -> bool {
        matches!(self, Self::Running)
    }

    /// Running → Failed: an in-place call's commit failed; the task will stop on `err`.
    pub(super) fn fail(&mut self, err: ActorError) {
        if self.takes_calls() {
            *self = Self::Failed(err);
        }
    }

    /// Failed → Stopping(Crash), returning the failure, for the task to stop on.
    pub(super) fn take_failure(&mut self) -> Option<ActorError> {
        if !matches!(self, Self::Failed(_)) {
            return None;
        }
        match std::mem::replace(self, Self::Stopping(Stop::Crash)) {
            Self::Failed(err) => Some(err),
            other => {
                *self = other;
                None
            }
        }
    }

    /// Running or Stopping → Stopping(`stop`). A crash overrides a sleep or destroy in
    /// progress; nothing overrides a crash, and a failure not yet taken stays for the
    /// task to take.
    pub(super) fn stop(&mut self, stop: Stop) {
        match self {
            Self::Running => *self = Self::Stopping(stop),
            Self::Stopping(current) if *current != Stop::Crash => *current = stop,
            Self::Stopping(_) | Self::Failed(_) | Self::Starting | Self::Retired => {}
        }
    }

    /// Why the instance is stopping, if it is.
    pub(super) fn stopping(&self) -> Option<Stop> {
        match self {
            Self::Stopping(stop) => Some(*stop),
            _ => None,
        }
    }

    /// Any → Retired: the task is gone.
    pub(super) fn retire(&mut self) {
        *self = Self::Retired;
    }

    /// Whether the task is gone.
    pub(super) fn is_retired(&self) -> bool {
        matches!(self, Self::Retired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;

    fn failure() -> ActorError {
        ActorError::of(codes::STORAGE, "disk full")
    }

    #[test]
    fn a_running_instance_takes_calls_until_it_fails_or_stops() {
        let mut phase = Phase::default();
        assert!(!phase.takes_calls(), "not before the state is loaded");
        phase.open();
        assert!(phase.takes_calls());
        phase.fail(failure());
        assert!(!phase.takes_calls());
        let err = phase
            .take_failure()
            .expect("the failure is handed to the task");
        assert!(err.is(codes::STORAGE));
        assert_eq!(phase.stopping(), Some(Stop::Crash));
        assert!(phase.take_failure().is_none(), "taken once");
        phase.retire();
        assert!(phase.is_retired() && !phase.takes_calls());
    }

    #[test]
    fn a_crash_overrides_a_sleep_and_nothing_overrides_a_crash() {
        let mut phase = Phase::default();
        phase.open();
        phase.stop(Stop::Sleep);
        assert_eq!(phase.stopping(), Some(Stop::Sleep));
        phase.fail(failure());
        assert_eq!(
            phase.stopping(),
            Some(Stop::Sleep),
            "only a running one fails"
        );
        phase.stop(Stop::Crash);
        assert_eq!(phase.stopping(), Some(Stop::Crash));
        phase.stop(Stop::Destroy);
        assert_eq!(phase.stopping(), Some(Stop::Crash));
    }

    #[test]
    fn a_failure_not_yet_taken_outlives_a_stop_request() {
        let mut phase = Phase::default();
        phase.open();
        phase.fail(failure());
        phase.stop(Stop::Sleep);
        assert!(
            phase.take_failure().is_some(),
            "the task still stops on the failure"
        );
        assert_eq!(phase.stopping(), Some(Stop::Crash));
    }
}
