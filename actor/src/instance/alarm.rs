//! The instance's side of the driver's alarm index: what the index holds for this actor,
//! as far as the instance knows, and the changes that keep it right. Two rules:
//!
//! - **Never later than needed.** Every batch that stores something due (a queue
//!   message, a retry, a schedule) carries an alarm change if the stored alarm is later
//!   than that (or not known): [`Alarm::cover`], applied by `Live::save` to every batch.
//!   So a stored message or schedule always has an alarm at or before it, and an actor
//!   without an alarm has neither (a wake reads them only when it has one).
//! - **Exact when asleep.** While the actor is awake its own timers act and the registry
//!   leaves it alone, so an alarm earlier than needed is left (handled messages and
//!   cancelled schedules write nothing for it); the last batch before it sleeps makes it
//!   exactly what its records need ([`Alarm::settle`]).
//! - **A passed alarm moves on with the schedules.** A batch that changes the schedules
//!   (a firing's commit, above all) while the stored alarm has passed makes it exact: the
//!   registry's alarm loop reads due alarms in time order and skips awake actors, so an
//!   awake actor's spent alarm would be read past on every look for the rest of its wake.
//!   A schedule's firing commits anyway; the alarm rides along.

use crate::driver::SaveOp;

/// What the index holds for the actor: `None` until the instance writes or reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Alarm(Option<Option<u64>>);

impl Alarm {
    /// The index is known to hold `at`.
    pub(super) fn known(at: Option<u64>) -> Self {
        Self(Some(at))
    }

    /// The change that makes the alarm no later than `due`, if it is later (or not known:
    /// then it is set to `wanted`, what every stored record needs, computed only then).
    pub(super) fn cover(
        &mut self,
        due: u64,
        wanted: impl FnOnce() -> Option<u64>,
    ) -> Option<SaveOp> {
        let at = match self.0 {
            Some(Some(stored)) if stored <= due => return None,
            Some(_) => Some(due),
            None => wanted().map_or(Some(due), |w| Some(w.min(due))),
        };
        self.0 = Some(at);
        Some(SaveOp::SetAlarm { at })
    }

    /// Whether the stored alarm is known to have passed by `now_ms`.
    pub(super) fn passed(&self, now_ms: u64) -> bool {
        matches!(self.0, Some(Some(at)) if at <= now_ms)
    }

    /// The change that makes the alarm exactly `wanted`, if it is not.
    pub(super) fn settle(&mut self, wanted: Option<u64>) -> Option<SaveOp> {
        (self.0 != Some(wanted)).then(|| {
            self.0 = Some(wanted);
            SaveOp::SetAlarm { at: wanted }
        })
    }
}

/// The earlier of two optional times.
pub(super) fn earliest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alarm_only_moves_earlier_until_it_settles() {
        let mut alarm = Alarm::default();
        // Unknown: what the records need, or the new one if earlier.
        assert_eq!(
            alarm.cover(50, || Some(40)),
            Some(SaveOp::SetAlarm { at: Some(40) })
        );
        assert_eq!(alarm.cover(60, || unreachable!()), None);
        assert_eq!(
            alarm.cover(30, || unreachable!()),
            Some(SaveOp::SetAlarm { at: Some(30) })
        );
        assert_eq!(alarm.settle(Some(30)), None);
        assert_eq!(alarm.settle(None), Some(SaveOp::SetAlarm { at: None }));
        assert_eq!(
            alarm.cover(70, || unreachable!()),
            Some(SaveOp::SetAlarm { at: Some(70) })
        );
    }
}
