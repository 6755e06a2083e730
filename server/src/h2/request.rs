//! An HTTP/2 request as the handler sees it: the same [`Ctx`] an HTTP/1 request gets,
//! built from the pseudo-fields and fields, checked beyond what `h2` checks.
//!
//! `h2` already treats as malformed (RST_STREAM `PROTOCOL_ERROR`, RFC 9113 section
//! 8.1.1) a request with connection-specific fields (`Connection`, `Keep-Alive`,
//! `Proxy-Connection`, `Transfer-Encoding`, `Upgrade`, a `TE` other than `trailers`;
//! section 8.2.2), missing or repeated pseudo-fields and a bad `content-length`, and
//! rejects uppercase field names. This adds `Host` disagreeing with `:authority`, a
//! repeated `Host` or userinfo in `:authority` (section 8.3.1), field values with
//! leading or trailing whitespace (section 8.2.1), a `400` for a request naming no host
//! at all (as over HTTP/1.1), and the limits an HTTP/1 head has (field count, target length), so
//! a request one protocol refuses the other refuses too.
//!
//! [`Ctx`]: crate::context::Ctx

use crate::response::Response;
use http::header::{HeaderMap, COOKIE, HOST};
use http::Method;
use shared::wire::limits::{MAX_HEADERS, MAX_URI_LEN};
use shared::wire::message::Header;
use shared::wire::request::RequestError;

/// A request head, owned (it outlives the frame it came in).
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) method: Method,
    /// The `:path` pseudo-field: an origin-form target with its query, or `*`.
    pub(crate) target: String,
    /// `:authority`, else `Host`.
    pub(crate) authority: Option<String>,
    fields: HeaderMap,
    /// The `cookie` crumbs joined with `; `, as HTTP/1 carries them (RFC 9113 8.2.3).
    cookie: Option<Vec<u8>>,
}

/// A malformed request (RFC 9113 section 8.1.1): the stream is reset with
/// `PROTOCOL_ERROR`. The text says why, for tests and debugging.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

impl Head {
    /// Checks and takes apart a request `h2` accepted.
    pub(crate) fn from_parts(parts: http::request::Parts) -> Result<Head, Malformed> {
        let authority = parts.uri.authority().map(|a| a.as_str().to_owned());
        // `:authority` MUST NOT carry the deprecated userinfo (section 8.3.1).
        if authority.as_deref().is_some_and(|a| a.contains('@')) {
            return Err(Malformed("userinfo in :authority"));
        }
        // One Host at most, as over HTTP/1.1 (RFC 9112 section 3.2).
        if parts.headers.get_all(HOST).iter().nth(1).is_some() {
            return Err(Malformed("repeated Host"));
        }
        // A field value MUST NOT start or end with whitespace (section 8.2.1).
        let padded = |v: &[u8]| {
            matches!(v.first(), Some(b' ' | b'\t')) || matches!(v.last(), Some(b' ' | b'\t'))
        };
        if parts.headers.values().any(|v| padded(v.as_bytes())) {
            return Err(Malformed("field value with leading or trailing whitespace"));
        }
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
        let mut crumbs = parts.headers.get_all(COOKIE).iter();
        let cookie = crumbs.next().map(|first| {
            let mut joined = first.as_bytes().to_vec();
            for crumb in crumbs {
                joined.extend_from_slice(b"; ");
                joined.extend_from_slice(crumb.as_bytes());
            }
            joined
        });
        Ok(Head {
            method: parts.method,
            target,
            authority,
            fields: parts.headers,
            cookie,
        })
    }

    /// The fields as they came, `Host` and `cookie` included.
    pub(crate) fn header_map(&self) -> &HeaderMap {
        &self.fields
    }

    /// The fields as an HTTP/1 head would carry them: `Host` first (from `:authority`),
    /// then every field in order, repeated ones as repeated lines, cookies as one.
    pub(crate) fn fields(&self) -> Vec<Header<'_>> {
        let mut out = Vec::with_capacity(self.fields.len() + 1);
        if let Some(a) = &self.authority {
            out.push(Header {
                name: "host",
                value: a.as_bytes(),
            });
        }
        if let Some(c) = &self.cookie {
            out.push(Header {
                name: "cookie",
                value: c,
            });
        }
        for (name, value) in &self.fields {
            if name != HOST && name != COOKIE {
                out.push(Header {
                    name: name.as_str(),
                    value: value.as_bytes(),
                });
            }
        }
        out
    }

    /// The answer to a request over the limits of an HTTP/1 head: more fields than
    /// [`MAX_HEADERS`] (431), or a target longer than [`MAX_URI_LEN`] (414), with the
    /// same page HTTP/1 gives.
    pub(crate) fn refusal(&self) -> Option<Response> {
        let error = if self.fields.len() > MAX_HEADERS {
            RequestError::HeadTooLarge
        } else if self.target.len() > MAX_URI_LEN {
            RequestError::UriTooLong
        } else if self.authority.as_deref().is_none_or(str::is_empty) {
            // An https request names its host (RFC 9110 section 4.2.2), as HTTP/1.1 must.
            RequestError::BadHost
        } else {
            return None;
        };
        Some(Response::error_detail(error.status(), error.describe()))
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

    fn listed(head: &Head) -> Vec<(String, String)> {
        head.fields()
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect()
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
        let fields = listed(&head);
        assert_eq!(fields[0], ("host".into(), "example.com:8443".into()));
        assert_eq!(fields[1], ("accept".into(), "*/*".into()));
        assert!(head.refusal().is_none());
    }

    #[test]
    fn host_must_agree_with_authority() {
        let ok = parts(http::Request::get("https://example.com/").header("host", "EXAMPLE.com"));
        let head = Head::from_parts(ok).unwrap();
        // One Host, from :authority.
        let hosts = listed(&head)
            .into_iter()
            .filter(|(n, _)| n == "host")
            .count();
        assert_eq!(hosts, 1);
        let bad = parts(http::Request::get("https://example.com/").header("host", "evil.test"));
        assert!(Head::from_parts(bad).is_err());
        // Without :authority, Host names the origin.
        let host_only = parts(http::Request::get("/x").header("host", "example.com"));
        let head = Head::from_parts(host_only).unwrap();
        assert_eq!(head.authority.as_deref(), Some("example.com"));
    }

    #[test]
    fn repeated_fields_stay_lines_and_cookie_crumbs_join() {
        let head = Head::from_parts(parts(
            http::Request::get("/")
                .header("accept-encoding", "gzip")
                .header("accept-encoding", "br")
                .header("cookie", "a=1")
                .header("cookie", "b=2"),
        ))
        .unwrap();
        assert_eq!(
            listed(&head),
            [
                ("cookie".to_owned(), "a=1; b=2".to_owned()),
                ("accept-encoding".into(), "gzip".into()),
                ("accept-encoding".into(), "br".into()),
            ]
        );
    }

    #[test]
    fn an_http1_head_limit_gives_the_http1_answer() {
        let mut req = http::Request::get("/");
        for i in 0..=MAX_HEADERS {
            req = req.header(format!("x-f{i}"), "v");
        }
        let head = Head::from_parts(parts(req)).unwrap();
        assert_eq!(
            head.refusal().unwrap().status,
            shared::StatusCode::HEADERS_TOO_LARGE
        );
        let long = format!("/{}", "a".repeat(MAX_URI_LEN));
        let head = Head::from_parts(parts(http::Request::get(long.as_str()))).unwrap();
        assert_eq!(
            head.refusal().unwrap().status,
            shared::StatusCode::URI_TOO_LONG
        );
    }

    /// Review finding: these were served with 200 over HTTP/2 while HTTP/1.1 refuses
    /// them (RFC 9113 sections 8.2.1 and 8.3.1).
    #[test]
    fn malformed_authority_host_and_padded_values_are_refused() {
        let userinfo = parts(http::Request::get("https://user:pw@localhost/"));
        assert_eq!(
            Head::from_parts(userinfo).unwrap_err(),
            Malformed("userinfo in :authority")
        );
        let two_hosts = parts(
            http::Request::get("/")
                .header("host", "a")
                .header("host", "a"),
        );
        assert_eq!(
            Head::from_parts(two_hosts).unwrap_err(),
            Malformed("repeated Host")
        );
        let padded = parts(http::Request::get("https://localhost/").header("accept", " */*"));
        assert!(Head::from_parts(padded).is_err());
        let no_host = Head::from_parts(parts(http::Request::get("/"))).unwrap();
        let refused = no_host
            .refusal()
            .expect("a request naming no host is refused");
        assert_eq!(refused.status.as_u16(), 400);
        let fine = Head::from_parts(parts(http::Request::get("https://localhost/"))).unwrap();
        assert!(fine.refusal().is_none());
    }
}
