//! The HTTP/1 message layer under both requests and responses: the version, field
//! lookup and list elements, connection persistence, and how a body is framed, decided
//! from the fields (RFC 9112 sections 6 and 9.3, RFC 9110 section 5).

use std::fmt;

pub use httparse::{Header, Status, EMPTY_HEADER};

/// The HTTP version of a message; only 1.x reaches here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: connections close unless the peer asks for keep-alive.
    Http10,
    /// HTTP/1.1: connections persist unless either side says `close`.
    Http11,
}

impl Version {
    /// The version for `HTTP/1.<minor>` as httparse reports it (0 or 1). A higher minor
    /// is processed as the highest one implemented (RFC 9110 section 2.5).
    pub fn from_minor(minor: u8) -> Version {
        if minor == 0 {
            Version::Http10
        } else {
            Version::Http11
        }
    }

    /// The protocol token as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field line as a name and a value, whether borrowed from a parsed head
/// (`&Header<'b>`, whose value lives as long as the buffer `'b`) or owned by the
/// caller (`&(String, Vec<u8>)`, or `&(String, String)` for fields being built).
pub trait Field<'v> {
    /// The field name as received (compare it case-insensitively).
    fn name(&self) -> &str;
    /// The field value, without surrounding whitespace.
    fn value(&self) -> &'v [u8];
}

impl<'v> Field<'v> for &Header<'v> {
    fn name(&self) -> &str {
        self.name
    }
    fn value(&self) -> &'v [u8] {
        self.value
    }
}

impl<'v> Field<'v> for &'v (String, Vec<u8>) {
    fn name(&self) -> &str {
        &self.0
    }
    fn value(&self) -> &'v [u8] {
        &self.1
    }
}

impl<'v> Field<'v> for &'v (String, String) {
    fn name(&self) -> &str {
        &self.0
    }
    fn value(&self) -> &'v [u8] {
        self.1.as_bytes()
    }
}

/// The value of the first field named `name` (case-insensitive).
pub fn field<'a, 'v, T>(fields: &'a [T], name: &str) -> Option<&'v [u8]>
where
    &'a T: Field<'v>,
{
    fields
        .iter()
        .find(|f| f.name().eq_ignore_ascii_case(name))
        .map(|f| f.value())
}

/// Whether any field is named `name` (case-insensitive).
pub fn has_field<'a, 'v, T>(fields: &'a [T], name: &str) -> bool
where
    &'a T: Field<'v>,
{
    field(fields, name).is_some()
}

/// Every value of fields named `name` (case-insensitive), in order.
pub fn fields_named<'a, 'v, 'n, T>(
    fields: &'a [T],
    name: &'n str,
) -> impl Iterator<Item = &'v [u8]> + use<'a, 'v, 'n, T>
where
    &'a T: Field<'v>,
{
    fields
        .iter()
        .filter(move |f| f.name().eq_ignore_ascii_case(name))
        .map(|f| f.value())
}

/// The comma-separated elements of every field named `name`, trimmed, skipping empty
/// elements (RFC 9110 section 5.6.1). Quoted commas are not special: no list read here
/// (`Connection`, `Transfer-Encoding`, `Content-Length`) has quoted strings that matter.
pub fn list_elements<'a, 'v, 'n, T>(
    fields: &'a [T],
    name: &'n str,
) -> impl Iterator<Item = &'v [u8]> + use<'a, 'v, 'n, T>
where
    &'a T: Field<'v>,
{
    fields_named(fields, name)
        .flat_map(|v| v.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|e| !e.is_empty())
}

/// Whether the connection may carry another message after this one, by its
/// `Connection` tokens and version (RFC 9112 section 9.3).
pub fn keep_alive<'a, 'v, T>(fields: &'a [T], version: Version) -> bool
where
    &'a T: Field<'v>,
{
    let mut close = false;
    let mut keep_alive = false;
    for token in list_elements(fields, "connection") {
        close |= token.eq_ignore_ascii_case(b"close");
        keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
    }
    match version {
        Version::Http11 => !close,
        Version::Http10 => keep_alive && !close,
    }
}

/// How a message body is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// Exactly this many bytes follow (0 means no body).
    Length(u64),
    /// The chunked transfer coding; decode with [`crate::wire::body::BodyDecoder`].
    Chunked,
    /// The body runs until the peer closes the connection (responses only).
    UntilClose,
}

/// Which side sent a message: the framing rules differ (RFC 9112 section 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A request from a client: ambiguous framing is an error (a smuggling shape).
    Request,
    /// A response from a server: read as RFC 9112 section 6.3 says a client must.
    Response,
}

/// Why the fields give no usable body framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramingError {
    /// `Content-Length` is not a number, overflows, or its values disagree.
    BadContentLength,
    /// A request has both `Content-Length` and `Transfer-Encoding` (a smuggling shape).
    LengthAndTransferEncoding,
    /// `Transfer-Encoding` on HTTP/1.0, not a valid list, or a request's `chunked`
    /// missing, repeated or not last.
    BadTransferEncoding,
    /// A request's transfer coding other than plain `chunked` (parameters included).
    UnknownTransferEncoding,
}

impl FramingError {
    /// A short lowercase description for logs and error lines.
    pub fn describe(self) -> &'static str {
        match self {
            FramingError::BadContentLength => "invalid or conflicting Content-Length",
            FramingError::LengthAndTransferEncoding => "both Content-Length and Transfer-Encoding",
            FramingError::BadTransferEncoding => "invalid Transfer-Encoding",
            FramingError::UnknownTransferEncoding => "unknown transfer coding",
        }
    }
}

error_display!(FramingError);

/// How the body of a message with these fields is delimited (RFC 9112 section 6.3,
/// items 3 to 7; a response's bodiless cases by method and status, items 1 and 2, are
/// [`crate::wire::response::response_framing`]'s).
///
/// - `Transfer-Encoding` on HTTP/1.0 is an error for either side: its framing cannot
///   be trusted.
/// - Request: `Transfer-Encoding` beside `Content-Length` is an error; with
///   `Transfer-Encoding` the codings must be exactly one plain `chunked`, last (a
///   coding we do not know, or `chunked` with parameters, which it does not define, is
///   [`FramingError::UnknownTransferEncoding`]); else a valid `Content-Length`, else no
///   body.
/// - Response: `Transfer-Encoding` wins over `Content-Length`; it is chunked when the
///   last coding is plain `chunked`, else the body runs until close; else a valid
///   `Content-Length`, else until close.
pub fn framing<'a, 'v, T>(
    fields: &'a [T],
    version: Version,
    role: Role,
) -> Result<BodyFraming, FramingError>
where
    &'a T: Field<'v>,
{
    let has_te = has_field(fields, "transfer-encoding");
    let has_cl = has_field(fields, "content-length");
    if has_te {
        if role == Role::Request && has_cl {
            return Err(FramingError::LengthAndTransferEncoding);
        }
        if version == Version::Http10 {
            return Err(FramingError::BadTransferEncoding);
        }
        return match role {
            Role::Request => request_codings(fields).map(|()| BodyFraming::Chunked),
            Role::Response => Ok(match list_elements(fields, "transfer-encoding").last() {
                Some(last) if coding(last) == Some(Coding::Chunked) => BodyFraming::Chunked,
                _ => BodyFraming::UntilClose,
            }),
        };
    }
    if has_cl {
        return content_length(fields)?
            .map(BodyFraming::Length)
            .ok_or(FramingError::BadContentLength);
    }
    Ok(match role {
        Role::Request => BodyFraming::Length(0),
        Role::Response => BodyFraming::UntilClose,
    })
}

/// Checks a request's transfer codings: exactly one plain `chunked`, applied last.
fn request_codings<'a, 'v, T>(fields: &'a [T]) -> Result<(), FramingError>
where
    &'a T: Field<'v>,
{
    let mut codings = list_elements(fields, "transfer-encoding").peekable();
    if codings.peek().is_none() {
        return Err(FramingError::BadTransferEncoding);
    }
    while let Some(element) = codings.next() {
        match coding(element) {
            None => return Err(FramingError::BadTransferEncoding),
            // We decode no coding but chunked: any other is one we do not understand,
            // 501 (RFC 9112 section 6.1), as nginx answers.
            Some(Coding::Other) => return Err(FramingError::UnknownTransferEncoding),
            // chunked must be applied once and last (RFC 9112 section 6.3, item 4).
            Some(Coding::Chunked) if codings.peek().is_some() => {
                return Err(FramingError::BadTransferEncoding)
            }
            Some(Coding::Chunked) => {}
        }
    }
    Ok(())
}

/// One element of `Transfer-Encoding`, by RFC 9112 section 7's grammar:
/// `transfer-coding = token *( OWS ";" OWS transfer-parameter )`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    /// `chunked` (any case) with no parameters.
    Chunked,
    /// Any other well-formed coding. This includes `chunked;q=1`: the chunked coding
    /// defines no parameters, so a coding with some is not the one we implement.
    Other,
}

/// Classifies one coding element; `None` when it is not a valid `transfer-coding`.
fn coding(element: &[u8]) -> Option<Coding> {
    let mut parts = element.split(|&b| b == b';');
    let name = parts.next()?.trim_ascii();
    if !is_token(name) {
        return None;
    }
    let mut has_params = false;
    for param in parts {
        // transfer-parameter = token BWS "=" BWS ( token / quoted-string )
        let eq = param.iter().position(|&b| b == b'=')?;
        let (key, value) = (param[..eq].trim_ascii(), param[eq + 1..].trim_ascii());
        if !is_token(key) || !(is_token(value) || is_quoted_string(value)) {
            return None;
        }
        has_params = true;
    }
    Some(if name.eq_ignore_ascii_case(b"chunked") && !has_params {
        Coding::Chunked
    } else {
        Coding::Other
    })
}

/// `token = 1*tchar` (RFC 9110 section 5.6.2).
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A `quoted-string` (RFC 9110 section 5.6.4) with no `;` or `,` inside (the list and
/// parameter splitting above does not look inside quotes).
fn is_quoted_string(s: &[u8]) -> bool {
    let [b'"', inner @ .., b'"'] = s else {
        return false;
    };
    let mut escaped = false;
    for &b in inner {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' || (b < 0x20 && b != b'\t') || b == 0x7f {
            return false;
        }
    }
    !escaped
}

/// The single agreed value of all `Content-Length` fields and list elements: `Ok(None)`
/// when there is none, an error when any is invalid or they disagree (RFC 9110
/// section 8.6; `5, 5` is one length).
pub fn content_length<'a, 'v, T>(fields: &'a [T]) -> Result<Option<u64>, FramingError>
where
    &'a T: Field<'v>,
{
    let mut value = None;
    for v in fields_named(fields, "content-length") {
        for element in v.split(|&b| b == b',') {
            let n = parse_decimal(element.trim_ascii()).ok_or(FramingError::BadContentLength)?;
            match value {
                Some(prev) if prev != n => return Err(FramingError::BadContentLength),
                _ => value = Some(n),
            }
        }
    }
    Ok(value)
}

/// Parses a non-empty run of ASCII digits into a `u64`, refusing overflow and signs.
pub fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<'a>(name: &'a str, value: &'a str) -> Header<'a> {
        Header {
            name,
            value: value.as_bytes(),
        }
    }

    #[test]
    fn field_lookup_is_case_insensitive_for_borrowed_and_owned_fields() {
        let borrowed = [h("Host", "a"), h("X-Two", "1"), h("x-two", "2")];
        assert_eq!(field(&borrowed, "host"), Some(&b"a"[..]));
        assert_eq!(field(&borrowed, "missing"), None);
        let all: Vec<_> = fields_named(&borrowed, "X-TWO").collect();
        assert_eq!(all, [&b"1"[..], b"2"]);
        let owned = vec![("Location".to_string(), b"/b".to_vec())];
        assert_eq!(field(&owned, "location"), Some(&b"/b"[..]));
        assert!(has_field(&owned, "LOCATION"));
        let building = vec![("Accept".to_string(), "*/*".to_string())];
        assert_eq!(field(&building, "accept"), Some(&b"*/*"[..]));
    }

    #[test]
    fn list_elements_skip_empty_and_trim() {
        let f = [h("Connection", " , close ,,"), h("connection", "Upgrade")];
        let got: Vec<_> = list_elements(&f, "connection").collect();
        assert_eq!(got, [&b"close"[..], b"Upgrade"]);
    }

    #[test]
    fn keep_alive_by_version_and_connection_tokens() {
        use Version::*;
        let cases: &[(&str, Version, bool)] = &[
            ("", Http11, true),
            ("close", Http11, false),
            ("foo, Close", Http11, false),
            ("", Http10, false),
            ("Keep-Alive", Http10, true),
            ("keep-alive, close", Http10, false),
        ];
        for &(conn, version, want) in cases {
            let f = [h("Connection", conn)];
            assert_eq!(keep_alive(&f, version), want, "{conn:?} {version}");
        }
    }

    #[test]
    fn version_mapping() {
        assert_eq!(Version::from_minor(0), Version::Http10);
        assert_eq!(Version::from_minor(1), Version::Http11);
        assert_eq!(Version::Http10.to_string(), "HTTP/1.0");
    }

    /// A table of framing cases: (fields, version, role, expected).
    #[test]
    #[rustfmt::skip]
    fn framing_table() {
        use BodyFraming::*;
        use FramingError::*;
        use Role::*;
        use Version::*;
        type Case = (&'static [(&'static str, &'static str)], Version, Role, Result<BodyFraming, FramingError>);
        const CL: &str = "Content-Length";
        const TE: &str = "Transfer-Encoding";
        let cases: &[Case] = &[
            (&[], Http11, Request, Ok(Length(0))),
            (&[], Http11, Response, Ok(UntilClose)),
            (&[(CL, "5")], Http11, Request, Ok(Length(5))),
            (&[(CL, "5, 5")], Http11, Request, Ok(Length(5))),
            (&[(CL, "5"), ("content-length", "5")], Http11, Request, Ok(Length(5))),
            // Duplicate Content-Length that disagrees, and values that are no length.
            (&[(CL, "5"), (CL, "6")], Http11, Request, Err(BadContentLength)),
            (&[(CL, "5, 6")], Http11, Response, Err(BadContentLength)),
            (&[(CL, "")], Http11, Request, Err(BadContentLength)),
            (&[(CL, "-1")], Http11, Request, Err(BadContentLength)),
            (&[(CL, "+1")], Http11, Request, Err(BadContentLength)),
            (&[(CL, "0x10")], Http11, Request, Err(BadContentLength)),
            (&[(CL, "18446744073709551616")], Http11, Request, Err(BadContentLength)),
            // CL + TE: a request is refused; a response is chunked (TE wins).
            (&[(CL, "1"), (TE, "chunked")], Http11, Request, Err(LengthAndTransferEncoding)),
            (&[(CL, "1"), (TE, "chunked")], Http11, Response, Ok(Chunked)),
            (&[(TE, "chunked")], Http11, Request, Ok(Chunked)),
            (&[(TE, "Chunked")], Http11, Request, Ok(Chunked)),
            (&[(TE, "chunked")], Http10, Request, Err(BadTransferEncoding)),
            (&[(TE, "chunked")], Http10, Response, Err(BadTransferEncoding)),
            (&[(TE, "")], Http11, Request, Err(BadTransferEncoding)),
            (&[(TE, "chunked, chunked")], Http11, Request, Err(BadTransferEncoding)),
            (&[(TE, "chunked, gzip")], Http11, Request, Err(BadTransferEncoding)),
            (&[(TE, "chunked"), (TE, "gzip")], Http11, Request, Err(BadTransferEncoding)),
            (&[(TE, "gzip, chunked")], Http11, Request, Err(UnknownTransferEncoding)),
            (&[(TE, "xchunked")], Http11, Request, Err(UnknownTransferEncoding)),
            // A coding with parameters is not chunked (issue 9 item 14).
            (&[(TE, "chunked;q=1")], Http11, Request, Err(UnknownTransferEncoding)),
            (&[(TE, "chunked ; foo=\"bar\"")], Http11, Request, Err(UnknownTransferEncoding)),
            (&[(TE, "chunked;q=1")], Http11, Response, Ok(UntilClose)),
            // Not a transfer-coding at all.
            (&[(TE, "chunked;")], Http11, Request, Err(BadTransferEncoding)),
            (&[(TE, "chunked;=1")], Http11, Request, Err(BadTransferEncoding)),
            (&[(TE, "chunked x")], Http11, Request, Err(BadTransferEncoding)),
            (&[(TE, "\"chunked\"")], Http11, Request, Err(BadTransferEncoding)),
            // Responses: chunked last is chunked, anything else runs until close.
            (&[(TE, "gzip, chunked")], Http11, Response, Ok(Chunked)),
            (&[(TE, "gzip"), (TE, "CHUNKED")], Http11, Response, Ok(Chunked)),
            (&[(TE, "chunked, gzip")], Http11, Response, Ok(UntilClose)),
            (&[(TE, "")], Http11, Response, Ok(UntilClose)),
        ];
        for (pairs, version, role, want) in cases {
            let fields: Vec<Header<'_>> = pairs.iter().map(|&(n, v)| h(n, v)).collect();
            assert_eq!(framing(&fields, *version, *role), *want, "{pairs:?} {version} {role:?}");
        }
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"1a"), None);
    }

    #[test]
    fn errors_display_their_description() {
        assert_eq!(
            FramingError::UnknownTransferEncoding.to_string(),
            "unknown transfer coding"
        );
        let e: Box<dyn std::error::Error> = Box::new(FramingError::BadContentLength);
        assert!(e.to_string().contains("Content-Length"));
    }
}
