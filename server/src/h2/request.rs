//! An HTTP/2 request as the handler sees it: method, target (`:path`), authority and
//! fields, checked beyond what `h2` checks. `h2` already treats as malformed (RST_STREAM
//! `PROTOCOL_ERROR`, RFC 9113 section 8.1.1) a request with connection-specific fields
//! (`Connection`, `Keep-Alive`, `Proxy-Connection`, `Transfer-Encoding`, `Upgrade`, a
//! `TE` other than `trailers`; section 8.2.2), uppercase field names, missing or
//! repeated pseudo-fields, and a bad `content-length`; this adds `Host` disagreeing with
//! `:authority` (section 8.3.1), and tells when a request has more fields than HTTP/1
//! allows.

use http::header::{HeaderMap, HOST};
use http::Method;
use shared::limits::MAX_HEADERS;
use std::borrow::Cow;

/// A request head, owned (it outlives the frame it came in).
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) method: Method,
    /// The `:path` pseudo-field: an origin-form target with its query, or `*`.
    pub(crate) target: String,
    /// `:authority`, else `Host`.
    pub(crate) authority: Option<String>,
    pub(crate) fields: HeaderMap,
}

/// A malformed request (RFC 9113 section 8.1.1): the stream is reset with
/// `PROTOCOL_ERROR`. The text says why, for tests and debugging.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

impl Head {
    /// Checks and takes apart a request `h2` accepted.
    pub(crate) fn from_parts(parts: http::request::Parts) -> Result<Head, Malformed> {
        let authority = parts.uri.authority().map(|a| a.as_str().to_owned());
        let host = parts.headers.get(HOST).map(|h| h.as_bytes());
        if let (Some(a), Some(h)) = (&authority, host) {
            if !a.as_bytes().eq_ignore_ascii_case(h) {
                return Err(Malformed("Host differs from :authority"));
            }
        }
        let authority = authority.or_else(|| {
            host.and_then(|h| std::str::from_utf8(h).ok())
                .map(str::to_owned)
        });
        let target = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        Ok(Head {
            method: parts.method,
            target,
            authority,
            fields: parts.headers,
        })
    }

    /// More fields than an HTTP/1 head may carry ([`MAX_HEADERS`]): answered 431, as
    /// over HTTP/1.
    pub(crate) fn too_many_fields(&self) -> bool {
        self.fields.len() > MAX_HEADERS
    }

    /// The field `name` as one value, as HTTP/1 sees a list field: repeated fields
    /// joined with `, ` (`cookie` with `; `, RFC 9113 section 8.2.3).
    pub(crate) fn field(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        let mut values = self.fields.get_all(name).iter();
        let first = values.next()?;
        let Some(second) = values.next() else {
            return Some(Cow::Borrowed(first.as_bytes()));
        };
        let sep: &[u8] = if name.eq_ignore_ascii_case("cookie") {
            b"; "
        } else {
            b", "
        };
        let mut joined = first.as_bytes().to_vec();
        for v in std::iter::once(second).chain(values) {
            joined.extend_from_slice(sep);
            joined.extend_from_slice(v.as_bytes());
        }
        Some(Cow::Owned(joined))
    }

    /// The request line the access log shows: `GET /path HTTP/2.0`.
    pub(crate) fn log_line(&self) -> String {
        format!("{} {} HTTP/2.0", self.method, self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(req: http::request::Builder) -> http::request::Parts {
        req.body(()).unwrap().into_parts().0
    }

    #[test]
    fn takes_path_query_and_authority() {
        let head = Head::from_parts(parts(
            http::Request::get("https://example.com:8443/a/b?x=1").header("accept", "*/*"),
        ))
        .unwrap();
        assert_eq!(head.method, Method::GET);
        assert_eq!(head.target, "/a/b?x=1");
        assert_eq!(head.authority.as_deref(), Some("example.com:8443"));
        assert_eq!(head.log_line(), "GET /a/b?x=1 HTTP/2.0");
        assert_eq!(head.field("Accept").as_deref(), Some(&b"*/*"[..]));
    }

    #[test]
    fn host_must_agree_with_authority() {
        let ok = parts(http::Request::get("https://example.com/").header("host", "EXAMPLE.com"));
        assert!(Head::from_parts(ok).is_ok());
        let bad = parts(http::Request::get("https://example.com/").header("host", "evil.test"));
        assert!(Head::from_parts(bad).is_err());
        // Without :authority, Host names the origin.
        let host_only = parts(http::Request::get("/x").header("host", "example.com"));
        let head = Head::from_parts(host_only).unwrap();
        assert_eq!(head.authority.as_deref(), Some("example.com"));
    }

    #[test]
    fn repeated_fields_read_as_one_list() {
        let head = Head::from_parts(parts(
            http::Request::get("/")
                .header("accept-encoding", "gzip")
                .header("accept-encoding", "br")
                .header("cookie", "a=1")
                .header("cookie", "b=2"),
        ))
        .unwrap();
        assert_eq!(
            head.field("accept-encoding").as_deref(),
            Some(&b"gzip, br"[..])
        );
        assert_eq!(head.field("cookie").as_deref(), Some(&b"a=1; b=2"[..]));
        assert_eq!(head.field("range"), None);
    }

    #[test]
    fn more_fields_than_http1_allows_are_refused() {
        let mut req = http::Request::get("/");
        for i in 0..=MAX_HEADERS {
            req = req.header(format!("x-f{i}"), "v");
        }
        assert!(Head::from_parts(parts(req)).unwrap().too_many_fields());
        let few = Head::from_parts(parts(http::Request::get("/").header("a", "b"))).unwrap();
        assert!(!few.too_many_fields());
    }
}
