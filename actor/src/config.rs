//! Per-kind settings, written as `#[actor(...)]` options.

use std::time::Duration;

/// When an actor's state reaches storage.
///
/// ```
/// use actor::SaveMode;
/// assert_eq!(SaveMode::default(), SaveMode::Durable);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SaveMode {
    /// The reply to an exclusive action is sent only after the state it produced is
    /// durable; writes from many actors share one transaction (group commit).
    #[default]
    Durable,
    /// Replies go out at once; state is saved at most once per interval and on sleep,
    /// like RivetKit's `stateSaveInterval`. A crash can lose up to one interval of writes.
    Debounced(Duration),
}

/// The settings of one actor kind.
///
/// `#[actor(sleep_timeout = "5m", action_timeout = "10s", inbox = 256, max_shared = 64,
/// save_interval = "1s", max_schedules = 100, min_schedule_interval = "1m")]` fills these in; anything not written keeps its default.
///
/// ```
/// use std::time::Duration;
/// let c = actor::ActorConfig::default();
/// assert_eq!(c.sleep_timeout, Some(Duration::from_secs(30)));
/// assert_eq!(c.action_timeout, Duration::from_secs(60));
/// assert_eq!(c.inbox_capacity, 1024);
/// assert_eq!(c.max_shared, 1024);
/// assert_eq!((c.max_schedules, c.min_schedule_interval), (1000, Duration::from_secs(1)));
/// assert_eq!(c.keep_workflows, 100);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorConfig {
    /// Idle time before the actor sleeps; `None` never sleeps on its own (`sleep_timeout = "never"`).
    pub sleep_timeout: Option<Duration>,
    /// Longest an action may run before the caller gets `actor/action_timed_out`.
    pub action_timeout: Duration,
    /// Longest `on_sleep` and `on_destroy` may run before they are abandoned.
    pub sleep_grace: Duration,
    /// Calls that may wait for their turn before callers get `actor/overloaded`.
    pub inbox_capacity: usize,
    /// Shared actions that may run at once on one instance; a shared call beyond them
    /// is answered `actor/overloaded` (`max_shared = N`).
    pub max_shared: usize,
    /// When state is saved.
    pub save: SaveMode,
    /// Schedules one actor may hold; making one more is `schedule/limit_reached`
    /// (`max_schedules = N`).
    pub max_schedules: usize,
    /// The shortest time between two firings of a repeating schedule; a shorter
    /// `every` or a cron expression that fires more often is `schedule/interval_too_short`
    /// (`min_schedule_interval = "1s"`).
    pub min_schedule_interval: Duration,
    /// Finished workflows (completed, failed or cancelled) one actor keeps, with their
    /// histories, for their status and results; when one more finishes, the one that
    /// finished first is removed (`keep_workflows = N`).
    pub keep_workflows: usize,
}

impl Default for ActorConfig {
    fn default() -> Self {
        Self {
            sleep_timeout: Some(Duration::from_secs(30)),
            action_timeout: Duration::from_secs(60),
            sleep_grace: Duration::from_secs(15),
            inbox_capacity: 1024,
            max_shared: 1024,
            save: SaveMode::Durable,
            max_schedules: 1000,
            min_schedule_interval: Duration::from_secs(1),
            keep_workflows: 100,
        }
    }
}
