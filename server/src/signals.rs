//! SIGINT/SIGTERM: the first starts a graceful shutdown, a second exits at once.

use crate::listener::StartError;
use crate::shutdown::Shutdown;
use futures_lite::StreamExt;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_async_std::Signals;

/// Exit status when a second signal cuts the grace period short (128 + SIGINT, as shells do).
const FORCED_EXIT: i32 = 130;

/// Starts a task that turns signals into a shutdown.
pub fn install(shutdown: Shutdown) -> Result<(), StartError> {
    let mut signals = Signals::new([SIGINT, SIGTERM])
        .map_err(|e| StartError(format!("cannot install signal handlers: {e}")))?;
    async_std::task::spawn(async move {
        if signals.next().await.is_some() {
            eprintln!(
                "server: shutting down; finishing responses in flight (signal again to stop now)"
            );
            shutdown.fire();
        }
        if signals.next().await.is_some() {
            eprintln!("server: stopped at once by a second signal");
            std::process::exit(FORCED_EXIT);
        }
    });
    Ok(())
}
