//! Wall-clock time for what is stored (when a message was sent, when a retry or an alarm
//! is due), read from tokio's clock: a registry notes the Unix time once, when it starts,
//! and counts on from there with `tokio::time::Instant`. So stored times and the timers
//! that act on them agree, and a test with tokio's paused clock moves both.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// A registry's clock: Unix milliseconds, counted with tokio's clock from its start.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let clock = actor::clock::Clock::start();
/// let before = clock.now_ms();
/// tokio::time::advance(std::time::Duration::from_secs(2)).await;
/// assert_eq!(clock.now_ms(), before + 2_000);
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    base_ms: u64,
    base: Instant,
}

impl Clock {
    /// A clock reading the Unix time now, counting on with tokio's clock.
    pub fn start() -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            base_ms: u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX),
            base: Instant::now(),
        }
    }

    /// Unix time when the clock started (its registry's start), in milliseconds.
    pub fn started_ms(&self) -> u64 {
        self.base_ms
    }

    /// Unix time now, in milliseconds.
    pub fn now_ms(&self) -> u64 {
        let elapsed = Instant::now()
            .saturating_duration_since(self.base)
            .as_millis();
        self.base_ms
            .saturating_add(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }

    /// The tokio instant of Unix time `ms` (now, for a time already past).
    pub fn instant_at(&self, ms: u64) -> Instant {
        let now = self.now_ms();
        Instant::now() + Duration::from_millis(ms.saturating_sub(now))
    }

    /// Unix time `after` from now, in milliseconds.
    pub fn ms_after(&self, after: Duration) -> u64 {
        self.now_ms()
            .saturating_add(u64::try_from(after.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Unix milliseconds as a `SystemTime`.
///
/// ```
/// let t = actor::clock::system_time(1_000);
/// assert_eq!(t, std::time::UNIX_EPOCH + std::time::Duration::from_secs(1));
/// ```
pub fn system_time(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}
