//! Schedules: an actor's calls to itself at a later time, once or repeating, kept in its
//! storage so they survive sleep and restarts.
//!
//! `ctx.schedule()` (in an exclusive turn) says when, and the typed methods of the kind's
//! generated `<State>Schedule` say what: an action with its arguments, or a message for
//! one of its queues. No action name is written as a string:
//!
//! ```
//! use std::time::Duration;
//! use actor::prelude::*;
//!
//! #[actor]
//! #[derive(Clone, Default, Serialize, Deserialize)]
//! pub struct Reminder { said: Vec<String> }
//!
//! #[actor]
//! impl Reminder {
//!     #[action]
//!     async fn remind_me(&mut self, ctx: &Ctx<Self>, text: String) -> Result<ScheduleId, ActorError> {
//!         ctx.schedule().after(Duration::from_secs(60)).say(text)
//!     }
//!
//!     #[action]
//!     async fn say(&mut self, text: String) {
//!         self.said.push(text);
//!     }
//! }
//! ```
//!
//! A schedule is stored in the same commit as the turn that made it (a turn whose changes
//! are thrown away schedules nothing), and the driver's alarm index holds the actor's
//! next due time, so a sleeping actor is woken for it, also after a restart. When it
//! fires, the action runs as an exclusive turn (or the message is stored in its queue),
//! and the schedule is removed or moved to its next time in that turn's commit: its
//! effect on the state happens once. A scheduled action that fails is logged with its
//! error and not retried; schedule a queue message instead to get retries.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::ctx::Ctx;
use crate::definition::Actor;
use crate::error::ActorError;
use crate::payload::{Encoding, Payload};
use crate::route::Target;

/// A schedule's id, unique within its actor; [`Schedules::cancel`] takes it.
///
/// ```
/// let id = actor::ScheduleId::from(3);
/// assert_eq!((id.get(), id.to_string()), (3, "3".to_string()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScheduleId(u64);

impl ScheduleId {
    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for ScheduleId {
    fn from(id: u64) -> Self {
        Self(id)
    }
}

impl fmt::Display for ScheduleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How often a schedule fires.
///
/// ```
/// use std::time::Duration;
/// use actor::Repeat;
/// assert_ne!(Repeat::Once, Repeat::Every(Duration::from_secs(60)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Repeat {
    /// Once ([`Schedules::after`], [`Schedules::at`]).
    Once,
    /// Every interval, counted from when it was made ([`Schedules::every`]).
    Every(#[serde(with = "millis")] Duration),
    /// At the times a cron expression gives, in UTC ([`Schedules::cron`]).
    Cron(String),
}

/// What a schedule does about a time that passed while the process was down (before the
/// registry that runs it started).
///
/// ```
/// assert_eq!(actor::Missed::default(), actor::Missed::FireOnce);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Missed {
    /// Fire once, as soon as the actor is up again, however many times were missed; a
    /// repeating schedule then goes on from its next time after now. The default.
    #[default]
    FireOnce,
    /// Do not fire for missed times: a one-time schedule is dropped (and logged), a
    /// repeating one goes on from its next time after now.
    Skip,
}

/// What a schedule calls.
///
/// ```
/// let call = actor::ScheduledCall::Action("tick".into());
/// assert_eq!(call.name(), "tick");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScheduledCall {
    /// An action, by name.
    Action(String),
    /// A message for a queue, by name.
    Queue(String),
}

impl ScheduledCall {
    /// The action's or the queue's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Action(name) | Self::Queue(name) => name,
        }
    }

    fn target(&self) -> Target {
        match self {
            Self::Action(name) => Target::Action(Cow::Owned(name.clone())),
            Self::Queue(name) => Target::Send(Cow::Owned(name.clone())),
        }
    }
}

/// One stored schedule, as [`Schedules::list`] shows it.
///
/// ```
/// # use actor::*;
/// # fn show(s: &ScheduleInfo) {
/// println!("{} calls {} next at {:?} ({:?})", s.id, s.call.name(), s.next, s.repeat);
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleInfo {
    /// Its id.
    pub id: ScheduleId,
    /// What it calls.
    pub call: ScheduledCall,
    /// When it fires next.
    pub next: SystemTime,
    /// How often.
    pub repeat: Repeat,
    /// What it does about times missed while the process was down.
    pub missed: Missed,
    /// When it was made.
    pub created: SystemTime,
    /// How many times it has fired.
    pub fired: u64,
}

/// The schedules of the actor a [`Ctx`] belongs to: make one (`after`, `at`, `every`,
/// `cron`, then the typed call), list them, cancel one. From [`Ctx::schedule`].
///
/// Making and cancelling schedules are writes, so they happen in an exclusive turn (an
/// action taking `&mut self`, a queue handler, `on_create`, `on_wake`, `on_sleep`, a
/// run loop's `turn`) and commit with it; elsewhere they are `schedule/outside_turn`.
/// Listing works anywhere and, inside a turn, shows that turn's own changes.
///
/// ```
/// use std::time::Duration;
/// use actor::prelude::*;
///
/// #[actor(max_schedules = 10)]
/// #[derive(Clone, Default, Serialize, Deserialize)]
/// pub struct Digest { sent: u32, job: Option<ScheduleId> }
///
/// #[actor]
/// impl Digest {
///     #[action]
///     async fn subscribe(&mut self, ctx: &Ctx<Self>) -> Result<(), ActorError> {
///         // Every day at 08:00 UTC, and a first one in an hour.
///         self.job = Some(ctx.schedule().cron("0 8 * * *").send_digest()?);
///         ctx.schedule().after(Duration::from_secs(3600)).send_digest()?;
///         Ok(())
///     }
///
///     #[action]
///     async fn unsubscribe(&mut self, ctx: &Ctx<Self>) -> Result<(), ActorError> {
///         for s in ctx.schedule().list() {
///             ctx.schedule().cancel(s.id)?;
///         }
///         self.job = None;
///         Ok(())
///     }
///
///     #[action]
///     async fn send_digest(&mut self) {
///         self.sent += 1;
///     }
/// }
/// ```
pub struct Schedules<'a, A: Actor> {
    ctx: &'a Ctx<A>,
    missed: Missed,
}

impl<'a, A: Actor> Schedules<'a, A> {
    pub(crate) fn new(ctx: &'a Ctx<A>) -> Self {
        Self {
            ctx,
            missed: Missed::default(),
        }
    }

    /// Sets what the schedule made next does about times missed while the process was
    /// down ([`Missed::FireOnce`] unless set).
    pub fn on_missed(mut self, missed: Missed) -> Self {
        self.missed = missed;
        self
    }

    /// Fires once, `delay` from now.
    pub fn after(self, delay: Duration) -> A::Schedule {
        self.when(When::After(delay))
    }

    /// Fires once, at `time` (at once, for a time already past).
    pub fn at(self, time: SystemTime) -> A::Schedule {
        self.when(When::At(time))
    }

    /// Fires every `interval`, the first time one interval from now. An interval
    /// shorter than the kind's `min_schedule_interval` is `schedule/interval_too_short`.
    pub fn every(self, interval: Duration) -> A::Schedule {
        self.when(When::Every(interval))
    }

    /// Fires at the times of a cron expression, in UTC: five fields (minute, hour, day of
    /// month, month, day of week) or six with seconds first, as the `croner` crate reads
    /// them. An expression that does not parse is `schedule/invalid`; one that fires more
    /// often than the kind's `min_schedule_interval` is `schedule/interval_too_short`.
    pub fn cron(self, expression: &str) -> A::Schedule {
        self.when(When::Cron(expression.to_string()))
    }

    fn when(self, when: When) -> A::Schedule {
        A::Schedule::from(Scheduling {
            owner: self.ctx.schedule_owner(),
            when,
            missed: self.missed,
        })
    }

    /// The actor's schedules, by id; inside an exclusive turn, with that turn's own
    /// changes.
    pub fn list(&self) -> Vec<ScheduleInfo> {
        self.ctx.schedule_owner().list()
    }

    /// Cancels schedule `id`; `false` if the actor has no such schedule. The cancel
    /// commits with the turn (`schedule/outside_turn` outside an exclusive turn).
    pub fn cancel(&self, id: ScheduleId) -> Result<bool, ActorError> {
        self.ctx.schedule_owner().cancel(id)
    }
}

/// When a schedule fires, as the builder was told.
#[derive(Clone, Debug)]
pub(crate) enum When {
    After(Duration),
    At(SystemTime),
    Every(Duration),
    Cron(String),
}

/// A schedule that knows when and waits for what to call: the inside of every kind's
/// generated `<State>Schedule`, whose typed methods end in [`Scheduling::call`].
pub struct Scheduling {
    owner: Arc<dyn ScheduleOwner>,
    when: When,
    missed: Missed,
}

impl fmt::Debug for Scheduling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduling")
            .field("when", &self.when)
            .field("missed", &self.missed)
            .finish()
    }
}

impl Scheduling {
    /// Makes the schedule to call `target` with `args` (the generated methods' one path).
    #[doc(hidden)]
    pub fn call(self, target: Target, args: Payload) -> Result<ScheduleId, ActorError> {
        self.owner.create(self.when, self.missed, target, args)
    }
}

/// What a schedule is made through: the actor's context (`CtxInner`), type-erased so the
/// generated `<State>Schedule` needs no type parameter.
pub(crate) trait ScheduleOwner: Send + Sync {
    fn create(
        &self,
        when: When,
        missed: Missed,
        target: Target,
        args: Payload,
    ) -> Result<ScheduleId, ActorError>;
    fn cancel(&self, id: ScheduleId) -> Result<bool, ActorError>;
    fn list(&self) -> Vec<ScheduleInfo>;
}

/// The largest encoded arguments a schedule keeps.
pub(crate) const MAX_ARGS: usize = 64 * 1024;

/// One schedule as stored under `s/<id>`: a format byte, the length of the JSON that
/// follows (u32, big-endian), that JSON ([`Meta`]), then the encoded arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredSchedule {
    pub(crate) meta: Meta,
    pub(crate) args: Vec<u8>,
}

/// The described part of a stored schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Meta {
    pub(crate) call: ScheduledCall,
    pub(crate) encoding: Encoding,
    /// When it fires next, Unix ms.
    pub(crate) next_ms: u64,
    pub(crate) repeat: Repeat,
    pub(crate) missed: Missed,
    pub(crate) created_ms: u64,
    pub(crate) fired: u64,
}

const FORMAT: u8 = 1;

impl StoredSchedule {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let meta = serde_json::to_vec(&self.meta).expect("a schedule's description encodes");
        let len = u32::try_from(meta.len()).expect("a schedule's description is small");
        let mut out = Vec::with_capacity(5 + meta.len() + self.args.len());
        out.push(FORMAT);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&meta);
        out.extend_from_slice(&self.args);
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let (&format, rest) = bytes.split_first()?;
        if format != FORMAT || rest.len() < 4 {
            return None;
        }
        let (len, rest) = rest.split_at(4);
        let len = usize::try_from(u32::from_be_bytes(len.try_into().ok()?)).ok()?;
        if rest.len() < len {
            return None;
        }
        let (meta, args) = rest.split_at(len);
        Some(Self {
            meta: serde_json::from_slice(meta).ok()?,
            args: args.to_vec(),
        })
    }

    /// What the schedule calls, as a target and its arguments.
    pub(crate) fn call(&self) -> (Target, Payload) {
        (
            self.meta.call.target(),
            Payload::Encoded(self.meta.encoding, self.args.clone()),
        )
    }

    pub(crate) fn info(&self, id: u64) -> ScheduleInfo {
        ScheduleInfo {
            id: ScheduleId(id),
            call: self.meta.call.clone(),
            next: crate::clock::system_time(self.meta.next_ms),
            repeat: self.meta.repeat.clone(),
            missed: self.meta.missed,
            created: crate::clock::system_time(self.meta.created_ms),
            fired: self.meta.fired,
        }
    }
}

/// The key of schedule `id`: `s/<id, 8 bytes big-endian>`.
pub(crate) fn schedule_key(id: u64) -> Vec<u8> {
    let mut key = crate::driver::keys::SCHEDULES.to_vec();
    key.extend_from_slice(&id.to_be_bytes());
    key
}

/// The id in a schedule's key.
pub(crate) fn parse_key(key: &[u8]) -> Option<u64> {
    let id = key.strip_prefix(crate::driver::keys::SCHEDULES)?;
    Some(u64::from_be_bytes(id.try_into().ok()?))
}

/// How many of a cron expression's next times are checked against the minimum interval
/// when a schedule is made (enough to cover the close times of any pattern that has
/// them within a day).
const CRON_CHECKED: usize = 1000;

fn parse_cron(expression: &str) -> Result<croner::Cron, ActorError> {
    croner::Cron::from_str(expression).map_err(|e| {
        ActorError::schedule_invalid(format_args!(
            "the cron expression `{expression}` does not parse: {e}; write five fields \
             (minute hour day-of-month month day-of-week, e.g. `0 8 * * MON-FRI`) or six with \
             seconds first"
        ))
    })
}

fn utc(ms: u64) -> chrono::DateTime<chrono::Utc> {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

fn unix_ms(time: chrono::DateTime<chrono::Utc>) -> u64 {
    u64::try_from(time.timestamp_millis()).unwrap_or(0)
}

/// The first time of `cron` after `after_ms` (or at it, when `inclusive`). Cron times
/// are whole seconds: the search starts from one (the next for an inclusive search from
/// inside a second, this one for an exclusive search).
fn cron_next(cron: &croner::Cron, after_ms: u64, inclusive: bool) -> Option<u64> {
    let within = after_ms % 1000;
    let (from, inclusive) = match (within, inclusive) {
        (0, _) => (after_ms, inclusive),
        (_, true) => (after_ms - within + 1000, true),
        (_, false) => (after_ms - within, false),
    };
    cron.find_next_occurrence(&utc(from), inclusive)
        .ok()
        .map(unix_ms)
}

fn millis_of(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A new schedule's first time and repeat, from what the builder was told at `now_ms`;
/// `min` is the kind's shortest interval between firings.
pub(crate) fn first(when: &When, now_ms: u64, min: Duration) -> Result<(u64, Repeat), ActorError> {
    let too_short = |what: String, gap: Duration| ActorError::interval_too_short(&what, gap, min);
    match when {
        When::After(delay) => Ok((now_ms.saturating_add(millis_of(*delay)), Repeat::Once)),
        When::At(time) => {
            let ms = time.duration_since(UNIX_EPOCH).map_or(0, millis_of);
            Ok((ms, Repeat::Once))
        }
        When::Every(interval) => {
            if *interval < min || interval.is_zero() {
                return Err(too_short(format!("every({interval:?})"), *interval));
            }
            Ok((
                now_ms.saturating_add(millis_of(*interval)),
                Repeat::Every(*interval),
            ))
        }
        When::Cron(expression) => {
            let cron = parse_cron(expression)?;
            let next = cron_next(&cron, now_ms, false).ok_or_else(|| {
                ActorError::schedule_invalid(format_args!(
                    "the cron expression `{expression}` has no time after now"
                ))
            })?;
            let mut at = next;
            for _ in 0..CRON_CHECKED {
                let Some(after) = cron_next(&cron, at, false) else {
                    break;
                };
                let gap = Duration::from_millis(after - at);
                if gap < min {
                    return Err(too_short(format!("cron `{expression}`"), gap));
                }
                at = after;
            }
            Ok((next, Repeat::Cron(expression.clone())))
        }
    }
}

/// When a schedule that was due at `due_ms` and fires at `now_ms` fires next: `None` for
/// a one-time schedule. Times missed meanwhile are skipped (it fires once for them), and
/// a cron schedule never fires sooner than `min` after the time it was due.
pub(crate) fn next_after(repeat: &Repeat, due_ms: u64, now_ms: u64, min: Duration) -> Option<u64> {
    match repeat {
        Repeat::Once => None,
        Repeat::Every(interval) => {
            let step = millis_of(*interval).max(1);
            let behind = now_ms.saturating_sub(due_ms) / step + 1;
            Some(due_ms.saturating_add(behind.saturating_mul(step)))
        }
        Repeat::Cron(expression) => {
            // Parsed when it was made; a build whose parser reads it differently drops it.
            let cron = croner::Cron::from_str(expression).ok()?;
            let soonest = cron_next(&cron, due_ms.saturating_add(millis_of(min)), true)?;
            if soonest > now_ms {
                Some(soonest)
            } else {
                cron_next(&cron, now_ms, false)
            }
        }
    }
}

/// Encodes a schedule's arguments for storage (JSON); arguments larger than
/// [`MAX_ARGS`] are `schedule/invalid`.
pub(crate) fn encode_args(
    args: Payload,
    target: &Target,
) -> Result<(Encoding, Vec<u8>), ActorError> {
    let (encoding, bytes) = args.into_encoded(Encoding::Json)?;
    if bytes.len() > MAX_ARGS {
        return Err(ActorError::schedule_invalid(format_args!(
            "the arguments for {target} are {} bytes encoded, more than a schedule keeps \
             ({MAX_ARGS}); schedule a call that takes a reference to the data instead",
            bytes.len()
        )));
    }
    Ok((encoding, bytes))
}

/// `Duration` as whole milliseconds in stored records.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(super::millis_of(*d))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(1);

    #[test]
    fn records_round_trip() {
        let stored = StoredSchedule {
            meta: Meta {
                call: ScheduledCall::Queue("tick".into()),
                encoding: Encoding::Json,
                next_ms: 5,
                repeat: Repeat::Every(Duration::from_secs(2)),
                missed: Missed::Skip,
                created_ms: 1,
                fired: 3,
            },
            args: b"[1]".to_vec(),
        };
        assert_eq!(StoredSchedule::decode(&stored.encode()), Some(stored));
        assert_eq!(StoredSchedule::decode(b"\x02"), None);
        assert_eq!(parse_key(&schedule_key(9)), Some(9));
    }

    #[test]
    fn every_skips_missed_times_and_keeps_its_cadence() {
        let every = Repeat::Every(Duration::from_secs(10));
        assert_eq!(next_after(&every, 10_000, 10_005, MIN), Some(20_000));
        // Down for 35 s: it fires once, and goes on at its own cadence.
        assert_eq!(next_after(&every, 10_000, 45_000, MIN), Some(50_000));
        assert_eq!(next_after(&Repeat::Once, 10_000, 10_000, MIN), None);
    }

    #[test]
    fn cron_times_respect_the_minimum_interval() {
        let every_second = Repeat::Cron("* * * * * *".into());
        assert_eq!(next_after(&every_second, 1_000, 1_002, MIN), Some(2_000));
        // Times are whole seconds, however late a firing is.
        let tenth = Duration::from_millis(100);
        assert_eq!(next_after(&every_second, 1_000, 1_002, tenth), Some(2_000));
        assert_eq!(next_after(&every_second, 1_000, 2_500, tenth), Some(3_000));
        let ten = Duration::from_secs(10);
        assert_eq!(next_after(&every_second, 1_000, 1_002, ten), Some(11_000));
        let err = first(&When::Cron("* * * * * *".into()), 0, ten).unwrap_err();
        assert!(err.is(crate::codes::SCHEDULE_INTERVAL_TOO_SHORT), "{err}");
        // Two times a second apart, once an hour: the short gap is found.
        let err = first(&When::Cron("0,1 0 * * * *".into()), 0, ten).unwrap_err();
        assert!(err.is(crate::codes::SCHEDULE_INTERVAL_TOO_SHORT), "{err}");
        let (next, _) = first(&When::Cron("0 * * * *".into()), 0, ten).unwrap();
        assert_eq!(next, 3_600_000);
        let err = first(&When::Cron("not cron".into()), 0, ten).unwrap_err();
        assert!(err.is(crate::codes::SCHEDULE_INVALID), "{err}");
    }

    #[test]
    fn every_below_the_minimum_is_refused() {
        let err = first(&When::Every(Duration::from_millis(500)), 0, MIN).unwrap_err();
        assert!(err.is(crate::codes::SCHEDULE_INTERVAL_TOO_SHORT), "{err}");
        let (next, repeat) = first(&When::Every(MIN), 7, MIN).unwrap();
        assert_eq!((next, repeat), (1_007, Repeat::Every(MIN)));
    }
}
