//! The instance's side of workflows: what it knows of each one it keeps (`Index`, in the
//! context, so a turn that starts one can see it), the workflow records of every batch
//! handed to the driver (the index changes only from those: a start, a finish, a cancel
//! or a retry takes effect once it is on its way to storage), and the calls a handle
//! makes (`WorkflowOp`).

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::ctx::KeepAwake;
use crate::definition::Actor;
use crate::driver::{Record, SaveOp, keys};
use crate::error::ActorError;
use crate::mailbox::Reply;
use crate::payload::{Encoding, Payload};
use crate::workflow::record::{self, StoredEntry, StoredWorkflow, WorkflowMeta, workflow_key};
use crate::workflow::{
    HistoryEntry, InFlight, Waiting, WorkflowId, WorkflowOp, WorkflowState, WorkflowStatus,
};

use super::live::{Core, Live};
use super::run::Instance;

/// What the instance knows of every workflow the actor keeps.
#[derive(Default)]
pub(crate) struct Index {
    runs: BTreeMap<WorkflowId, Run>,
}

/// One workflow: its record as last handed to the driver (the actor keeps at most
/// `keep_workflows` finished ones, so these stay few), where it is now, and who waits for
/// its result.
pub(crate) struct Run {
    pub(crate) index: usize,
    pub(crate) stored: StoredWorkflow,
    pub(crate) progress: Progress,
    waiters: Vec<(oneshot::Sender<Reply>, Instant)>,
}

/// Where a running workflow is: how many of its paths (the workflow, or its branches)
/// are working rather than waiting, what the others wait for, and the step attempts
/// running. While a path works, the workflow holds the actor awake and needs it awake
/// at once after a crash.
#[derive(Default)]
pub(crate) struct Progress {
    active: u32,
    /// Since when a path has been working (Unix ms).
    active_since: u64,
    keep: Option<KeepAwake>,
    waits: Vec<(u64, Waiting, Option<u64>)>,
    in_flight: Vec<(u64, InFlight)>,
    next_token: u64,
}

impl Progress {
    /// A path of the workflow starts working (the workflow itself, at its start).
    pub(crate) fn enter(&mut self, now_ms: u64, awake: impl FnOnce() -> KeepAwake) {
        if self.active == 0 {
            self.active_since = now_ms;
            self.keep = Some(awake());
        }
        self.active += 1;
    }

    /// A path stops working (it ended, or it waits for a timer or a message).
    pub(crate) fn leave(&mut self) {
        self.active = self.active.saturating_sub(1);
        if self.active == 0 {
            self.keep = None;
        }
    }

    /// A path waits for `what` (until `deadline`, Unix ms): a token to end the wait with.
    pub(crate) fn wait(&mut self, what: Waiting, deadline: Option<u64>) -> u64 {
        self.leave();
        let token = self.token();
        self.waits.push((token, what, deadline));
        token
    }

    /// The wait `token` ended: its path works again.
    pub(crate) fn resume(&mut self, token: u64, now_ms: u64, awake: impl FnOnce() -> KeepAwake) {
        self.unwait(token);
        self.enter(now_ms, awake);
    }

    /// The wait `token` is gone with its path (a race's loser).
    pub(crate) fn unwait(&mut self, token: u64) {
        self.waits.retain(|(t, ..)| *t != token);
    }

    /// A step attempt starts: a token to end it with.
    pub(crate) fn attempt(&mut self, what: InFlight) -> u64 {
        let token = self.token();
        self.in_flight.push((token, what));
        token
    }

    /// The attempt `token` ended.
    pub(crate) fn attempted(&mut self, token: u64) {
        self.in_flight.retain(|(t, _)| *t != token);
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    /// When the workflow needs the actor awake: now (since a path works) if one does,
    /// else the earliest deadline it waits for.
    /// A workflow whose task has not started yet (at a wake) has no path working and
    /// none waiting: it is due now too.
    fn due(&self) -> Option<u64> {
        if self.active > 0 || self.waits.is_empty() {
            return Some(self.active_since.max(1));
        }
        self.waits.iter().filter_map(|(_, _, d)| *d).min()
    }
}

/// What a batch of workflow records does once it is handed to the driver.
pub(super) enum Effect {
    /// A workflow runs (started, or resumed by `retry`): its task starts.
    Run(WorkflowId, usize),
    /// A workflow finished: its waiters get `result` once the batch is durable; a
    /// cancelled one's task ends now.
    Finished {
        id: WorkflowId,
        waiters: Vec<oneshot::Sender<Reply>>,
        stored: StoredWorkflow,
    },
}

impl Index {
    /// Whether the actor keeps no workflow.
    pub(crate) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The index of the records `wf/…` a wake read.
    pub(super) fn load<A: Actor>(records: Vec<Record>) -> Self {
        let mut index = Self::default();
        for (key, value) in records {
            let (Some(id), Some(stored)) =
                (record::workflow_id(&key), StoredWorkflow::decode(&value))
            else {
                tracing::error!(key = ?key, "an unreadable workflow record was skipped");
                continue;
            };
            let Some(position) = A::WORKFLOWS.iter().position(|w| w.name == stored.meta.name)
            else {
                tracing::error!(
                    workflow = stored.meta.name,
                    id,
                    "a stored workflow names a workflow actor kind `{}` no longer has; it is left as it is",
                    A::NAME
                );
                continue;
            };
            index.insert(WorkflowId::from(id), position, stored);
        }
        index
    }

    fn insert(&mut self, id: WorkflowId, index: usize, stored: StoredWorkflow) {
        let progress = Progress {
            active_since: stored.meta.updated_ms,
            ..Progress::default()
        };
        self.runs.insert(
            id,
            Run {
                index,
                stored,
                progress,
                waiters: Vec::new(),
            },
        );
    }

    /// Workflow `id`, if the actor keeps it.
    pub(crate) fn get(&self, id: &WorkflowId) -> Option<&Run> {
        self.runs.get(id)
    }

    /// The progress of running workflow `id`.
    pub(crate) fn progress(&mut self, id: &WorkflowId) -> Option<&mut Progress> {
        self.runs
            .get_mut(id)
            .filter(|run| run.stored.meta.state == WorkflowState::Running)
            .map(|run| &mut run.progress)
    }

    /// The running workflows, for their tasks to start at a wake.
    pub(crate) fn running(&self) -> Vec<(WorkflowId, usize)> {
        self.runs
            .iter()
            .filter(|(_, run)| run.stored.meta.state == WorkflowState::Running)
            .map(|(id, run)| (id.clone(), run.index))
            .collect()
    }

    /// When the running workflows need the actor awake.
    pub(crate) fn wanted_alarm(&self) -> Option<u64> {
        self.runs
            .values()
            .filter(|run| run.stored.meta.state == WorkflowState::Running)
            .filter_map(|run| run.progress.due())
            .min()
    }

    /// Takes in the workflow records of `ops`, a batch about to be handed to the driver.
    pub(super) fn apply<A: Actor>(&mut self, ops: &[SaveOp], effects: &mut Vec<Effect>) {
        for op in ops {
            let SaveOp::Put { key, value } = op else {
                continue;
            };
            let Some(id) = record::workflow_id(key) else {
                continue;
            };
            let Some(stored) = StoredWorkflow::decode(value) else {
                continue;
            };
            let id = WorkflowId::from(id);
            let state = stored.meta.state;
            match self.runs.get_mut(&id) {
                Some(run) => {
                    let was = run.stored.meta.state;
                    if state == WorkflowState::Running && was != WorkflowState::Running {
                        run.progress = Progress {
                            active_since: stored.meta.updated_ms,
                            ..Progress::default()
                        };
                        effects.push(Effect::Run(id, run.index));
                    } else if state.is_finished() && was == WorkflowState::Running {
                        run.progress = Progress::default();
                        effects.push(Effect::Finished {
                            id,
                            waiters: run.waiters.drain(..).map(|(w, _)| w).collect(),
                            stored: stored.clone(),
                        });
                    }
                    run.stored = stored;
                }
                None => {
                    let Some(index) = A::WORKFLOWS.iter().position(|w| w.name == stored.meta.name)
                    else {
                        continue;
                    };
                    self.insert(id.clone(), index, stored);
                    if state == WorkflowState::Running {
                        effects.push(Effect::Run(id, index));
                    }
                }
            }
        }
    }

    /// Has `reply` wait for running workflow `id`'s result, up to `deadline`.
    pub(crate) fn wait_for(
        &mut self,
        id: &WorkflowId,
        reply: oneshot::Sender<Reply>,
        deadline: Instant,
    ) {
        if let Some(run) = self.runs.get_mut(id) {
            run.waiters.push((reply, deadline));
        }
    }

    /// Answers `workflow/timed_out` to the waiters whose wait ended by `now`.
    pub(crate) fn expire(&mut self, now: Instant) {
        for (id, run) in &mut self.runs {
            let (gone, kept): (Vec<_>, Vec<_>) =
                run.waiters.drain(..).partition(|(_, at)| *at <= now);
            run.waiters = kept;
            for (reply, _) in gone {
                let _ = reply.send(Err(ActorError::workflow_timed_out(
                    &run.stored.meta.name,
                    id,
                )));
            }
        }
    }

    /// When the next waiter's wait ends.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.runs
            .values()
            .flat_map(|run| run.waiters.iter().map(|(_, at)| *at))
            .min()
    }

    /// Whether anyone waits for a workflow's result (that keeps the actor awake).
    pub(crate) fn has_waiters(&self) -> bool {
        self.runs.values().any(|run| !run.waiters.is_empty())
    }

    /// Answers every waiter with `err`: the instance stops.
    pub(crate) fn fail_waiters(&mut self, err: &ActorError) {
        for run in self.runs.values_mut() {
            for (reply, _) in run.waiters.drain(..) {
                let _ = reply.send(Err(err.clone()));
            }
        }
    }

    /// Workflow `id`'s status as the index has it.
    pub(crate) fn status(&self, id: &WorkflowId) -> Option<WorkflowStatus> {
        let run = self.runs.get(id)?;
        let meta = &run.stored.meta;
        Some(WorkflowStatus {
            id: id.clone(),
            name: meta.name.clone(),
            state: meta.state,
            created: crate::clock::system_time(meta.created_ms),
            updated: crate::clock::system_time(meta.updated_ms),
            finished: meta.finished_ms.map(crate::clock::system_time),
            error: meta.error.clone(),
            waiting: run
                .progress
                .waits
                .iter()
                .map(|(_, w, _)| w.clone())
                .collect(),
            in_flight: run
                .progress
                .in_flight
                .iter()
                .map(|(_, f)| f.clone())
                .collect(),
        })
    }

    /// Every workflow's status, by id.
    pub(crate) fn list(&self) -> Vec<WorkflowStatus> {
        self.runs.keys().filter_map(|id| self.status(id)).collect()
    }
}

/// What a finished workflow's waiters get.
fn result_of(stored: &StoredWorkflow) -> Reply {
    match stored.meta.state {
        WorkflowState::Completed => Ok(Payload::Encoded(Encoding::Json, stored.output.clone())),
        WorkflowState::Cancelled => Err(ActorError::workflow_cancelled(&stored.meta.name)),
        _ => Err(stored.meta.error.clone().unwrap_or_else(|| {
            ActorError::internal("workflow", "it failed without a recorded error")
        })),
    }
}

impl Index {
    /// The finished workflows beyond the `keep` most recent once one more finishes: their
    /// records and histories are deleted in the batch that finishes it.
    pub(crate) fn evict(&self, keep: usize) -> Vec<SaveOp> {
        let mut finished: Vec<(u64, &WorkflowId)> = self
            .runs
            .iter()
            .filter(|(_, run)| run.stored.meta.state.is_finished())
            .map(|(id, run)| (run.stored.meta.finished_ms.unwrap_or(0), id))
            .collect();
        // One more is about to finish.
        let over = (finished.len() + 1).saturating_sub(keep);
        finished.sort();
        finished
            .into_iter()
            .take(over)
            .flat_map(|(_, id)| {
                [
                    SaveOp::Delete {
                        key: workflow_key(id.as_str()),
                    },
                    SaveOp::DeletePrefix {
                        prefix: record::history_prefix(id.as_str()),
                    },
                ]
            })
            .collect()
    }

    /// Takes in the deletes of `ops`: workflows evicted by a batch handed to the driver.
    fn forget(&mut self, ops: &[SaveOp]) {
        for op in ops {
            if let SaveOp::Delete { key } = op
                && let Some(id) = record::workflow_id(key)
            {
                self.runs.remove(&WorkflowId::from(id));
            }
        }
    }
}

/// A new workflow's record: `name`, running, with `input`.
pub(crate) fn new_record(
    name: &str,
    input: Payload,
    now_ms: u64,
) -> Result<StoredWorkflow, ActorError> {
    let (encoding, input) = input.into_encoded(Encoding::Json)?;
    let input_len = u32::try_from(input.len())
        .map_err(|_| ActorError::workflow_invalid("a workflow's input is under 4 GiB"))?;
    Ok(StoredWorkflow {
        meta: WorkflowMeta {
            name: name.to_string(),
            state: WorkflowState::Running,
            created_ms: now_ms,
            updated_ms: now_ms,
            finished_ms: None,
            error: None,
            retried: 0,
            input_encoding: encoding,
            input_len,
        },
        input,
        output: Vec::new(),
    })
}

/// A generated workflow id: random, so it is never given twice, also across restarts.
pub(crate) fn generated_id() -> WorkflowId {
    WorkflowId::from(uuid::Uuid::new_v4().simple().to_string())
}

/// The put of workflow `id`'s record.
pub(crate) fn put(id: &WorkflowId, stored: &StoredWorkflow) -> SaveOp {
    SaveOp::Put {
        key: workflow_key(id.as_str()).into(),
        value: stored.encode(),
    }
}

impl<A: Actor> Live<A> {
    /// Takes the workflow records of `ops`, a batch about to be handed to the driver, into
    /// the index; what they do once the batch is submitted goes to `effects`.
    pub(super) fn take_workflow_records(&self, ops: &[SaveOp], effects: &mut Vec<Effect>) {
        if A::WORKFLOWS.is_empty() {
            return;
        }
        let touches = ops.iter().any(|op| match op {
            SaveOp::Put { key, .. } => key.starts_with(keys::WORKFLOWS),
            SaveOp::Delete { key } => key.starts_with(keys::WORKFLOWS),
            _ => false,
        });
        if touches {
            self.ctx.with_workflows(|index| {
                index.forget(ops);
                index.apply::<A>(ops, effects);
            });
        }
    }

    /// Acts on what a submitted batch's workflow records do: starts the tasks of
    /// workflows that run, ends a cancelled one's, and has a finished one's waiters
    /// answered once the batch is durable.
    pub(super) fn workflow_effects(&self, core: &mut Core<A>, effects: Vec<Effect>) {
        let needs = core.gate.submitted();
        for effect in effects {
            match effect {
                Effect::Run(id, index) => self.spawn_workflow(core, id, index),
                Effect::Finished {
                    id,
                    waiters,
                    stored,
                } => {
                    let looping = core.queues().looping();
                    if let Some((task, owner)) = looping.flows.remove(&id)
                        && stored.meta.state == WorkflowState::Cancelled
                    {
                        task.abort();
                        core.queues().give_back(owner);
                    }
                    for waiter in waiters {
                        core.gate.reply(needs, waiter, result_of(&stored));
                    }
                }
            }
        }
    }

    /// Starts the task of running workflow `id` (number `index` of the kind), unless the
    /// actor is stopping (it resumes on the next wake).
    fn spawn_workflow(&self, core: &mut Core<A>, id: WorkflowId, index: usize) {
        let looping = core.queues().looping();
        if looping.cancel.is_set() {
            return;
        }
        let owner = looping.owner();
        let run = super::workflow_run::Run {
            live: looping.live.clone(),
            ctx: self.ctx.clone(),
            id: id.clone(),
            index,
            owner,
            cancel: looping.cancel.clone(),
            arrived: looping.arrived.clone(),
        };
        let task = self.runtime.spawn(super::workflow_run::run::<A>(run));
        if let Some((old, _)) = looping.flows.insert(id, (task, owner)) {
            old.abort();
        }
    }
}

/// Starts the tasks of the running workflows once the instance opens, and the main
/// workflow (under its own name) if the actor has never run it.
pub(super) fn resume<A: Actor>(live: &Arc<Live<A>>) {
    if A::WORKFLOWS.is_empty() {
        return;
    }
    let mut core = live.lock();
    for (id, index) in live.ctx.with_workflows(|index| index.running()) {
        live.spawn_workflow(&mut core, id, index);
    }
    let Some(main) = A::WORKFLOWS.iter().find(|w| w.main) else {
        return;
    };
    let id = WorkflowId::from(main.name);
    if live.ctx.with_workflows(|index| index.get(&id).is_some()) {
        return;
    }
    let now_ms = live.host().clock().now_ms();
    let started = new_record(main.name, Payload::local(()), now_ms)
        .and_then(|stored| live.save(&mut core, vec![put(&id, &stored)]));
    if let Err(err) = started {
        tracing::error!(workflow = main.name, error = %err, "the main workflow could not be started");
        core.phase.fail(err);
    }
}

impl<A: Actor> Instance<A> {
    /// Answers a call to the actor's workflows (only `History` reads storage, off the
    /// loop).
    pub(super) fn workflow_op(
        &mut self,
        op: WorkflowOp,
        args: Payload,
        reply: oneshot::Sender<Reply>,
    ) {
        let live = self.live.clone();
        let now_ms = live.host().clock().now_ms();
        let mut core = live.lock();
        let answer = match op {
            WorkflowOp::Start { name, id } => {
                self.start_workflow(&live, &mut core, &name, id, args, now_ms)
            }
            WorkflowOp::Status(id) => live
                .ctx
                .with_workflows(|index| index.status(&id))
                .ok_or_else(|| not_found::<A>(&id))
                .map(Payload::local),
            WorkflowOp::List => Ok(Payload::local(
                live.ctx.with_workflows(|index| index.list()),
            )),
            WorkflowOp::History(id) => {
                if live.ctx.with_workflows(|index| index.get(&id).is_none()) {
                    Err(not_found::<A>(&id))
                } else {
                    drop(core);
                    self.start_job(super::handlers::Job::History(id), reply);
                    return;
                }
            }
            WorkflowOp::Wait { id, timeout } => {
                let done = live.ctx.with_workflows(|index| {
                    let run = index.get(&id)?;
                    Some(
                        run.stored
                            .meta
                            .state
                            .is_finished()
                            .then(|| result_of(&run.stored)),
                    )
                });
                match done {
                    None => Err(not_found::<A>(&id)),
                    Some(Some(result)) => result,
                    Some(None) => {
                        live.ctx.with_workflows(|index| {
                            index.wait_for(&id, reply, Instant::now() + timeout);
                        });
                        return;
                    }
                }
            }
            WorkflowOp::Cancel(id) => change(&live, &mut core, &id, now_ms, |stored| {
                if stored.meta.state.is_finished() {
                    return Err(ActorError::workflow_invalid_status(
                        &id,
                        stored.meta.state,
                        "cancel a running one",
                    ));
                }
                stored.meta.state = WorkflowState::Cancelled;
                stored.meta.finished_ms = Some(now_ms);
                Ok(())
            }),
            WorkflowOp::Retry(id) => change(&live, &mut core, &id, now_ms, |stored| {
                if stored.meta.state != WorkflowState::Failed {
                    return Err(ActorError::workflow_invalid_status(
                        &id,
                        stored.meta.state,
                        "retry a failed one",
                    ));
                }
                stored.meta.state = WorkflowState::Running;
                stored.meta.finished_ms = None;
                stored.meta.error = None;
                stored.meta.retried += 1;
                Ok(())
            }),
        };
        let needs = live.needs(&core);
        core.gate.reply(needs, reply, answer);
    }

    /// Starts workflow `name` under `id` (or a generated id) with `input`, once: a start
    /// under an id the actor keeps returns that id.
    fn start_workflow(
        &mut self,
        live: &Live<A>,
        core: &mut Core<A>,
        name: &str,
        id: Option<WorkflowId>,
        input: Payload,
        now_ms: u64,
    ) -> Result<Payload, ActorError> {
        let id = start_id::<A>(name, id, |id| {
            live.ctx
                .with_workflows(|index| index.get(id).map(|r| r.stored.meta.name.clone()))
        })?;
        if let Some(id) = id.existing {
            return Ok(Payload::local(id));
        }
        let stored = new_record(name, input, now_ms)?;
        live.save(core, vec![put(&id.id, &stored)])?;
        Ok(Payload::local(id.id))
    }
}

/// The id a start uses, and whether a workflow runs under it already.
pub(crate) struct StartId {
    pub(crate) id: WorkflowId,
    pub(crate) existing: Option<WorkflowId>,
}

/// Checks a start of workflow `name` under `id` (generated if `None`): the workflow
/// exists, the id is well formed, and an existing workflow under it (named by `named`)
/// is the same workflow.
pub(crate) fn start_id<A: Actor>(
    name: &str,
    id: Option<WorkflowId>,
    named: impl FnOnce(&WorkflowId) -> Option<String>,
) -> Result<StartId, ActorError> {
    if !A::WORKFLOWS.iter().any(|w| w.name == name) {
        let names: Vec<&str> = A::WORKFLOWS.iter().map(|w| w.name).collect();
        return Err(ActorError::workflow_not_found(A::NAME, name, &names));
    }
    let id = match id {
        Some(id) => {
            record::check_id(id.as_str())?;
            id
        }
        None => generated_id(),
    };
    match named(&id) {
        None => Ok(StartId { id, existing: None }),
        Some(existing) if existing == name => Ok(StartId {
            existing: Some(id.clone()),
            id,
        }),
        Some(existing) => Err(ActorError::workflow_invalid(format_args!(
            "workflow id `{id}` is taken by a workflow `{existing}`; start `{name}` under another id"
        ))),
    }
}

/// Rewrites running or failed workflow `id`'s record with `edit` and saves it.
fn change<A: Actor>(
    live: &Live<A>,
    core: &mut Core<A>,
    id: &WorkflowId,
    now_ms: u64,
    edit: impl FnOnce(&mut StoredWorkflow) -> Result<(), ActorError>,
) -> Result<Payload, ActorError> {
    let mut stored = live
        .ctx
        .with_workflows(|index| index.get(id).map(|run| run.stored.clone()))
        .ok_or_else(|| not_found::<A>(id))?;
    edit(&mut stored)?;
    stored.meta.updated_ms = now_ms;
    live.save(core, vec![put(id, &stored)])?;
    Ok(Payload::local(()))
}

/// `workflow/not_found` for id `id`.
fn not_found<A: Actor>(id: &WorkflowId) -> ActorError {
    ActorError::workflow_id_not_found(A::NAME, id)
}

/// The history entries of `records` (a scan of one workflow's history), with their
/// names and locations as people read them.
pub(super) fn history(records: Vec<Record>) -> Vec<HistoryEntry> {
    records
        .into_iter()
        .filter_map(|(_, value)| StoredEntry::decode(&value))
        .map(|entry| {
            let meta = entry.meta;
            HistoryEntry {
                location: record::display(&meta.loc),
                name: match meta.loc.last() {
                    Some(record::Seg::Name(name)) => name.clone(),
                    _ => String::new(),
                },
                kind: meta.kind,
                status: meta.status,
                attempts: meta.attempts,
                error: meta.error,
                started: crate::clock::system_time(meta.started_ms),
                finished: meta.finished_ms.map(crate::clock::system_time),
                deadline: meta.deadline_ms.map(crate::clock::system_time),
            }
        })
        .collect()
}
