//! Response heads: parse a buffer into a borrowed [`Response`] on top of
//! [`crate::wire::message`] and decide how its body is delimited (RFC 9112 section 6.3),
//! for the client side.

use crate::wire::limits::{MAX_RESPONSE_HEAD, MAX_RESPONSE_HEADERS};
use crate::wire::message::{self, BodyFraming, FramingError, Role};
use crate::StatusCode;

pub use crate::wire::message::{Header, Status, Version, EMPTY_HEADER};

/// An array of empty fields sized for [`parse_response`].
pub const EMPTY_RESPONSE_HEADERS: [Header<'static>; MAX_RESPONSE_HEADERS] =
    [EMPTY_HEADER; MAX_RESPONSE_HEADERS];

/// Why a response head or its framing was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseError {
    /// The status line or a field line is not valid HTTP/1.x syntax.
    Malformed,
    /// The status line starts like `HTTP/x.y` but names a version other than 1.0 or 1.1.
    Version,
    /// The status code is below 100 (RFC 9110 section 15: three digits, 1xx-5xx defined;
    /// 600-999 are accepted and treated as server errors by callers).
    BadStatus,
    /// A field value holds NUL, a bare CR or another control byte.
    InvalidFieldValue,
    /// The head is larger than [`MAX_RESPONSE_HEAD`].
    HeadTooLarge,
    /// The head has more than [`MAX_RESPONSE_HEADERS`] fields.
    TooManyFields,
    /// `Content-Length` is not a number, overflows, or its values disagree.
    BadContentLength,
    /// `Transfer-Encoding` on an HTTP/1.0 response, whose framing is then unknowable.
    BadTransferEncoding,
}

impl ResponseError {
    /// A short lowercase description for error lines.
    pub fn describe(self) -> &'static str {
        match self {
            ResponseError::Malformed => "malformed response head",
            ResponseError::Version => "HTTP version other than 1.0 or 1.1",
            ResponseError::BadStatus => "status code below 100",
            ResponseError::InvalidFieldValue => "control byte in a field value",
            ResponseError::HeadTooLarge => "response head too large",
            ResponseError::TooManyFields => "too many header fields",
            ResponseError::BadContentLength => "invalid or conflicting Content-Length",
            ResponseError::BadTransferEncoding => "Transfer-Encoding on an HTTP/1.0 response",
        }
    }
}

error_display!(ResponseError);

impl From<FramingError> for ResponseError {
    fn from(e: FramingError) -> Self {
        match e {
            FramingError::BadContentLength => ResponseError::BadContentLength,
            // A response is never refused for these two (TE wins, an unknown last
            // coding reads until close); HTTP/1.0 with TE is the one that remains.
            FramingError::LengthAndTransferEncoding
            | FramingError::BadTransferEncoding
            | FramingError::UnknownTransferEncoding => ResponseError::BadTransferEncoding,
        }
    }
}

/// A parsed response head, borrowing from the caller's buffer.
#[derive(Debug)]
pub struct Response<'b, 'h> {
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The three-digit status code, 100-999 (600-999 are undefined; callers treat them
    /// as server errors).
    pub status: StatusCode,
    /// The reason phrase as sent; empty when the server sent none.
    pub reason: &'b str,
    /// The fields in the order and case received.
    pub headers: &'h [Header<'b>],
    /// Length of the head in bytes, including the blank line.
    pub head_len: usize,
}

impl<'b> Response<'b, '_> {
    /// The value of the first field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        message::field(self.headers, name)
    }

    /// How the body of this response to a `method` request is delimited.
    pub fn framing(&self, method: &str) -> Result<BodyFraming, ResponseError> {
        response_framing(method, self.status, self.version, self.headers)
    }

    /// Whether the connection may carry another request after this response
    /// (RFC 9112 section 9.3). A response with both `Transfer-Encoding` and
    /// `Content-Length` is read as chunked but the connection is not trusted again
    /// (RFC 9112 section 6.3, item 3).
    pub fn keep_alive(&self) -> bool {
        let ambiguous = message::has_field(self.headers, "transfer-encoding")
            && message::has_field(self.headers, "content-length");
        !ambiguous && message::keep_alive(self.headers, self.version)
    }
}

/// Parses a response head from the start of `buf` into `headers`.
///
/// Returns `Status::Partial` while the head is incomplete and still within [`MAX_RESPONSE_HEAD`];
/// a status line without a reason phrase (`HTTP/1.1 200\r\n`) is accepted.
pub fn parse_response<'b, 'h>(
    buf: &'b [u8],
    headers: &'h mut [Header<'b>],
) -> Result<Status<Response<'b, 'h>>, ResponseError> {
    let mut res = httparse::Response::new(headers);
    // RFC 9112 section 5.2: a user agent MUST accept obs-fold in responses (and replace
    // it with spaces when interpreting); whitespace before a colon is tolerated, as
    // curl and browsers do.
    let mut config = httparse::ParserConfig::default();
    config
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_spaces_after_header_name_in_responses(true);
    let head_len = match config.parse_response(&mut res, buf) {
        Ok(Status::Complete(n)) => n,
        Ok(Status::Partial) if buf.len() >= MAX_RESPONSE_HEAD => {
            return Err(ResponseError::HeadTooLarge)
        }
        Ok(Status::Partial) => return Ok(Status::Partial),
        Err(httparse::Error::TooManyHeaders) => return Err(ResponseError::TooManyFields),
        Err(httparse::Error::HeaderValue) => return Err(ResponseError::InvalidFieldValue),
        Err(httparse::Error::Version) => return Err(version_error(buf)),
        Err(_) => return Err(ResponseError::Malformed),
    };
    if head_len > MAX_RESPONSE_HEAD {
        return Err(ResponseError::HeadTooLarge);
    }
    let (Some(minor), Some(code)) = (res.version, res.code) else {
        return Err(ResponseError::Malformed);
    };
    if code < 100 {
        return Err(ResponseError::BadStatus);
    }
    let version = Version::from_minor(minor);
    let headers: &'h [Header<'b>] = res.headers;
    if headers.iter().any(|h| !valid_value(h.value)) {
        return Err(ResponseError::InvalidFieldValue);
    }
    Ok(Status::Complete(Response {
        version,
        status: StatusCode(code),
        reason: res.reason.unwrap_or(""),
        headers,
        head_len,
    }))
}

/// A field value without control bytes, except the CRLF of an obs-fold (followed by a
/// space or tab), which httparse leaves inside the value.
fn valid_value(value: &[u8]) -> bool {
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'\r'
                if value.get(i + 1) == Some(&b'\n')
                    && matches!(value.get(i + 2), Some(b' ' | b'\t')) =>
            {
                i += 2
            }
            b'\n' if matches!(value.get(i + 1), Some(b' ' | b'\t')) => i += 1,
            b'\t' => i += 1,
            b if b < 0x20 || b == 0x7f => return false,
            _ => i += 1,
        }
    }
    true
}

/// `HTTP/x.y` with other digits is a version we do not speak; anything else is not HTTP.
fn version_error(buf: &[u8]) -> ResponseError {
    match buf {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor, ..]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            ResponseError::Version
        }
        _ => ResponseError::Malformed,
    }
}

/// Decides how the body of a response to a `method` request is delimited, following the
/// order of RFC 9112 section 6.3:
///
/// 1. a response to HEAD, and any 1xx, 204 or 304, has no body whatever its fields say;
/// 2. otherwise the fields decide, by [`message::framing`]: `Transfer-Encoding` with
///    plain `chunked` last is chunked (even beside `Content-Length`), with another coding
///    last the body runs until close, on HTTP/1.0 it is an error; a valid
///    `Content-Length` gives the length, an invalid or conflicting one is an error (the
///    client must close the connection and discard the response); with neither, the
///    body runs until the server closes the connection.
pub fn response_framing(
    method: &str,
    status: StatusCode,
    version: Version,
    headers: &[Header<'_>],
) -> Result<BodyFraming, ResponseError> {
    if method.eq_ignore_ascii_case("HEAD") || status.forbids_body() {
        return Ok(BodyFraming::Length(0));
    }
    Ok(message::framing(headers, version, Role::Response)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use BodyFraming::*;
    use ResponseError::*;

    /// Parses `buf` and frames it for `method`: (status, reason, framing, keep-alive).
    fn run(
        method: &str,
        buf: &[u8],
    ) -> Result<Option<(u16, String, BodyFraming, bool)>, ResponseError> {
        let mut headers = EMPTY_RESPONSE_HEADERS;
        match parse_response(buf, &mut headers)? {
            Status::Partial => Ok(None),
            Status::Complete(r) => {
                let framing = r.framing(method)?;
                Ok(Some((
                    r.status.0,
                    r.reason.to_string(),
                    framing,
                    r.keep_alive(),
                )))
            }
        }
    }

    #[test]
    fn table() {
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_RESPONSE_HEADERS + 1)
        );
        let huge = format!(
            "HTTP/1.1 200 OK\r\nA: {}\r\n\r\n",
            "b".repeat(MAX_RESPONSE_HEAD)
        );
        let endless = format!(
            "HTTP/1.1 200 OK\r\n{}",
            "A: b\r\n".repeat(MAX_RESPONSE_HEAD / 6 + 1)
        );
        type Case<'a> = (
            &'a str,
            &'a [u8],
            Result<Option<(u16, &'a str, BodyFraming, bool)>, ResponseError>,
        );
        let cases: Vec<Case<'_>> =
            vec![
            // Ordinary replies.
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                Ok(Some((200, "OK", Length(5), true))),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                Ok(Some((200, "OK", Chunked, true))),
            ),
            (
                "GET",
                b"HTTP/1.0 200 OK\r\n\r\nbody",
                Ok(Some((200, "OK", UntilClose, false))),
            ),
            (
                "GET",
                b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
                Ok(Some((200, "OK", Length(0), true))),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
                Ok(Some((200, "OK", Length(1), false))),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\n\r\n",
                Ok(Some((200, "OK", UntilClose, true))),
            ),
            // No reason phrase, odd reasons.
            (
                "GET",
                b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
                Ok(Some((200, "", Length(0), true))),
            ),
            (
                "GET",
                b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
                Ok(Some((200, "", Length(0), true))),
            ),
            (
                "GET",
                b"HTTP/1.1 599 Whatever It Says\r\nContent-Length: 0\r\n\r\n",
                Ok(Some((599, "Whatever It Says", Length(0), true))),
            ),
            // Bodiless by method or status, whatever the fields say.
            (
                "HEAD",
                b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n",
                Ok(Some((200, "OK", Length(0), true))),
            ),
            (
                "HEAD",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                Ok(Some((200, "OK", Length(0), true))),
            ),
            (
                "GET",
                b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n",
                Ok(Some((204, "No Content", Length(0), true))),
            ),
            (
                "GET",
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
                Ok(Some((304, "Not Modified", Length(0), true))),
            ),
            (
                "GET",
                b"HTTP/1.1 100 Continue\r\n\r\n",
                Ok(Some((100, "Continue", Length(0), true))),
            ),
            // Transfer-Encoding.
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                Ok(Some((200, "OK", Chunked, true))),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: CHUNKED\r\n\r\n",
                Ok(Some((200, "OK", Chunked, true))),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                Ok(Some((200, "OK", UntilClose, true))),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                Ok(Some((200, "OK", Chunked, false))),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n",
                Ok(Some((200, "OK", UntilClose, true))),
            ),
            (
                "GET",
                b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                Err(BadTransferEncoding),
            ),
            // A coding with parameters is not chunked: read until close, never reuse.
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
                Ok(Some((200, "OK", UntilClose, true))),
            ),
            // Content-Length, hostile.
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
                Ok(Some((200, "OK", Length(5), true))),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                Ok(Some((200, "OK", Length(5), true))),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n",
                Ok(Some((200, "OK", Length(u64::MAX), true))),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
                Err(BadContentLength),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                Err(BadContentLength),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                Err(BadContentLength),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
                Err(BadContentLength),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
                Err(BadContentLength),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
                Err(BadContentLength),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
                Err(BadContentLength),
            ),
            // Incomplete heads are a state, not an error.
            ("GET", b"", Ok(None)),
            ("GET", b"HTTP/1.1 20", Ok(None)),
            ("GET", b"HTTP/1.1 200 OK\r\nContent-Le", Ok(None)),
            ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", Ok(None)),
            // Garbage and wrong versions.
            ("GET", b"hello world\r\n\r\n", Err(Malformed)),
            ("GET", b"<html>oops</html>", Err(Malformed)),
            ("GET", b"\x00\x01\x02\x03", Err(Malformed)),
            ("GET", b"HTTP/2.0 200 OK\r\n\r\n", Err(Version)),
            ("GET", b"HTTP/1.1 2000 OK\r\n\r\n", Err(Malformed)),
            ("GET", b"HTTP/1.1 20x OK\r\n\r\n", Err(Malformed)),
            ("GET", b"HTTP/1.1 099 Low\r\n\r\n", Err(BadStatus)),
            ("GET", b"HTTP/1.1 600 High\r\n\r\n", Ok(Some((600, "High", UntilClose, true)))),
            // obs-fold and space before the colon are accepted from servers (RFC 9112 5.2).
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length : 2\r\n\r\nok",
                Ok(Some((200, "OK", Length(2), true))),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
                Err(Malformed),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nA: b\x00c\r\n\r\n",
                Err(InvalidFieldValue),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n",
                Err(InvalidFieldValue),
            ),
            (
                "GET",
                b"HTTP/1.1 200 OK\r\nA: b\x1bc\r\n\r\n",
                Err(InvalidFieldValue),
            ),
            // Oversized heads.
            ("GET", many.as_bytes(), Err(TooManyFields)),
            ("GET", huge.as_bytes(), Err(HeadTooLarge)),
            ("GET", endless.as_bytes(), Err(TooManyFields)),
        ];
        for (method, input, want) in cases {
            let got = run(method, input);
            let want = want.map(|o| o.map(|(s, r, f, k)| (s, r.to_string(), f, k)));
            assert_eq!(
                got,
                want,
                "{method} {:?}",
                String::from_utf8_lossy(&input[..input.len().min(80)])
            );
        }
    }

    #[test]
    fn borrows_fields_in_order_and_case() {
        let buf = b"HTTP/1.1 301 Moved\r\nlocation: /b\r\nX-Two: 2\r\n\r\nrest";
        let mut headers = EMPTY_RESPONSE_HEADERS;
        let Ok(Status::Complete(r)) = parse_response(buf, &mut headers) else {
            panic!("expected a complete head");
        };
        let names: Vec<&str> = r.headers.iter().map(|h| h.name).collect();
        assert_eq!(names, ["location", "X-Two"]);
        assert_eq!(r.header("Location"), Some(&b"/b"[..]));
        assert_eq!(&buf[r.head_len..], b"rest");
    }

    #[test]
    fn every_prefix_of_a_head_is_partial() {
        let buf = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\n";
        for end in 0..buf.len() {
            let mut headers = EMPTY_RESPONSE_HEADERS;
            assert!(
                matches!(
                    parse_response(&buf[..end], &mut headers),
                    Ok(Status::Partial)
                ),
                "prefix of {end} bytes"
            );
        }
    }
}
