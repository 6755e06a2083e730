//! SIGINT/SIGTERM: the first starts a graceful shutdown, a second exits at once.
//! SIGUSR1 reopens the access log file; SIGUSR2 starts a binary upgrade.

use crate::listener::{StartError, UpgradeHandle};
use crate::shutdown::Shutdown;
use futures_lite::StreamExt;
use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook_async_std::Signals;

/// Exit status when a second signal cuts the grace period short (128 + SIGINT, as shells do).
const FORCED_EXIT: i32 = 130;

/// Starts a task that turns signals into a shutdown.
pub fn install(shutdown: Shutdown, upgrade: UpgradeHandle) -> Result<(), StartError> {
    let mut signals = Signals::new([SIGINT, SIGTERM])
        .map_err(|e| StartError(format!("cannot install signal handlers: {e}")))?;
    let mut operations = Signals::new([SIGUSR1, SIGUSR2])
        .map_err(|e| StartError(format!("cannot install signal handlers: {e}")))?;
    async_std::task::spawn(async move {
        while let Some(signal) = operations.next().await {
            if signal == SIGUSR1 {
                crate::log_file::request_reopen();
            } else {
                upgrade.request();
            }
        }
    });
    async_std::task::spawn(async move {
        if signals.next().await.is_some() {
            eprintln!(
                "server: shutting down; finishing responses in flight (signal again to stop now)"
            );
            crate::notify::stopping();
            shutdown.fire();
        }
        if signals.next().await.is_some() {
            eprintln!("server: stopped at once by a second signal");
            std::process::exit(FORCED_EXIT);
        }
    });
    Ok(())
}
