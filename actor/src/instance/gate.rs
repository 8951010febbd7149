//! The output gate: a reply waits until every write it could have observed is durable.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::driver::{Commit, StorageError};
use crate::error::ActorError;
use crate::mailbox::{Asked, Reply};

/// Commits in flight and the replies held behind them.
#[derive(Default)]
pub(super) struct Gate {
    /// Sequence number of the newest commit handed to the driver.
    submitted: u64,
    /// Every commit up to this sequence number is durable.
    durable: u64,
    pending: VecDeque<(u64, Commit)>,
    held: Vec<(u64, oneshot::Sender<Reply>, Reply)>,
}

impl Gate {
    /// The sequence number a reply must wait for to be sure of what it saw now.
    pub(super) fn submitted(&self) -> u64 {
        self.submitted
    }

    /// Hands a commit over; an immediate failure comes straight back.
    pub(super) fn submit(&mut self, commit: Commit) -> Result<(), StorageError> {
        self.submitted += 1;
        match commit {
            Commit::Done(Ok(())) if self.pending.is_empty() => {
                self.durable = self.submitted;
                Ok(())
            }
            Commit::Done(Err(err)) => Err(err),
            commit => {
                self.pending.push_back((self.submitted, commit));
                Ok(())
            }
        }
    }

    /// Whether everything up to `needs` is durable.
    pub(super) fn is_durable(&self, needs: u64) -> bool {
        needs <= self.durable
    }

    /// Sends `result` now if what it needs is durable, else holds it.
    pub(super) fn reply(&mut self, needs: u64, reply: oneshot::Sender<Reply>, result: Reply) {
        if self.is_durable(needs) {
            let _ = reply.send(result);
        } else {
            self.held.push((needs, reply, result));
        }
    }

    /// For a caller that ran its turn in place: the result now if what it needs is
    /// durable, else a receiver that gets it once it is.
    pub(super) fn deliver(&mut self, needs: u64, result: Reply) -> Asked {
        if self.is_durable(needs) {
            Asked::Ready(result)
        } else {
            let (reply, rx) = oneshot::channel();
            self.held.push((needs, reply, result));
            Asked::Waiting(rx)
        }
    }

    /// Whether commits are in flight.
    pub(super) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Whether anything is in flight or held.
    pub(super) fn busy(&self) -> bool {
        !self.pending.is_empty() || !self.held.is_empty()
    }

    /// Polls the oldest commit in flight.
    pub(super) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<(u64, Result<(), StorageError>)> {
        let Some((seq, commit)) = self.pending.front_mut() else {
            return Poll::Pending;
        };
        let seq = *seq;
        Pin::new(commit).poll(cx).map(|result| (seq, result))
    }

    /// Records that the commit `seq` is durable and releases the replies that waited for it.
    pub(super) fn advance(&mut self, seq: u64) {
        self.pending.pop_front();
        self.durable = seq;
        let durable = self.durable;
        let mut i = 0;
        while i < self.held.len() {
            if self.held[i].0 <= durable {
                let (_, reply, result) = self.held.swap_remove(i);
                let _ = reply.send(result);
            } else {
                i += 1;
            }
        }
    }

    /// Answers every held reply with `err`: their writes may not be durable.
    pub(super) fn fail_all(&mut self, err: &ActorError) {
        self.pending.clear();
        for (_, reply, _) in self.held.drain(..) {
            let _ = reply.send(Err(err.clone()));
        }
    }
}
