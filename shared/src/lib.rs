//! Sans-I/O HTTP/1.x for both sides: pure functions and types over byte buffers.
//!
//! Nothing here touches a socket, a file or a runtime. The server and the client own
//! their I/O and call into this crate to parse heads, frame bodies, format heads,
//! name statuses, format dates, guess MIME types and sanitise paths.

// Nothing a peer sends may panic the process: no unwrap/expect outside tests.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod chunked;
pub mod conditional;
pub mod date;
pub mod encoding;
pub mod format;
pub mod framing;
pub mod limits;
pub mod listing;
pub mod mime;
pub mod page;
pub mod path;
pub mod range;
pub mod request;
pub mod response;
pub mod status;
pub mod validators;

pub use status::StatusCode;
