//! A workflow's history as its code replays it: entries grouped by scope (the root, a
//! loop's iteration, a branch), each scope read in the order its entries were first
//! recorded. The code asks for its entries one by one; each must be the one recorded at
//! that place, or the history diverged.

use std::collections::HashMap;

use super::EntryKind;
use super::record::{Seg, StoredEntry};

/// A workflow's entries and how far the code has replayed each scope.
#[derive(Default)]
pub(crate) struct History {
    entries: HashMap<u32, StoredEntry>,
    scopes: HashMap<Vec<Seg>, Cursor>,
    next_seq: u32,
}

/// One scope's recorded entries, in order, and the next one the code has not reached.
#[derive(Default)]
struct Cursor {
    recorded: Vec<u32>,
    at: usize,
    /// An entry of the scope is running: a second at the same time would make the order
    /// depend on timing.
    open: Option<String>,
}

/// What the code found where it asked for an entry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claimed {
    /// The entry recorded there, by sequence number.
    Recorded(u32),
    /// Nothing is recorded there yet: the code runs it for the first time.
    New,
}

/// Why the code cannot have the entry it asked for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Another entry is recorded there: its location, name and kind, and its place in
    /// the scope (from 1).
    Diverged {
        location: String,
        name: String,
        kind: EntryKind,
        place: usize,
    },
    /// Entry `running` of the same scope has not finished.
    Busy { running: String },
}

/// The entry's name: the last segment of its location.
pub(crate) fn name_of(entry: &StoredEntry) -> &str {
    match entry.meta.loc.last() {
        Some(Seg::Name(name)) => name,
        _ => "",
    }
}

impl History {
    /// The history of `entries`, in the order of their sequence numbers.
    pub(crate) fn new(mut entries: Vec<(u32, StoredEntry)>) -> Self {
        entries.sort_by_key(|(seq, _)| *seq);
        let mut history = Self::default();
        for (seq, entry) in entries {
            let scope = entry.meta.loc[..entry.meta.loc.len().saturating_sub(1)].to_vec();
            history.scopes.entry(scope).or_default().recorded.push(seq);
            history.next_seq = history.next_seq.max(seq + 1);
            history.entries.insert(seq, entry);
        }
        history
    }

    /// The code reached entry `name` of `kind` in `scope`: the entry recorded at this
    /// place, or `New`; the scope is busy until [`release`](Self::release).
    pub(crate) fn claim(
        &mut self,
        scope: &[Seg],
        name: &str,
        kind: EntryKind,
    ) -> Result<Claimed, Refused> {
        let cursor = self.scopes.entry(scope.to_vec()).or_default();
        if let Some(running) = &cursor.open {
            return Err(Refused::Busy {
                running: running.clone(),
            });
        }
        let claimed = match cursor.recorded.get(cursor.at) {
            None => Claimed::New,
            Some(seq) => {
                let entry = &self.entries[seq];
                let recorded = name_of(entry);
                if recorded != name || entry.meta.kind != kind {
                    return Err(Refused::Diverged {
                        location: super::record::display(&entry.meta.loc),
                        name: recorded.to_string(),
                        kind: entry.meta.kind,
                        place: cursor.at + 1,
                    });
                }
                cursor.at += 1;
                Claimed::Recorded(*seq)
            }
        };
        cursor.open = Some(name.to_string());
        Ok(claimed)
    }

    /// The entry claimed last in `scope` finished (or was given up).
    pub(crate) fn release(&mut self, scope: &[Seg]) {
        if let Some(cursor) = self.scopes.get_mut(scope) {
            cursor.open = None;
        }
    }

    /// Skips the entry recorded at the code's place in `scope` if it is named `name` (a
    /// step the code no longer has); whether it did.
    pub(crate) fn skip_removed(&mut self, scope: &[Seg], name: &str) -> bool {
        let Some(cursor) = self.scopes.get_mut(scope) else {
            return false;
        };
        let matches = cursor
            .recorded
            .get(cursor.at)
            .is_some_and(|seq| name_of(&self.entries[seq]) == name);
        cursor.at += usize::from(matches);
        matches
    }

    /// The entry recorded at the code's place in `scope`, if any, without claiming it.
    pub(crate) fn next_recorded(&self, scope: &[Seg]) -> Option<&StoredEntry> {
        let cursor = self.scopes.get(scope)?;
        cursor.recorded.get(cursor.at).map(|seq| &self.entries[seq])
    }

    /// Entry `seq`.
    pub(crate) fn entry(&self, seq: u32) -> &StoredEntry {
        &self.entries[&seq]
    }

    /// Records a new entry, claimed as `New` in its scope: its sequence number.
    pub(crate) fn record(&mut self, entry: StoredEntry) -> u32 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let scope = entry.meta.loc[..entry.meta.loc.len().saturating_sub(1)].to_vec();
        let cursor = self.scopes.entry(scope).or_default();
        cursor.recorded.push(seq);
        cursor.at = cursor.recorded.len();
        self.entries.insert(seq, entry);
        seq
    }

    /// Replaces entry `seq`.
    pub(crate) fn update(&mut self, seq: u32, entry: StoredEntry) {
        self.entries.insert(seq, entry);
    }

    /// Forgets the entries of the iterations of the loop at `at` before iteration
    /// `before`: their sequence numbers, for their records to be deleted.
    pub(crate) fn prune(&mut self, at: &[Seg], before: u64) -> Vec<u32> {
        let old = |loc: &[Seg]| {
            loc.len() > at.len()
                && loc.starts_with(at)
                && matches!(loc[at.len()], Seg::Iter(i) if i < before)
        };
        let gone: Vec<u32> = self
            .entries
            .iter()
            .filter(|(_, e)| old(&e.meta.loc))
            .map(|(seq, _)| *seq)
            .collect();
        for seq in &gone {
            self.entries.remove(seq);
        }
        self.scopes.retain(|scope, _| !old(scope));
        gone
    }

    /// An entry recorded in `scope` that the code has not reached, if there is one.
    pub(crate) fn unreached(&self, scope: &[Seg]) -> Option<&StoredEntry> {
        self.next_recorded(scope)
    }

    /// How many entries the history holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::EntryStatus;
    use crate::workflow::record::EntryMeta;

    fn entry(loc: &[Seg], kind: EntryKind) -> StoredEntry {
        StoredEntry {
            meta: EntryMeta {
                loc: loc.to_vec(),
                kind,
                status: EntryStatus::Completed,
                attempts: 1,
                error: None,
                started_ms: 0,
                finished_ms: Some(0),
                deadline_ms: None,
                epoch: 0,
            },
            output: b"null".to_vec(),
        }
    }

    fn name(n: &str) -> Seg {
        Seg::Name(n.into())
    }

    #[test]
    fn replays_in_order_and_refuses_what_changed() {
        let history = vec![
            (0, entry(&[name("a")], EntryKind::Step)),
            (1, entry(&[name("b")], EntryKind::Step)),
        ];
        let mut h = History::new(history.clone());
        assert_eq!(h.claim(&[], "a", EntryKind::Step), Ok(Claimed::Recorded(0)));
        // A second entry of the scope while the first runs.
        assert_eq!(
            h.claim(&[], "b", EntryKind::Step),
            Err(Refused::Busy {
                running: "a".into()
            })
        );
        h.release(&[]);
        // Renamed: `c` where `b` was.
        assert_eq!(
            h.claim(&[], "c", EntryKind::Step),
            Err(Refused::Diverged {
                location: "b".into(),
                name: "b".into(),
                kind: EntryKind::Step,
                place: 2
            })
        );
        // Reordered: `b` first.
        let mut h = History::new(history.clone());
        assert!(matches!(
            h.claim(&[], "b", EntryKind::Step),
            Err(Refused::Diverged { place: 1, .. })
        ));
        // Removed with `removed("b")`: `c` is new after it.
        let mut h = History::new(history);
        assert_eq!(h.claim(&[], "a", EntryKind::Step), Ok(Claimed::Recorded(0)));
        h.release(&[]);
        assert!(h.skip_removed(&[], "b"));
        assert_eq!(h.claim(&[], "c", EntryKind::Step), Ok(Claimed::New));
        let seq = h.record(entry(&[name("c")], EntryKind::Step));
        assert_eq!(seq, 2);
        assert!(h.unreached(&[]).is_none());
    }

    #[test]
    fn pruning_forgets_old_iterations_only() {
        // As a wake reads them: five iterations' entries, then one after the loop.
        let mut stored: Vec<(u32, StoredEntry)> = (0..5)
            .map(|i| {
                let loc = [name("poll"), Seg::Iter(i), name("check")];
                (i as u32, entry(&loc, EntryKind::Step))
            })
            .collect();
        stored.push((5, entry(&[name("after")], EntryKind::Step)));
        let mut h = History::new(stored);
        let gone = h.prune(&[name("poll")], 3);
        assert_eq!(gone.len(), 3);
        assert_eq!(h.len(), 3);
        assert_eq!(
            h.claim(&[name("poll"), Seg::Iter(3)], "check", EntryKind::Step),
            Ok(Claimed::Recorded(3))
        );
    }
}
