//! A static-file HTTP/1.1 server: config → listener → connection → handler → writer.
//!
//! The binary is a thin wrapper over [`run`]. `docs/ARCHITECTURE.md` maps the modules.

// Nothing a peer sends may panic the process: no unwrap/expect outside tests.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod access_log;
pub mod config;
mod conn;
mod context;
mod files;
mod listener;
mod log_queue;
mod response;
mod rt;
mod shutdown;
mod signals;
mod state;
mod swap;
mod tls;
mod watchdog;

pub use config::Config;
pub use listener::StartError;

use std::io::Write;

/// Runs the server until SIGINT or SIGTERM, then drains in-flight responses.
pub fn run(config: Config) -> Result<(), StartError> {
    let server = listener::Server::bind(config)?;
    let addr = server
        .local_addr()
        .map_err(|e| StartError(format!("cannot read the bound address: {e}")))?;
    let scheme = if server.is_tls() { "https" } else { "http" };
    let mut shown = shown_url(scheme, addr);
    if let Some(redirect) = server.redirect_addr() {
        shown.push_str(&format!(
            ", redirecting {} there",
            shown_url("http", redirect)
        ));
    }
    // Signals first: whoever waits for the start-up line may signal at once.
    signals::install(server.shutdown_handle(), server.state())?;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "Serving {} at {shown}", server.root().display());
    let _ = stdout.flush();
    drop(stdout);
    let left = rt::block_on(server.run());
    if left > 0 {
        log_queue::error(format_args!(
            "grace period over; {left} connection(s) cut off"
        ));
    }
    access_log::flush();
    Ok(())
}

/// `scheme://ADDR/` as a browser would reach it (127.0.0.1 for an all-interfaces bind).
fn shown_url(scheme: &str, addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!(
            "{scheme}://127.0.0.1:{}/ (listening on all interfaces)",
            addr.port()
        )
    } else {
        format!("{scheme}://{addr}/")
    }
}
