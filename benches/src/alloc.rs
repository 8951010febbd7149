//! A global allocator that counts what the program allocates while counting is on.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

/// Wraps [`System`] and, between [`start`](Self::start) and [`stop`](Self::stop), tracks
/// the bytes live, the bytes allocated and the number of allocations.
///
/// Counting is off by default: the only cost then is one relaxed load per call, so timed
/// loops are not slowed by counters bouncing between cores. Sizes are the sizes asked for
/// (the allocator's own rounding and headers are not included). A block allocated before
/// counting started and freed after it counts as a negative; measure with counting on for
/// the whole experiment, set-up included.
///
/// ```
/// use benches::CountingAlloc;
/// static ALLOC: CountingAlloc = CountingAlloc::new();
/// let before = ALLOC.snapshot();
/// assert_eq!(ALLOC.snapshot().since(&before).allocations, 0);
/// ```
#[derive(Debug)]
pub struct CountingAlloc {
    counting: AtomicBool,
    live: AtomicI64,
    allocated: AtomicU64,
    allocations: AtomicU64,
    /// Live blocks by requested size; the last slot holds every larger size.
    live_by_size: [AtomicI64; SIZE_CLASSES],
    /// Allocations by requested size, likewise.
    allocations_by_size: [AtomicU64; SIZE_CLASSES],
}

/// Sizes below this many bytes are counted one by one in [`CountingAlloc::live_blocks`]
/// and [`CountingAlloc::allocations_by_size`]; the last class holds every larger size.
pub const SIZE_CLASSES: usize = 4097;

impl Default for CountingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocSnapshot {
    /// Bytes allocated and not yet freed while counting was on.
    pub live: i64,
    /// Bytes allocated, freed or not.
    pub allocated: u64,
    /// Allocations (a `realloc` counts as one).
    pub allocations: u64,
}

impl AllocSnapshot {
    /// What happened between `earlier` and this snapshot.
    ///
    /// ```
    /// use benches::AllocSnapshot;
    /// let a = AllocSnapshot { live: 10, allocated: 10, allocations: 1 };
    /// let b = AllocSnapshot { live: 4, allocated: 30, allocations: 3 };
    /// assert_eq!(b.since(&a), AllocSnapshot { live: -6, allocated: 20, allocations: 2 });
    /// ```
    pub fn since(&self, earlier: &AllocSnapshot) -> AllocSnapshot {
        AllocSnapshot {
            live: self.live - earlier.live,
            allocated: self.allocated - earlier.allocated,
            allocations: self.allocations - earlier.allocations,
        }
    }
}

impl CountingAlloc {
    /// A counter, not counting yet.
    pub const fn new() -> Self {
        Self {
            counting: AtomicBool::new(false),
            live: AtomicI64::new(0),
            allocated: AtomicU64::new(0),
            allocations: AtomicU64::new(0),
            live_by_size: [const { AtomicI64::new(0) }; SIZE_CLASSES],
            allocations_by_size: [const { AtomicU64::new(0) }; SIZE_CLASSES],
        }
    }

    /// Allocations made so far by requested size (index = size in bytes; the last index
    /// counts every larger one): subtract two readings to see what something allocates.
    pub fn allocations_by_size(&self) -> Vec<u64> {
        let mut sizes = vec![0; SIZE_CLASSES];
        self.read_allocations_by_size(&mut sizes);
        sizes
    }

    /// [`allocations_by_size`](Self::allocations_by_size) into `out` (at most
    /// [`SIZE_CLASSES`] long), without allocating.
    pub fn read_allocations_by_size(&self, out: &mut [u64]) {
        for (slot, count) in out.iter_mut().zip(&self.allocations_by_size) {
            *slot = count.load(Relaxed);
        }
    }

    /// Live blocks by requested size (index = size in bytes; the last index counts every
    /// larger block): subtract two readings to see which blocks something keeps alive.
    pub fn live_blocks(&self) -> Vec<i64> {
        self.live_by_size.iter().map(|n| n.load(Relaxed)).collect()
    }

    /// Starts counting.
    pub fn start(&self) {
        self.counting.store(true, Relaxed);
    }

    /// Stops counting; the counters keep their values.
    pub fn stop(&self) {
        self.counting.store(false, Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> AllocSnapshot {
        AllocSnapshot {
            live: self.live.load(Relaxed),
            allocated: self.allocated.load(Relaxed),
            allocations: self.allocations.load(Relaxed),
        }
    }

    fn on_alloc(&self, size: usize) {
        if self.counting.load(Relaxed) {
            self.live.fetch_add(size as i64, Relaxed);
            self.allocated.fetch_add(size as u64, Relaxed);
            self.allocations.fetch_add(1, Relaxed);
            self.live_by_size[size.min(SIZE_CLASSES - 1)].fetch_add(1, Relaxed);
            self.allocations_by_size[size.min(SIZE_CLASSES - 1)].fetch_add(1, Relaxed);
        }
    }

    fn on_dealloc(&self, size: usize) {
        if self.counting.load(Relaxed) {
            self.live.fetch_sub(size as i64, Relaxed);
            self.live_by_size[size.min(SIZE_CLASSES - 1)].fetch_sub(1, Relaxed);
        }
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the wrapper only reads sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we forward.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            self.on_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.on_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        self.on_dealloc(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the rest.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            self.on_dealloc(layout.size());
            self.on_alloc(new_size);
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_while_on() {
        let alloc = CountingAlloc::new();
        let layout = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: a valid non-zero layout; the block is freed with the same layout.
        unsafe {
            let p = alloc.alloc(layout);
            alloc.dealloc(p, layout);
            assert_eq!(alloc.snapshot(), AllocSnapshot::default());

            alloc.start();
            let p = alloc.alloc(layout);
            let p = alloc.realloc(p, layout, 128);
            assert_eq!(
                alloc.snapshot(),
                AllocSnapshot {
                    live: 128,
                    allocated: 192,
                    allocations: 2
                }
            );
            assert_eq!(alloc.live_blocks()[128], 1);
            assert_eq!(alloc.allocations_by_size()[64], 1);
            assert_eq!(alloc.live_blocks()[64], 0);
            alloc.dealloc(p, Layout::from_size_align(128, 8).unwrap());
            alloc.stop();
        }
        assert_eq!(alloc.snapshot().live, 0);
    }
}
