//! Fault: a real crash (SIGKILL) right after failed commits. A child process appends to
//! ledgers on SQLite with a small size limit (`SqliteOptions::max_size`) until the
//! database is full and commits fail with `actor/storage_error`; the parent kills it just
//! after the third failure.
//!
//! Checks that every failure was `actor/storage_error`, that the database file passes
//! `PRAGMA integrity_check` after the kill, and that after a reopen without the limit
//! every ledger is consistent and holds at least what it acknowledged (0 lost).
#![cfg(unix)]

use actor_test_support as common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use actor::driver::sqlite::{DATABASE_FILE, SqliteOptions};
use actor::prelude::*;
use common::{Acked, Ledger, Reap, ahead, child, lost_after_reopen, report, runtime};
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

const CHILD_DIR: &str = "ACTOR_FAULT_SIGKILL_CHILD_DIR";
const TASKS: usize = 20;
const PAD: usize = 1000;
/// Small enough that 20 ledgers of 1 KB entries fill it within a second or two.
const MAX_SIZE: u64 = 256 << 10;
/// The kill comes right after this many failed appends.
const FAILS_BEFORE_KILL: usize = 3;
/// Bounds on the parent's wait for them.
const WAIT: Duration = Duration::from_secs(30);
const MAX_LINES: usize = 200_000;

fn key(i: usize) -> String {
    format!("full{i}")
}

/// One line to the parent, written and flushed at once. If the parent is gone, so is the
/// point of going on.
fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(format!("{line}\n").as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// The child's body: run by the parent test in a separate process, never on its own.
#[test]
#[ignore = "run as a child process by fault_sigkill::sigkill_right_after_failed_commits_loses_nothing"]
fn child_fills_the_database_until_killed() {
    let dir = std::env::var(CHILD_DIR).expect("the parent sets the data directory");
    let rt = runtime();
    rt.block_on(async move {
        let registry = registry::Registry::builder()
            .sqlite_with(
                &dir,
                SqliteOptions {
                    max_size: Some(MAX_SIZE),
                    ..Default::default()
                },
            )
            .build()
            .await
            .expect("sqlite registry");
        let client = registry.client();
        let mut ledgers = Vec::new();
        for i in 0..TASKS {
            ledgers.push(
                Ledger::get_or_create(&client, [key(i)])
                    .await
                    .expect("creating a ledger in an empty database"),
            );
        }
        // On a line of its own: libtest has already printed `test <name> ... `.
        emit("\nstarted");
        for (i, ledger) in ledgers.into_iter().enumerate() {
            tokio::spawn(async move {
                let key = key(i);
                loop {
                    match ledger.append(PAD).await {
                        Ok(n) => emit(&format!("ack {key} {n}")),
                        Err(e) => emit(&format!(
                            "fail {key} {}/{} {}",
                            e.group(),
                            e.code(),
                            e.message()
                        )),
                    }
                }
            });
        }
        // The parent kills us long before this; if it does not, do not run forever.
        tokio::time::sleep(Duration::from_secs(120)).await;
        eprintln!("child: not killed within 120 s, exiting");
        std::process::exit(2);
    });
}

/// What the parent has read so far.
#[derive(Default)]
struct Tally {
    acked: Acked,
    fails: usize,
    before: usize,
    after: usize,
    first_fail: Option<String>,
}

impl Tally {
    fn read(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("ack ") {
            let (key, n) = rest.split_once(' ').expect("ack <key> <n>");
            let n: usize = n.parse().expect("ack <key> <n>");
            let held = self.acked.entry(key.to_string()).or_default();
            *held = (*held).max(n);
            if self.fails == 0 {
                self.before += 1;
            } else {
                self.after += 1;
            }
        } else if let Some(rest) = line.strip_prefix("fail ") {
            let mut fields = rest.splitn(3, ' ');
            let (key, code) = (fields.next().unwrap(), fields.next().unwrap_or(""));
            assert_eq!(
                code, "actor/storage_error",
                "{key}: an append failed with something else than a storage error: {line}"
            );
            self.fails += 1;
            self.first_fail.get_or_insert_with(|| line.to_string());
        }
    }
}

#[test]
fn sigkill_right_after_failed_commits_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let child = child(
        "child_fills_the_database_until_killed",
        CHILD_DIR,
        dir.path(),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .spawn()
    .unwrap();
    let mut child = Reap(Some(child));
    let stdout = child.0.as_mut().unwrap().stdout.take().unwrap();
    // Whole lines only: a line cut short by the kill is not an acknowledgement.
    let (tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match stdout.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) if buf.ends_with(b"\n") => {
                    let line = String::from_utf8_lossy(&buf[..buf.len() - 1]).into_owned();
                    if tx.send(line).is_err() {
                        return;
                    }
                }
                Ok(_) => return,
            }
        }
    });

    let mut tally = Tally::default();
    let started = Instant::now();
    let mut read = 0;
    while tally.fails < FAILS_BEFORE_KILL {
        let left = WAIT.saturating_sub(started.elapsed());
        let line = match lines.recv_timeout(left) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                "the database never filled: {} failed appends in {WAIT:?} ({} acknowledged)",
                tally.fails,
                tally.before + tally.after
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
                "the child exited on its own after {} failed appends ({} acknowledged)",
                tally.fails,
                tally.before + tally.after
            ),
        };
        read += 1;
        assert!(
            read <= MAX_LINES,
            "the database never filled: {} failed appends in {MAX_LINES} lines",
            tally.fails
        );
        tally.read(&line);
    }
    let mut killed = child.0.take().unwrap();
    killed.kill().unwrap(); // SIGKILL: no shutdown, no rollback, no flush
    let status = killed.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the child died of the SIGKILL, not on its own: {status}"
    );
    let filled_after = started.elapsed();
    // What the child printed before it died was acknowledged before it died.
    let mut tail = 0;
    while let Ok(line) = lines.recv_timeout(WAIT) {
        tally.read(&line);
        tail += 1;
    }
    println!(
        "killed {filled_after:?} after the start, after {} failed appends ({tail} lines read after the kill); first: {}",
        tally.fails,
        tally.first_fail.as_deref().unwrap_or("-")
    );

    let rt = runtime();
    let (lost, stored) = rt.block_on(async {
        let mut conn = SqliteConnectOptions::new()
            .filename(dir.path().join(DATABASE_FILE))
            .connect()
            .await
            .expect("opening the database after the kill");
        let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await
            .expect("PRAGMA integrity_check");
        assert_eq!(integrity, ["ok"], "the database is damaged after the kill");
        sqlx::Connection::close(conn).await.unwrap();

        let mut acked = tally.acked.clone();
        for i in 0..TASKS {
            acked.entry(key(i)).or_default();
        }
        lost_after_reopen(dir.path(), &acked).await
    });
    report(
        "SIGKILL right after a failed commit",
        tally.before,
        tally.after,
        lost,
    );
    assert_eq!(
        lost, 0,
        "acknowledged writes lost: stored {stored:?}, acked {:?}",
        tally.acked
    );
    println!(
        "ledgers holding a write that was in flight at the kill: {}",
        ahead(&tally.acked, &stored)
    );
    assert!(
        tally.before > 0,
        "some appends were acknowledged before the database filled"
    );
}
