//! The alarm loop: one task per registry that wakes the actors whose alarm in the
//! driver's index is due while they have no instance: a queue message sent before a
//! crash or a shutdown, a retry whose backoff ended while the actor slept. An awake actor
//! keeps its own timers, so the loop leaves it alone; when it stops, the loop looks
//! again. What became due while the process was down is due when it starts.
//!
//! An actor woken for an alarm commits the alarm its records call for, so an alarm left
//! without a cause is cleared by the wake. One whose wake fails (or that stops again with
//! the same alarm due) is tried again with a doubling delay, so a broken actor is not
//! woken in a loop.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use actor::ActorId;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::directory::Directory;

/// Due alarms read per look, beyond those the loop is already leaving alone.
const PAGE: usize = 256;
/// Actors woken at once.
const CONCURRENT_WAKES: usize = 64;
/// The loop looks at least this often, in case the clock jumped.
const LOOK_EVERY: Duration = Duration::from_secs(60);
/// The first delay before an actor whose alarm is still due after a wake is tried again.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(300);

/// An actor the loop woke for an alarm, and when it may wake it again for the same one.
struct Woken {
    at: u64,
    again: Instant,
    delay: Duration,
}

/// Runs the alarm loop of `directory` until it shuts down or is dropped.
pub(crate) async fn run(directory: Weak<Directory>) {
    let wakes = Arc::new(Semaphore::new(CONCURRENT_WAKES));
    let mut woken: HashMap<ActorId, Woken> = HashMap::new();
    loop {
        let Some(dir) = directory.upgrade() else {
            return;
        };
        if dir.is_stopping() {
            return;
        }
        let changed = dir.alarms_changed().clone();
        let notified = changed.notified();
        let next = match look(&dir, &wakes, &mut woken).await {
            Ok(next) => next,
            Err(err) => {
                tracing::error!(error = %err, "the alarm loop could not read the alarm index; trying again");
                Some(Instant::now() + FIRST_RETRY)
            }
        };
        drop(dir);
        let until = next.map_or(Instant::now() + LOOK_EVERY, |at| {
            at.min(Instant::now() + LOOK_EVERY)
        });
        tokio::select! {
            () = tokio::time::sleep_until(until) => {}
            () = notified => {}
        }
    }
}

/// Wakes the actors due now and says when the next alarm is.
async fn look(
    dir: &Arc<Directory>,
    wakes: &Arc<Semaphore>,
    woken: &mut HashMap<ActorId, Woken>,
) -> Result<Option<Instant>, actor::ActorError> {
    let now_ms = dir.clock_ms();
    let now = Instant::now();
    let driver = dir.driver().clone();
    let mut left = 0;
    let mut due;
    // The actors left alone (awake, or waiting for a retry) are at the front of the
    // page: read past them.
    loop {
        let limit = left + PAGE;
        due = driver
            .earliest_alarms(now_ms, limit)
            .await
            .map_err(actor::ActorError::from_storage)?;
        left = 0;
        let mut retry_at: Option<Instant> = None;
        for alarm in &due {
            if !dir.kinds().contains_key(alarm.kind.as_str()) || dir.is_awake(&alarm.id) {
                left += 1;
                continue;
            }
            if let Some(w) = woken.get(&alarm.id)
                && w.at == alarm.at
                && w.again > now
            {
                left += 1;
                retry_at = Some(retry_at.map_or(w.again, |r| r.min(w.again)));
                continue;
            }
            let delay = woken
                .get(&alarm.id)
                .filter(|w| w.at == alarm.at)
                .map_or(FIRST_RETRY, |w| (w.delay * 2).min(MAX_RETRY));
            woken.insert(
                alarm.id.clone(),
                Woken {
                    at: alarm.at,
                    again: now + delay,
                    delay,
                },
            );
            let permit = wakes.clone().acquire_owned().await.ok();
            let (dir, kind, id) = (dir.clone(), alarm.kind.clone(), alarm.id.clone());
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(err) = dir.wake_by_alarm(&kind, &id).await {
                    tracing::warn!(actor = kind, %id, error = %err, "could not wake an actor whose alarm is due");
                }
            });
        }
        if due.len() < limit {
            // Forget the actors whose alarm moved or went.
            woken.retain(|id, w| due.iter().any(|a| &a.id == id && a.at == w.at));
            let later = driver
                .earliest_alarms(u64::MAX, due.len() + 1)
                .await
                .map_err(actor::ActorError::from_storage)?
                .into_iter()
                .find(|a| a.at > now_ms)
                .map(|a| dir.clock_instant(a.at));
            return Ok(match (later, retry_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            });
        }
    }
}
