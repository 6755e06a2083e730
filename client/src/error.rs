//! The client's one error type: a lowercase message that says what to do next, and the
//! exit code it maps to.

use std::fmt;
use std::process::ExitCode;

/// What kind of failure ended a request, for the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The server did not answer within `--timeout` (exit code 2).
    Timeout,
    /// Anything else: refused connection, garbage reply, unwritable file (exit code 1).
    Other,
    /// Whoever read our stdout stopped (`client ... | head`): exit 1 without a message,
    /// as command-line tools do.
    OutputClosed,
}

/// A failure with the single line the user sees after `client: error: `.
#[derive(Debug)]
pub struct Error {
    /// Which exit code this failure gives.
    pub kind: Kind,
    /// The message, lowercase, quoting the bad value and naming the next step.
    pub message: String,
}

impl Error {
    /// A failure that is not a timeout.
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Other,
            message: message.into(),
        }
    }

    /// A timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Timeout,
            message: message.into(),
        }
    }

    /// The process exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self.kind {
            Kind::Timeout => ExitCode::from(exit::TIMEOUT),
            Kind::Other | Kind::OutputClosed => ExitCode::from(exit::FAILURE),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Exit codes, as documented in `--help`.
pub mod exit {
    /// A 1xx-3xx response, or the REPL ended normally.
    pub const OK: u8 = 0;
    /// Any failure other than a timeout, including a truncated or malformed body.
    pub const FAILURE: u8 = 1;
    /// The server did not answer within `--timeout`.
    pub const TIMEOUT: u8 = 2;
    /// A 4xx response.
    pub const CLIENT_ERROR: u8 = 4;
    /// A 5xx response.
    pub const SERVER_ERROR: u8 = 5;

    /// The exit code for a complete response with this status.
    pub fn for_status(status: u16) -> u8 {
        match status {
            400..=499 => CLIENT_ERROR,
            // 600-999 are not defined: RFC 9110 section 15 says treat them as 5xx.
            500.. => SERVER_ERROR,
            _ => OK,
        }
    }
}
