//! What every connection shares: the configuration, the open root, the caches, the
//! watchdog, and the parts a reload (SIGHUP) replaces.

use crate::config::Config;
use crate::files::cache::Caches;
use crate::files::root::Root;
use crate::swap::Swap;
use crate::watchdog::Watchdog;
use std::sync::Arc;
use std::time::Duration;

/// Shared server state.
#[derive(Debug)]
pub(crate) struct State {
    /// The flags the server started with.
    pub config: Config,
    /// The served folder.
    pub root: Root,
    /// Every cache (small files, gzip results).
    pub caches: Caches,
    /// Every connection's deadline, enforced by one sweeper.
    pub watchdog: Watchdog,
    /// Site-wide settings a reload may replace; read once per request.
    pub site: Swap<Site>,
    /// The TLS set-up, when the server speaks HTTPS (`--tls-cert`).
    pub tls: Option<crate::tls::Live>,
}

/// Site-wide response settings. The site rules and the TLS certificates join this (or
/// a sibling [`Swap`]) so that [`State::reload`] can replace them together.
#[derive(Debug)]
pub(crate) struct Site {
    /// The `Cache-Control` sent with files.
    pub cache_control: Arc<str>,
}

impl Site {
    /// The settings `config` asks for.
    pub(crate) fn from_config(config: &Config) -> Site {
        Site {
            cache_control: config.cache_control.as_str().into(),
        }
    }
}

impl State {
    /// The state for `config`, serving `root`.
    pub(crate) fn new(config: Config, root: Root) -> State {
        State {
            site: Swap::new(Site::from_config(&config)),
            config,
            root,
            caches: Caches::default(),
            watchdog: Watchdog::new(),
            tls: None,
        }
    }

    /// Re-reads what can change without a restart (SIGHUP): the TLS certificate and key.
    /// The flags are fixed for the process's life. Returns a line for the log.
    pub(crate) fn reload(&self) -> String {
        self.site.store(Site::from_config(&self.config));
        match &self.tls {
            Some(tls) => tls.reload(),
            None => {
                "reload: nothing to re-read (no config file or certificates in use)".to_string()
            }
        }
    }

    /// Absolute deadline for a request head, from its first byte.
    pub(crate) fn head_timeout(&self) -> Duration {
        Duration::from_secs(self.config.head_timeout)
    }

    /// Idle keep-alive timeout.
    pub(crate) fn keep_alive_timeout(&self) -> Duration {
        Duration::from_secs(self.config.keep_alive_timeout)
    }

    /// Longest a write may make no progress.
    pub(crate) fn send_timeout(&self) -> Duration {
        Duration::from_secs(self.config.send_timeout)
    }
}
