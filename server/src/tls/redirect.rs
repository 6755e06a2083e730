//! `--redirect-http PORT`: what the cleartext listener answers to every request — `308` to
//! the same path and query on https, on the host the client asked for (checked to be a
//! plain host name or IP address, so the answer can only ever point back at a name the
//! client already used for this server), with the TLS port in place of the cleartext one.

use shared::wire::format;
use shared::wire::request::Request;
use shared::StatusCode;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

/// Longest DNS name (RFC 1035 section 2.3.4, without the trailing dot).
const MAX_HOST_NAME: usize = 253;
/// Longest DNS label (RFC 1035 section 2.3.4).
const MAX_LABEL: usize = 63;
/// The port browsers assume for https://; left out of the Location when it is ours.
const DEFAULT_HTTPS_PORT: u16 = 443;

/// Why a request cannot be redirected; each is answered with `400`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectError {
    /// No `Host` (HTTP/1.0), or one that is not a host name or IP address.
    BadHost,
    /// `*` or authority-form: there is no path to redirect to.
    NoPath,
}

impl RedirectError {
    /// One line for the body and the log.
    pub fn describe(self) -> &'static str {
        match self {
            RedirectError::BadHost => {
                "this server redirects to https and needs a valid Host header to do so"
            }
            RedirectError::NoPath => {
                "this server redirects to https and needs a request target that is a path"
            }
        }
    }
}

/// The https URL for `req`: host from the absolute-form target or `Host`, port replaced by
/// `tls_port`, path and query kept.
pub fn location(req: &Request<'_, '_>, tls_port: u16) -> Result<String, RedirectError> {
    let (authority, path) = split_target(req.target).ok_or(RedirectError::NoPath)?;
    let authority = match authority {
        Some(a) => a,
        None => req
            .header("host")
            .and_then(|h| std::str::from_utf8(h).ok())
            .ok_or(RedirectError::BadHost)?,
    };
    let host = checked_host(authority).ok_or(RedirectError::BadHost)?;
    let mut url = format!("https://{host}");
    if tls_port != DEFAULT_HTTPS_PORT {
        url.push(':');
        url.push_str(&tls_port.to_string());
    }
    // The parser admits only visible bytes in a target; escape any non-ASCII ones so the
    // Location field is pure ASCII.
    for b in path.bytes() {
        if b.is_ascii_graphic() {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(url)
}

/// What the redirect port answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer<'a> {
    /// `308` to this https URL.
    Redirect(&'a str),
    /// An error status with a one-line reason.
    Refuse(StatusCode, &'a str),
}

/// The whole response: `308` with `Location`, or the refusal; bodies are one line, left
/// out for HEAD; the connection closes after it.
pub fn response(answer: Answer<'_>, head_only: bool, now: SystemTime) -> Vec<u8> {
    let (status, body) = match answer {
        Answer::Redirect(url) => (StatusCode(308), format!("Moved to {url}\n")),
        Answer::Refuse(status, why) => (status, format!("{why}\n")),
    };
    let mut out = Vec::with_capacity(256 + body.len());
    format::status_line(&mut out, status);
    format::header(
        &mut out,
        "Date",
        shared::wire::date::format_http_date(now).as_bytes(),
    );
    if let Answer::Redirect(url) = answer {
        format::header(&mut out, "Location", url.as_bytes());
    }
    format::header(&mut out, "Content-Type", b"text/plain; charset=utf-8");
    format::header_u64(&mut out, "Content-Length", body.len() as u64);
    format::header(&mut out, "Connection", b"close");
    format::end_head(&mut out);
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// Splits a target into (authority of an absolute-form target, path and query).
/// `None` for `*` and authority-form.
fn split_target(target: &str) -> Option<(Option<&str>, &str)> {
    if target.starts_with('/') {
        return Some((None, target));
    }
    let bytes = target.as_bytes();
    let scheme_len = [&b"http://"[..], b"https://"]
        .iter()
        .find(|p| {
            bytes
                .get(..p.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(p))
        })?
        .len();
    let rest = &target[scheme_len..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    Some((Some(authority), if path.is_empty() { "/" } else { path }))
}

/// The host of `authority` (`host[:port]`) if it is a DNS name, IPv4 address or bracketed
/// IPv6 address, lowercased, without the port. Nothing else (userinfo, percent signs,
/// sub-delimiters, an empty name) gets through.
pub fn checked_host(authority: &str) -> Option<String> {
    let authority = authority.trim();
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']')?;
        let inside = &rest[..end];
        inside.parse::<Ipv6Addr>().ok()?;
        (&authority[..end + 2], &rest[end + 1..])
    } else {
        let colon = authority.find(':').unwrap_or(authority.len());
        authority.split_at(colon)
    };
    let port_ok = match port.strip_prefix(':') {
        None => port.is_empty(),
        // An empty port is allowed (RFC 3986 section 3.2.3).
        Some(digits) => digits.is_empty() || digits.parse::<u16>().is_ok(),
    };
    if !port_ok {
        return None;
    }
    if host.starts_with('[') || host.parse::<Ipv4Addr>().is_ok() || is_dns_name(host) {
        return Some(host.to_ascii_lowercase());
    }
    None
}

/// Letters, digits and hyphens in dot-separated labels of 1 to 63 bytes, no label starting
/// or ending with a hyphen; one trailing dot allowed.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= MAX_HOST_NAME
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::wire::request::{parse_request, Status, EMPTY_HEADER};

    fn redirect(head: &str, tls_port: u16) -> Result<String, RedirectError> {
        let mut headers = [EMPTY_HEADER; 16];
        match parse_request(head.as_bytes(), &mut headers) {
            Ok(Status::Complete(req)) => location(&req, tls_port),
            other => panic!("test head did not parse: {other:?}"),
        }
    }

    #[test]
    fn keeps_path_and_query_and_swaps_the_port() {
        let cases = [
            (
                "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
                8443,
                "https://example.com:8443/a/b?x=1&y=2",
            ),
            (
                "GET / HTTP/1.1\r\nHost: Example.COM\r\n\r\n",
                443,
                "https://example.com/",
            ),
            (
                "HEAD /x HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n",
                8443,
                "https://127.0.0.1:8443/x",
            ),
            (
                "GET /v6 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
                8443,
                "https://[::1]:8443/v6",
            ),
            (
                "GET /dot HTTP/1.1\r\nHost: example.com.\r\n\r\n",
                443,
                "https://example.com./dot",
            ),
            (
                "GET //evil.example/x HTTP/1.1\r\nHost: good.example\r\n\r\n",
                443,
                "https://good.example//evil.example/x",
            ),
            // Absolute-form: its authority wins over Host (RFC 9112 section 3.2.2).
            (
                "GET http://a.example/p?q HTTP/1.1\r\nHost: b.example\r\n\r\n",
                443,
                "https://a.example/p?q",
            ),
            (
                "GET http://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n",
                443,
                "https://a.example/",
            ),
        ];
        for (head, port, want) in cases {
            assert_eq!(redirect(head, port).as_deref(), Ok(want), "{head:?}");
        }
    }

    #[test]
    fn never_an_open_redirect() {
        for host in [
            "evil.example@good.example",
            "good.example/evil.example",
            "good.example\\evil.example",
            "%65vil.example",
            "-bad.example",
            "bad-.example",
            "a..b",
            "",
            ":8080",
            "[::1",
            "[not-v6]",
            "[::1]x",
            "good.example:99999",
            "good.example:80:80",
            "good_example.com",
            "!$&'()*+,;=",
        ] {
            assert_eq!(checked_host(host), None, "{host:?}");
        }
        assert_eq!(checked_host("a.example:"), Some("a.example".into()));
        let long = format!("{}.example", "a".repeat(64));
        assert_eq!(checked_host(&long), None);
    }

    #[test]
    fn refuses_what_has_no_path_or_no_host() {
        assert_eq!(
            redirect("GET / HTTP/1.0\r\n\r\n", 443),
            Err(RedirectError::BadHost)
        );
        assert_eq!(
            redirect("OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n", 443),
            Err(RedirectError::NoPath)
        );
        assert_eq!(
            redirect(
                "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example\r\n\r\n",
                443
            ),
            Err(RedirectError::NoPath)
        );
    }

    #[test]
    fn responses_are_complete_and_head_has_no_body() {
        let now = SystemTime::UNIX_EPOCH;
        let to = Answer::Redirect("https://a.example/x");
        let text = String::from_utf8(response(to, false, now)).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 308 Permanent Redirect\r\n"),
            "{head}"
        );
        assert!(
            head.contains("\r\nLocation: https://a.example/x\r\n"),
            "{head}"
        );
        assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
        let head_only = response(to, true, now);
        assert!(head_only.ends_with(b"\r\n\r\n"));
        assert!(String::from_utf8(head_only)
            .unwrap()
            .contains(&format!("Content-Length: {}", body.len())));
        let refuse = Answer::Refuse(StatusCode(400), RedirectError::BadHost.describe());
        let bad = String::from_utf8(response(refuse, false, now)).unwrap();
        assert!(bad.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{bad}");
        assert!(!bad.contains("Location"), "{bad}");
    }
}
