//! The output gate: a reply waits until every write it could have observed is durable.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;

use tokio::sync::oneshot;

use crate::driver::{Commit, StorageError};
use crate::error::ActorError;
use crate::mailbox::Reply;

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

    /// Sends `result` now if what it needs is durable, else holds it.
    pub(super) fn reply(&mut self, needs: u64, reply: oneshot::Sender<Reply>, result: Reply) {
        if needs <= self.durable {
            let _ = reply.send(result);
        } else {
            self.held.push((needs, reply, result));
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

    /// Waits for the oldest commit in flight.
    pub(super) async fn next(&mut self) -> (u64, Result<(), StorageError>) {
        let (seq, commit) = self
            .pending
            .front_mut()
            .expect("next() without a pending commit");
        let seq = *seq;
        let result = poll_fn(|cx| Pin::new(&mut *commit).poll(cx)).await;
        (seq, result)
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

    /// Waits for every commit in flight; the first failure is returned.
    pub(super) async fn flush(&mut self) -> Result<(), StorageError> {
        while self.has_pending() {
            let (seq, result) = self.next().await;
            result?;
            self.advance(seq);
        }
        Ok(())
    }
}
