//! Sans-I/O HTTP for both sides: pure functions and types over byte buffers.
//!
//! Nothing here touches a socket, a file, a clock or a runtime. The crate has two halves,
//! and the split is the point:
//!
//! - [`wire`]: the HTTP/1 wire library the server and the client both stand on: the
//!   message layer (version, fields, keep-alive, framing), the one body decoder, request
//!   and response heads, head formatting, statuses, dates and the peer limits.
//! - [`site`]: the server's pure site logic over those messages: path sanitising,
//!   preconditions, validators, ranges, content negotiation, listings, MIME types and
//!   error pages. The client uses only its extension-to-media-type table
//!   ([`site::mime`]), for the `Content-Type` of a file it uploads.
//!
//! `wire` never imports `site` (a unit test below holds that line). They stay one crate
//! rather than two because `site` is built on `wire`'s types (fields, dates, statuses),
//! the fuzz targets and benches cover both through one dependency, and a crate boundary
//! would add a member and lock-file churn for no caller that wants one half alone.

// Nothing a peer sends may panic the process: no unwrap/expect outside tests.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

/// Implements `Display` (the `describe` text) and `std::error::Error` for a small error
/// enum, so every error prints one way and works with `?`.
macro_rules! error_display {
    ($t:ty) => {
        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.describe())
            }
        }
        impl ::std::error::Error for $t {}
    };
}

pub mod site;
pub mod wire;

pub use wire::status::StatusCode;

#[cfg(test)]
mod tests {
    /// The wire half must not depend on the server's site logic: the client links it.
    #[test]
    fn wire_never_imports_site() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/wire");
        let mut stack = vec![std::path::PathBuf::from(dir)];
        let mut files = 0;
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            } else if p.extension().is_some_and(|e| e == "rs") {
                files += 1;
                let text = std::fs::read_to_string(&p).unwrap();
                assert!(
                    !text.contains("crate::site") && !text.contains("shared::site"),
                    "{} imports the site half",
                    p.display()
                );
            }
        }
        assert!(files >= 8, "found only {files} wire sources");
    }
}
