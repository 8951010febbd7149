//! Latency samples, their mean and their percentiles.

use std::time::Duration;

/// A set of latency samples.
///
/// ```
/// use std::time::Duration;
/// use benches::Latencies;
/// let mut l = Latencies::default();
/// for us in 1..=100 {
///     l.push(Duration::from_micros(us));
/// }
/// assert_eq!(l.median(), Duration::from_micros(50));
/// assert_eq!(l.mean(), Duration::from_nanos(50_500));
/// assert_eq!(l.percentile(99.0), Duration::from_micros(99));
/// assert_eq!(l.max(), Duration::from_micros(100));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Latencies {
    samples: Vec<Duration>,
}

impl Latencies {
    /// Adds one sample.
    pub fn push(&mut self, sample: Duration) {
        self.samples.push(sample);
    }

    /// How many samples there are.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    fn sorted(&self) -> Vec<Duration> {
        let mut s = self.samples.clone();
        s.sort_unstable();
        s
    }

    /// The nearest-rank percentile `p` (0–100); zero when there are no samples.
    pub fn percentile(&self, p: f64) -> Duration {
        let s = self.sorted();
        if s.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
        s[rank.clamp(1, s.len()) - 1]
    }

    /// The median.
    pub fn median(&self) -> Duration {
        self.percentile(50.0)
    }

    /// The arithmetic mean; zero when there are no samples.
    pub fn mean(&self) -> Duration {
        let total: u128 = self.samples.iter().map(Duration::as_nanos).sum();
        let mean = total / self.samples.len().max(1) as u128;
        Duration::from_nanos(u64::try_from(mean).unwrap_or(u64::MAX))
    }

    /// The largest sample.
    pub fn max(&self) -> Duration {
        self.samples.iter().copied().max().unwrap_or_default()
    }
}
