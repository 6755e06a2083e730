//! Building replies: the common head fields and the error, redirect and not-found replies.

use shared::date::DateCache;
use shared::format;
use shared::page;
use shared::StatusCode;
use std::cell::RefCell;
use std::fs::File;
use std::sync::Arc;
use std::time::SystemTime;

/// The `Server` field value.
pub const SERVER_NAME: &str = concat!("server/", env!("CARGO_PKG_VERSION"));

/// What follows the head.
#[derive(Debug)]
pub enum Body {
    /// Nothing (HEAD, 304, or an empty file).
    Empty,
    /// A small in-memory body such as an error page.
    Bytes(Vec<u8>),
    /// `len` bytes from `offset` of a shared in-memory body (cached files, gzip).
    Shared {
        bytes: Arc<[u8]>,
        offset: usize,
        len: usize,
    },
    /// `len` bytes of `file` from `offset`, streamed by the connection.
    File { file: File, offset: u64, len: u64 },
    /// In-memory pieces and ranges of `file`, in order (`multipart/byteranges`).
    Parts { file: File, parts: Vec<Part> },
}

/// One piece of a [`Body::Parts`] body.
#[derive(Debug)]
pub enum Part {
    /// Literal bytes (a part's head, the closing delimiter).
    Bytes(Vec<u8>),
    /// `len` bytes of the file from `offset`.
    Range { offset: u64, len: u64 },
}

/// A response decided by the handler. Its head is in the caller's buffer, not yet ended:
/// the connection adds `Connection` and the blank line.
#[derive(Debug)]
pub struct Reply {
    /// The status sent.
    pub status: StatusCode,
    /// What to send after the head.
    pub body: Body,
    /// The body length announced, for the access log.
    pub body_len: u64,
    /// Whether the connection must close after this reply.
    pub close: bool,
}

thread_local! {
    static DATE: RefCell<DateCache> = RefCell::new(DateCache::new());
}

/// Starts a head: status line, `Date` (formatted once a second per thread) and `Server`.
pub fn head(out: &mut Vec<u8>, status: StatusCode) {
    format::status_line(out, status);
    DATE.with(|d| format::header(out, "Date", d.borrow_mut().get(SystemTime::now())));
    format::header(out, "Server", SERVER_NAME.as_bytes());
}

/// An error reply with the default explanation and any extra fields.
pub fn error(
    out: &mut Vec<u8>,
    status: StatusCode,
    head_only: bool,
    extra: &[(&str, &str)],
) -> Reply {
    with_page(out, status, head_only, page::default_detail(status), extra)
}

/// An error reply with a specific explanation.
pub fn error_detail(out: &mut Vec<u8>, status: StatusCode, head_only: bool, detail: &str) -> Reply {
    with_page(out, status, head_only, detail, &[])
}

/// 404 with the standard page.
pub fn not_found(out: &mut Vec<u8>, head_only: bool) -> Reply {
    error(out, StatusCode::NOT_FOUND, head_only, &[])
}

/// 403 with the standard page.
pub fn forbidden(out: &mut Vec<u8>, head_only: bool) -> Reply {
    error(out, StatusCode::FORBIDDEN, head_only, &[])
}

/// 500 with the standard page.
pub fn internal_error(out: &mut Vec<u8>, head_only: bool) -> Reply {
    error(out, StatusCode::INTERNAL_SERVER_ERROR, head_only, &[])
}

/// 304: status line, `Date` and `Server`; the caller adds the validator fields.
pub fn not_modified(out: &mut Vec<u8>) -> Reply {
    head(out, StatusCode::NOT_MODIFIED);
    Reply {
        status: StatusCode::NOT_MODIFIED,
        body: Body::Empty,
        body_len: 0,
        close: false,
    }
}

/// 301 to `location`, which must be an absolute path the caller built safely.
pub fn redirect(out: &mut Vec<u8>, location: &str, head_only: bool) -> Reply {
    let detail = format!("This folder lives at {location}");
    let mut r = with_page(out, StatusCode::MOVED_PERMANENTLY, head_only, &detail, &[]);
    format::header(out, "Location", location.as_bytes());
    r.close = false;
    r
}

fn with_page(
    out: &mut Vec<u8>,
    status: StatusCode,
    head_only: bool,
    detail: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let page = page::error_page(status, detail).into_bytes();
    let mut r = in_memory(out, status, HTML, page, head_only);
    for (name, value) in extra {
        format::header(out, name, value.as_bytes());
    }
    // Requests we could not parse leave the stream in an unknown state.
    r.close = status == StatusCode::BAD_REQUEST;
    r
}

/// The `Content-Type` of our HTML pages.
pub const HTML: &[u8] = b"text/html; charset=utf-8";

/// A reply whose body is in memory: status line, `Date`, `Server`, `Content-Type` and
/// `Content-Length`; the caller may add fields after it (the head is not ended).
pub fn in_memory(
    out: &mut Vec<u8>,
    status: StatusCode,
    content_type: &[u8],
    body: Vec<u8>,
    head_only: bool,
) -> Reply {
    head(out, status);
    format::header(out, "Content-Type", content_type);
    format::header_u64(out, "Content-Length", body.len() as u64);
    Reply {
        status,
        body_len: body.len() as u64,
        body: if head_only {
            Body::Empty
        } else {
            Body::Bytes(body)
        },
        close: false,
    }
}
