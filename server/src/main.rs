//! The `server` binary: a stub until the listener lands.
fn main() {}
