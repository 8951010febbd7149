//! One instance's database: migrated and reconciled with storage when the instance
//! starts, one transaction per exclusive turn that uses it, closed when it sleeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, Transaction};

use crate::driver::{SaveOp, keys};
use crate::error::{ActorError, codes};
use crate::key::{ActorId, ActorKey};

use super::migrate::{self, Who};
use super::pool::{Databases, Lease, unavailable};
use super::{Conn, DatabaseSpec, Db, journal};

/// The running exclusive turn's transaction, with the lease that keeps its database open.
pub(crate) struct TurnTx {
    pub(super) tx: Transaction<'static, Sqlite>,
    _lease: Lease,
}

/// The database of one instance.
pub(crate) struct InstanceDb {
    databases: Arc<Databases>,
    spec: &'static DatabaseSpec,
    kind: &'static str,
    id: ActorId,
    /// The last turn recorded in the journal (and, once its batch commits, in storage).
    seq: AtomicU64,
    /// The running exclusive turn's transaction, opened by its first `ctx.db()`.
    turn: tokio::sync::Mutex<Option<TurnTx>>,
}

impl InstanceDb {
    pub(crate) fn new(
        databases: Arc<Databases>,
        spec: &'static DatabaseSpec,
        kind: &'static str,
        id: ActorId,
    ) -> Self {
        Self {
            databases,
            spec,
            kind,
            id,
            seq: AtomicU64::new(0),
            turn: tokio::sync::Mutex::new(None),
        }
    }

    fn lease(&self) -> Result<Lease, ActorError> {
        match self.spec.shared {
            Some(name) => self.databases.lease_shared(name),
            None => self.databases.lease(self.kind, &self.id),
        }
    }

    /// A connection of its own, with the lease that keeps its database open.
    async fn connection(&self) -> Result<(PoolConnection<Sqlite>, Lease), ActorError> {
        let lease = self.lease()?;
        let conn = lease
            .pool
            .acquire()
            .await
            .map_err(|err| self.unavailable(&err))?;
        Ok((conn, lease))
    }

    fn unavailable(&self, err: &dyn std::fmt::Display) -> ActorError {
        let path = match self.spec.shared {
            Some(name) => self.databases.shared_path(name),
            None => self.databases.path(self.kind, &self.id),
        };
        unavailable(&path, err)
    }

    /// Readies the database for an instance starting with the turn number `stored_seq`
    /// from storage: runs the pending migrations, then reads the journal. Returns the state
    /// to start from when the database holds a later turn than storage (the process died
    /// between a turn's two commits).
    pub(crate) async fn prepare(
        &self,
        key: &ActorKey,
        stored_seq: u64,
    ) -> Result<Option<Vec<u8>>, ActorError> {
        let (mut conn, _lease) = self.connection().await?;
        let who = Who {
            kind: self.kind,
            key,
        };
        match self.spec.shared {
            // A shared file is migrated once per registry, by one instance at a time.
            Some(name) => {
                let migrate = migrate::run(&mut conn, self.spec, &who);
                self.databases
                    .migrate_shared(name, self.spec.namespace, migrate)
                    .await?;
            }
            None => migrate::run(&mut conn, self.spec, &who).await?,
        }
        let recorded = journal::read(&mut conn, &self.id)
            .await
            .map_err(|err| self.unavailable(&err))?;
        let ahead = match recorded {
            Some((seq, state)) if seq > stored_seq => {
                tracing::warn!(
                    actor = self.kind,
                    id = %self.id,
                    turn = seq,
                    stored = stored_seq,
                    "the database holds a turn storage does not (the process stopped between its two commits): starting from its state"
                );
                self.seq.store(seq, Ordering::Relaxed);
                Some(state)
            }
            _ => {
                self.seq.store(stored_seq, Ordering::Relaxed);
                None
            }
        };
        Ok(ahead)
    }

    /// The database for code of this instance: the exclusive turn's transaction when
    /// `in_turn`, else a connection of its own.
    pub(crate) async fn db(&self, in_turn: bool) -> Result<Db<'_>, ActorError> {
        if !in_turn {
            let (conn, lease) = self.connection().await?;
            return Ok(Db {
                conn: Conn::Own {
                    conn,
                    _lease: lease,
                },
            });
        }
        let Ok(mut turn) = self.turn.try_lock() else {
            return Err(ActorError::of(
                codes::DATABASE_IN_USE,
                format!(
                    "`ctx.db()` of actor `{}` was called while this turn still holds the \
                     database from an earlier call: use that one, or drop it first",
                    self.kind
                ),
            ));
        };
        if turn.is_none() {
            let lease = self.lease()?;
            let tx = lease
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(|err| self.unavailable(&err))?;
            *turn = Some(TurnTx { tx, _lease: lease });
        }
        Ok(Db {
            conn: Conn::Turn(turn),
        })
    }

    /// Ends the exclusive turn's transaction, if it opened one: rolled back unless `keep`;
    /// committed otherwise, with the state the turn produced (`changed`, when it changed
    /// it) recorded in the journal. Returns the record that stores the turn's number with
    /// that state, for the turn's batch. An error means nothing of the turn's SQL was
    /// committed.
    pub(crate) async fn finish(
        &self,
        keep: bool,
        changed: Option<&[u8]>,
    ) -> Result<Option<SaveOp>, ActorError> {
        let Some(TurnTx { mut tx, _lease }) = self.turn.lock().await.take() else {
            return Ok(None);
        };
        if !keep {
            if let Err(err) = tx.rollback().await {
                tracing::error!(actor = self.kind, id = %self.id, error = %err, "rolling back a discarded turn's SQL failed; SQLite drops it with the connection");
            }
            return Ok(None);
        }
        let Some(state) = changed else {
            tx.commit().await.map_err(|err| self.commit_failed(&err))?;
            return Ok(None);
        };
        let seq = self.seq.load(Ordering::Relaxed) + 1;
        journal::write(&mut tx, &self.id, seq, state)
            .await
            .map_err(|err| self.commit_failed(&err))?;
        tx.commit().await.map_err(|err| self.commit_failed(&err))?;
        self.seq.store(seq, Ordering::Relaxed);
        Ok(Some(SaveOp::Put {
            key: keys::DATABASE_SEQ.into(),
            value: seq.to_be_bytes().to_vec().into(),
        }))
    }

    fn commit_failed(&self, err: &sqlx::Error) -> ActorError {
        ActorError::of(
            codes::DATABASE_QUERY_FAILED,
            format!(
                "the turn's SQL writes of actor `{}` {} could not be committed: {err}; \
                 neither they nor the turn's state were kept",
                self.kind, self.id
            ),
        )
    }

    /// The last turn recorded.
    pub(crate) fn seq(&self) -> u64 {
        self.seq.load(Ordering::Relaxed)
    }

    /// Drops what a turn that never finished (its future dropped) left open: its
    /// transaction is rolled back.
    pub(crate) fn abandon(&self) {
        if let Ok(mut turn) = self.turn.try_lock() {
            turn.take();
        }
    }

    /// Closes the database (a shared file stays open for the others): the instance
    /// sleeps or stopped.
    pub(crate) fn release(&self) {
        self.abandon();
        if self.spec.shared.is_none() {
            self.databases.release(&self.id);
        }
    }

    /// Deletes the instance's database: its file, or in a shared file its journal row
    /// (its own rows are `on_destroy`'s to delete, as only the kind knows them).
    pub(crate) async fn remove(&self) -> Result<(), ActorError> {
        if self.spec.shared.is_none() {
            return self.databases.remove(self.kind, &self.id).await;
        }
        let (mut conn, _lease) = self.connection().await?;
        journal::forget(&mut conn, &self.id)
            .await
            .map_err(|err| self.unavailable(&err))
    }
}

/// The turn number stored with the state (`keys::DATABASE_SEQ`), 0 if there is none.
pub(crate) fn stored_seq(bytes: Option<&[u8]>) -> u64 {
    bytes
        .and_then(|b| Some(u64::from_be_bytes(b.try_into().ok()?)))
        .unwrap_or(0)
}
