//! Helpers for the end-to-end tests (the `e2e` binary in `e2e/`): the harness that
//! registers them, locating and starting the real binaries, temporary sites, raw HTTP
//! over sockets, and the outside programs a test needs.

pub mod bin;
pub mod certs;
pub mod client;
pub mod client_tls;
pub mod harness;
pub mod load;
pub mod ops;
pub mod raw;
pub mod server;
pub mod tls;
pub mod tools;
