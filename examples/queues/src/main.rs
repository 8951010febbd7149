//! A parent and its child pollers, the pattern of the field reports: each child polls an
//! outside system on a cadence (the timeout of its run loop) and reports what it saw to
//! its parent through the parent's queue; the parent writes all the state that matters,
//! one report at a time, in order. State lives in SQLite under `./data-queues` (or the
//! directory given as the first argument): run it twice and the counts go on.
//!
//! ```text
//! cargo run -p queues-example
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use actor::prelude::*;

/// What a child saw on one poll.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub repo: String,
    pub commits: u64,
}

/// The parent: one per project. Everything it knows arrives through its queues.
#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Project {
    /// Each watched repository's latest commit count.
    repos: BTreeMap<String, u64>,
    reports: u64,
}

#[actor]
impl Project {
    /// Starts watching `repo`: its poller is a child actor keyed by project and repo.
    #[action]
    async fn watch(&mut self, ctx: &Ctx<Self>, repo: String) -> Result<(), ActorError> {
        self.repos.entry(repo.clone()).or_default();
        let key = [ctx.key().parts()[0].clone(), repo.clone()];
        let poller = RepoPoller::get_or_create(ctx.client(), key).await?;
        poller
            .command(Command::Watch {
                repo,
                project: ctx.key().parts()[0].clone(),
            })
            .await?;
        Ok(())
    }

    /// A child's report (queue `pollResult`): applied once, in the order they came.
    #[queue(name = "pollResult", max_attempts = 3)]
    async fn poll_result(&mut self, report: Report) {
        self.reports += 1;
        self.repos.insert(report.repo, report.commits);
    }

    #[action]
    async fn status(&self) -> (BTreeMap<String, u64>, u64) {
        (self.repos.clone(), self.reports)
    }
}

/// What a poller is told.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Command {
    Watch { project: String, repo: String },
    Stop,
}

/// A child: polls one repository while it is told to.
#[actor(sleep_timeout = "10s")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct RepoPoller {
    watching: Option<(String, String)>,
    polls: u64,
}

#[actor]
impl RepoPoller {
    /// Taken by the loop below.
    #[queue]
    fn command(command: Command);

    #[action]
    async fn polls(&self) -> u64 {
        self.polls
    }

    /// Polls every 300 ms while watching; a command comes in between.
    #[run]
    async fn run(lp: Loop<Self>) -> Result<(), ActorError> {
        loop {
            match lp.next(&["command"], Duration::from_millis(300)).await? {
                Some(message) => {
                    let command: Command = message.decode()?;
                    lp.complete(message, move |state, _| {
                        state.watching = match command {
                            Command::Watch { project, repo } => Some((project, repo)),
                            Command::Stop => None,
                        };
                    })
                    .await?;
                }
                None => {
                    let watching = lp.turn(|state, _| state.watching.clone()).await?;
                    let Some((project, repo)) = watching else {
                        continue;
                    };
                    // The outside system, outside any turn: here, a count that grows.
                    let commits = outside_commit_count(&repo);
                    let parent = Project::get(lp.ctx().client(), project).await?;
                    parent.poll_result(Report { repo, commits }).await?;
                    lp.turn(|state, _| state.polls += 1).await?;
                }
            }
        }
    }
}

/// Stands in for a request to a code host: a commit count that grows with time.
fn outside_commit_count(repo: &str) -> u64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    secs / 2 + repo.len() as u64
}

#[tokio::main]
async fn main() -> Result<(), ActorError> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "data-queues".into());
    let registry = registry::Registry::builder().sqlite(&dir).build().await?;
    let client = registry.client();

    let project = Project::get_or_create(&client, ["demo"]).await?;
    for repo in ["actor", "registry"] {
        project.watch(repo.into()).await?;
    }
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (repos, reports) = project.status().await?;
        println!("project demo: {reports} reports so far, latest commit counts {repos:?}");
    }
    let poller = RepoPoller::get(&client, ["demo", "actor"]).await?;
    println!(
        "the `actor` poller has polled {} times",
        poller.polls().await?
    );
    registry.shutdown().await;
    Ok(())
}
