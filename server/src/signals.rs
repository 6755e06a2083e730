//! Signals: SIGINT/SIGTERM start a graceful shutdown and a second one exits at once;
//! SIGHUP reloads what can change without a restart; SIGUSR1 reopens the access log
//! file; SIGUSR2 starts a binary upgrade. None of them ever kills the server.

use crate::listener::{StartError, UpgradeHandle};
use crate::log_queue::error;
use crate::shutdown::Shutdown;
use crate::state::State;
use futures_lite::StreamExt;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook_async_std::Signals;
use std::sync::Arc;

/// Exit status when a second signal cuts the grace period short (128 + SIGINT, as shells do).
const FORCED_EXIT: i32 = 130;

/// Starts a task that turns signals into a shutdown, a reload of `state`, a log reopen
/// or an upgrade.
pub(crate) fn install(
    shutdown: Shutdown,
    state: Arc<State>,
    upgrade: UpgradeHandle,
) -> Result<(), StartError> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2])
        .map_err(|e| StartError(format!("cannot install signal handlers: {e}")))?;
    crate::rt::spawn(async move {
        let mut stopping = false;
        while let Some(signal) = signals.next().await {
            if signal == SIGHUP {
                error(format_args!("SIGHUP: {}", state.reload()));
            } else if signal == SIGUSR1 {
                if !crate::log_file::request_reopen() {
                    // The access log goes to stdout, which has nothing to reopen.
                    error(format_args!(
                        "SIGUSR1: the access log is stdout; no log file to reopen"
                    ));
                }
            } else if signal == SIGUSR2 {
                upgrade.request();
            } else if !stopping {
                stopping = true;
                crate::ops::notify::stopping();
                error(format_args!(
                    "shutting down; finishing responses in flight (signal again to stop now)"
                ));
                shutdown.fire();
            } else {
                error(format_args!("stopped at once by a second signal"));
                crate::access_log::flush();
                std::process::exit(FORCED_EXIT);
            }
        }
    });
    Ok(())
}
