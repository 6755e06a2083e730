//! A protocol-neutral response head as HTTP/2 sends it: the status and the fields minus
//! the connection-specific ones, which HTTP/2 forbids (RFC 9113 section 8.2.2) and
//! `h2` refuses to send.

use http::header::{HeaderName, HeaderValue};
use http::{Response, StatusCode};

/// Fields that describe one HTTP/1 connection, never sent over HTTP/2.
const CONNECTION_SPECIFIC: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// Whether `name` is a connection-specific field.
pub(crate) fn is_connection_specific(name: &str) -> bool {
    CONNECTION_SPECIFIC
        .iter()
        .any(|c| c.eq_ignore_ascii_case(name))
}

/// The HTTP/2 head for `status` and `fields` (names in any case; HTTP/2 sends them in
/// lowercase). A field no HTTP/2 peer could receive is left out rather than failing the
/// whole response; the handler never produces one.
pub(crate) fn head<'a>(
    status: u16,
    fields: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in fields {
        if is_connection_specific(name) {
            continue;
        }
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_specific_fields_never_reach_http2() {
        let r = head(
            200,
            [
                ("Content-Type", &b"text/plain"[..]),
                ("Connection", b"close"),
                ("Keep-Alive", b"timeout=5"),
                ("Transfer-Encoding", b"chunked"),
                ("Upgrade", b"h2c"),
                ("Proxy-Connection", b"keep-alive"),
                ("Vary", b"Accept-Encoding"),
                ("Vary", b"Origin"),
            ],
        );
        assert_eq!(r.status(), 200);
        let names: Vec<_> = r.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["content-type", "vary"]);
        assert_eq!(r.headers().get_all("vary").iter().count(), 2);
    }

    #[test]
    fn an_unsendable_field_is_dropped_not_fatal() {
        let r = head(
            304,
            [("Bad Name", &b"x"[..]), ("ETag", b"\"1\""), ("X", b"a\nb")],
        );
        assert_eq!(r.status(), 304);
        assert_eq!(r.headers().len(), 1);
    }
}
