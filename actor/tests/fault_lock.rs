//! Fault: another process holds the SQLite write lock (`BEGIN IMMEDIATE` in a child
//! process) for longer than the registry's busy timeout.
//!
//! Checks that while the lock is held every write fails promptly with
//! `actor/storage_error` naming the lock, that shared reads keep answering the last
//! acknowledged value, that writes succeed again on the same registry once the lock is
//! released, and that after a reopen every ledger holds exactly what it acknowledged (a
//! write that failed did not land).

use actor_test_support as common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use actor::driver::sqlite::{DATABASE_FILE, SqliteOptions};
use actor::prelude::*;
use common::{Acked, Ledger, Reap, child, lost_after_reopen, report, runtime};
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

const CHILD_DIR: &str = "ACTOR_FAULT_LOCK_CHILD_DIR";
const LEDGERS: usize = 8;
/// Liveness bound for one call: a call that takes this long is stuck, not slow.
const CALL_BOUND: Duration = Duration::from_secs(30);
const PAD: usize = 100;

/// The child's body: holds the write lock until its stdin closes. Run by the parent test
/// in a separate process, never on its own.
#[test]
#[ignore = "run as a child process by fault_lock::writes_fail_while_another_process_holds_the_lock"]
fn child_holds_the_write_lock() {
    let dir = std::env::var(CHILD_DIR).expect("the parent sets the data directory");
    let rt = runtime();
    rt.block_on(async move {
        let mut conn = SqliteConnectOptions::new()
            .filename(Path::new(&dir).join(DATABASE_FILE))
            .journal_mode(SqliteJournalMode::Wal)
            .connect()
            .await
            .expect("the child opens the database");
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .expect("the child takes the write lock");
        {
            let mut out = std::io::stdout().lock();
            // On a line of its own: libtest has already printed `test <name> ... `.
            writeln!(out, "\nlocked").unwrap();
            out.flush().unwrap();
        }
        // Until the parent closes our stdin (or exits).
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().lock().read_to_end(&mut sink);
        })
        .await
        .unwrap();
        sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
        let _ = sqlx::Connection::close(conn).await;
    });
}

#[test]
fn writes_fail_while_another_process_holds_the_lock() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let keys: Vec<String> = (0..LEDGERS).map(|i| format!("lock{i}")).collect();
    let mut acked = Acked::new();

    let registry = rt.block_on(async {
        registry::Registry::builder()
            .sqlite_with(
                dir.path(),
                SqliteOptions {
                    busy_timeout: Duration::from_millis(200),
                    ..Default::default()
                },
            )
            .build()
            .await
            .expect("sqlite registry")
    });
    let client = registry.client();

    // Before the lock: every append is acknowledged.
    let handles = rt.block_on(async {
        let mut handles = Vec::new();
        for key in &keys {
            let ledger = bounded(
                "get_or_create",
                Ledger::get_or_create(&client, [key.as_str()]),
            )
            .await
            .unwrap();
            for expected in 1..=3 {
                let n = bounded("append", ledger.append(PAD)).await.unwrap();
                assert_eq!(n, expected, "{key}: sequential appends count up");
                acked.insert(key.clone(), n);
            }
            handles.push(ledger);
        }
        handles
    });
    let before: usize = acked.values().sum();

    // Another process takes the write lock and holds it.
    let child = child("child_holds_the_write_lock", CHILD_DIR, dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut child = Reap(Some(child));
    let stdout = child.0.as_mut().unwrap().stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(Ok(line)) if line == "locked" => break,
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => panic!("reading the child's output: {e}"),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("the child did not take the write lock within 30 s")
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("the child exited without taking the write lock")
            }
        }
    }

    // While it holds the lock: writes fail, promptly; reads answer what was acknowledged.
    // Round 0 appends to one ledger at a time, round 1 to all at once (one group commit).
    rt.block_on(async {
        for round in 0..2 {
            let started = Instant::now();
            let errors: Vec<ActorError> = if round == 0 {
                let mut results = Vec::new();
                for (key, ledger) in keys.iter().zip(&handles) {
                    let appended = bounded("append under the lock", ledger.append(PAD)).await;
                    results.push(lock_error(key, round, appended));
                    // A read right behind the failed write, as its instance stops.
                    let len = bounded("len under the lock", ledger.len())
                        .await
                        .unwrap_or_else(|e| {
                            panic!("{key}: len() right after a failed append under the lock: {e}")
                        });
                    assert_eq!(
                        len, acked[key],
                        "{key}: len() under the lock is not the last acknowledged length"
                    );
                }
                results
            } else {
                // Each append with a read queued right behind it, all ledgers at once.
                let calls = keys.iter().zip(&handles).map(|(key, ledger)| async move {
                    let (appended, read) = futures_util::future::join(
                        bounded("append under the lock", ledger.append(PAD)),
                        bounded("len under the lock", ledger.len()),
                    )
                    .await;
                    (key, appended, read)
                });
                let (mut results, mut read_failed) = (Vec::new(), 0);
                for (key, appended, read) in futures_util::future::join_all(calls).await {
                    let failed = lock_error(key, round, appended);
                    // The read may see the append's state only if it is durable: it is not,
                    // so the read answers what was acknowledged or the append's error.
                    match read {
                        Ok(len) => assert_eq!(
                            len, acked[key],
                            "{key}: a read queued behind a failed append answered {len}"
                        ),
                        Err(e) => {
                            assert!(
                                e.is(actor::codes::STORAGE) && e.message() == failed.message(),
                                "{key}: a read queued behind a failed append failed with {e}, \
                                 not with the append's error ({failed})"
                            );
                            read_failed += 1;
                        }
                    }
                    results.push(failed);
                }
                println!(
                    "reads queued behind a failed append: {} answered the acknowledged length, {read_failed} the append's error",
                    results.len() - read_failed
                );
                results
            };
            println!(
                "round {round}: {} appends under the lock failed within {:?}: {}",
                errors.len(),
                started.elapsed(),
                errors[0]
            );

            // Reads need no write lock (WAL readers are not blocked): every one answers
            // what was acknowledged, also right after a failed write stopped the
            // instance (the read runs on the next one, woken from what is stored).
            for _pass in 0..2 {
                for (key, ledger) in keys.iter().zip(&handles) {
                    let len = bounded("len under the lock", ledger.len())
                        .await
                        .unwrap_or_else(|e| panic!("{key}: len() under the lock: {e}"));
                    assert_eq!(
                        len, acked[key],
                        "{key}: len() under the lock is not the last acknowledged length"
                    );
                }
            }
        }
    });

    // The other process lets go.
    let mut released = child.0.take().unwrap();
    drop(released.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = released.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = released.kill();
            let _ = released.wait();
            panic!("the child did not exit within 30 s of its stdin closing");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "the child failed: {status}");

    // Same registry, no restart: writes succeed again, and continue from what was
    // acknowledged (the failed appends did not land, not even in memory).
    let mut after = 0;
    rt.block_on(async {
        for (key, ledger) in keys.iter().zip(&handles) {
            for _ in 0..3 {
                let n = bounded("append after the lock", ledger.append(PAD))
                    .await
                    .unwrap_or_else(|e| panic!("{key}: append after the lock was released: {e}"));
                assert_eq!(
                    n,
                    acked[key] + 1,
                    "{key}: the append after the lock does not follow the last acknowledged one"
                );
                acked.insert(key.clone(), n);
                after += 1;
            }
        }
        registry.shutdown().await;
    });
    drop(handles);
    drop(client);
    drop(registry);

    let (lost, stored) = rt.block_on(lost_after_reopen(dir.path(), &acked));
    report(
        "locked by another process past the busy timeout",
        before,
        after,
        lost,
    );
    assert_eq!(
        lost, 0,
        "acknowledged writes lost: stored {stored:?}, acked {acked:?}"
    );
    for (key, n) in &acked {
        assert_eq!(
            stored[key], *n,
            "{key}: stored length differs from the acknowledged one (a failed write landed?)"
        );
    }
}

/// The error of an append made under the lock, which must fail with a storage error
/// that says the database is locked.
fn lock_error(key: &str, round: usize, appended: Result<usize, ActorError>) -> ActorError {
    let err = match appended {
        Ok(n) => panic!(
            "{key}: append in round {round} under another process's write lock was acknowledged ({n})"
        ),
        Err(e) => e,
    };
    assert!(
        err.is(actor::codes::STORAGE),
        "{key}: append under the lock failed with {err}, not actor/storage_error"
    );
    assert!(
        err.message().to_lowercase().contains("lock"),
        "{key}: the error does not say the database is locked: {err}"
    );
    err
}

/// Awaits `call`, failing the test if it does not answer within [`CALL_BOUND`].
async fn bounded<T>(what: &str, call: impl IntoFuture<Output = T>) -> T {
    match tokio::time::timeout(CALL_BOUND, call).await {
        Ok(out) => out,
        Err(_) => panic!("{what} did not answer within {CALL_BOUND:?}"),
    }
}
