//! An awake instance's schedules: the stored ones, by id and by due time, kept in its
//! context so a turn can check its limit and list them. The book is a copy of what the
//! instance has handed to the driver: it changes only when a batch with schedule records
//! is saved ([`Book::apply`]), never when a turn stages one, so a turn whose changes are
//! thrown away leaves no schedule behind. Firing a schedule gives the call to make and
//! the records that remove it or move it to its next time, for the commit of that call's
//! turn.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::driver::{Record, SaveOp, keys};
use crate::payload::Payload;
use crate::route::Target;
use crate::schedule::{self, Missed, Repeat, StoredSchedule, parse_key, schedule_key};

/// The schedules of one instance.
#[derive(Default)]
pub(crate) struct Book {
    entries: BTreeMap<u64, StoredSchedule>,
    by_due: BTreeSet<(u64, u64)>,
    /// Schedules handed to the instance task to fire, whose records have not come back
    /// through [`apply`](Self::apply) yet: not due again meanwhile.
    firing: BTreeSet<u64>,
}

/// A schedule fired: the call to make (`None` for a time missed while down that its
/// policy skips) and the records that remove it or move it on.
pub(crate) struct Firing {
    pub(crate) call: Option<(Target, Payload)>,
    pub(crate) ops: Vec<SaveOp>,
}

impl Book {
    /// The schedules stored under `keys::SCHEDULES`. A record this build cannot read is
    /// logged and left stored (a later build may read it); it never fires here.
    pub(crate) fn load(records: Vec<Record>) -> Self {
        let mut book = Self::default();
        for (key, value) in records {
            match (parse_key(&key), StoredSchedule::decode(&value)) {
                (Some(id), Some(stored)) => book.insert(id, stored),
                _ => tracing::error!(
                    key = ?key,
                    "a schedule record this build cannot read was skipped; it stays stored"
                ),
            }
        }
        book
    }

    /// Whether it holds no schedule, not even one being fired.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.firing.is_empty()
    }

    fn insert(&mut self, id: u64, stored: StoredSchedule) {
        self.by_due.insert((stored.meta.next_ms, id));
        if let Some(old) = self.entries.insert(id, stored) {
            self.by_due.remove(&(old.meta.next_ms, id));
        }
    }

    fn remove(&mut self, id: u64) {
        if let Some(old) = self.entries.remove(&id) {
            self.by_due.remove(&(old.meta.next_ms, id));
        }
    }

    /// Takes in the schedule records of a batch handed to the driver; returns the earliest
    /// time among the schedules it writes, for the alarm.
    pub(crate) fn apply(&mut self, ops: &[SaveOp]) -> Option<u64> {
        let mut earliest: Option<u64> = None;
        for op in ops {
            match op {
                SaveOp::Put { key, value } => {
                    let Some(id) = parse_key(key) else { continue };
                    self.firing.remove(&id);
                    match StoredSchedule::decode(value) {
                        Some(stored) => {
                            let at = stored.meta.next_ms;
                            earliest = Some(earliest.map_or(at, |e| e.min(at)));
                            self.insert(id, stored);
                        }
                        None => self.remove(id),
                    }
                }
                SaveOp::Delete { key } => {
                    if let Some(id) = parse_key(key) {
                        self.firing.remove(&id);
                        self.remove(id);
                    }
                }
                SaveOp::DeletePrefix { prefix } => {
                    let gone: Vec<u64> = self
                        .entries
                        .keys()
                        .copied()
                        .filter(|id| schedule_key(*id).starts_with(prefix))
                        .collect();
                    for id in gone {
                        self.firing.remove(&id);
                        self.remove(id);
                    }
                }
                SaveOp::DestroyActor => *self = Self::default(),
                SaveOp::CreateActor { .. } | SaveOp::SetAlarm { .. } => {}
            }
        }
        earliest
    }

    /// The schedules as a turn sees them: the book with the schedule records `staged` by
    /// the turn applied, in order.
    pub(crate) fn view(&self, staged: &[SaveOp]) -> BTreeMap<u64, StoredSchedule> {
        overlay(self.entries.clone(), staged, StoredSchedule::decode)
    }

    /// The ids of the schedules as a turn sees them (see [`view`](Self::view)), without
    /// decoding the staged records: what the limit and `cancel` need.
    pub(crate) fn ids(&self, staged: &[SaveOp]) -> BTreeMap<u64, ()> {
        let held = self.entries.keys().map(|id| (*id, ())).collect();
        overlay(held, staged, |_| Some(()))
    }

    /// When the actor must be awake for its schedules: the earliest next time.
    pub(crate) fn wanted_alarm(&self) -> Option<u64> {
        self.by_due.first().map(|(at, _)| *at)
    }

    /// When the next schedule not yet handed to the task is due.
    pub(crate) fn next_due(&self) -> Option<u64> {
        self.by_due
            .iter()
            .find(|(_, id)| !self.firing.contains(id))
            .map(|(at, _)| *at)
    }

    /// The schedules due by `now_ms` that are not firing yet, in order of time; they are
    /// firing from now on.
    pub(crate) fn due(&mut self, now_ms: u64) -> Vec<u64> {
        let due: Vec<u64> = self
            .by_due
            .iter()
            .take_while(|(at, _)| *at <= now_ms)
            .map(|(_, id)| *id)
            .filter(|id| !self.firing.contains(id))
            .collect();
        self.firing.extend(&due);
        due
    }

    /// Fires schedule `id` at `now_ms`: the call to make, and the records that remove
    /// the schedule (one-time) or move it to its next time (repeating), for the commit of
    /// the call's turn. A time before `started_ms` (the registry's start) was missed while
    /// the process was down, and the schedule's [`Missed`] policy applies. `None` if the
    /// schedule is gone (cancelled meanwhile).
    pub(crate) fn fire(
        &mut self,
        id: u64,
        now_ms: u64,
        started_ms: u64,
        min: Duration,
    ) -> Option<Firing> {
        let Some(stored) = self.entries.get(&id) else {
            self.firing.remove(&id);
            return None;
        };
        let meta = &stored.meta;
        let skip = meta.next_ms < started_ms && meta.missed == Missed::Skip;
        let next = schedule::next_after(&meta.repeat, meta.next_ms, now_ms, min);
        if skip {
            tracing::info!(
                schedule = id,
                call = meta.call.name(),
                due_ms = meta.next_ms,
                "a schedule's time passed while the process was down; skipped (Missed::Skip)"
            );
        }
        if next.is_none() && matches!(meta.repeat, Repeat::Cron(_)) {
            tracing::error!(
                schedule = id,
                repeat = ?meta.repeat,
                "a cron schedule has no next time (or no longer parses); it fires this once and is removed"
            );
        }
        let key = schedule_key(id);
        let ops = match next {
            None => vec![SaveOp::Delete { key }],
            Some(next_ms) => {
                let mut moved = stored.clone();
                moved.meta.next_ms = next_ms;
                moved.meta.fired += u64::from(!skip);
                vec![SaveOp::Put {
                    key: key.into(),
                    value: moved.encode().into(),
                }]
            }
        };
        Some(Firing {
            call: (!skip).then(|| stored.call()),
            ops,
        })
    }

    /// The records that remove schedule `id`: what it called is gone from the kind.
    pub(crate) fn drop_schedule(id: u64) -> Vec<SaveOp> {
        vec![SaveOp::Delete {
            key: schedule_key(id),
        }]
    }
}

/// `held` with the schedule records of `staged` applied in order; `read` makes a written
/// record's entry (`None`: it does not read, and counts as removed).
fn overlay<V>(
    mut held: BTreeMap<u64, V>,
    staged: &[SaveOp],
    read: impl Fn(&[u8]) -> Option<V>,
) -> BTreeMap<u64, V> {
    for op in staged {
        match op {
            SaveOp::Put { key, value } => {
                if let Some(id) = parse_key(key) {
                    match read(value) {
                        Some(entry) => held.insert(id, entry),
                        None => held.remove(&id),
                    };
                }
            }
            SaveOp::Delete { key } => {
                if let Some(id) = parse_key(key) {
                    held.remove(&id);
                }
            }
            SaveOp::DeletePrefix { prefix } if keys::SCHEDULES.starts_with(prefix) => {
                held.clear();
            }
            _ => {}
        }
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Encoding;
    use crate::schedule::{Meta, ScheduledCall};

    fn stored(next_ms: u64, repeat: Repeat) -> StoredSchedule {
        StoredSchedule {
            meta: Meta {
                call: ScheduledCall::Action("tick".into()),
                encoding: Encoding::Json,
                next_ms,
                repeat,
                missed: Missed::FireOnce,
                created_ms: 0,
                fired: 0,
            },
            args: b"[]".to_vec(),
        }
    }

    fn put(id: u64, s: &StoredSchedule) -> SaveOp {
        SaveOp::Put {
            key: schedule_key(id).into(),
            value: s.encode().into(),
        }
    }

    #[test]
    fn a_fired_schedule_is_not_due_again_until_its_records_come_back() {
        let mut book = Book::default();
        let every = Repeat::Every(Duration::from_secs(10));
        assert_eq!(book.apply(&[put(1, &stored(10_000, every))]), Some(10_000));
        assert_eq!(book.due(9_999), Vec::<u64>::new());
        assert_eq!(book.due(10_000), vec![1]);
        assert_eq!(book.due(10_001), Vec::<u64>::new());
        assert_eq!(book.next_due(), None);
        let firing = book.fire(1, 10_001, 0, Duration::from_secs(1)).unwrap();
        assert!(firing.call.is_some());
        assert_eq!(book.apply(&firing.ops), Some(20_000));
        assert_eq!(book.next_due(), Some(20_000));
        assert_eq!(book.wanted_alarm(), Some(20_000));
    }

    #[test]
    fn a_turn_sees_its_own_staged_schedules() {
        let mut book = Book::default();
        book.apply(&[put(1, &stored(5, Repeat::Once))]);
        let staged = vec![
            put(2, &stored(6, Repeat::Once)),
            SaveOp::Delete {
                key: schedule_key(1),
            },
        ];
        assert_eq!(book.view(&staged).keys().copied().collect::<Vec<_>>(), [2]);
        assert_eq!(book.ids(&staged).into_keys().collect::<Vec<_>>(), [2]);
        // Staging changed nothing yet.
        assert_eq!(book.wanted_alarm(), Some(5));
    }

    #[test]
    fn a_skipped_missed_time_fires_nothing() {
        let mut book = Book::default();
        let mut s = stored(1_000, Repeat::Once);
        s.meta.missed = Missed::Skip;
        book.apply(&[put(1, &s)]);
        let firing = book.fire(1, 5_000, 2_000, Duration::from_secs(1)).unwrap();
        assert!(firing.call.is_none());
        assert!(matches!(firing.ops[..], [SaveOp::Delete { .. }]));
        book.apply(&firing.ops);
        assert!(book.fire(1, 5_000, 2_000, Duration::from_secs(1)).is_none());
    }
}
