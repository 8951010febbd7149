//! One running workflow: the task that runs it (reading its history first, so recorded
//! steps replay), and the engine behind the public `Workflow`: it claims each entry in
//! the history, runs what is new, and records every result through an exclusive turn, so
//! an entry commits with the state change it made, in order with the actor's calls.

use std::future::Future;
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, UNIX_EPOCH};

use futures_util::FutureExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::ctx::Ctx;
use crate::definition::Actor;
use crate::driver::SaveOp;
use crate::error::{ActorError, panic_message};
use crate::payload::{Encoding, Payload};
use crate::run_loop::Received;
use crate::workflow::record::{self, EntryMeta, Seg, StoredEntry, entry_key, history_prefix};
use crate::workflow::replay::{Claimed, History, Refused};
use crate::workflow::{
    Apply, Branch, Deadline, EntryKind, EntryStatus, InFlight, StepCtx, StepOptions, StepOutput,
    Waiting, Workflow, WorkflowId,
};

use super::live::Live;
use super::looping::{Cancel, LoopFn, queue_indexes, request_turn};
use super::scope::stage;
use super::workflows::Progress;

/// The longest entry name, in bytes.
const MAX_NAME: usize = 128;
/// The first wait before reading a workflow's history again after a failed read.
const FIRST_READ_RETRY: Duration = Duration::from_secs(1);

/// What a workflow's task starts from.
pub(super) struct Run<A: Actor> {
    pub(super) live: Weak<Live<A>>,
    pub(super) ctx: Ctx<A>,
    pub(super) id: WorkflowId,
    pub(super) index: usize,
    pub(super) owner: u64,
    pub(super) cancel: Arc<Cancel>,
    pub(super) arrived: Arc<Notify>,
}

/// The engine of one running workflow (behind `Workflow`).
pub(crate) struct Engine<A: Actor> {
    live: Weak<Live<A>>,
    ctx: Ctx<A>,
    id: WorkflowId,
    name: &'static str,
    owner: u64,
    cancel: Arc<Cancel>,
    arrived: Arc<Notify>,
    /// The workflow's `retried` count: an entry that failed before it runs again.
    retried: u32,
    history: Mutex<History>,
    /// Why the workflow failed (a step out of attempts, a diverged history): every later
    /// entry answers it, and the workflow ends failed with it whatever its code returns.
    failure: Mutex<Option<ActorError>>,
}

/// A message as a workflow's history records it.
#[derive(Serialize, Deserialize)]
struct RecordedMessage {
    id: u64,
    queue: String,
    attempt: u32,
    body: serde_json::Value,
}

/// Runs workflow `run` to its end: reads its history, replays it, runs what is new,
/// records how it ended. When the actor stops first, it ends where it is (it resumes on
/// the next wake).
pub(super) async fn run<A: Actor>(run: Run<A>) {
    let Run {
        live,
        ctx,
        id,
        index,
        owner,
        cancel,
        arrived,
    } = run;
    let Some(stored) = ctx.with_workflows(|i| i.get(&id).map(|r| r.stored.clone())) else {
        return;
    };
    let Some(entries) = read_history(&live, &ctx, &id, &cancel).await else {
        return;
    };
    let engine = Arc::new(Engine {
        live,
        ctx,
        id,
        name: A::WORKFLOWS[index].name,
        owner,
        cancel,
        arrived,
        retried: stored.meta.retried,
        history: Mutex::new(History::default()),
        failure: Mutex::new(None),
    });
    // The workflow works until it waits, and until its end is recorded.
    let active = engine.active();
    let outcome = match entries {
        Ok(entries) => {
            *engine.history() = History::new(entries);
            let input = Payload::Encoded(stored.meta.input_encoding, stored.input);
            let wf = Workflow::root(engine.clone());
            let ran = AssertUnwindSafe(A::call_workflow(wf, index, input))
                .catch_unwind()
                .await;
            match ran {
                Ok(Ok(output)) => output.into_encoded(Encoding::Json).map(|(_, bytes)| bytes),
                Ok(Err(err)) => Err(err),
                Err(panic) => Err(ActorError::internal(
                    &format!("workflow `{}` panicked", engine.name),
                    panic_message(&*panic),
                )),
            }
        }
        Err(err) => Err(err),
    };
    if !engine.cancel.is_set() {
        let outcome = match engine.failure.lock().expect("failure").clone() {
            Some(failure) => Err(failure),
            None => outcome.and_then(|out| engine.check_reached().map(|()| out)),
        };
        engine.finish(outcome).await;
    }
    drop(active);
    if let Some(live) = engine.live.upgrade() {
        live.lock().queues().give_back(engine.owner);
    }
}

/// Reads workflow `id`'s history, trying again with a doubling wait while storage fails
/// (logged); `Err` for an entry that does not decode (the workflow fails with it),
/// `None` once the actor stops.
async fn read_history<A: Actor>(
    live: &Weak<Live<A>>,
    ctx: &Ctx<A>,
    id: &WorkflowId,
    cancel: &Cancel,
) -> Option<Result<Vec<(u32, StoredEntry)>, ActorError>> {
    let prefix = history_prefix(id.as_str());
    let mut wait = FIRST_READ_RETRY;
    loop {
        let driver = live.upgrade()?.driver.clone();
        match driver.scan(ctx.id(), &prefix).await {
            Ok(records) => {
                let entries = records
                    .into_iter()
                    .map(|(key, value)| {
                        record::entry_seq(&key)
                            .zip(StoredEntry::decode(&value))
                            .ok_or_else(|| {
                                ActorError::internal(
                                    &format!("the history of workflow `{id}`"),
                                    format_args!(
                                        "entry {key:?} is not in a format this build reads"
                                    ),
                                )
                            })
                    })
                    .collect();
                return Some(entries);
            }
            Err(err) => {
                tracing::error!(workflow = %id, error = %err, retry_in = ?wait, "a workflow's history could not be read; trying again");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = cancel.cancelled() => return None,
                }
                wait = (wait * 2).min(Duration::from_secs(60));
            }
        }
    }
}

/// A claimed entry: its place in the history, held until it is done (no other entry of
/// its scope runs meanwhile).
pub(crate) struct Claim<'a, A: Actor> {
    engine: &'a Engine<A>,
    scope: Vec<Seg>,
    name: String,
    kind: EntryKind,
    /// Its sequence number once it is recorded.
    seq: Option<u32>,
    /// The entry as recorded (by an earlier run, or by this one).
    recorded: Option<StoredEntry>,
}

impl<A: Actor> Drop for Claim<'_, A> {
    fn drop(&mut self) {
        self.engine.history().release(&self.scope);
    }
}

impl<A: Actor> Claim<'_, A> {
    fn loc(&self) -> Vec<Seg> {
        let mut loc = self.scope.clone();
        loc.push(Seg::Name(self.name.clone()));
        loc
    }

    fn location(&self) -> String {
        record::display(&self.loc())
    }

    /// A new entry for this claim, with `status`.
    fn entry(&self, status: EntryStatus) -> StoredEntry {
        let now = self.engine.now_ms();
        StoredEntry {
            meta: EntryMeta {
                loc: self.loc(),
                kind: self.kind,
                status,
                attempts: 0,
                error: None,
                started_ms: self.recorded.as_ref().map_or(now, |r| r.meta.started_ms),
                finished_ms: (status == EntryStatus::Completed || status == EntryStatus::Failed)
                    .then_some(now),
                deadline_ms: None,
                epoch: self.engine.retried,
            },
            output: Vec::new(),
        }
    }

    /// Records `entry` (with `extra` records, removing the messages `complete`) in an
    /// exclusive turn that first runs `change` on the state; `change` may set the entry's
    /// result. Returns what `change` returned, once the turn's commit is durable.
    async fn commit(
        &mut self,
        entry: StoredEntry,
        complete: Vec<u64>,
        extra: Vec<SaveOp>,
        change: impl FnOnce(&mut A, &Ctx<A>, &mut StoredEntry) -> Payload + Send + 'static,
    ) -> Result<Payload, ActorError> {
        let seq = {
            let mut history = self.engine.history();
            match self.seq {
                Some(seq) => {
                    history.update(seq, entry.clone());
                    seq
                }
                None => {
                    let seq = history.record(entry.clone());
                    self.seq = Some(seq);
                    seq
                }
            }
        };
        self.recorded = Some(entry.clone());
        let key = entry_key(self.engine.id.as_str(), seq);
        let turn: LoopFn<A> = Box::new(move |state, ctx| {
            let mut entry = entry;
            let out = change(state, ctx, &mut entry);
            stage(SaveOp::Put {
                key: key.into(),
                value: entry.encode(),
            })?;
            for op in extra {
                stage(op)?;
            }
            Ok(out)
        });
        request_turn(&self.engine.live, complete, turn, || self.engine.stopped()).await
    }

    /// Records `entry` without changing the state.
    async fn record(&mut self, entry: StoredEntry) -> Result<(), ActorError> {
        self.commit(entry, Vec::new(), Vec::new(), |_, _, _| Payload::local(()))
            .await
            .map(drop)
    }
}

/// Holds one path of the workflow working (it is not waiting): while one does, the
/// workflow holds the actor awake and is due at once after a crash.
pub(crate) struct Active<'a, A: Actor>(&'a Engine<A>);

impl<A: Actor> Drop for Active<'_, A> {
    fn drop(&mut self) {
        // A path cut short by the actor stopping stays counted: the workflow resumes at
        // once on the next start.
        if !self.0.cancel.is_set() {
            self.0.progress(Progress::leave);
        }
    }
}

/// Where a loop goes on from: its claimed entry, the iteration and the carried state.
pub(crate) type Resume<'a, A, S> = (Claim<'a, A>, u64, S);

/// A wait of one path of the workflow, registered in its progress: what it waits for and
/// until when. Dropped without [`resume`](Self::resume) (its path was dropped, a race's
/// loser), it is forgotten; left by the actor stopping, it stays, so the sleep's alarm
/// covers it.
struct Wait<'a, A: Actor> {
    engine: &'a Engine<A>,
    token: Option<u64>,
}

impl<A: Actor> Wait<'_, A> {
    /// The wait ended: its path works again.
    fn resume(mut self) {
        if let Some(token) = self.token.take() {
            let now = self.engine.now_ms();
            self.engine
                .progress(|p| p.resume(token, now, || self.engine.ctx.keep_awake()));
        }
    }
}

impl<A: Actor> Drop for Wait<'_, A> {
    fn drop(&mut self) {
        if let Some(token) = self.token
            && !self.engine.cancel.is_set()
        {
            self.engine.progress(|p| p.unwait(token));
        }
    }
}

/// A step attempt shown in the workflow's progress while it runs.
struct Attempt<'a, A: Actor> {
    engine: &'a Engine<A>,
    token: Option<u64>,
}

impl<A: Actor> Drop for Attempt<'_, A> {
    fn drop(&mut self) {
        if let Some(token) = self.token {
            self.engine.progress(|p| p.attempted(token));
        }
    }
}

/// Decodes a recorded result.
fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ActorError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ActorError::internal(
            &format!("the recorded result of {what}"),
            format_args!(
                "{e}; it no longer decodes as `{}` (the type changed under a running workflow: \
                 give new fields `#[serde(default)]`, or rename the entry and mark the old one \
                 `removed`)",
                std::any::type_name::<T>()
            ),
        )
    })
}

/// The recorded result of `claim` (`what`, for errors), if its entry is complete.
fn completed<A: Actor, T: serde::de::DeserializeOwned>(
    claim: &Claim<'_, A>,
    what: &str,
) -> Result<Option<T>, ActorError> {
    match &claim.recorded {
        Some(recorded) if recorded.meta.status == EntryStatus::Completed => {
            decode(&recorded.output, what).map(Some)
        }
        _ => Ok(None),
    }
}

/// A result, encoded for the history.
fn encode<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>, ActorError> {
    serde_json::to_vec(value).map_err(|e| ActorError::serialization_failed(what, e))
}

impl<A: Actor> Engine<A> {
    pub(crate) fn ctx(&self) -> &Ctx<A> {
        &self.ctx
    }

    pub(crate) fn id(&self) -> &WorkflowId {
        &self.id
    }

    fn history(&self) -> MutexGuard<'_, History> {
        self.history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now_ms(&self) -> u64 {
        self.ctx.host().clock().now_ms()
    }

    fn stopped(&self) -> ActorError {
        ActorError::stopped(format!(
            "actor `{}` {} is stopping: workflow `{}` `{}` resumes when it wakes",
            A::NAME,
            self.ctx.id(),
            self.name,
            self.id
        ))
    }

    /// Runs `f` on the workflow's progress in the index.
    fn progress<R>(&self, f: impl FnOnce(&mut Progress) -> R) -> Option<R> {
        self.ctx
            .with_workflows(|index| index.progress(&self.id).map(f))
    }

    /// Counts a path as working until the guard drops.
    fn active(&self) -> Active<'_, A> {
        let now = self.now_ms();
        self.progress(|p| p.enter(now, || self.ctx.keep_awake()));
        Active(self)
    }

    /// Records that the workflow failed with `err` (the first failure stays), and
    /// returns it.
    fn fail(&self, err: ActorError) -> ActorError {
        let mut failure = self.failure.lock().expect("failure");
        failure.get_or_insert(err).clone()
    }

    /// `actor/stopped` once the actor is stopping, the workflow's failure once it failed.
    fn check(&self) -> Result<(), ActorError> {
        if self.cancel.is_set() {
            return Err(self.stopped());
        }
        match &*self.failure.lock().expect("failure") {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }

    /// Claims entry `name` of `kind` in `scope`: the recorded entry there, or a new one.
    fn claim(
        &self,
        scope: &[Seg],
        name: &str,
        kind: EntryKind,
    ) -> Result<Claim<'_, A>, ActorError> {
        self.check()?;
        if name.is_empty() || name.len() > MAX_NAME {
            return Err(self.fail(ActorError::workflow_invalid(format_args!(
                "workflow `{}` has an entry named {name:?}: entry names are 1 to {MAX_NAME} bytes",
                self.name
            ))));
        }
        let mut history = self.history();
        let claimed = history.claim(scope, name, kind);
        let mut loc = scope.to_vec();
        loc.push(Seg::Name(name.to_string()));
        let location = record::display(&loc);
        match claimed {
            Ok(claimed) => {
                let seq = match claimed {
                    Claimed::Recorded(seq) => Some(seq),
                    Claimed::New => None,
                };
                let recorded = seq.map(|seq| history.entry(seq).clone());
                Ok(Claim {
                    engine: self,
                    scope: scope.to_vec(),
                    name: name.to_string(),
                    kind,
                    seq,
                    recorded,
                })
            }
            Err(Refused::Diverged {
                location,
                name: recorded,
                kind: recorded_kind,
                place,
            }) => {
                drop(history);
                let err = ActorError::history_diverged(
                    self.name,
                    &self.id,
                    &location,
                    place,
                    (&recorded, recorded_kind),
                    (name, kind),
                );
                tracing::error!(workflow = self.name, id = %self.id, error = %err, "a workflow's history diverged from its code");
                Err(self.fail(err))
            }
            Err(Refused::Busy { running }) => {
                drop(history);
                Err(self.fail(ActorError::workflow_invalid(format_args!(
                    "workflow `{}` ran {kind} `{location}` while `{running}` of the same scope \
                     was still running: entries of one scope run one after another, or their \
                     order would differ on replay; run them in branches (`wf.join`, `wf.race`)",
                    self.name
                ))))
            }
        }
    }

    /// Registers a wait of one path for `what`, until `deadline` (Unix ms).
    fn wait(&self, what: Waiting, deadline: Option<u64>) -> Wait<'_, A> {
        Wait {
            engine: self,
            token: self.progress(|p| p.wait(what, deadline)),
        }
    }

    /// Waits (durably: the actor may sleep, and `at` is in the history) until `at`, Unix ms.
    async fn wait_until(&self, what: Waiting, at: u64) -> Result<(), ActorError> {
        let wait = self.wait(what, Some(at));
        let instant = self.ctx.host().clock().instant_at(at);
        tokio::select! {
            () = tokio::time::sleep_until(instant) => {}
            () = self.cancel.cancelled() => return Err(self.stopped()),
        }
        wait.resume();
        Ok(())
    }

    /// Runs `branches` with the calling path counted as waiting for them (each branch
    /// counts as a path of its own).
    async fn in_branches<F: Future>(&self, branches: F) -> F::Output {
        self.progress(Progress::leave);
        let out = branches.await;
        let now = self.now_ms();
        self.progress(|p| p.enter(now, || self.ctx.keep_awake()));
        out
    }

    /// A step: see `Workflow::step`. The outer error fails the workflow; the inner one is
    /// the step's, returned as a value when `allow_failure`.
    pub(crate) async fn step<T, F, Fut>(
        &self,
        scope: &[Seg],
        name: String,
        mut work: F,
        options: StepOptions,
        apply: Option<Apply<A, T>>,
        allow_failure: bool,
    ) -> Result<Result<T, ActorError>, ActorError>
    where
        T: StepOutput,
        F: FnMut(StepCtx<A>) -> Fut + Send,
        Fut: Future<Output = Result<T, ActorError>> + Send,
    {
        let mut claim = self.claim(scope, &name, EntryKind::Step)?;
        let location = claim.location();
        let what = format!("step `{location}`");
        let mut attempts = 0;
        let mut retry_at = None;
        let mut last_error = None;
        if let Some(recorded) = &claim.recorded {
            match recorded.meta.status {
                EntryStatus::Completed => return Ok(Ok(decode(&recorded.output, &what)?)),
                EntryStatus::Failed if !recorded.output.is_empty() => {
                    return Ok(Err(decode(&recorded.output, &what)?));
                }
                EntryStatus::Failed if recorded.meta.epoch >= self.retried => {
                    let cause = recorded.meta.error.clone().unwrap_or_else(|| {
                        ActorError::internal(&what, "it failed without a recorded error")
                    });
                    return Err(self.fail(ActorError::step_failed(
                        self.name,
                        &self.id,
                        &location,
                        recorded.meta.attempts,
                        &cause,
                    )));
                }
                // Failed before a `retry`: its attempts start over.
                EntryStatus::Failed => {}
                EntryStatus::Waiting | EntryStatus::Running => {
                    attempts = recorded.meta.attempts;
                    retry_at = recorded.meta.deadline_ms;
                    last_error = recorded.meta.error.clone();
                }
            }
        }
        let step_name: Arc<str> = Arc::from(name.as_str());
        loop {
            if let Some(at) = retry_at.take() {
                let waiting = Waiting::Retry {
                    location: location.clone(),
                    at: crate::clock::system_time(at),
                };
                self.wait_until(waiting, at).await?;
            }
            self.check()?;
            let attempt = attempts + 1;
            let started = self.now_ms();
            let attempt_deadline = options
                .timeout
                .map(|t| started.saturating_add(u64::try_from(t.as_millis()).unwrap_or(u64::MAX)));
            let in_flight = InFlight {
                location: location.clone(),
                attempt,
                started: crate::clock::system_time(started),
                deadline: attempt_deadline.map(crate::clock::system_time),
            };
            let shown = Attempt {
                engine: self,
                token: self.progress(|p| p.attempt(in_flight)),
            };
            let ran = AssertUnwindSafe(work(StepCtx::new(
                attempt,
                self.ctx.clone(),
                step_name.clone(),
            )))
            .catch_unwind();
            let result = match options.timeout {
                Some(limit) => match tokio::time::timeout(limit, ran).await {
                    Ok(ran) => ran,
                    Err(_) => Ok(Err(ActorError::step_timed_out(&location, attempt, limit))),
                },
                None => ran.await,
            };
            drop(shown);
            let result = result.unwrap_or_else(|panic| {
                Err(ActorError::internal(
                    &format!("{what} panicked"),
                    panic_message(&*panic),
                ))
            });
            match result {
                Ok(value) => {
                    let mut entry = claim.entry(EntryStatus::Completed);
                    entry.meta.attempts = attempt;
                    // The history keeps why the attempts before this one failed.
                    entry.meta.error = last_error.take();
                    entry.output = encode(&value, &what)?;
                    let committed = claim
                        .commit(entry, Vec::new(), Vec::new(), move |state, ctx, _| {
                            if let Some(apply) = apply {
                                apply(state, ctx, &value);
                            }
                            Payload::local(value)
                        })
                        .await;
                    return match committed {
                        Ok(out) => Ok(Ok(out.decode()?)),
                        // `apply` panicked: nothing of the turn was kept.
                        Err(err) if err.is(crate::codes::INTERNAL) => Err(self.fail(
                            ActorError::step_failed(self.name, &self.id, &location, attempt, &err),
                        )),
                        Err(err) => Err(err),
                    };
                }
                Err(err) => {
                    let timed_out = err.is(crate::codes::WORKFLOW_STEP_TIMED_OUT);
                    let retries =
                        attempt < options.attempts && (options.retry_timeouts || !timed_out);
                    if retries {
                        let wait = options.backoff(attempt);
                        let at = self
                            .now_ms()
                            .saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
                        tracing::warn!(workflow = self.name, id = %self.id, step = %location, attempt, error = %err, retry_in = ?wait, "a workflow step failed; retrying");
                        let mut entry = claim.entry(EntryStatus::Waiting);
                        entry.meta.attempts = attempt;
                        entry.meta.error = Some(err.clone());
                        entry.meta.deadline_ms = Some(at);
                        last_error = Some(err);
                        claim.record(entry).await?;
                        attempts = attempt;
                        retry_at = Some(at);
                        continue;
                    }
                    let mut entry = claim.entry(EntryStatus::Failed);
                    entry.meta.attempts = attempt;
                    entry.meta.error = Some(err.clone());
                    if allow_failure {
                        entry.output = encode(&err, &what)?;
                        claim.record(entry).await?;
                        return Ok(Err(err));
                    }
                    claim.record(entry).await?;
                    let failed =
                        ActorError::step_failed(self.name, &self.id, &location, attempt, &err);
                    tracing::error!(workflow = self.name, id = %self.id, error = %failed, "a workflow step ran out of attempts; the workflow failed");
                    return Err(self.fail(failed));
                }
            }
        }
    }

    /// A step on the state: see `Workflow::turn`.
    pub(crate) async fn turn<T, F>(
        &self,
        scope: &[Seg],
        name: String,
        change: F,
    ) -> Result<T, ActorError>
    where
        T: StepOutput,
        F: FnOnce(&mut A, &Ctx<A>) -> T + Send + 'static,
    {
        let mut claim = self.claim(scope, &name, EntryKind::Step)?;
        let location = claim.location();
        let what = format!("step `{location}`");
        if let Some(recorded) = &claim.recorded {
            match recorded.meta.status {
                EntryStatus::Completed => return decode(&recorded.output, &what),
                EntryStatus::Failed if recorded.meta.epoch >= self.retried => {
                    let cause = recorded.meta.error.clone().unwrap_or_else(|| {
                        ActorError::internal(&what, "it failed without a recorded error")
                    });
                    return Err(self.fail(ActorError::step_failed(
                        self.name, &self.id, &location, 1, &cause,
                    )));
                }
                _ => {}
            }
        }
        let mut entry = claim.entry(EntryStatus::Completed);
        entry.meta.attempts = 1;
        let label = what.clone();
        let done = claim
            .commit(entry, Vec::new(), Vec::new(), move |state, ctx, entry| {
                let out = change(state, ctx);
                match serde_json::to_vec(&out) {
                    Ok(bytes) => entry.output = bytes,
                    // Thrown away like a panic: nothing of the turn is kept.
                    Err(e) => panic!("the result of {label} does not serialize: {e}"),
                }
                Payload::local(out)
            })
            .await;
        match done {
            Ok(out) => out.decode(),
            Err(err) if err.is(crate::codes::INTERNAL) => {
                let mut entry = claim.entry(EntryStatus::Failed);
                entry.meta.attempts = 1;
                entry.meta.error = Some(err.clone());
                claim.record(entry).await?;
                Err(self.fail(ActorError::step_failed(
                    self.name, &self.id, &location, 1, &err,
                )))
            }
            Err(err) => Err(err),
        }
    }

    /// A durable sleep: see `Workflow::sleep`.
    pub(crate) async fn sleep(
        &self,
        scope: &[Seg],
        name: String,
        until: Deadline,
    ) -> Result<(), ActorError> {
        let mut claim = self.claim(scope, &name, EntryKind::Sleep)?;
        let until = match &claim.recorded {
            Some(recorded) if recorded.meta.status == EntryStatus::Completed => return Ok(()),
            Some(recorded) => recorded.meta.deadline_ms.unwrap_or(0),
            None => {
                let until = match until {
                    Deadline::After(wait) => self
                        .now_ms()
                        .saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
                    Deadline::At(at) => at
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                };
                let mut entry = claim.entry(EntryStatus::Waiting);
                entry.meta.deadline_ms = Some(until);
                claim.record(entry).await?;
                until
            }
        };
        let waiting = Waiting::Sleep {
            location: claim.location(),
            until: crate::clock::system_time(until),
        };
        self.wait_until(waiting, until).await?;
        let mut entry = claim.entry(EntryStatus::Completed);
        entry.meta.deadline_ms = Some(until);
        claim.record(entry).await
    }

    /// A wait for a message: see `Workflow::message`.
    pub(crate) async fn message(
        &self,
        scope: &[Seg],
        name: String,
        queues: &[&str],
        timeout: Option<Duration>,
    ) -> Result<Option<Received>, ActorError> {
        let indexes = queue_indexes::<A>(queues)?;
        let mut claim = self.claim(scope, &name, EntryKind::Message)?;
        let what = format!("message wait `{}`", claim.location());
        let mut deadline = None;
        match &claim.recorded {
            Some(recorded) if recorded.meta.status == EntryStatus::Completed => {
                let message: Option<RecordedMessage> = decode(&recorded.output, &what)?;
                return Ok(message.map(received::<A>));
            }
            Some(recorded) => deadline = recorded.meta.deadline_ms,
            None => {
                if let Some(timeout) = timeout {
                    let at = self
                        .now_ms()
                        .saturating_add(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
                    let mut entry = claim.entry(EntryStatus::Waiting);
                    entry.meta.deadline_ms = Some(at);
                    claim.record(entry).await?;
                    deadline = Some(at);
                }
            }
        }
        let names: Vec<String> = queues.iter().map(|q| q.to_string()).collect();
        loop {
            let arrived = self.arrived.clone();
            let mut arrived = std::pin::pin!(arrived.notified());
            arrived.as_mut().enable();
            let taken = {
                let live = self.live.upgrade().ok_or_else(|| self.stopped())?;
                let mut core = live.lock();
                core.queues().take(&indexes, 1, self.owner).pop()
            };
            if let Some(taken) = taken {
                let id = taken.id.get();
                let message = RecordedMessage {
                    id,
                    queue: taken.queue.to_string(),
                    attempt: taken.attempt,
                    body: taken.decode()?,
                };
                let mut entry = claim.entry(EntryStatus::Completed);
                entry.meta.deadline_ms = deadline;
                entry.output = encode(&Some(&message), &what)?;
                claim
                    .commit(entry, vec![id], Vec::new(), |_, _, _| Payload::local(()))
                    .await?;
                return Ok(Some(received::<A>(message)));
            }
            let now = self.now_ms();
            if deadline.is_some_and(|at| at <= now) {
                let mut entry = claim.entry(EntryStatus::Completed);
                entry.meta.deadline_ms = deadline;
                entry.output = b"null".to_vec();
                claim.record(entry).await?;
                return Ok(None);
            }
            let waiting = Waiting::Message {
                location: claim.location(),
                queues: names.clone(),
                deadline: deadline.map(crate::clock::system_time),
            };
            let wait = self.wait(waiting, deadline);
            let clock = self.ctx.host().clock();
            let timer = deadline.map(|at| clock.instant_at(at));
            tokio::select! {
                () = arrived => {}
                () = async { tokio::time::sleep_until(timer.expect("a deadline")).await }, if timer.is_some() => {}
                () = self.cancel.cancelled() => return Err(self.stopped()),
            }
            wait.resume();
        }
    }

    /// The start of a loop: its output if it finished, else where to go on from (the
    /// iteration and the state), with the loop's entry claimed.
    pub(crate) fn loop_begin<S: StepOutput, T: StepOutput>(
        &self,
        scope: &[Seg],
        name: &str,
        init: S,
    ) -> Result<ControlFlow<T, Resume<'_, A, S>>, ActorError> {
        let claim = self.claim(scope, name, EntryKind::Loop)?;
        let what = format!("loop `{}`", claim.location());
        if let Some(done) = completed(&claim, &what)? {
            return Ok(ControlFlow::Break(done));
        }
        let (iteration, state) = match &claim.recorded {
            Some(recorded) => (
                u64::from(recorded.meta.attempts),
                decode(&recorded.output, &what)?,
            ),
            None => (0, init),
        };
        Ok(ControlFlow::Continue((claim, iteration, state)))
    }

    /// Records that the loop finished `iterations` iterations with `state` (if it goes
    /// on) or `output` (if it is done), deleting the entries of iterations older than the
    /// last `keep`, in one commit.
    pub(crate) async fn loop_record(
        &self,
        claim: &mut Claim<'_, A>,
        iterations: u64,
        value: Vec<u8>,
        done: bool,
        keep: u64,
    ) -> Result<(), ActorError> {
        let mut entry = claim.entry(if done {
            EntryStatus::Completed
        } else {
            EntryStatus::Running
        });
        entry.meta.attempts = u32::try_from(iterations).unwrap_or(u32::MAX);
        entry.output = value;
        let pruned = self
            .history()
            .prune(&claim.loc(), iterations.saturating_sub(keep));
        let deletes = pruned
            .into_iter()
            .map(|seq| SaveOp::Delete {
                key: entry_key(self.id.as_str(), seq),
            })
            .collect();
        claim
            .commit(entry, Vec::new(), deletes, |_, _, _| Payload::local(()))
            .await
            .map(drop)
    }

    /// A loop's state or output, encoded for its entry.
    pub(crate) fn loop_value<V: Serialize>(
        &self,
        claim: &Claim<'_, A>,
        value: &V,
    ) -> Result<Vec<u8>, ActorError> {
        encode(value, &format!("loop `{}`", claim.location()))
    }

    /// Branches at once: see `Workflow::join`.
    pub(crate) async fn join<T: StepOutput>(
        &self,
        wf: &Workflow<A>,
        name: String,
        branches: Vec<Branch<A, T>>,
    ) -> Result<Vec<T>, ActorError> {
        let scope = wf_scope(wf);
        let mut claim = self.claim(&scope, &name, EntryKind::Join)?;
        let what = format!("join `{}`", claim.location());
        if let Some(done) = completed(&claim, &what)? {
            return Ok(done);
        }
        let branches = self.branches(wf, &name, branches)?;
        let outputs = self
            .in_branches(futures_util::future::try_join_all(branches))
            .await?;
        let mut entry = claim.entry(EntryStatus::Completed);
        entry.output = encode(&outputs, &what)?;
        claim.record(entry).await?;
        Ok(outputs)
    }

    /// The first branch to finish: see `Workflow::race`.
    pub(crate) async fn race<T: StepOutput>(
        &self,
        wf: &Workflow<A>,
        name: String,
        branches: Vec<Branch<A, T>>,
    ) -> Result<(String, T), ActorError> {
        let scope = wf_scope(wf);
        let mut claim = self.claim(&scope, &name, EntryKind::Race)?;
        let what = format!("race `{}`", claim.location());
        if let Some(done) = completed(&claim, &what)? {
            return Ok(done);
        }
        if branches.is_empty() {
            return Err(self.fail(ActorError::workflow_invalid(format_args!(
                "{what} has no branches"
            ))));
        }
        let names: Vec<String> = branches.iter().map(|b| b.name.clone()).collect();
        let branches = self.branches(wf, &name, branches)?;
        let (won, index, rest) = self
            .in_branches(futures_util::future::select_all(branches))
            .await;
        drop(rest);
        let won = (names[index].clone(), won?);
        let mut entry = claim.entry(EntryStatus::Completed);
        entry.output = encode(&won, &what)?;
        claim.record(entry).await?;
        Ok(won)
    }

    /// The futures of `branches`, each counted as a working path of its own while it
    /// runs; the caller's path waits for them meanwhile.
    fn branches<T: StepOutput>(
        &self,
        wf: &Workflow<A>,
        name: &str,
        branches: Vec<Branch<A, T>>,
    ) -> Result<Vec<futures_util::future::BoxFuture<'static, Result<T, ActorError>>>, ActorError>
    {
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = branches.iter().find(|b| !seen.insert(b.name.clone())) {
            return Err(self.fail(ActorError::workflow_invalid(format_args!(
                "two branches of `{name}` in workflow `{}` are named `{}`: branch names are unique",
                self.name, twice.name
            ))));
        }
        let at = [Seg::Name(name.to_string())];
        Ok(branches
            .into_iter()
            .map(|branch| {
                let engine = wf.engine_arc();
                let run = branch.start(wf, &at);
                async move {
                    let _active = engine.active();
                    run.await
                }
                .boxed()
            })
            .collect())
    }

    /// Skips the entry `name` the code no longer has: see `Workflow::removed`.
    pub(crate) fn removed(&self, scope: &[Seg], name: &str) -> Result<(), ActorError> {
        self.check()?;
        self.history().skip_removed(scope, name);
        Ok(())
    }

    /// A version marker: see `Workflow::version`.
    pub(crate) async fn version(
        &self,
        scope: &[Seg],
        name: String,
        latest: u32,
    ) -> Result<u32, ActorError> {
        self.check()?;
        let predates = self
            .history()
            .next_recorded(scope)
            .is_some_and(|next| replay_name(next) != name || next.meta.kind != EntryKind::Version);
        if predates {
            return Ok(0);
        }
        let mut claim = self.claim(scope, &name, EntryKind::Version)?;
        if let Some(recorded) = &claim.recorded {
            return decode(
                &recorded.output,
                &format!("version marker `{}`", claim.location()),
            );
        }
        let mut entry = claim.entry(EntryStatus::Completed);
        entry.output = encode(&latest, "a version marker")?;
        claim.record(entry).await?;
        Ok(latest)
    }

    /// `workflow/history_diverged` if the workflow returned with recorded entries of its
    /// own scope unreached.
    fn check_reached(&self) -> Result<(), ActorError> {
        let history = self.history();
        match history.unreached(&[]) {
            None => Ok(()),
            Some(entry) => Err(ActorError::history_unreached(
                self.name,
                &self.id,
                &record::display(&entry.meta.loc),
                entry.meta.kind,
            )),
        }
    }

    /// Records how the workflow ended: its output, or its error (logged).
    async fn finish(&self, outcome: Result<Vec<u8>, ActorError>) {
        let Some(mut stored) = self
            .ctx
            .with_workflows(|index| index.get(&self.id).map(|run| run.stored.clone()))
        else {
            return;
        };
        if stored.meta.state.is_finished() {
            return;
        }
        let now = self.now_ms();
        match outcome {
            Ok(output) => {
                stored.meta.state = crate::workflow::WorkflowState::Completed;
                stored.output = output;
            }
            Err(err) => {
                tracing::error!(workflow = self.name, id = %self.id, error = %err, "a workflow failed");
                stored.meta.state = crate::workflow::WorkflowState::Failed;
                stored.meta.error = Some(err);
            }
        }
        stored.meta.updated_ms = now;
        stored.meta.finished_ms = Some(now);
        let id = self.id.clone();
        let keep = A::config().keep_workflows;
        let turn: LoopFn<A> = Box::new(move |_, ctx| {
            for op in ctx.with_workflows(|index| index.evict(keep)) {
                stage(op)?;
            }
            stage(super::workflows::put(&id, &stored))?;
            Ok(Payload::local(()))
        });
        if let Err(err) = request_turn(&self.live, Vec::new(), turn, || self.stopped()).await {
            tracing::warn!(workflow = self.name, id = %self.id, error = %err, "how a workflow ended could not be recorded; it resumes on the next wake");
        }
    }
}

/// The scope of `wf`.
fn wf_scope<A: Actor>(wf: &Workflow<A>) -> Vec<Seg> {
    wf.scope_segments().to_vec()
}

/// The name of a recorded entry.
fn replay_name(entry: &StoredEntry) -> &str {
    crate::workflow::replay::name_of(entry)
}

/// A recorded message as the workflow receives it.
fn received<A: Actor>(message: RecordedMessage) -> Received {
    let queue = A::QUEUES
        .iter()
        .find(|q| q.name == message.queue)
        .map_or("", |q| q.name);
    let body = serde_json::to_vec(&message.body).unwrap_or_default();
    Received::new(
        message.id,
        queue,
        message.attempt,
        Payload::Encoded(Encoding::Json, body),
    )
}
