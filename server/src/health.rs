//! `--health PATH`: a liveness answer for load balancers and Kubernetes probes, `200 ok`
//! from memory for `GET` and `HEAD`, never touching the disk, so a probe stays cheap and
//! keeps answering even when the root is slow or unreadable.

use crate::reply::{self, Reply};
use shared::request::Request;
use shared::StatusCode;

/// The body of a health answer.
const BODY: &[u8] = b"ok";

/// Answers `req` if it asks for the health path; `None` lets the handler carry on.
pub(crate) fn answer(
    req: &Request<'_, '_>,
    health: Option<&str>,
    out: &mut Vec<u8>,
) -> Option<Reply> {
    let health = health?;
    let head_only = req.method == "HEAD";
    if !(req.method == "GET" || head_only) || req.path() != Some(health) {
        return None;
    }
    let r = reply::in_memory(
        out,
        StatusCode::OK,
        b"text/plain; charset=utf-8",
        BODY.to_vec(),
        head_only,
    );
    // A probe must see the server's state now, never a cached copy.
    shared::format::header(out, "Cache-Control", b"no-store");
    Some(r)
}

/// Checks a `--health` value at start-up: an absolute path of plain characters,
/// compared with the request's path as sent (no query, no percent-encoding).
pub(crate) fn parse_path(value: &str) -> Result<String, String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/-._~!$&'()*+,;=:@".contains(c);
    if !value.starts_with('/') {
        return Err(format!("'{value}' must start with '/', e.g. /healthz"));
    }
    if let Some(c) = value.chars().find(|&c| !plain(c)) {
        return Err(format!(
            "'{value}' holds {c:?}; use letters, digits and - . _ ~ / only, e.g. /healthz"
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::request::{parse_request, Parsed, EMPTY_HEADER};

    fn ask(head: &[u8], health: Option<&str>) -> Option<(Reply, String)> {
        let mut headers = [EMPTY_HEADER; 16];
        let Ok(Parsed::Complete(req)) = parse_request(head, &mut headers) else {
            panic!("bad test request");
        };
        let mut out = Vec::new();
        answer(&req, health, &mut out).map(|r| (r, String::from_utf8(out).unwrap()))
    }

    #[test]
    fn health_path_answers_ok_from_memory() {
        let (r, head) = ask(
            b"GET /healthz?probe=1 HTTP/1.1\r\nHost: x\r\n\r\n",
            Some("/healthz"),
        )
        .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert!(matches!(r.body, reply::Body::Bytes(ref b) if b == b"ok"));
        assert!(head.contains("Content-Length: 2\r\n"), "{head}");
        assert!(head.contains("Cache-Control: no-store\r\n"), "{head}");
        let (r, _) = ask(
            b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
            Some("/healthz"),
        )
        .unwrap();
        assert!(matches!(r.body, reply::Body::Empty));
    }

    #[test]
    fn other_paths_methods_and_no_flag_fall_through() {
        assert!(ask(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", None).is_none());
        assert!(ask(
            b"GET /healthz/ HTTP/1.1\r\nHost: x\r\n\r\n",
            Some("/healthz")
        )
        .is_none());
        assert!(ask(
            b"POST /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
            Some("/healthz")
        )
        .is_none());
    }

    #[test]
    fn health_flag_values_are_checked() {
        assert_eq!(parse_path("/healthz").unwrap(), "/healthz");
        assert!(parse_path("healthz")
            .unwrap_err()
            .contains("start with '/'"));
        assert!(parse_path("/a b").is_err());
        assert!(parse_path("/a%20b").is_err());
        assert!(parse_path("/a?b").is_err());
        assert!(parse_path("/a\r\nX: y").is_err());
    }
}
