//! The HTTP/2 writer's half of a [`Response`]: its head (`:status`, `date`, `server`,
//! the response's fields, `content-length`) and its body as pieces for [`body::send`].
//! HTTP/2 has no `Connection` and friends (RFC 9113 section 8.2.2): the handler never
//! sets them, and this writer, unlike HTTP/1's, adds none.
//!
//! [`body::send`]: super::body::send

use super::body::Piece;
use crate::response::{Body, Part, Response, SERVER_NAME};
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, DATE, SERVER};
use shared::wire::date::DateCache;
use shared::StatusCode;
use std::cell::RefCell;
use std::time::SystemTime;

/// Fields that describe one HTTP/1 connection; `h2` refuses to send them.
const CONNECTION_SPECIFIC: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

thread_local! {
    // Used within one call, never across an await.
    static DATE_CACHE: RefCell<DateCache> = RefCell::new(DateCache::new());
}

/// The head and the body pieces of `response` (no pieces for HEAD, or when the status
/// carries no content: 1xx, 204, 304; RFC 9110 section 6.4.1).
pub(crate) fn split(
    response: Response,
    head_only: bool,
    now: SystemTime,
) -> (http::Response<()>, Vec<Piece>) {
    let status = response.status;
    let mut head = http::Response::new(());
    *head.status_mut() = http::StatusCode::from_u16(status.as_u16())
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let fields = head.headers_mut();
    let date = DATE_CACHE.with(|d| HeaderValue::from_bytes(d.borrow_mut().get(now)));
    if let Ok(date) = date {
        fields.append(DATE, date);
    }
    fields.append(SERVER, HeaderValue::from_static(SERVER_NAME));
    for (name, value) in response.fields.iter() {
        if CONNECTION_SPECIFIC
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
        {
            continue;
        }
        // A field no HTTP/2 peer could receive is left out rather than failing the
        // whole response; the handler never makes one.
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            continue;
        };
        fields.append(name, value);
    }
    // As HTTP/1's writer: none in 1xx, 204 and 304 (a 304's would be the 200's).
    let bodiless = status == StatusCode::NOT_MODIFIED
        || status == StatusCode::NO_CONTENT
        || status.as_u16() < 200;
    if !bodiless {
        fields.append(CONTENT_LENGTH, HeaderValue::from(response.body.len()));
    }
    let pieces = if head_only || bodiless {
        Vec::new()
    } else {
        pieces(response.body)
    };
    (head, pieces)
}

/// The body as pieces in order, empty ones left out.
fn pieces(body: Body) -> Vec<Piece> {
    let mut out = match body {
        Body::Empty => Vec::new(),
        Body::Memory(bytes) => vec![Piece::Bytes(bytes)],
        Body::File { file, offset, len } => vec![Piece::File { file, offset, len }],
        Body::Multipart { file, parts } => parts
            .into_iter()
            .map(|part| match part {
                Part::Bytes(bytes) => Piece::Bytes(bytes),
                Part::Range { offset, len } => Piece::File {
                    file: file.clone(),
                    offset,
                    len,
                },
            })
            .collect(),
    };
    out.retain(|p| !p.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::fs::File;
    use std::sync::Arc;

    fn names(head: &http::Response<()>) -> Vec<&str> {
        head.headers().keys().map(|k| k.as_str()).collect()
    }

    #[test]
    fn the_head_has_date_server_fields_and_length_but_nothing_of_http1() {
        let mut r = Response::page(StatusCode::OK, "text/plain", Bytes::from_static(b"hello"))
            .with("Vary", "Accept-Encoding")
            .with("Vary", "Origin");
        // Nothing in the server sets these; a stray one is still never sent.
        r.fields.append("Connection", "close");
        r.fields.append("Transfer-Encoding", "chunked");
        let (head, pieces) = split(r, false, SystemTime::UNIX_EPOCH);
        assert_eq!(head.status(), 200);
        assert_eq!(
            names(&head),
            ["date", "server", "content-type", "vary", "content-length"]
        );
        assert_eq!(head.headers()["date"], "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(head.headers()["content-length"], "5");
        assert_eq!(head.headers().get_all("vary").iter().count(), 2);
        assert!(matches!(&pieces[..], [Piece::Bytes(b)] if b == "hello"));
    }

    #[test]
    fn head_keeps_the_length_and_sends_no_body() {
        let r = Response::page(StatusCode::OK, "text/plain", Bytes::from_static(b"hello"));
        let (head, pieces) = split(r, true, SystemTime::now());
        assert_eq!(head.headers()["content-length"], "5");
        assert!(pieces.is_empty());
    }

    #[test]
    fn a_304_has_no_length_and_no_body() {
        let mut r = Response::new(StatusCode::NOT_MODIFIED).with("ETag", "\"1\"");
        r.body = Body::Memory(Bytes::from_static(b"stray"));
        let (head, pieces) = split(r, false, SystemTime::now());
        assert_eq!(head.status(), 304);
        assert!(head.headers().get("content-length").is_none());
        assert!(pieces.is_empty());
    }

    #[test]
    fn a_multipart_body_becomes_its_pieces_in_order() {
        let file = Arc::new(File::open("/dev/null").unwrap());
        let mut r = Response::new(StatusCode::PARTIAL_CONTENT);
        r.body = Body::Multipart {
            file,
            parts: vec![
                Part::Bytes(Bytes::from_static(b"--a")),
                Part::Range { offset: 3, len: 4 },
                Part::Range { offset: 9, len: 0 },
                Part::Bytes(Bytes::from_static(b"--a--")),
            ],
        };
        let (head, pieces) = split(r, false, SystemTime::now());
        assert_eq!(head.headers()["content-length"], "12");
        let shape: Vec<String> = pieces
            .iter()
            .map(|p| match p {
                Piece::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                Piece::File { offset, len, .. } => format!("{offset}+{len}"),
            })
            .collect();
        assert_eq!(shape, ["--a", "3+4", "--a--"]);
    }
}
