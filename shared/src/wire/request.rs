//! Request heads: parse a buffer into a borrowed [`Request`] on top of
//! [`crate::wire::message`], with the RFC 9112 checks that `httparse` leaves to us
//! (request line, Host, body framing, field bytes).

use crate::wire::limits::{MAX_REQUEST_HEAD, MAX_URI_LEN};
use crate::wire::message::{self, BodyFraming, FramingError, Role};
use crate::StatusCode;

pub use crate::wire::message::{Header, Status, Version, EMPTY_HEADER};

/// Why a request head was refused. Each variant maps to one status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The head is not valid HTTP/1.x syntax (the request line included).
    Malformed,
    /// A field value holds NUL, a bare CR or another control byte.
    InvalidFieldValue,
    /// HTTP/1.1 without `Host`, several `Host` fields, or an unusable `Host` value.
    BadHost,
    /// `Content-Length` is not a number, overflows, or its values disagree.
    BadContentLength,
    /// Both `Content-Length` and `Transfer-Encoding` are present (a smuggling shape).
    LengthAndTransferEncoding,
    /// `Transfer-Encoding` on HTTP/1.0, not a list of codings, `chunked` not last, or
    /// `chunked` twice.
    BadTransferEncoding,
    /// A transfer coding we do not implement (anything but plain `chunked`).
    UnknownTransferEncoding,
    /// The request target is longer than [`MAX_URI_LEN`].
    UriTooLong,
    /// The head is larger than [`MAX_REQUEST_HEAD`] or has too many fields.
    HeadTooLarge,
    /// A well-formed version other than HTTP/1.0 or HTTP/1.1.
    VersionNotSupported,
}

impl RequestError {
    /// The status that answers this error.
    pub fn status(self) -> StatusCode {
        match self {
            RequestError::UnknownTransferEncoding => StatusCode::NOT_IMPLEMENTED,
            RequestError::UriTooLong => StatusCode::URI_TOO_LONG,
            RequestError::HeadTooLarge => StatusCode::HEADERS_TOO_LARGE,
            RequestError::VersionNotSupported => StatusCode::VERSION_NOT_SUPPORTED,
            RequestError::Malformed
            | RequestError::InvalidFieldValue
            | RequestError::BadHost
            | RequestError::BadContentLength
            | RequestError::LengthAndTransferEncoding
            | RequestError::BadTransferEncoding => StatusCode::BAD_REQUEST,
        }
    }

    /// A short lowercase description for logs.
    pub fn describe(self) -> &'static str {
        match self {
            RequestError::Malformed => "malformed request head",
            RequestError::InvalidFieldValue => "control byte in a field value",
            RequestError::BadHost => "missing, repeated or invalid Host",
            RequestError::BadContentLength => "invalid Content-Length",
            RequestError::LengthAndTransferEncoding => "both Content-Length and Transfer-Encoding",
            RequestError::BadTransferEncoding => "invalid Transfer-Encoding",
            RequestError::UnknownTransferEncoding => "unknown transfer coding",
            RequestError::UriTooLong => "request target too long",
            RequestError::HeadTooLarge => "request head too large",
            RequestError::VersionNotSupported => "HTTP version not supported",
        }
    }
}

error_display!(RequestError);

impl From<FramingError> for RequestError {
    fn from(e: FramingError) -> Self {
        match e {
            FramingError::BadContentLength => RequestError::BadContentLength,
            FramingError::LengthAndTransferEncoding => RequestError::LengthAndTransferEncoding,
            FramingError::BadTransferEncoding => RequestError::BadTransferEncoding,
            FramingError::UnknownTransferEncoding => RequestError::UnknownTransferEncoding,
        }
    }
}

/// A parsed request head, borrowing from the caller's buffer.
#[derive(Debug)]
pub struct Request<'b, 'h> {
    /// The method token, case-sensitive (RFC 9110 section 9.1).
    pub method: &'b str,
    /// The request target as sent (origin-form, absolute-form, authority-form or `*`).
    pub target: &'b str,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The fields in the order received.
    pub headers: &'h [Header<'b>],
    /// Length of the head in bytes, including the blank line.
    pub head_len: usize,
    /// How the request body (if any) is delimited.
    pub body: BodyFraming,
    /// Whether the connection may carry another request after this one.
    pub keep_alive: bool,
}

impl<'b> Request<'b, '_> {
    /// The value of the first field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        message::field(self.headers, name)
    }

    /// Every value of fields named `name`, in order.
    pub fn headers_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'b [u8]> + 's {
        message::fields_named(self.headers, name)
    }

    /// The path part of the target (no query, no fragment), for origin-form and
    /// absolute-form targets. `None` for authority-form or `*`.
    pub fn path(&self) -> Option<&'b str> {
        target_path(self.target)
    }

    /// Whether the client sent `Expect: 100-continue`.
    pub fn expects_continue(&self) -> bool {
        self.header("expect")
            .is_some_and(|v| v.trim_ascii().eq_ignore_ascii_case(b"100-continue"))
    }
}

/// The path of a request target: `/a/b?q` gives `/a/b`; `http://h/a?q` gives `/a`;
/// `http://h` gives `/`. Returns `None` for `*` and authority-form.
pub fn target_path(target: &str) -> Option<&str> {
    // Bytes, not chars: both are ASCII, so the index is a char boundary.
    let without_query = |s: &'_ str| -> usize {
        s.bytes()
            .position(|b| b == b'?' || b == b'#')
            .unwrap_or(s.len())
    };
    if target.starts_with('/') {
        return Some(&target[..without_query(target)]);
    }
    // Compare bytes, not `str` slices: a target may hold non-ASCII bytes (obs-text), and
    // slicing a `str` inside a character panics (found by the request_head fuzz target).
    let has_prefix = |p: &[u8]| {
        target
            .as_bytes()
            .get(..p.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(p))
    };
    let scheme_len = if has_prefix(b"http://") {
        7
    } else if has_prefix(b"https://") {
        8
    } else {
        return None;
    };
    let rest = &target[scheme_len..];
    let end = without_query(rest);
    let rest = &rest[..end];
    match rest.find('/') {
        Some(i) => Some(&rest[i..]),
        None => Some("/"),
    }
}

/// Parses a request head from the start of `buf` into `headers`.
///
/// Returns `Status::Partial` while the head is incomplete and still within limits.
/// Leading empty lines are skipped (RFC 9112 section 2.2).
pub fn parse_request<'b, 'h>(
    buf: &'b [u8],
    headers: &'h mut [Header<'b>],
) -> Result<Status<Request<'b, 'h>>, RequestError> {
    let mut req = httparse::Request::new(headers);
    let parsed = req.parse(buf);
    checked(buf, req, parsed)
}

/// [`parse_request`] into room for headers that need not be initialised first (a
/// server parses every request into a fresh array of [`MAX_HEADERS`]).
///
/// [`MAX_HEADERS`]: crate::wire::limits::MAX_HEADERS
pub fn parse_request_uninit<'b, 'h>(
    buf: &'b [u8],
    headers: &'h mut [std::mem::MaybeUninit<Header<'b>>],
) -> Result<Status<Request<'b, 'h>>, RequestError> {
    let mut req = httparse::Request::new(&mut []);
    let parsed = req.parse_with_uninit_headers(buf, headers);
    checked(buf, req, parsed)
}

/// What httparse made of `buf`, checked and classified.
fn checked<'b, 'h>(
    buf: &'b [u8],
    req: httparse::Request<'h, 'b>,
    parsed: httparse::Result<usize>,
) -> Result<Status<Request<'b, 'h>>, RequestError> {
    let head_len = match parsed {
        Ok(Status::Complete(n)) => n,
        Ok(Status::Partial) => return partial_verdict(buf).map(|()| Status::Partial),
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::HeadTooLarge),
        // httparse refuses `HTTP/1.2` as soon as it has the version's 8 bytes, before the
        // line ends; such a line is read as 1.1 once it is whole.
        Err(httparse::Error::Version) if newer_minor_pending(buf) => {
            return partial_verdict(buf).map(|()| Status::Partial)
        }
        Err(httparse::Error::Version) => return Err(version_error(buf)),
        Err(httparse::Error::HeaderValue) => return Err(RequestError::InvalidFieldValue),
        Err(_) => return Err(request_line_error(buf)),
    };
    if head_len > MAX_REQUEST_HEAD {
        return Err(RequestError::HeadTooLarge);
    }
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(RequestError::Malformed);
    };
    if target.len() > MAX_URI_LEN {
        return Err(RequestError::UriTooLong);
    }
    let version = Version::from_minor(minor);
    let headers: &'h [Header<'b>] = req.headers;
    check_field_values(headers)?;
    check_host(headers, version)?;
    check_target_authority(target)?;
    let body = message::framing(headers, version, Role::Request)?;
    let keep_alive = message::keep_alive(headers, version);
    Ok(Status::Complete(Request {
        method,
        target,
        version,
        headers,
        head_len,
        body,
        keep_alive,
    }))
}

/// Where the request line starts: after the empty lines a client may send before it
/// (RFC 9112 section 2.2).
fn request_line_start(buf: &[u8]) -> usize {
    buf.iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len())
}

/// Rewrites the request line's `HTTP/1.x` (x from 2 to 9) to `HTTP/1.1`, in place, once
/// the line is complete. RFC 9110 section 2.5: a recipient processes a higher minor
/// version as the highest minor version it implements. Returns whether it rewrote.
pub fn downgrade_minor_version(buf: &mut [u8]) -> bool {
    let start = request_line_start(buf);
    let Some(len) = buf[start..].iter().position(|&b| b == b'\n') else {
        return false;
    };
    let mut end = start + len;
    if end > start && buf[end - 1] == b'\r' {
        end -= 1;
    }
    if end < start + 9 {
        return false;
    }
    match &mut buf[end - 9..end] {
        [b' ', b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor]
            if (b'2'..=b'9').contains(minor) =>
        {
            *minor = b'1';
            true
        }
        _ => false,
    }
}

/// Whether the first line so far ends in ` HTTP/1.x` (x from 2 to 9, perhaps a CR
/// after it) and its line feed is still to come: [`downgrade_minor_version`] makes it
/// 1.1 once it has come.
fn newer_minor_pending(buf: &[u8]) -> bool {
    let start = request_line_start(buf);
    let line = &buf[start..];
    if line.contains(&b'\n') {
        return false;
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    matches!(
        line,
        [
            ..,
            b' ',
            b'H',
            b'T',
            b'T',
            b'P',
            b'/',
            b'1',
            b'.',
            b'2'..=b'9'
        ]
    )
}

/// Decides whether an incomplete head may keep waiting.
fn partial_verdict(buf: &[u8]) -> Result<(), RequestError> {
    let start = request_line_start(buf);
    let line = &buf[start..];
    // Method, two spaces and "HTTP/1.1\r\n" fit easily in 64 bytes beyond the target.
    if !line.contains(&b'\n') && line.len() > MAX_URI_LEN + 64 {
        return Err(RequestError::UriTooLong);
    }
    if buf.len() >= MAX_REQUEST_HEAD {
        return Err(RequestError::HeadTooLarge);
    }
    Ok(())
}

/// A version error is 505 only when the request line is exactly `method SP target SP
/// HTTP/x.y`; anything else, such as a raw space inside the target
/// (`GET /a b HTTP/1.1`), is a malformed request line: 400.
fn version_error(buf: &[u8]) -> RequestError {
    let start = request_line_start(buf);
    let line = &buf[start..];
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(_method), Some(_target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return RequestError::Malformed;
    };
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            RequestError::VersionNotSupported
        }
        _ => RequestError::Malformed,
    }
}

/// A syntax error in the request line is 414 if the line is too long, else 400.
fn request_line_error(buf: &[u8]) -> RequestError {
    let line_len = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    if line_len > MAX_URI_LEN + 64 {
        RequestError::UriTooLong
    } else {
        RequestError::Malformed
    }
}

/// Rejects NUL, bare CR and other control bytes in field values (RFC 9110 section 5.5).
fn check_field_values(headers: &[Header<'_>]) -> Result<(), RequestError> {
    let bad = |b: &u8| (*b < 0x20 && *b != b'\t') || *b == 0x7f;
    if headers.iter().any(|h| h.value.iter().any(bad)) {
        return Err(RequestError::InvalidFieldValue);
    }
    Ok(())
}

/// HTTP/1.1 needs exactly one `Host`; HTTP/1.0 may have at most one (RFC 9112 section 3.2).
fn check_host(headers: &[Header<'_>], version: Version) -> Result<(), RequestError> {
    let mut hosts = message::fields_named(headers, "host");
    let first = hosts.next();
    if hosts.next().is_some() {
        return Err(RequestError::BadHost);
    }
    match first {
        None if version == Version::Http11 => Err(RequestError::BadHost),
        None => Ok(()),
        Some(v) if valid_host(v.trim_ascii()) => Ok(()),
        Some(_) => Err(RequestError::BadHost),
    }
}

/// An absolute-form target's authority must be a valid, non-empty host, held to the
/// same rules as `Host` (RFC 9110 section 4.2.1: an http URI with an empty host is
/// invalid), since it takes precedence over `Host` (RFC 9112 section 3.2.2).
fn check_target_authority(target: &str) -> Result<(), RequestError> {
    let bytes = target.as_bytes();
    let has_prefix = |p: &[u8]| {
        bytes
            .get(..p.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(p))
    };
    let rest = if has_prefix(b"http://") {
        &bytes[7..]
    } else if has_prefix(b"https://") {
        &bytes[8..]
    } else {
        return Ok(());
    };
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    // No userinfo (deprecated for http, RFC 9110 section 4.2.4) and no empty host.
    if authority.is_empty()
        || authority.starts_with(b":")
        || authority.contains(&b'@')
        || !valid_host(authority)
    {
        return Err(RequestError::BadHost);
    }
    Ok(())
}

/// `uri-host [":" port]`: reg-name, IPv4 or a bracketed IPv6 literal. Empty is allowed
/// (RFC 9112 section 3.2 for targets without an authority).
fn valid_host(v: &[u8]) -> bool {
    if let Some(rest) = v.strip_prefix(b"[") {
        let Some(end) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let (inside, after) = (&rest[..end], &rest[end + 1..]);
        let inside_ok = inside
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return inside_ok && valid_port_suffix(after);
    }
    let (name, port) = match v.iter().position(|&b| b == b':') {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, &b""[..]),
    };
    let name_ok = name.iter().all(|&b| REG_NAME[usize::from(b)]);
    name_ok && valid_port_suffix(port)
}

/// The bytes a reg-name may hold (RFC 3986 section 3.2.2: unreserved, sub-delims, and
/// the `%` of an escape), as a table: every request's `Host` goes through it.
const REG_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'%'
            );
        i += 1;
    }
    table
};

fn valid_port_suffix(s: &[u8]) -> bool {
    match s {
        [] => true,
        [b':', digits @ ..] => digits.len() <= 5 && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::limits::MAX_HEADERS;

    type Summary = (String, String, Version, BodyFraming, bool);
    type Case<'a> = (&'a [u8], Result<Option<()>, RequestError>);

    fn parse(buf: &[u8]) -> Result<Option<Summary>, RequestError> {
        let mut headers = [EMPTY_HEADER; MAX_HEADERS];
        match parse_request(buf, &mut headers)? {
            Status::Partial => Ok(None),
            Status::Complete(r) => Ok(Some((
                r.method.to_string(),
                r.target.to_string(),
                r.version,
                r.body,
                r.keep_alive,
            ))),
        }
    }

    #[test]
    fn simple_get() {
        let r = parse(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(
            r,
            (
                "GET".into(),
                "/a".into(),
                Version::Http11,
                BodyFraming::Length(0),
                true
            )
        );
    }

    #[test]
    fn table() {
        use RequestError::*;
        let long_target = format!(
            "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
            "a".repeat(MAX_URI_LEN + 1)
        );
        let many_headers = format!(
            "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_HEADERS + 1)
        );
        let cases: Vec<Case> = vec![
            (b"GET / HTTP/1.1\r\nHost: x\r\n", Ok(None)),
            (b"GET / HTTP/1.1\r\n", Ok(None)),
            (b"GET / HTT", Ok(None)),
            (b"", Ok(None)),
            (b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", Ok(Some(()))),
            (b"GET / HTTP/1.0\r\n\r\n", Ok(Some(()))),
            (b"GET / HTTP/1.1\r\n\r\n", Err(BadHost)),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", Err(BadHost)),
            (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", Err(BadHost)),
            (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", Err(BadHost)),
            (b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", Ok(Some(()))),
            (b"GET / HTTP/1.1\r\nHost: \r\n\r\n", Ok(Some(()))),
            (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", Err(VersionNotSupported)),
            (b"GET / FOO/1.1\r\nHost: x\r\n\r\n", Err(Malformed)),
            (b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", Err(Malformed)),
            (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", Err(Malformed)),
            (b"GET / HTTP/1.1\r\nHost: x\r\nA: b\x00c\r\n\r\n", Err(InvalidFieldValue)),
            (b"GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", Err(InvalidFieldValue)),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", Err(BadContentLength)),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", Ok(Some(()))),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", Err(BadContentLength)),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n", Err(BadContentLength)),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", Err(BadContentLength)),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", Err(LengthAndTransferEncoding)),
            (b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Err(BadTransferEncoding)),
            (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", Err(BadTransferEncoding)),
            (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", Err(BadTransferEncoding)),
            (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", Err(UnknownTransferEncoding)),
            (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", Err(UnknownTransferEncoding)),
            (b"GET http:///a HTTP/1.1\r\nHost: x\r\n\r\n", Err(BadHost)),
            (b"GET http://x:abc/a HTTP/1.1\r\nHost: x\r\n\r\n", Err(BadHost)),
            (b"GET http://[::1/a HTTP/1.1\r\nHost: x\r\n\r\n", Err(BadHost)),
            (b"GET http://u@x/a HTTP/1.1\r\nHost: x\r\n\r\n", Err(BadHost)),
            (b"GET http://x:8080/a?q HTTP/1.1\r\nHost: x\r\n\r\n", Ok(Some(()))),
            (b"GET HTTP://[::1]:80 HTTP/1.1\r\nHost: x\r\n\r\n", Ok(Some(()))),
            (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n", Ok(Some(()))),
            (long_target.as_bytes(), Err(UriTooLong)),
            (many_headers.as_bytes(), Err(HeadTooLarge)),
        ];
        for (input, want) in cases {
            let got = parse(input).map(|o| o.map(|_| ()));
            assert_eq!(got, want, "input {:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn partial_head_over_limit_is_431() {
        let mut buf = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        buf.extend(std::iter::repeat_n(b'a', MAX_REQUEST_HEAD));
        buf.splice(27..27, b"X: ".iter().copied());
        assert_eq!(parse(&buf).err(), Some(RequestError::HeadTooLarge));
    }

    #[test]
    fn partial_request_line_over_limit_is_414() {
        let mut buf = b"GET /".to_vec();
        buf.extend(std::iter::repeat_n(b'a', MAX_URI_LEN + 100));
        assert_eq!(parse(&buf).err(), Some(RequestError::UriTooLong));
    }

    #[test]
    fn higher_minor_versions_become_1_1() {
        let mut b = b"GET / HTTP/1.2\r\nHost: x\r\n\r\n".to_vec();
        assert!(downgrade_minor_version(&mut b));
        assert!(b.starts_with(b"GET / HTTP/1.1\r\n"));
        let mut b = b"\r\nGET / HTTP/1.9\n\n".to_vec();
        assert!(downgrade_minor_version(&mut b));
        for unchanged in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"GET / HTTP/2.0\r\n",
            b"GET / HTTP/1.2",
            b"HTTP/1.2\r\n",
            b"",
        ] {
            let mut b = unchanged.to_vec();
            assert!(!downgrade_minor_version(&mut b));
            assert_eq!(b, unchanged);
        }
    }

    /// Found by review: a first piece that ended right after `HTTP/1.2` got a 505.
    #[test]
    fn a_newer_minor_version_cut_before_its_line_end_waits_for_the_rest() {
        for piece in [
            &b"GET /a HTTP/1.2"[..],
            b"GET /a HTTP/1.9\r",
            b"\r\nGET /a HTTP/1.3",
        ] {
            assert_eq!(
                parse(piece),
                Ok(None),
                "{:?}",
                String::from_utf8_lossy(piece)
            );
        }
        // Other versions are refused at once, whole line or not.
        for refused in [
            &b"GET /a HTTP/2.0"[..],
            b"GET /a HTTP/1.2\r\n",
            b"GET /a HTTP/3.1\r",
        ] {
            assert_eq!(parse(refused), Err(RequestError::VersionNotSupported));
        }
    }

    #[test]
    fn keep_alive_rules() {
        let ka = |b: &[u8]| parse(b).unwrap().unwrap().4;
        assert!(ka(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, Close\r\n\r\n"
        ));
        assert!(!ka(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(ka(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    }

    #[test]
    fn target_paths() {
        assert_eq!(target_path("/a/b?x=1"), Some("/a/b"));
        assert_eq!(target_path("/a#f"), Some("/a"));
        assert_eq!(target_path("http://h:1/a/b?q"), Some("/a/b"));
        assert_eq!(target_path("HTTP://h"), Some("/"));
        assert_eq!(target_path("http://h?q"), Some("/"));
        assert_eq!(target_path("*"), None);
        assert_eq!(target_path("h:443"), None);
    }

    #[test]
    fn raw_space_in_target_is_malformed_not_505() {
        use RequestError::*;
        for (input, want) in [
            (&b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"[..], Malformed),
            (b"GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n", Malformed),
            (b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", Malformed),
            (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", VersionNotSupported),
            (
                b"\r\nGET / HTTP/3.0\r\nHost: x\r\n\r\n",
                VersionNotSupported,
            ),
        ] {
            let got = parse(input).err();
            assert_eq!(got, Some(want), "{:?}", String::from_utf8_lossy(input));
        }
        assert_eq!(Malformed.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn chunked_with_parameters_is_not_chunked_501() {
        let got = parse(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;q=1\r\n\r\n");
        assert_eq!(got.err(), Some(RequestError::UnknownTransferEncoding));
        assert_eq!(
            RequestError::UnknownTransferEncoding.status(),
            StatusCode::NOT_IMPLEMENTED
        );
        let got = parse(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;\r\n\r\n");
        assert_eq!(got.err(), Some(RequestError::BadTransferEncoding));
    }

    #[test]
    fn obs_fold_in_a_request_is_malformed() {
        let got = parse(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n 2\r\n\r\n");
        assert_eq!(got.err(), Some(RequestError::Malformed));
        let got = parse(b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\tb\r\n\r\n");
        assert_eq!(got.err(), Some(RequestError::Malformed));
    }

    #[test]
    fn errors_display_their_description() {
        assert_eq!(
            RequestError::BadHost.to_string(),
            "missing, repeated or invalid Host"
        );
        let e: Box<dyn std::error::Error> = Box::new(RequestError::UriTooLong);
        assert_eq!(e.to_string(), "request target too long");
    }
}
