//! `--health PATH`: a liveness answer for load balancers and Kubernetes probes, `200 ok`
//! from memory for `GET` and `HEAD`, never touching the disk, so a probe stays cheap and
//! keeps answering even when the root is slow or unreadable.

use crate::context::Ctx;
use crate::response::Response;
use shared::StatusCode;

/// The body of a health answer.
const BODY: &[u8] = b"ok";

/// Answers `ctx` if it asks for the health path; `None` lets the handler carry on.
pub(crate) fn answer(ctx: &Ctx<'_>, health: Option<&str>) -> Option<Response> {
    let health = health?;
    let path = shared::wire::request::target_path(ctx.target);
    if !(ctx.method == "GET" || ctx.head_only) || path != Some(health) {
        return None;
    }
    // A probe must see the server's state now, never a cached copy.
    Some(
        Response::page(StatusCode::OK, "text/plain; charset=utf-8", BODY)
            .with("Cache-Control", "no-store"),
    )
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
    use crate::response::Body;
    use std::time::SystemTime;

    fn ask(method: &str, target: &str, health: Option<&str>) -> Option<Response> {
        let ctx = Ctx::new(method, target, &[], SystemTime::UNIX_EPOCH);
        answer(&ctx, health)
    }

    #[test]
    fn health_path_answers_ok_from_memory() {
        let r = ask("GET", "/healthz?probe=1", Some("/healthz")).unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert!(matches!(r.body, Body::Memory(ref b) if &b[..] == b"ok"));
        let fields: Vec<_> = r.fields.iter().collect();
        assert!(
            fields.contains(&("Cache-Control", "no-store")),
            "{fields:?}"
        );
        assert!(ask("HEAD", "/healthz", Some("/healthz")).is_some());
        assert!(ask("GET", "http://example.com/healthz", Some("/healthz")).is_some());
    }

    #[test]
    fn other_paths_methods_and_no_flag_fall_through() {
        assert!(ask("GET", "/healthz", None).is_none());
        assert!(ask("GET", "/healthz/", Some("/healthz")).is_none());
        assert!(ask("GET", "/x/healthz", Some("/healthz")).is_none());
        assert!(ask("POST", "/healthz", Some("/healthz")).is_none());
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
