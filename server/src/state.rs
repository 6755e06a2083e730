//! What every connection shares: the configuration, the open root, the caches, the
//! watchdog, and the parts a reload (SIGHUP) replaces.

use crate::config::Config;
use crate::files::cache::Caches;
use crate::files::root::Root;
use crate::listener::StartError;
use crate::rules::{RuleError, Rules};
use crate::swap::Swap;
use crate::watchdog::Watchdog;
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
    /// The site rules (`--config` file tables, fallback, security headers).
    pub rules: Rules,
}

impl Site {
    /// The settings `config` asks for; `previous` hands over what must survive a reload.
    pub(crate) fn from_config(config: &Config, previous: Option<&Site>) -> Result<Site, RuleError> {
        Ok(Site {
            rules: Rules::build(config, previous.map(|p| &p.rules))?,
        })
    }
}

impl State {
    /// The state for `config`, serving `root`.
    pub(crate) fn new(config: Config, root: Root) -> Result<State, StartError> {
        let site = Site::from_config(&config, None).map_err(|e| StartError(e.to_string()))?;
        Ok(State {
            site: Swap::new(site),
            config,
            root,
            caches: Caches::default(),
            watchdog: Watchdog::new(),
            tls: None,
        })
    }

    /// Re-reads what can change without a restart (SIGHUP): the `--config` file's site
    /// rules and site settings, and the TLS certificate and key. A file that fails to
    /// load is reported and the old rules kept; requests in flight keep the snapshot
    /// they took. Returns a line for the log.
    pub(crate) fn reload(&self) -> String {
        let mut parts = Vec::new();
        if let Some(file) = &self.config.config {
            parts.push(self.reload_rules(file));
        }
        if let Some(tls) = &self.tls {
            parts.push(tls.reload());
        }
        if parts.is_empty() {
            return "reload: nothing to re-read (no config file or certificates in use)".into();
        }
        parts.join("; ")
    }

    /// The site rules part of [`State::reload`].
    fn reload_rules(&self, file: &std::path::Path) -> String {
        let (config, fixed) = match crate::config_file::reread(&self.config) {
            Ok(reread) => reread,
            Err(e) => return format!("reload failed, keeping the old rules: {e}"),
        };
        let old = self.site.load();
        match Site::from_config(&config, Some(&old)) {
            Ok(site) => self.site.store(site),
            Err(e) => return format!("reload failed, keeping the old rules: {e}"),
        }
        let mut line = format!("reloaded {}", file.display());
        if !fixed.is_empty() {
            line.push_str(&format!(
                "; {} changed but need a restart (kept as they were)",
                fixed.join(", ")
            ));
        }
        line
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
