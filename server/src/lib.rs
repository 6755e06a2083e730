//! A static-file HTTP/1.1 server: config → listener → connection → handler → send.
//!
//! The binary is a thin wrapper over [`run`]; tests start a [`Server`] in-process on
//! port 0.

// Nothing a peer sends may panic the process: no unwrap/expect outside tests.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod access_log;
pub mod cache;
pub mod config;
pub mod config_file;
pub mod config_print;
pub mod connection;
pub mod deadline;
pub mod dir_listing;
pub mod file_reply;
pub mod handler;
pub mod listener;
pub mod reply;
pub mod resolve;
pub mod rules;
pub mod send;
pub mod shutdown;
pub mod signals;
pub mod state;
pub mod variants;
pub mod watchdog;

pub use config::Config;
pub use listener::{Server, StartError};

use std::io::Write;

/// Runs the server until SIGINT or SIGTERM, then drains in-flight responses.
pub fn run(config: Config) -> Result<(), StartError> {
    let server = Server::bind(config)?;
    let addr = server
        .local_addr()
        .map_err(|e| StartError(format!("cannot read the bound address: {e}")))?;
    let shown = if addr.ip().is_unspecified() {
        format!(
            "http://127.0.0.1:{}/ (listening on all interfaces)",
            addr.port()
        )
    } else {
        format!("http://{addr}/")
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "Serving {} at {shown}", server.root().display());
    let _ = stdout.flush();
    drop(stdout);
    signals::install(server.shutdown_handle())?;
    let left = async_std::task::block_on(server.run());
    access_log::flush();
    if left > 0 {
        eprintln!("server: grace period over; {left} connection(s) cut off");
    }
    Ok(())
}
