//! What every connection shares: the configuration and the open root.

use crate::cache::FileCache;
use crate::config::Config;
use crate::resolve::Root;
use crate::variants::GzipCache;
use crate::watchdog::Watchdog;
use std::time::Duration;

/// Shared, read-only server state.
#[derive(Debug)]
pub struct State {
    /// The flags the server started with.
    pub config: Config,
    /// The served folder.
    pub root: Root,
    /// Small, settled files, validated on every use.
    pub cache: FileCache,
    /// Every connection's deadline, enforced by one sweeper.
    pub watchdog: Watchdog,
    /// On-the-fly gzip results (`--compress`), one per file version.
    pub gzip_cache: GzipCache,
}

impl State {
    /// Absolute deadline for a request head, from its first byte.
    pub fn head_timeout(&self) -> Duration {
        Duration::from_secs(self.config.head_timeout)
    }

    /// Idle keep-alive timeout.
    pub fn keep_alive_timeout(&self) -> Duration {
        Duration::from_secs(self.config.keep_alive_timeout)
    }

    /// Longest a write may make no progress.
    pub fn send_timeout(&self) -> Duration {
        Duration::from_secs(self.config.send_timeout)
    }
}
