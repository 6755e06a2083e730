//! Helpers for the end-to-end tests: start the real binaries on port 0 with a temporary root.
pub mod client;
