//! The single writer: every batch queued while the last transaction ran goes into the
//! next one (group commit), and no reply is sent for a batch that is not durable.
//!
//! How it stays correct when a transaction fails (the whole story is in
//! `docs/internals.md`):
//!
//! - it begins and ends transactions itself with `BEGIN IMMEDIATE` / `COMMIT` /
//!   `ROLLBACK`, so no bookkeeping outside SQLite can drift from SQLite's own state;
//! - after a failure it rolls back; if that does not prove the connection is outside any
//!   transaction, or a `BEGIN` fails, or it panics, it drops the connection and opens a
//!   new one before the next transaction;
//! - a failed batch fences the later batches of its actor and epoch ([`Fences`]).

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use super::backend;
use super::transaction::{self, Failure};
use crate::driver::{Fences, SaveBatch, StorageError};
use crate::error::panic_message;

/// Batches taken into one transaction at most.
const MAX_JOBS: usize = 8192;

/// One batch waiting for the writer, with where to say it is durable.
pub(super) struct Job {
    pub(super) batch: SaveBatch,
    pub(super) ack: oneshot::Sender<Result<(), StorageError>>,
}

/// What the driver sends the writer.
pub(super) enum Request {
    Commit(Job),
    Inject(WriterFault),
}

/// A failure the SQLite writer stages in its next transaction, for the fault-injection
/// tests (`actor/tests/faults.rs`). Not for production use.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriterFault {
    /// The writer panics after writing the transaction's rows, before `COMMIT`.
    Panic,
    /// The writer's connection closes after the transaction's rows, before `COMMIT`.
    CloseConnection,
    /// SQLite interrupts the transaction's first write part-way, which rolls back the
    /// whole transaction by itself: the case that desynchronized sqlx's transaction depth.
    Interrupt,
    /// SQLite turns the `COMMIT` into a rollback (a commit hook vetoes it).
    FailCommit,
}

/// How the writer opens (and reopens) its connection.
#[derive(Clone)]
pub(super) struct Opener {
    /// Never creates the file: a database deleted under a running process must fail
    /// loudly, not come back empty.
    pub(super) options: SqliteConnectOptions,
    /// `PRAGMA max_page_count` is set from this many bytes on every connection.
    pub(super) max_size: Option<u64>,
    /// The connection's busy timeout, for the message when it runs out.
    pub(super) busy_timeout: std::time::Duration,
}

/// SQLite's primary result codes the writer tells apart.
mod code {
    pub(super) const BUSY: i32 = 5;
    pub(super) const LOCKED: i32 = 6;
    pub(super) const READONLY: i32 = 8;
    pub(super) const IOERR: i32 = 10;
    pub(super) const FULL: i32 = 13;
}

/// The primary SQLite result code of a database error.
fn primary_code(err: &sqlx::Error) -> Option<i32> {
    let code = err.as_database_error()?.code()?;
    code.parse::<i32>().ok().map(|extended| extended & 0xff)
}

impl Opener {
    /// A SQLite error as the message callers get: what happened to which file, and what
    /// to do about it.
    pub(super) fn explain(&self, err: sqlx::Error) -> StorageError {
        let path = self.options.get_filename();
        let file = path.display();
        backend(match primary_code(&err) {
            Some(code::BUSY | code::LOCKED) => format!(
                "{file} is locked by another process or connection, still after the busy timeout                  of {:?} (SqliteOptions::busy_timeout); the write was not made: {err}",
                self.busy_timeout
            ),
            Some(code::FULL) => {
                let held: u64 = [path.to_path_buf(), path.with_extension("sqlite3-wal")]
                    .iter()
                    .filter_map(|p| std::fs::metadata(p).ok())
                    .map(|m| m.len())
                    .sum();
                match self.max_size {
                    Some(max) => format!(
                        "{file} is full: the database and its WAL hold {held} bytes and it may                          grow to {max} (SqliteOptions::max_size), or the disk holding it is full;                          free disk space, destroy actors or raise max_size: {err}"
                    ),
                    None => format!(
                        "the disk holding {file} is full (the database and its WAL hold {held}                          bytes); free space on it: {err}"
                    ),
                }
            }
            Some(code::IOERR) => format!("I/O error on {file}: {err}"),
            Some(code::READONLY) => format!(
                "{file} cannot be written (read-only, or moved or deleted while open): {err}"
            ),
            _ => format!("{file}: {err}"),
        })
    }

    pub(super) async fn open(&self) -> Result<SqliteConnection, StorageError> {
        let mut conn = self.options.connect().await.map_err(|e| {
            backend(format!(
                "cannot open {}: {e}",
                self.options.get_filename().display()
            ))
        })?;
        if let Some(bytes) = self.max_size {
            let page: i64 = sqlx::query_scalar("PRAGMA page_size")
                .fetch_one(&mut conn)
                .await
                .map_err(backend)?;
            let pages = (bytes / page.max(1) as u64).max(1);
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "PRAGMA max_page_count = {pages}"
            )))
            .execute(&mut conn)
            .await
            .map_err(backend)?;
        }
        Ok(conn)
    }
}

/// The writer's own state, owned by its task.
pub(super) struct Writer {
    opener: Opener,
    /// `None` after a failure left the connection's state unknown.
    conn: Option<SqliteConnection>,
    fences: Fences,
    fault: Option<WriterFault>,
}

impl Writer {
    pub(super) fn new(opener: Opener, conn: SqliteConnection) -> Self {
        Self {
            opener,
            conn: Some(conn),
            fences: Fences::default(),
            fault: None,
        }
    }

    /// Runs until every driver handle is dropped and the queue is drained.
    pub(super) async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Request>) {
        let mut requests = Vec::with_capacity(64);
        while rx.recv_many(&mut requests, MAX_JOBS).await > 0 {
            let mut jobs = Vec::with_capacity(requests.len());
            for request in requests.drain(..) {
                match request {
                    Request::Commit(job) => jobs.push(job),
                    Request::Inject(fault) => self.fault = Some(fault),
                }
            }
            self.commit_group(jobs).await;
        }
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }

    /// Commits `jobs` in one transaction and answers every one of them.
    async fn commit_group(&mut self, jobs: Vec<Job>) {
        let mut jobs = self.admit(jobs);
        while !jobs.is_empty() {
            let batches: Vec<&SaveBatch> = jobs.iter().map(|j| &j.batch).collect();
            let attempt = AssertUnwindSafe(self.attempt(&batches))
                .catch_unwind()
                .await;
            drop(batches);
            match attempt.unwrap_or_else(|panic| Err(self.panicked(panic))) {
                Ok(()) => {
                    for job in jobs {
                        let _ = job.ack.send(Ok(()));
                    }
                    return;
                }
                // Only that batch was at fault: the others go again without it.
                Err(Failure::Refused { index, err }) => {
                    let job = jobs.remove(index);
                    self.fail(job, err);
                    jobs = self.admit(jobs);
                }
                // Which batch made it fail is unknown: each tries alone, so one bad batch
                // cannot fail the others.
                Err(Failure::Failed(err)) if jobs.len() > 1 => {
                    tracing::warn!(batches = jobs.len(), error = %err, "group commit failed; committing its batches one by one");
                    return self.one_by_one(jobs).await;
                }
                Err(Failure::Failed(err) | Failure::Unavailable(err)) => {
                    return self.fail_all(jobs, err);
                }
            }
        }
    }

    async fn one_by_one(&mut self, jobs: Vec<Job>) {
        let mut jobs = jobs.into_iter();
        while let Some(job) = jobs.next() {
            if let Err(err) = self.fences.admit(&job.batch) {
                let _ = job.ack.send(Err(err));
                continue;
            }
            let attempt = AssertUnwindSafe(self.attempt(&[&job.batch]))
                .catch_unwind()
                .await;
            match attempt.unwrap_or_else(|panic| Err(self.panicked(panic))) {
                Ok(()) => {
                    let _ = job.ack.send(Ok(()));
                }
                Err(Failure::Refused { err, .. } | Failure::Failed(err)) => self.fail(job, err),
                // The store itself is out of reach: the rest would wait for it in turn.
                Err(Failure::Unavailable(err)) => {
                    self.fail(job, err.clone());
                    return self.fail_all(jobs.collect(), err);
                }
            }
        }
    }

    /// Answers the fenced jobs and returns the others.
    fn admit(&mut self, jobs: Vec<Job>) -> Vec<Job> {
        let mut admitted = Vec::with_capacity(jobs.len());
        for job in jobs {
            match self.fences.admit(&job.batch) {
                Ok(()) => admitted.push(job),
                Err(err) => {
                    let _ = job.ack.send(Err(err));
                }
            }
        }
        admitted
    }

    fn fail(&mut self, job: Job, err: StorageError) {
        tracing::debug!(actor = %job.batch.actor, error = %err, "commit failed");
        self.fences.record(&job.batch, &err);
        let _ = job.ack.send(Err(err));
    }

    fn fail_all(&mut self, jobs: Vec<Job>, err: StorageError) {
        if !jobs.is_empty() {
            tracing::warn!(batches = jobs.len(), error = %err, "commit failed");
        }
        for job in jobs {
            self.fail(job, err.clone());
        }
    }

    /// A panic inside a transaction: the connection may be inside it, so it is dropped
    /// (SQLite rolls back what a closed connection left open).
    fn panicked(&mut self, panic: Box<dyn std::any::Any + Send>) -> Failure {
        let cause = panic_message(&*panic);
        tracing::error!(
            cause,
            "the SQLite writer panicked in a transaction; reopening its connection"
        );
        self.conn = None;
        Failure::Unavailable(backend(format!(
            "the SQLite writer panicked while committing ({cause}); nothing of the transaction was kept"
        )))
    }

    /// The writer's connection, opened again if a failure discarded it.
    async fn connection(&mut self) -> Result<&mut SqliteConnection, StorageError> {
        if self.conn.is_none() {
            let conn = self.opener.open().await?;
            tracing::info!("the SQLite writer opened a new connection");
            self.conn = Some(conn);
        }
        Ok(self.conn.as_mut().expect("opened above"))
    }

    /// Drops a connection whose state is not known; the next transaction opens another.
    fn discard(&mut self, why: &dyn std::fmt::Display) {
        if self.conn.take().is_some() {
            tracing::warn!(error = %why, "dropping the SQLite writer's connection");
        }
    }

    /// One transaction over `batches`. On failure nothing of it is in the database, and
    /// the connection is either outside any transaction or dropped.
    async fn attempt(&mut self, batches: &[&SaveBatch]) -> Result<(), Failure> {
        let fault = self.fault.take();
        let conn = self.connection().await.map_err(Failure::Unavailable)?;
        if let Err(err) = transaction::begin(conn).await {
            // Nothing of ours ran. Locked by someone else: the connection is fine, and
            // the next transaction waits for the lock again. Anything else (a closed
            // connection, or what must never be, one already inside a transaction):
            // what the connection holds is not known.
            if !matches!(primary_code(&err), Some(code::BUSY | code::LOCKED)) {
                self.discard(&err);
            }
            return Err(Failure::Unavailable(self.opener.explain(err)));
        }
        let result = self.write_and_commit(batches, fault).await;
        if result.is_err() {
            self.roll_back().await;
        }
        result
    }

    async fn write_and_commit(
        &mut self,
        batches: &[&SaveBatch],
        fault: Option<WriterFault>,
    ) -> Result<(), Failure> {
        let explain = |e| self.opener.explain(e);
        let failed = |e| Failure::Failed(explain(e));
        let conn = self.conn.as_mut().expect("a transaction is open");
        if fault == Some(WriterFault::Interrupt) {
            // A few steps into the statement, so it has begun to write.
            let mut steps = 0;
            conn.lock_handle()
                .await
                .map_err(failed)?
                .set_progress_handler(1, move || {
                    steps += 1;
                    steps < 5
                });
        }
        let written = transaction::write(conn, batches, explain).await;
        if fault == Some(WriterFault::Interrupt) {
            conn.lock_handle()
                .await
                .map_err(failed)?
                .remove_progress_handler();
        }
        written?;
        match fault {
            Some(WriterFault::Panic) => panic!("injected writer panic (WriterFault::Panic)"),
            Some(WriterFault::CloseConnection) => {
                let conn = self.conn.take().expect("a transaction is open");
                let _ = conn.close().await;
                return Err(failed(sqlx::Error::WorkerCrashed));
            }
            Some(WriterFault::FailCommit) => {
                conn.lock_handle()
                    .await
                    .map_err(failed)?
                    .set_commit_hook(|| false);
            }
            _ => {}
        }
        let committed = transaction::commit(conn).await.map_err(failed);
        if fault == Some(WriterFault::FailCommit) {
            conn.lock_handle()
                .await
                .map_err(failed)?
                .remove_commit_hook();
        }
        committed
    }

    async fn roll_back(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if let Err(err) = transaction::roll_back(conn).await {
            self.discard(&err);
        }
    }
}
