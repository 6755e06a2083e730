//! A static-file HTTP/1.1 server: config → listener → connection → handler → writer.
//!
//! The binary is a thin wrapper over [`run`]. `docs/ARCHITECTURE.md` maps the modules.

// Nothing a peer sends may panic the process: no unwrap/expect outside tests.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod access_log;
pub mod config;
pub mod config_file;
pub mod config_print;
mod conn;
mod context;
mod files;
mod h2;
mod health;
mod listener;
mod log_file;
mod log_queue;
mod ops;
mod response;
mod rt;
pub mod rules;
mod shutdown;
mod signals;
mod sockets;
mod spread;
mod state;
mod swap;
mod tls;
mod watchdog;

pub use config::Config;
pub use listener::StartError;

use std::io::Write;

/// Runs the server until SIGINT or SIGTERM, then drains in-flight responses.
pub fn run(config: Config) -> Result<(), StartError> {
    if let Some(path) = &config.access_log {
        log_file::set_path(path).map_err(StartError)?;
    }
    let server = listener::Server::bind(config)?;
    let addrs = server
        .local_addrs()
        .map_err(|e| StartError(format!("cannot read the bound address: {e}")))?;
    // Served addresses first (the first is what tests and scripts read), then redirects.
    let mut served = Vec::new();
    let mut redirects = String::new();
    for (kind, addr) in addrs {
        match kind {
            sockets::Kind::Http => served.push(shown_url("http", addr)),
            sockets::Kind::Tls => served.push(shown_url("https", addr)),
            sockets::Kind::Redirect { .. } => {
                redirects.push_str(&format!(", redirecting {} there", shown_url("http", addr)))
            }
        }
    }
    let shown = served.join(" and ") + &redirects;
    // Signals first: whoever waits for the start-up line may signal at once.
    signals::install(
        server.shutdown_handle(),
        server.state(),
        server.upgrade_handle(),
    )?;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "Serving {} at {shown}", server.root().display());
    let _ = stdout.flush();
    drop(stdout);
    // The listeners are live (the kernel queues connections from listen()): tell
    // systemd, or the process that started this one by an upgrade.
    ops::notify::ready(&format!("Serving at {shown}"));
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
