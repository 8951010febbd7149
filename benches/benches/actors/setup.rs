//! Runtimes, registries and actors the sections share.

use std::fmt;
use std::path::Path;

use actor::driver::sqlite::{SqliteOptions, Sync};
use actor::prelude::*;
use registry::{Registry, RegistryBuilder};
use tokio::task::JoinSet;

use crate::BenchResult;

/// A fresh multi-thread runtime with one worker per core, as `#[tokio::main]` makes.
pub fn runtime() -> BenchResult<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// A fresh current-thread runtime: every task on the calling thread.
pub fn current_thread() -> BenchResult<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Where a registry keeps its actors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// `Registry::builder().memory()`.
    Memory,
    /// `Registry::builder().sqlite_with(dir, SqliteOptions { sync, .. })`.
    Sqlite(Sync),
}

impl fmt::Display for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory"),
            Self::Sqlite(Sync::Full) => f.write_str("SQLite, Sync::Full"),
            Self::Sqlite(Sync::Normal) => f.write_str("SQLite, Sync::Normal"),
        }
    }
}

impl Storage {
    /// A registry on this storage; SQLite files go in `dir`.
    pub async fn registry(self, dir: &Path) -> BenchResult<Registry> {
        Ok(self.builder(dir).build().await?)
    }

    /// A registry builder on this storage, to set more options before building.
    pub fn builder(self, dir: &Path) -> RegistryBuilder {
        let builder = Registry::builder();
        match self {
            Self::Memory => builder.memory(),
            Self::Sqlite(sync) => builder.sqlite_with(
                dir,
                SqliteOptions {
                    sync,
                    ..SqliteOptions::default()
                },
            ),
        }
    }
}

/// Creates `count` actors of kind `A` under keys `prefix-0`, `prefix-1`, … with up to
/// 256 creations in flight (so SQLite group-commits them), in key order.
pub async fn create_many<A>(
    client: &Client,
    prefix: &str,
    count: usize,
) -> BenchResult<Vec<A::Handle>>
where
    A: Actor,
    A::Input: Default,
    A::Handle: Send + 'static,
{
    let mut handles = Vec::with_capacity(count);
    let mut set = JoinSet::new();
    for start in (0..count).step_by(256) {
        for i in start..(start + 256).min(count) {
            let (client, key) = (client.clone(), format!("{prefix}-{i}"));
            set.spawn(async move { (i, A::get_or_create(&client, [key.as_str()]).await) });
        }
        let mut chunk = Vec::with_capacity(256);
        while let Some(joined) = set.join_next().await {
            let (i, handle) = joined?;
            chunk.push((i, handle?));
        }
        chunk.sort_unstable_by_key(|(i, _)| *i);
        handles.extend(chunk.into_iter().map(|(_, h)| h));
    }
    Ok(handles)
}
