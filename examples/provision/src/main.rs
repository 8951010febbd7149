//! A durable workflow, modelled on provisioning a sandbox for a task. A queue message
//! starts it; its steps' results are recorded, so a step that succeeded never runs again.
//! `createSandbox` calls a flaky provider that fails twice and is retried with backoff;
//! the first attempt of `startAgent` hangs past its timeout and is retried; a durable
//! sleep lets the agent warm up; `openSession`, then `markReady` writes the result into
//! the state. Meanwhile `main` reads the progress from outside, as any caller could: the
//! state, what it waits for, the step in flight and since when, the last error.
//!
//! State and histories live in SQLite under `./data-provision` (or the directory given as
//! the first argument). Each run provisions a new task; stop one in the middle (Ctrl-C)
//! and the next run watches that workflow resume at the step it was in.
//!
//! ```text
//! cargo run -p provision-example
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use actor::prelude::*;
use actor::workflow::{HistoryEntry, Waiting, WorkflowStatus};

/// The queue message: a task that needs a sandbox.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Task {
    pub id: u64,
    pub repo: String,
}

/// What provisioning produces.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sandbox {
    pub id: String,
    pub agent: String,
    pub session: String,
}

/// One per team: how many tasks it received, and each one's status as its workflow
/// writes it.
#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Tasks {
    received: u64,
    status: BTreeMap<u64, String>,
}

#[actor]
impl Tasks {
    /// Queue `taskReceived`: the start is staged in the handler's turn, so it commits
    /// with the message's removal; a start under an id that exists starts nothing.
    #[queue]
    async fn task_received(
        &mut self,
        ctx: &Ctx<Self>,
        task: Task,
    ) -> Result<WorkflowId, ActorError> {
        self.received += 1;
        self.status.insert(task.id, "received".into());
        ctx.workflow_with_id(format!("task-{}", task.id))
            .provision(task)
    }

    #[action]
    async fn received(&self) -> u64 {
        self.received
    }

    #[action]
    async fn statuses(&self) -> BTreeMap<u64, String> {
        self.status.clone()
    }

    #[workflow]
    async fn provision(wf: Workflow<Self>, task: Task) -> Result<Sandbox, ActorError> {
        let id = task.id;
        // The flakiness is simulated from the attempt number, so every run is the same.
        // A real provider call must be idempotent, since an attempt may follow one whose
        // effect happened: here the sandbox's name is derived from the task, as a key.
        let name = format!("sbx-{}-{id}", task.repo);
        let sandbox = wf
            .step("createSandbox", move |step| {
                let name = name.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if step.attempt() <= 2 {
                        let msg = format!("503 from the provider (attempt {})", step.attempt());
                        return Err(ActorError::user("provider_unavailable", msg));
                    }
                    Ok(name)
                }
            })
            .retries(4)
            .backoff(Duration::from_millis(200), Duration::from_secs(2))
            // Committed with the step's result: exactly once.
            .apply(move |state, _, sandbox| {
                state
                    .status
                    .insert(id, format!("sandbox {sandbox} created"));
            })
            .await?;

        // The first attempt hangs (a lost request) and times out; the retry answers. A
        // real agent start would check first whether an agent is already up.
        let on = sandbox.clone();
        let agent = wf
            .step("startAgent", move |step| {
                let on = on.clone();
                async move {
                    let ms = if step.attempt() == 1 { 60_000 } else { 300 };
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    Ok::<_, ActorError>(format!("agent-1@{on}"))
                }
            })
            .timeout(Duration::from_secs(1))
            .backoff(Duration::from_millis(300), Duration::from_secs(2))
            .await?;

        // Durable: the actor may sleep meanwhile; after a restart only the rest is slept.
        wf.sleep("warmUp", Duration::from_millis(1500)).await?;

        let session = format!("sess-{sandbox}");
        let session = wf
            .step("openSession", move |_| {
                let session = session.clone();
                async move { Ok::<_, ActorError>(session) }
            })
            .await?;

        let ready = format!("ready, session {session}");
        wf.turn("markReady", move |state: &mut Tasks, _| {
            state.status.insert(id, ready);
        })
        .await?;
        Ok(Sandbox {
            id: sandbox,
            agent,
            session,
        })
    }
}

/// One line of progress, as read from outside: times are from the workflow's start.
fn progress(status: &WorkflowStatus, history: &[HistoryEntry]) -> String {
    let at = |t: SystemTime| {
        let d = t.duration_since(status.created).unwrap_or_default();
        format!("+{:.1}s", d.as_secs_f64())
    };
    let mut line = format!("{:?}", status.state).to_lowercase();
    for step in &status.in_flight {
        line += &format!(
            "; {} attempt {} since {}",
            step.location,
            step.attempt,
            at(step.started)
        );
        if let Some(deadline) = step.deadline {
            line += &format!(" (times out at {})", at(deadline));
        }
    }
    for wait in &status.waiting {
        line += &match wait {
            Waiting::Sleep { location, until } => format!("; {location} until {}", at(*until)),
            Waiting::Retry { location, at: next } => {
                format!("; {location} retries at {}", at(*next))
            }
            other => format!("; {other:?}"),
        };
    }
    if status.in_flight.is_empty() && status.waiting.is_empty() {
        line += "; between steps";
    }
    let failed = history
        .iter()
        .rev()
        .find_map(|e| Some((e, e.error.as_ref()?)));
    if let Some((entry, err)) = failed {
        line += &format!(" | last error in {}: {err}", entry.location);
    }
    line
}

#[tokio::main]
async fn main() -> Result<(), ActorError> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "data-provision".into());
    let registry = registry::Registry::builder().sqlite(&dir).build().await?;
    let tasks = Tasks::get_or_create(&registry.client(), ["team-a"]).await?;

    // A workflow still running was cut short by a stop: it resumed when the registry
    // started, so watch it. Otherwise send the next task.
    let workflows = tasks.workflows().await?;
    let run = match workflows.into_iter().find(|w| !w.state.is_finished()) {
        Some(w) => {
            println!("{} was stopped in the middle: it resumes", w.id);
            tasks.workflow::<Sandbox>(w.id)
        }
        None => {
            let id = tasks.received().await? + 1;
            let repo = "app".into();
            // Waits for the handler's result: the id of the workflow it started.
            let started = tasks
                .task_received(Task { id, repo })
                .wait(Duration::from_secs(10))
                .await?;
            println!("task {id} sent; its handler started workflow {started}");
            tasks.workflow::<Sandbox>(started)
        }
    };

    let mut last = String::new();
    loop {
        let status = run.status().await?;
        if status.state.is_finished() {
            break;
        }
        let line = progress(&status, &run.history().await?);
        if line != last {
            let now = SystemTime::now().duration_since(status.created);
            println!("[+{:.1}s] {line}", now.unwrap_or_default().as_secs_f64());
            last = line;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    match run.wait(Duration::from_secs(60)).await {
        Ok(sandbox) => println!("provisioned: {sandbox:?}"),
        Err(err) => println!("failed: {err}"),
    }
    println!(
        "{:<14} {:<10} {:>8}  last error",
        "location", "status", "attempts"
    );
    for e in run.history().await? {
        let status = format!("{:?}", e.status).to_lowercase();
        let error = e.error.map_or("-".into(), |err| err.to_string());
        println!("{:<14} {status:<10} {:>8}  {error}", e.location, e.attempts);
    }
    println!("task statuses: {:?}", tasks.statuses().await?);
    registry.shutdown().await;
    Ok(())
}
