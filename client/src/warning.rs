//! What can be wrong with a response that was still shown: each way a body can end
//! early or arrive broken, with the line the user reads. A warning makes the exit code 1.

use shared::wire::body::BodyError;
use std::fmt;

/// How a connection ended a body early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cut {
    /// The server closed it.
    Closed,
    /// The connection was reset (TCP RST).
    Reset,
    /// A TLS connection closed without `close_notify`, so its end cannot be trusted.
    NoCloseNotify,
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cut::Closed => "the connection closed",
            Cut::Reset => "the connection was reset",
            Cut::NoCloseNotify => "the TLS connection was cut without close_notify",
        })
    }
}

/// Something wrong with a response that was still shown: reported, not fatal, exit 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Warning {
    /// The body ended before `Content-Length` bytes arrived.
    Truncated {
        /// The declared length.
        expected: u64,
        /// What arrived.
        received: u64,
        /// How it ended.
        cut: Cut,
    },
    /// The connection ended before the last chunk of a chunked body.
    MissingLastChunk(Cut),
    /// A body delimited by the close of the connection ended by a reset or without
    /// `close_notify`: it may be incomplete (curl exits 56 here).
    CloseCut(Cut),
    /// The chunked body broke the chunked syntax; the rest was dropped.
    BadChunked(BodyError),
    /// Body bytes arrived on a response that cannot have one (HEAD, 1xx, 204, 304).
    UnexpectedBody {
        /// Why no body was allowed, e.g. `a HEAD response` or `a 304 response`.
        why: String,
    },
    /// Bytes arrived after the end of the response (a lying `Content-Length`?).
    TrailingBytes,
    /// The content coding could not be undone; the body shown is incomplete.
    Undecodable {
        /// The coding, e.g. `gzip`.
        coding: String,
        /// What the decoder said.
        error: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Truncated {
                expected,
                received,
                cut,
            } => write!(
                f,
                "body truncated: Content-Length said {expected} bytes but {cut} after {received}"
            ),
            Warning::MissingLastChunk(cut) => {
                write!(f, "body truncated: {cut} before the last chunk")
            }
            Warning::CloseCut(cut) => {
                write!(f, "body may be truncated: {cut} instead of closing cleanly")
            }
            Warning::BadChunked(e) => write!(f, "body cut short: {}", e.describe()),
            Warning::UnexpectedBody { why } => {
                write!(
                    f,
                    "the server sent a body on {why}, which cannot have one; ignored"
                )
            }
            Warning::TrailingBytes => {
                f.write_str("the server sent bytes after the end of the response; ignored")
            }
            Warning::Undecodable { coding, error } => {
                write!(f, "the {coding} body could not be decoded ({error}); what was decoded is shown, --raw keeps the coded bytes")
            }
        }
    }
}
