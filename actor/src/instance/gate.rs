//! The output gate: a reply waits until every write it could have observed is durable.
//!
//! Commits are numbered in the order they are handed to the driver. `durable` only moves
//! forward through commits that succeeded, in order, so a reply that needs a failed
//! commit can never be released: once commit `k` fails, every reply that needs `k` or a
//! later one is answered with the failure, and later commits are abandoned (the driver
//! fences them, see `driver::fence`).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::driver::{Commit, StorageError};
use crate::error::ActorError;
use crate::mailbox::{Asked, Reply};

use super::events::Staged;

/// Commits in flight and the replies held behind them.
#[derive(Default)]
pub(super) struct Gate {
    /// Sequence number of the newest commit handed to the driver.
    submitted: u64,
    /// Every commit up to this sequence number is durable.
    durable: u64,
    /// What waits on commits, allocated on the first commit that does not complete at
    /// once and kept while the instance works (so a run of commits allocates it once);
    /// [`compact`](Self::compact) frees it when the instance goes idle.
    flight: Option<Box<Flight>>,
}

/// The part of a [`Gate`] that only a commit in flight uses.
#[derive(Default)]
struct Flight {
    pending: VecDeque<(u64, Commit)>,
    held: Vec<(u64, oneshot::Sender<Reply>, Reply)>,
    /// Events sent by exclusive turns, each released with the commit its turn needs.
    events: Vec<(u64, Staged)>,
    /// The first commit that failed, and the error its dependants get.
    failed: Option<(u64, ActorError)>,
}

impl Flight {
    /// Whether it holds nothing: no commit, reply or event waits, and none failed.
    fn is_idle(&self) -> bool {
        self.pending.is_empty()
            && self.held.is_empty()
            && self.events.is_empty()
            && self.failed.is_none()
    }
}

impl Gate {
    /// The sequence number a reply must wait for to be sure of what it saw now.
    pub(super) fn submitted(&self) -> u64 {
        self.submitted
    }

    fn flight(&mut self) -> &mut Flight {
        self.flight.get_or_insert_default()
    }

    /// Hands a commit over; an immediate failure comes straight back (and is recorded).
    pub(super) fn submit(&mut self, commit: Commit) -> Result<(), StorageError> {
        self.submitted += 1;
        let clear = self
            .flight
            .as_ref()
            .is_none_or(|f| f.pending.is_empty() && f.failed.is_none());
        match commit {
            Commit::Done(Ok(())) if clear => {
                self.durable = self.submitted;
                self.release();
                Ok(())
            }
            Commit::Done(Err(err)) => {
                self.fail_from(self.submitted, &ActorError::from_storage(err.clone()));
                Err(err)
            }
            commit => {
                let seq = self.submitted;
                self.flight().pending.push_back((seq, commit));
                Ok(())
            }
        }
    }

    /// Whether everything up to `needs` is durable.
    pub(super) fn is_durable(&self, needs: u64) -> bool {
        needs <= self.durable
    }

    /// The error for a reply that needs commit `needs`, if that or an earlier commit failed.
    fn doomed(&self, needs: u64) -> Option<ActorError> {
        match self.flight.as_ref().and_then(|f| f.failed.as_ref()) {
            Some((from, err)) if needs >= *from => Some(err.clone()),
            _ => None,
        }
    }

    /// Sends `result` now if what it needs is durable, else holds it.
    pub(super) fn reply(&mut self, needs: u64, reply: oneshot::Sender<Reply>, result: Reply) {
        if let Some(err) = self.doomed(needs) {
            let _ = reply.send(Err(err));
        } else if self.is_durable(needs) {
            let _ = reply.send(result);
        } else {
            self.flight().held.push((needs, reply, result));
        }
    }

    /// Sends `events` (of a turn) once what `needs` is durable; drops them if a commit it
    /// needs failed.
    pub(super) fn hold_events(&mut self, needs: u64, events: Vec<Staged>) {
        if self.doomed(needs).is_some() {
            return;
        }
        if self.is_durable(needs) {
            events.into_iter().for_each(Staged::release);
        } else {
            self.flight()
                .events
                .extend(events.into_iter().map(|e| (needs, e)));
        }
    }

    /// For a caller that ran its turn in place: the result now if what it needs is
    /// durable, else a receiver that gets it once it is.
    pub(super) fn deliver(&mut self, needs: u64, result: Reply) -> Asked {
        if let Some(err) = self.doomed(needs) {
            Asked::Ready(Err(err))
        } else if self.is_durable(needs) {
            Asked::Ready(result)
        } else {
            let (reply, rx) = oneshot::channel();
            self.flight().held.push((needs, reply, result));
            Asked::Waiting(rx)
        }
    }

    /// Frees what commits in flight used, if nothing waits on one any more.
    pub(super) fn compact(&mut self) {
        if self.flight.as_ref().is_some_and(|f| f.is_idle()) {
            self.flight = None;
        }
    }

    /// Whether commits are in flight.
    pub(super) fn has_pending(&self) -> bool {
        self.flight.as_ref().is_some_and(|f| !f.pending.is_empty())
    }

    /// Whether anything is in flight or held.
    pub(super) fn busy(&self) -> bool {
        self.flight
            .as_ref()
            .is_some_and(|f| !f.pending.is_empty() || !f.held.is_empty())
    }

    /// Polls the oldest commit in flight.
    pub(super) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<(u64, Result<(), StorageError>)> {
        let Some((seq, commit)) = self.flight.as_mut().and_then(|f| f.pending.front_mut()) else {
            return Poll::Pending;
        };
        let seq = *seq;
        Pin::new(commit).poll(cx).map(|result| (seq, result))
    }

    /// Records that the commit `seq` is durable and releases the replies that waited for it.
    pub(super) fn advance(&mut self, seq: u64) {
        if let Some(flight) = &mut self.flight {
            flight.pending.pop_front();
        }
        self.durable = seq;
        self.release();
    }

    /// Sends the held replies whose commit is now durable.
    fn release(&mut self) {
        let durable = self.durable;
        let Some(flight) = &mut self.flight else {
            return;
        };
        let mut i = 0;
        while i < flight.held.len() {
            if flight.held[i].0 <= durable {
                let (_, reply, result) = flight.held.swap_remove(i);
                let _ = reply.send(result);
            } else {
                i += 1;
            }
        }
        if flight
            .events
            .first()
            .is_some_and(|(needs, _)| *needs <= durable)
        {
            // In the order they were sent: held events are in order of their commits.
            let later = flight
                .events
                .partition_point(|(needs, _)| *needs <= durable);
            for (_, events) in flight.events.drain(..later) {
                events.release();
            }
        }
    }

    /// Records that commit `seq` failed with `err`: the replies that need it or a later
    /// commit get `err`, and the later commits are no longer watched.
    pub(super) fn fail_from(&mut self, seq: u64, err: &ActorError) {
        let flight = self.flight();
        if flight.failed.as_ref().is_some_and(|(from, _)| *from <= seq) {
            return;
        }
        flight.failed = Some((seq, err.clone()));
        flight.pending.retain(|(s, _)| *s < seq);
        let mut i = 0;
        while i < flight.held.len() {
            if flight.held[i].0 >= seq {
                let (_, reply, _) = flight.held.swap_remove(i);
                let _ = reply.send(Err(err.clone()));
            } else {
                i += 1;
            }
        }
        // Events of writes that were lost are never sent.
        flight.events.retain(|(needs, _)| *needs < seq);
    }

    /// Answers every held reply with `err`: their writes may not be durable.
    pub(super) fn fail_all(&mut self, err: &ActorError) {
        let Some(flight) = &mut self.flight else {
            return;
        };
        flight.pending.clear();
        flight.events.clear();
        for (_, reply, _) in flight.held.drain(..) {
            let _ = reply.send(Err(err.clone()));
        }
    }
}
