//! The client's one error type: a lowercase message that says what to do next, and the
//! exit code it maps to.

use std::fmt;
use std::process::ExitCode;

/// What kind of failure ended a request, for the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The server did not answer within `--timeout` (exit code 2).
    Timeout,
    /// A redirect loop, or more redirects than `--max-redirects` (exit code 6).
    Redirects,
    /// The TLS handshake failed: untrusted, expired or wrong-name certificate, or one side
    /// does not speak TLS (exit code 7).
    Tls,
    /// Ctrl-C during a request in the REPL: the request was abandoned (exit code 130).
    Interrupted,
    /// Anything else: refused connection, garbage reply, unwritable file (exit code 1).
    Other,
    /// Whoever read our stdout stopped (`client ... | head`): exit 1 without a message,
    /// as command-line tools do.
    OutputClosed,
}

/// A failure with the single line the user sees after `client: error: `.
#[derive(Debug)]
pub(crate) struct Error {
    /// Which exit code this failure gives.
    pub kind: Kind,
    /// The message, lowercase, quoting the bad value and naming the next step.
    pub message: String,
}

impl Error {
    /// A failure of `kind`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A failure that is none of the special kinds.
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(Kind::Other, message)
    }

    /// A timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(Kind::Timeout, message)
    }

    /// The process exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// The exit code as a number.
    pub fn code(&self) -> u8 {
        match self.kind {
            Kind::Timeout => exit::TIMEOUT,
            Kind::Redirects => exit::REDIRECTS,
            Kind::Tls => exit::TLS,
            Kind::Interrupted => exit::INTERRUPTED,
            Kind::Other | Kind::OutputClosed => exit::FAILURE,
        }
    }

    /// Wraps this error in an `io::Error`, so it can cross a `Read` (a body reader under
    /// a decompressor) and be recovered with [`Error::from_io`].
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }

    /// Recovers an error wrapped by [`Error::into_io`]; any other `io::Error` becomes
    /// `None` and stays with the caller.
    pub fn from_io(e: std::io::Error) -> Result<Error, std::io::Error> {
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            if let Some(inner) = e.into_inner() {
                if let Ok(ours) = inner.downcast::<Error>() {
                    return Ok(*ours);
                }
            }
            return Err(std::io::Error::other("lost error"));
        }
        Err(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Exit codes, as documented in `--help` and the README.
pub(crate) mod exit {
    /// A 1xx-3xx response, or the REPL ended normally.
    pub const OK: u8 = 0;
    /// Any failure not listed below, including a truncated, reset or malformed body.
    pub const FAILURE: u8 = 1;
    /// The server did not answer within `--timeout`.
    pub const TIMEOUT: u8 = 2;
    /// A 4xx response.
    pub const CLIENT_ERROR: u8 = 4;
    /// A 5xx response.
    pub const SERVER_ERROR: u8 = 5;
    /// A redirect loop, or more than `--max-redirects` redirects (HTTPie's code).
    pub const REDIRECTS: u8 = 6;
    /// The TLS connection could not be set up (certificate or protocol mismatch).
    pub const TLS: u8 = 7;
    /// A request interrupted with Ctrl-C (128 + SIGINT, as shells report it).
    pub const INTERRUPTED: u8 = 130;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_survive_a_trip_through_io_error() {
        let back = Error::from_io(Error::timeout("slow").into_io()).unwrap();
        assert_eq!((back.kind, back.message.as_str()), (Kind::Timeout, "slow"));
        let plain = std::io::Error::new(std::io::ErrorKind::InvalidData, "bad gzip");
        assert_eq!(
            Error::from_io(plain).unwrap_err().kind(),
            std::io::ErrorKind::InvalidData
        );
    }
}
