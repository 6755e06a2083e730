//! Helpers for the end-to-end tests: locate and start the real binaries, make temporary
//! sites, speak raw HTTP over sockets, and find outside programs (or skip without them).

pub mod bin;
pub mod certs;
pub mod client;
pub mod raw;
pub mod server;
pub mod tls;
pub mod tools;
