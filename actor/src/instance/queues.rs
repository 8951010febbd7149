//! The messages of an awake instance's queues, kept by its task: what is waiting, running
//! or backing off, the senders waiting for a handler's result, and when the stored
//! messages need the actor awake (for the alarm, see `alarm.rs`). Every change that must be durable comes back as [`SaveOp`]s for
//! the task to commit; nothing here touches storage.
//!
//! Order: a message takes its place among the calls in arrival order (the task's
//! `waiting` holds both); within one queue, a message never starts before an earlier one
//! of the same queue is done, so a message backing off holds up its queue (and only it).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::definition::{Actor, DeadLetters, QueueInfo};
use crate::driver::{SaveOp, keys};
use crate::error::ActorError;
use crate::mailbox::Reply;
use crate::payload::{Payload, ReplyShape};
use crate::queue::{Delivery, MessageId, StoredMessage, dead_letter_key, message_key};
use crate::run_loop::Received;

use super::looping::Looping;

/// The owner of messages the run loop takes (a workflow's are numbered from 1).
pub(super) const LOOP: u64 = 0;

/// Message ids reserved in storage at a time (see [`Queues::send`]).
const RESERVED: u64 = 1024;

/// A message that is stored and not yet handled.
struct Pending {
    queue: usize,
    stored: StoredMessage,
    status: Status,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// In the task's `waiting`, for its turn.
    Ready,
    /// Its handler runs.
    Running,
    /// Its last attempt failed; the next is due at this instant.
    Backoff(Instant),
    /// Reached its turn while an earlier message of its queue was not done: it starts
    /// once that one is.
    Blocked,
    /// In a queue the run loop consumes, waiting for the loop to take it.
    Available,
    /// Taken by the run loop (owner 0) or a workflow (its run's owner number), not yet
    /// completed.
    Taken(u64),
}

/// A sender waiting for a handler's result.
struct Waiter {
    reply: oneshot::Sender<Reply>,
    deadline: Instant,
    timeout: std::time::Duration,
}

/// A message loaded from storage at wake, with its queue's index.
pub(super) struct Loaded {
    pub(super) queue: usize,
    pub(super) id: u64,
    pub(super) stored: StoredMessage,
}

/// What a handler's turn came to, for the task to commit and answer.
pub(super) struct Outcome {
    /// Records to commit (with the state, for a success).
    pub(super) ops: Vec<SaveOp>,
    /// The sender waiting for the handler, once the message is done.
    pub(super) waiter: Option<oneshot::Sender<Reply>>,
    /// Messages of the same queue that waited for this one: they go to the front of the
    /// task's `waiting`, in order.
    pub(super) released: Vec<u64>,
}

/// An awake instance's queues.
pub(super) struct Queues<A: Actor> {
    /// The last message id given out.
    last_id: u64,
    /// The ids up to this one are reserved in storage (`keys::QUEUE_SEQ`): a send past
    /// it writes a new reservation.
    reserved: u64,
    pending: BTreeMap<u64, Pending>,
    /// Messages stored per queue, by index in `A::QUEUES`.
    counts: Vec<usize>,
    backoff: BTreeSet<(Instant, u64)>,
    waiters: HashMap<u64, Waiter>,
    /// Dead letters this instance replayed or discarded: storage read by a later call
    /// may not show their removal yet, and each goes once.
    gone: HashSet<u64>,
    /// The run loop's part, for a kind with `#[run]`.
    looping: Option<Box<Looping<A>>>,
    /// Records of sends not yet handed to the driver: the next commit of the instance
    /// carries them (`Live::save`), often with the handler's turn that removes them again.
    owed: Vec<SaveOp>,
}

impl<A: Actor> Queues<A> {
    /// The queues as stored: `loaded` in id order, `last_id` from `keys::QUEUE_SEQ` (the
    /// last id reserved, so no id given out before is given again).
    pub(super) fn new(last_id: u64, loaded: Vec<Loaded>, now: Instant, now_ms: u64) -> Self {
        let mut queues = Self {
            last_id,
            reserved: last_id,
            pending: BTreeMap::new(),
            counts: vec![0; A::QUEUES.len()],
            backoff: BTreeSet::new(),
            waiters: HashMap::new(),
            gone: HashSet::new(),
            looping: None,
            owed: Vec::new(),
        };
        for Loaded { queue, id, stored } in loaded {
            queues.last_id = queues.last_id.max(id);
            queues.counts[queue] += 1;
            let status = if !A::QUEUES[queue].handled {
                Status::Available
            } else if stored.attempts > 0 && stored.due_ms > now_ms {
                let at = now + std::time::Duration::from_millis(stored.due_ms - now_ms);
                queues.backoff.insert((at, id));
                Status::Backoff(at)
            } else {
                Status::Ready
            };
            queues.pending.insert(
                id,
                Pending {
                    queue,
                    stored,
                    status,
                },
            );
        }
        queues
    }

    /// The ids of the loaded messages that are ready for their handlers, in order, for the
    /// task's `waiting`.
    pub(super) fn ready(&self) -> impl Iterator<Item = u64> + '_ {
        self.pending
            .iter()
            .filter(|(_, p)| p.status == Status::Ready)
            .map(|(id, _)| *id)
    }

    /// Whether records wait for the next commit.
    pub(super) fn owes(&self) -> bool {
        !self.owed.is_empty()
    }

    /// The records owed to the next commit, now its (the list keeps its room for the
    /// next sends).
    pub(super) fn drain_owed(&mut self) -> std::vec::Drain<'_, SaveOp> {
        self.owed.drain(..)
    }

    /// Removes the write of message `id` of `queue` from what is owed, if it is there: a
    /// message handled before it was ever written needs no record, and no delete.
    fn unowe(&mut self, queue: &str, id: u64) -> bool {
        let before = self.owed.len();
        self.owed.retain(|op| {
            !matches!(op, SaveOp::Put { key, .. }
                if crate::queue::parse_key(keys::QUEUE, key) == Some((queue, id)))
        });
        self.owed.len() != before
    }

    /// Whether queue `queue` holds a message (stored, not yet done).
    pub(super) fn holds(&self, queue: usize) -> bool {
        self.counts[queue] > 0
    }

    /// Whether a sender waits for a handler's result.
    pub(super) fn has_waiters(&self) -> bool {
        !self.waiters.is_empty()
    }

    /// Stores a new message for queue `queue`, sent at `now_ms`, its records owed to the
    /// instance's next commit (`Live::save` carries them first); returns its id.
    /// `queue/full` if the queue is at its capacity.
    pub(super) fn send(
        &mut self,
        id_of: &crate::key::ActorId,
        queue: usize,
        encoding: crate::payload::Encoding,
        body: Vec<u8>,
        now_ms: u64,
    ) -> Result<u64, ActorError> {
        let info = &A::QUEUES[queue];
        if self.counts[queue] >= info.capacity {
            return Err(ActorError::queue_full(
                A::NAME,
                id_of,
                info.name,
                info.capacity,
            ));
        }
        let id = self.next_id();
        let status = if info.handled {
            Status::Ready
        } else {
            self.arrived();
            Status::Available
        };
        self.store(
            queue,
            id,
            StoredMessage::new(encoding, body, now_ms),
            status,
        );
        Ok(id)
    }

    /// A new message id. Ids are reserved in storage in blocks, in the batch of the first
    /// send past the last block: one record per `RESERVED` sends instead of one per send.
    pub(super) fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        let id = self.last_id;
        if id > self.reserved {
            self.reserved = id + RESERVED - 1;
            self.owed.push(SaveOp::Put {
                key: keys::QUEUE_SEQ.into(),
                value: self.reserved.to_be_bytes().to_vec().into(),
            });
        }
        id
    }

    /// Message `id` of queue `queue` (from [`next_id`](Self::next_id)), whose handler
    /// began in place at once and did not finish with a success: from now on it is stored
    /// and running, on its first attempt, as if it had been sent through the task.
    pub(super) fn adopt(
        &mut self,
        queue: usize,
        id: u64,
        encoding: crate::payload::Encoding,
        body: Vec<u8>,
        now_ms: u64,
    ) {
        let mut stored = StoredMessage::new(encoding, body, now_ms);
        stored.attempts = 1;
        self.store(queue, id, stored, Status::Running);
    }

    /// Keeps message `id` as pending with `status`, and owes its record to the next
    /// commit.
    fn store(&mut self, queue: usize, id: u64, stored: StoredMessage, status: Status) {
        self.owed.push(SaveOp::Put {
            key: message_key(A::QUEUES[queue].name, id).into(),
            value: stored.encode(),
        });
        self.counts[queue] += 1;
        self.pending.insert(
            id,
            Pending {
                queue,
                stored,
                status,
            },
        );
    }

    /// Tells a loop waiting for messages to look again.
    fn arrived(&self) {
        if let Some(looping) = &self.looping {
            looping.arrived.notify_waiters();
        }
    }

    /// The run loop's part of the queues, made on first use.
    pub(super) fn looping(&mut self) -> &mut Looping<A> {
        self.looping.get_or_insert_with(Box::default)
    }

    /// The run loop's part, if the kind has one.
    pub(super) fn looping_if_any(&mut self) -> Option<&mut Looping<A>> {
        self.looping.as_deref_mut()
    }

    /// For the run loop (`owner` 0) or a workflow: up to `max` available messages of the
    /// queues at `indexes`, oldest first, now taken.
    pub(super) fn take(&mut self, indexes: &[usize], max: usize, owner: u64) -> Vec<Received> {
        let mut taken = Vec::new();
        for (id, p) in &mut self.pending {
            if taken.len() == max {
                break;
            }
            if p.status == Status::Available && indexes.contains(&p.queue) {
                p.status = Status::Taken(owner);
                p.stored.attempts += 1;
                let message = Payload::Encoded(p.stored.encoding, p.stored.body.clone());
                taken.push(Received::new(
                    *id,
                    A::QUEUES[p.queue].name,
                    p.stored.attempts,
                    message,
                ));
            }
        }
        taken
    }

    /// For the run loop: every available message of queue `queue` after `after`, now
    /// taken (folded into message `after`).
    pub(super) fn take_rest(&mut self, queue: usize, after: u64) -> Vec<u64> {
        let mut taken = Vec::new();
        for (id, p) in self.pending.range_mut(after + 1..) {
            if p.queue == queue && p.status == Status::Available {
                p.status = Status::Taken(LOOP);
                taken.push(*id);
            }
        }
        taken
    }

    /// The messages `owner` (the loop, or a workflow) took and did not complete are
    /// available again (it ended).
    pub(super) fn give_back(&mut self, owner: u64) {
        let mut any = false;
        for p in self.pending.values_mut() {
            if p.status == Status::Taken(owner) {
                p.status = Status::Available;
                any = true;
            }
        }
        if any {
            self.arrived();
        }
    }

    /// A loop's turn completed messages `ids`: the records to commit with its state (the
    /// alarm stays while the actor is awake, see `alarm.rs`).
    pub(super) fn complete(&mut self, ids: &[u64]) -> Vec<SaveOp> {
        let mut ops = Vec::new();
        for id in ids {
            if let Some(p) = self.pending.remove(id) {
                let info = &A::QUEUES[p.queue];
                self.counts[p.queue] -= 1;
                ops.push(SaveOp::Delete {
                    key: message_key(info.name, *id),
                });
            }
        }
        ops
    }

    /// Has the sender of message `id` wait for its handler's result, up to `timeout`.
    pub(super) fn wait_for(
        &mut self,
        id: u64,
        reply: oneshot::Sender<Reply>,
        timeout: std::time::Duration,
        now: Instant,
    ) {
        self.waiters.insert(
            id,
            Waiter {
                reply,
                deadline: now + timeout,
                timeout,
            },
        );
    }

    /// Begins the handler's turn on message `id`, the next in the task's `waiting`: its
    /// queue's index, the message and what the handler can read about it. `None` if an
    /// earlier message of its queue is not done (then it waits for that one), or if it is
    /// no longer pending.
    pub(super) fn start(&mut self, id: u64) -> Option<(usize, Payload, Delivery)> {
        let queue = self.pending.get(&id)?.queue;
        let earlier = self
            .pending
            .range(..id)
            .any(|(_, p)| p.queue == queue && p.status != Status::Blocked);
        let pending = self.pending.get_mut(&id)?;
        if earlier {
            pending.status = Status::Blocked;
            return None;
        }
        pending.status = Status::Running;
        pending.stored.attempts += 1;
        let stored = &pending.stored;
        Some((
            queue,
            Payload::Encoded(stored.encoding, stored.body.clone()),
            Delivery {
                id: MessageId::from(id),
                queue: A::QUEUES[queue].name,
                attempt: stored.attempts,
                awaited: self.waiters.contains_key(&id),
            },
        ))
    }

    /// The handler of message `id` finished, with `failure` if it failed: a success
    /// removes the message (in the same commit as the state it produced); a failure is
    /// retried after its backoff, or becomes a dead letter once its attempts are spent or
    /// when the message does not decode. `now` (the instant and the Unix ms) is read only
    /// for a failure. A message that is not pending (handled in place at once, never
    /// stored) leaves nothing to do.
    pub(super) fn finished(
        &mut self,
        id: u64,
        failure: Option<&ActorError>,
        now: impl FnOnce() -> (Instant, u64),
    ) -> Outcome {
        let Some(pending) = self.pending.get_mut(&id) else {
            return Outcome {
                ops: Vec::new(),
                waiter: None,
                released: Vec::new(),
            };
        };
        let info: &QueueInfo = &A::QUEUES[pending.queue];
        let mut ops = Vec::new();
        let done = match failure {
            None => true,
            Some(err) => {
                let last = err.is(crate::codes::QUEUE_MESSAGE_INVALID)
                    || pending.stored.attempts >= info.max_attempts;
                let (now, now_ms) = now();
                if last {
                    tracing::error!(
                        queue = info.name,
                        message = id,
                        attempts = pending.stored.attempts,
                        error = %err,
                        dead_letters = ?info.dead_letters,
                        "queue handler failed on its last attempt"
                    );
                    if info.dead_letters == DeadLetters::Keep {
                        ops.push(SaveOp::Put {
                            key: dead_letter_key(info.name, id).into(),
                            value: pending.stored.dead(err, now_ms).into(),
                        });
                    }
                } else {
                    let wait = info.backoff(pending.stored.attempts);
                    tracing::warn!(
                        queue = info.name,
                        message = id,
                        attempt = pending.stored.attempts,
                        error = %err,
                        retry_in = ?wait,
                        "queue handler failed; retrying"
                    );
                    let at = now + wait;
                    pending.stored.due_ms =
                        now_ms.saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
                    pending.status = Status::Backoff(at);
                    self.backoff.insert((at, id));
                    ops.push(SaveOp::Put {
                        key: message_key(info.name, id).into(),
                        value: pending.stored.encode(),
                    });
                }
                last
            }
        };
        let queue = pending.queue;
        let mut released = Vec::new();
        let mut waiter = None;
        if done && !self.unowe(info.name, id) {
            ops.push(SaveOp::Delete {
                key: message_key(info.name, id),
            });
        }
        if done {
            self.pending.remove(&id);
            self.counts[queue] -= 1;
            released = self.unblock(queue);
            if !self.waiters.is_empty() {
                waiter = self.waiters.remove(&id).map(|w| w.reply);
            }
        }
        Outcome {
            ops,
            waiter,
            released,
        }
    }

    /// The blocked messages of `queue`, now ready, in order.
    fn unblock(&mut self, queue: usize) -> Vec<u64> {
        let mut released = Vec::new();
        for (id, p) in &mut self.pending {
            if p.queue == queue && p.status == Status::Blocked {
                p.status = Status::Ready;
                released.push(*id);
            }
        }
        released
    }

    /// The messages whose backoff ended by `now`, ready again, in order.
    pub(super) fn due(&mut self, now: Instant) -> Vec<u64> {
        let mut ready = Vec::new();
        while let Some(&(at, id)) = self.backoff.first() {
            if at > now {
                break;
            }
            self.backoff.pop_first();
            if let Some(p) = self.pending.get_mut(&id)
                && p.status == Status::Backoff(at)
            {
                p.status = Status::Ready;
                ready.push(id);
            }
        }
        ready
    }

    /// Answers `queue/timed_out` to the senders whose wait ended by `now`.
    pub(super) fn expire(&mut self, now: Instant) {
        let expired: Vec<u64> = self
            .waiters
            .iter()
            .filter(|(_, w)| w.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let Some(waiter) = self.waiters.remove(&id) else {
                continue;
            };
            let queue = self
                .pending
                .get(&id)
                .map_or("", |p| A::QUEUES[p.queue].name);
            let _ = waiter
                .reply
                .send(Err(ActorError::queue_timed_out(queue, id, waiter.timeout)));
        }
    }

    /// When the task must look at the queues next: a backoff ending, a wait ending.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let backoff = self.backoff.first().map(|(at, _)| *at);
        let wait = self.waiters.values().map(|w| w.deadline).min();
        match (backoff, wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Answers every waiting sender with `err`: the instance stops.
    pub(super) fn fail_waiters(&mut self, err: &ActorError) {
        for (_, waiter) in self.waiters.drain() {
            let _ = waiter.reply.send(Err(err.clone()));
        }
    }

    /// The time the stored messages need the actor awake by: the earliest next attempt.
    pub(super) fn wanted_alarm(&self) -> Option<u64> {
        self.pending.values().map(|p| p.stored.due_ms).min()
    }

    /// Whether dead letter `id` was replayed or discarded by this instance.
    pub(super) fn is_gone(&self, id: u64) -> bool {
        self.gone.contains(&id)
    }

    /// Records that dead letter `id` was discarded: the record to commit.
    pub(super) fn discard(&mut self, letter: &crate::queue::DeadLetter) -> Vec<SaveOp> {
        self.gone.insert(letter.id.get());
        vec![SaveOp::Delete {
            key: dead_letter_key(&letter.queue, letter.id.get()),
        }]
    }

    /// A dead letter sent again as a message of a new id: the record that removes the
    /// dead letter, to commit with the message (owed, see [`send`](Self::send)), and the
    /// new id. `queue/full` if the queue is at its capacity.
    pub(super) fn revive(
        &mut self,
        id_of: &crate::key::ActorId,
        letter: &crate::queue::DeadLetter,
        now_ms: u64,
    ) -> Result<(u64, Vec<SaveOp>), ActorError> {
        let Some(queue) = A::QUEUES.iter().position(|q| q.name == letter.queue) else {
            return Err(ActorError::queue_not_found(
                A::NAME,
                &letter.queue,
                &queue_names::<A>(),
            ));
        };
        let revived = crate::queue::revive(letter, now_ms);
        let id = self.send(id_of, queue, revived.encoding, revived.body, now_ms)?;
        Ok((id, self.discard(letter)))
    }
}

/// The names of `A`'s queues, for `queue/not_found`.
pub(super) fn queue_names<A: Actor>() -> Vec<&'static str> {
    A::QUEUES.iter().map(|q| q.name).collect()
}

/// A reply to a send: the message id, shaped for the sender.
pub(super) fn sent(shape: ReplyShape, id: u64) -> Reply {
    shape.wrap(MessageId::from(id))
}
