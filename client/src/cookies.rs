//! The session's cookies (RFC 6265): `Set-Cookie` remembered per domain and path, sent
//! back in `Cookie` to matching requests, forgotten when they expire. Bounded in count
//! and size; no public-suffix list, so a `Domain` is only accepted when it covers the
//! host that set it.

use crate::response::Head;
use crate::target::{Location, Scheme};
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// Most cookies kept: RFC 6265 6.1 asks for at least 3000; a REPL session needs far
/// fewer, and a server cannot grow the jar past this.
const MAX_COOKIES: usize = 3000;

/// Largest cookie kept (name, value and attributes): RFC 6265 6.1's 4096 bytes.
const MAX_COOKIE_BYTES: usize = 4096;

/// One stored cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cookie {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// The host (host-only) or domain it is sent to, lowercase.
    pub domain: String,
    /// Sent to the exact host only (no `Domain` attribute).
    pub host_only: bool,
    /// The path prefix it is sent to.
    pub path: String,
    /// Sent over HTTPS only.
    pub secure: bool,
    /// When it expires; `None` lasts for the session.
    pub expires: Option<SystemTime>,
}

/// The cookie jar.
#[derive(Clone, Debug, Default)]
pub(crate) struct Jar {
    cookies: Vec<Cookie>,
}

impl Jar {
    /// Remembers the `Set-Cookie` fields of a response to a request for `from`.
    pub fn store(&mut self, from: &Location, head: &Head, now: SystemTime) {
        for value in head.all("set-cookie") {
            if let Some(cookie) = parse(from, value, now) {
                self.cookies.retain(|c| {
                    !(c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path)
                });
                if cookie.expires.is_some_and(|t| t <= now) {
                    continue; // an expiry in the past deletes it
                }
                if self.cookies.len() >= MAX_COOKIES {
                    self.cookies.remove(0);
                }
                self.cookies.push(cookie);
            }
        }
    }

    /// The `Cookie` value for a request to `to`, longest paths first (RFC 6265 5.4).
    pub fn header(&self, to: &Location, now: SystemTime) -> Option<String> {
        let host = to.origin.host.to_ascii_lowercase();
        let path = to.target.split('?').next().unwrap_or("/");
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| c.expires.is_none_or(|t| t > now))
            .filter(|c| {
                if c.host_only {
                    c.domain == host
                } else {
                    domain_match(&host, &c.domain)
                }
            })
            .filter(|c| path_match(path, &c.path))
            .filter(|c| !c.secure || to.origin.scheme == Scheme::Https)
            .collect();
        if matching.is_empty() {
            return None;
        }
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        Some(
            matching
                .iter()
                .map(|c| format!("{}={}", c.name, c.value))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    /// Every cookie still valid, in the order set.
    pub fn list(&self, now: SystemTime) -> Vec<&Cookie> {
        self.cookies
            .iter()
            .filter(|c| c.expires.is_none_or(|t| t > now))
            .collect()
    }

    /// Forgets every cookie.
    pub fn clear(&mut self) {
        self.cookies.clear();
    }
}

/// Parses one `Set-Cookie` value (RFC 6265 5.2); `None` when it must be ignored.
fn parse(from: &Location, raw: &[u8], now: SystemTime) -> Option<Cookie> {
    if raw.len() > MAX_COOKIE_BYTES {
        return None;
    }
    let text = std::str::from_utf8(raw).ok()?;
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return None;
    }
    let mut parts = text.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() {
        return None;
    }
    let host = from.origin.host.to_ascii_lowercase();
    let mut cookie = Cookie {
        name: name.to_string(),
        value: value.to_string(),
        domain: host.clone(),
        host_only: true,
        path: default_path(&from.target),
        secure: false,
        expires: None,
    };
    let mut max_age = None;
    for attr in parts {
        let (key, val) = attr.split_once('=').unwrap_or((attr, ""));
        let (key, val) = (key.trim().to_ascii_lowercase(), val.trim());
        match key.as_str() {
            "expires" => {
                if let Some(t) = shared::wire::date::parse_http_date(val) {
                    cookie.expires = Some(t);
                }
            }
            "max-age" => {
                if let Ok(secs) = val.parse::<i64>() {
                    max_age = Some(secs);
                }
            }
            "domain" if !val.is_empty() => {
                let domain = val.trim_start_matches('.').to_ascii_lowercase();
                // A server cannot set cookies for another site, nor for a whole
                // top-level domain (without a public-suffix list, one label is a TLD).
                if !domain_match(&host, &domain) || (!domain.contains('.') && domain != host) {
                    return None;
                }
                cookie.domain = domain;
                cookie.host_only = false;
            }
            "path" if val.starts_with('/') => cookie.path = val.to_string(),
            "secure" => cookie.secure = true,
            _ => {}
        }
    }
    if let Some(secs) = max_age {
        // Max-Age wins over Expires (RFC 6265 5.3 step 3).
        cookie.expires = Some(match u64::try_from(secs) {
            Ok(s) if s > 0 => now
                .checked_add(Duration::from_secs(s))
                .unwrap_or(now + Duration::from_secs(u32::MAX.into())),
            _ => SystemTime::UNIX_EPOCH,
        });
    }
    // A cleartext response cannot set a Secure cookie (RFC 6265bis 5.7 step 15).
    if cookie.secure && from.origin.scheme != Scheme::Https {
        return None;
    }
    Some(cookie)
}

/// RFC 6265 5.1.3: the host is the domain, or ends with `.domain` and is not an IP.
fn domain_match(host: &str, domain: &str) -> bool {
    host == domain
        || (host.ends_with(domain)
            && host[..host.len() - domain.len()].ends_with('.')
            && host.parse::<IpAddr>().is_err())
}

/// RFC 6265 5.1.4: the directory of the request path.
fn default_path(target: &str) -> String {
    let path = target.split('?').next().unwrap_or("/");
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => path[..i].to_string(),
    }
}

/// RFC 6265 5.1.4: the cookie path is a prefix of the request path at a `/` boundary.
fn path_match(path: &str, cookie_path: &str) -> bool {
    path == cookie_path
        || (path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || path[cookie_path.len()..].starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::parse_url;

    fn at(url: &str) -> Location {
        parse_url(url, false).unwrap().0
    }

    fn head(fields: &[&str]) -> Head {
        Head {
            raw: Vec::new(),
            version: shared::wire::message::Version::Http11,
            status: 200,
            reason: String::new(),
            headers: fields
                .iter()
                .map(|v| ("Set-Cookie".to_string(), v.as_bytes().to_vec()))
                .collect(),
            framing: shared::wire::message::BodyFraming::Length(0),
            keep_alive: true,
        }
    }

    #[test]
    fn scoped_by_host_and_path() {
        let now = SystemTime::now();
        let mut jar = Jar::default();
        jar.store(
            &at("http://a.example/app/login"),
            &head(&["sid=1", "root=2; Path=/", "wide=3; Domain=example"]),
            now,
        );
        assert_eq!(
            jar.header(&at("http://a.example/app/x"), now).as_deref(),
            Some("sid=1; root=2")
        );
        assert_eq!(
            jar.header(&at("http://a.example/other"), now).as_deref(),
            Some("root=2")
        );
        assert_eq!(
            jar.header(&at("http://a.example/apple"), now).as_deref(),
            Some("root=2")
        );
        assert_eq!(jar.header(&at("http://b.example/app/x"), now), None);
    }

    #[test]
    fn domain_cookies_reach_subdomains_only_when_allowed() {
        let now = SystemTime::now();
        let mut jar = Jar::default();
        jar.store(
            &at("http://www.site.test/"),
            &head(&["d=1; Domain=.site.test", "evil=1; Domain=other.test"]),
            now,
        );
        assert_eq!(
            jar.header(&at("http://api.site.test/"), now).as_deref(),
            Some("d=1")
        );
        assert_eq!(jar.header(&at("http://other.test/"), now), None);
        assert_eq!(jar.list(now).len(), 1);
    }

    #[test]
    fn expiry_replacement_and_secure() {
        let now = SystemTime::now();
        let mut jar = Jar::default();
        let here = at("http://h/");
        jar.store(
            &here,
            &head(&[
                "a=1",
                "b=1; Max-Age=0",
                "c=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                "s=1; Secure",
            ]),
            now,
        );
        assert_eq!(jar.header(&here, now).as_deref(), Some("a=1"));
        jar.store(&here, &head(&["a=2"]), now);
        assert_eq!(jar.header(&here, now).as_deref(), Some("a=2"));
        jar.store(&here, &head(&["a=2; Max-Age=0"]), now);
        assert_eq!(jar.header(&here, now), None);
        let secure = parse_url("https://h/", false).unwrap().0;
        jar.store(&secure, &head(&["s=1; Secure"]), now);
        assert_eq!(jar.header(&secure, now).as_deref(), Some("s=1"));
        assert_eq!(jar.header(&here, now), None);
    }

    #[test]
    fn hostile_values_are_ignored() {
        let now = SystemTime::now();
        let mut jar = Jar::default();
        let long = format!("big={}", "x".repeat(MAX_COOKIE_BYTES));
        jar.store(
            &at("http://h/"),
            &head(&["noequals", "=v", "ctl=a\u{1b}b", &long]),
            now,
        );
        assert!(jar.list(now).is_empty());
    }
}
