//! Support for the `actors` benchmark (`benches/actors/main.rs`, run with
//! `cargo bench -p benches --features peers`): a counting allocator, a probe that times a
//! loop and counts what it allocates, sample statistics, and the tables the benchmark prints.
//!
//! | module | what it holds |
//! |---|---|
//! | [`alloc`] | [`CountingAlloc`], a `#[global_allocator]` wrapper around `System` |
//! | [`probe`] | [`Probe`]: elapsed time, allocations and scheduling of one measured region |
//! | [`sched`] | [`Sched`]: what the tokio scheduler did, from its metrics |
//! | [`stats`] | means, medians and percentiles of latency samples |
//! | [`table`] | Markdown tables with aligned columns |

pub mod alloc;
pub mod probe;
pub mod sched;
pub mod stats;
pub mod table;

pub use alloc::{AllocSnapshot, CountingAlloc};
pub use probe::{Measured, Probe};
pub use sched::Sched;
pub use stats::Latencies;
pub use table::Table;
