//! Timing a region of code and counting what it allocates.

use std::time::{Duration, Instant};

use crate::alloc::{AllocSnapshot, CountingAlloc, SIZE_CLASSES};
use crate::sched::Sched;

/// Started just before a measured loop, finished just after it.
///
/// The allocation counts are non-zero only if the allocator was counting
/// ([`CountingAlloc::start`]) during the region.
///
/// ```
/// use benches::{CountingAlloc, Probe};
/// static ALLOC: CountingAlloc = CountingAlloc::new();
/// let probe = Probe::start(&ALLOC);
/// let m = probe.finish(10);
/// assert_eq!(m.ops, 10);
/// assert_eq!(m.allocs_per_op(), 0.0);
/// ```
#[derive(Debug)]
pub struct Probe {
    alloc: &'static CountingAlloc,
    before: AllocSnapshot,
    /// Allocations by size at the start, then the buffer for the end: both allocated
    /// before the region so the probe's own allocations are not counted in it.
    sizes: (Vec<u64>, Vec<u64>),
    sched: Sched,
    started: Instant,
}

/// What a [`Probe`] saw.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    /// Operations done in the region.
    pub ops: u64,
    /// Wall-clock time of the region.
    pub elapsed: Duration,
    /// Allocations made in the region (zero unless counting was on).
    pub alloc: AllocSnapshot,
    /// Allocations made in the region by requested size, as
    /// [`CountingAlloc::allocations_by_size`] (zeros unless counting was on).
    pub sizes: Vec<u64>,
    /// What the tokio scheduler did in the region (zero outside a runtime).
    pub sched: Sched,
}

impl Probe {
    /// Starts the clock.
    pub fn start(alloc: &'static CountingAlloc) -> Self {
        let mut sizes = (vec![0; SIZE_CLASSES], vec![0; SIZE_CLASSES]);
        alloc.read_allocations_by_size(&mut sizes.0);
        let before = alloc.snapshot();
        Self {
            alloc,
            before,
            sizes,
            sched: Sched::now(),
            started: Instant::now(),
        }
    }

    /// Stops the clock after `ops` operations.
    pub fn finish(self, ops: u64) -> Measured {
        let elapsed = self.started.elapsed();
        let alloc = self.alloc.snapshot().since(&self.before);
        let (before, mut sizes) = self.sizes;
        self.alloc.read_allocations_by_size(&mut sizes);
        for (after, before) in sizes.iter_mut().zip(before) {
            *after -= before;
        }
        Measured {
            ops,
            elapsed,
            alloc,
            sizes,
            sched: Sched::now().since(&self.sched),
        }
    }
}

impl Measured {
    /// Nanoseconds per operation.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use benches::Measured;
    /// let m = Measured { ops: 4, elapsed: Duration::from_micros(2), ..Measured::default() };
    /// assert_eq!(m.ns_per_op(), 500.0);
    /// assert_eq!(m.per_second(), 2_000_000.0);
    /// ```
    pub fn ns_per_op(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.ops.max(1) as f64
    }

    /// Sorts `rounds` fastest first and returns the median one, which stands for a row.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use benches::Measured;
    /// let round = |us| Measured { ops: 1, elapsed: Duration::from_micros(us), ..Measured::default() };
    /// let mut rounds = vec![round(3), round(1), round(2)];
    /// assert_eq!(Measured::median_of(&mut rounds).ns_per_op(), 2_000.0);
    /// assert_eq!(rounds[0].ns_per_op(), 1_000.0);
    /// ```
    pub fn median_of(rounds: &mut [Measured]) -> &Measured {
        rounds.sort_by(|a, b| a.ns_per_op().total_cmp(&b.ns_per_op()));
        &rounds[(rounds.len() - 1) / 2]
    }

    /// Operations per second.
    pub fn per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Allocations per operation.
    pub fn allocs_per_op(&self) -> f64 {
        self.alloc.allocations as f64 / self.ops.max(1) as f64
    }

    /// Worker parks per operation.
    pub fn parks_per_op(&self) -> f64 {
        self.sched.parks as f64 / self.ops.max(1) as f64
    }

    /// Nanoseconds the runtime's workers were busy per operation (CPU cost of one
    /// operation summed over threads, scheduling included).
    pub fn busy_ns_per_op(&self) -> f64 {
        self.sched.busy.as_nanos() as f64 / self.ops.max(1) as f64
    }

    /// The sizes allocated per operation, with how many of each per operation (only
    /// sizes allocated at least `min` times per operation).
    pub fn sizes_per_op(&self, min: f64) -> Vec<(usize, f64)> {
        let ops = self.ops.max(1) as f64;
        self.sizes
            .iter()
            .enumerate()
            .map(|(size, &n)| (size, n as f64 / ops))
            .filter(|&(_, per)| per >= min)
            .collect()
    }

    /// Bytes allocated per operation.
    pub fn bytes_per_op(&self) -> f64 {
        self.alloc.allocated as f64 / self.ops.max(1) as f64
    }
}
