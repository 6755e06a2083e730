//! Where a request goes: the origin (scheme, host, port) and the request target, from
//! every form a user types: `http://` and `https://` URLs, HTTPie's `:6789/x` and
//! `localhost:6789/x` shorthands, the assignment's `HOST PORT PATH`, and REPL paths
//! relative to a base path.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use std::fmt;
use url::Url;

/// Bytes that may not appear raw in a request target (RFC 3986 section 2, RFC 9112
/// section 3.2): controls, space, non-ASCII (always encoded) and the unsafe punctuation.
/// `%` is kept so that an already-encoded path is sent as typed.
const TARGET_UNSAFE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Scheme {
    /// Cleartext HTTP/1.1 over TCP.
    Http,
    /// HTTP/1.1 over TLS.
    Https,
}

impl Scheme {
    /// The port used when none is given: 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A server: scheme, host and port (RFC 6454's origin). Redirects that change it drop
/// credentials; connections are kept per origin.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    /// How to talk to it.
    pub scheme: Scheme,
    /// Host name or IP literal, without brackets.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Origin {
    /// An origin from a host as typed; `[::1]` and `::1` are the same host.
    pub fn new(scheme: Scheme, host: &str, port: u16) -> Self {
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        Self {
            scheme,
            host: host.to_string(),
            port,
        }
    }

    /// The host as it appears in a URL: IPv6 literals bracketed.
    pub fn url_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// `host:port`, always with the port (for messages and the REPL prompt).
    pub fn host_port(&self) -> String {
        format!("{}:{}", self.url_host(), self.port)
    }

    /// The `Host` field value (RFC 9110 section 7.2): the port only when not the default.
    pub fn host_field(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.url_host()
        } else {
            self.host_port()
        }
    }

    /// `http://host:port` or `https://host:port`, default port left out.
    pub fn url_prefix(&self) -> String {
        format!("{}://{}", self.scheme.as_str(), self.host_field())
    }
}

impl fmt::Display for Origin {
    /// What the user sees: `host:port` for HTTP (as the assignment's prompt shows it) and
    /// `https://host:port` for HTTPS, so the two are never confused.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scheme {
            Scheme::Http => f.write_str(&self.host_port()),
            Scheme::Https => write!(f, "https://{}", self.host_port()),
        }
    }
}

/// An origin plus a request target (`/path?query`, already percent-encoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Location {
    /// The server.
    pub origin: Origin,
    /// The origin-form request target (RFC 9112 section 3.2.1).
    pub target: String,
}

impl Location {
    /// The absolute URL, for messages, `curl` and resolving redirects.
    pub fn url(&self) -> String {
        format!("{}{}", self.origin.url_prefix(), self.target)
    }

    /// Resolves a reference (a `Location` field, a link) against this URL with
    /// `url::Url::join` (RFC 3986 section 5); `None` if it is not an http(s) URL.
    pub fn join(&self, reference: &str) -> Option<Location> {
        let base = Url::parse(&self.url()).ok()?;
        from_url(&base.join(reference.trim()).ok()?).ok()
    }

    /// Appends `name=value` query pairs, form-encoded as HTTPie and curl `-G` do.
    pub fn add_query(&mut self, pairs: &[(String, String)]) {
        if pairs.is_empty() {
            return;
        }
        let mut encoded = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            encoded.append_pair(name, value);
        }
        self.target
            .push(if self.target.contains('?') { '&' } else { '?' });
        self.target.push_str(&encoded.finish());
    }
}

/// Credentials found in a URL (`http://user:pass@host/`), percent-decoded.
pub(crate) type UserInfo = Option<(String, Option<String>)>;

/// Parses a URL as typed: `http://` or `https://` URLs, `:6789/x` (localhost),
/// `host:port/x` and `host/x` (http, or https with `tls`).
pub(crate) fn parse_url(typed: &str, tls: bool) -> Result<(Location, UserInfo), String> {
    let typed = typed.trim();
    let lower = typed.to_ascii_lowercase();
    let full = if lower.starts_with("http://") || lower.starts_with("https://") {
        typed.to_string()
    } else if let Some((scheme, _)) = typed.split_once("://") {
        return Err(format!(
            "'{scheme}://' URLs are not supported; use http:// or https://"
        ));
    } else {
        let default = if tls { "https://" } else { "http://" };
        match typed.strip_prefix(':') {
            // HTTPie's shorthand: `:6789/x` is localhost port 6789.
            Some(rest) if !rest.starts_with(':') => format!("{default}localhost:{rest}"),
            _ => format!("{default}{typed}"),
        }
    };
    let url = Url::parse(&full).map_err(|e| {
        format!("'{typed}' is not a URL ({e}); try http://127.0.0.1:6789/HelloWorld.html")
    })?;
    let location = from_url(&url)?;
    let user = if url.username().is_empty() {
        None
    } else {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        Some((decode(url.username()), url.password().map(decode)))
    };
    Ok((location, user))
}

/// A location from a parsed URL; the fragment is dropped (it is never sent).
pub(crate) fn from_url(url: &Url) -> Result<Location, String> {
    let scheme = match url.scheme() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => {
            return Err(format!(
                "'{other}:' URLs are not supported; use http:// or https://"
            ))
        }
    };
    let host = match url.host() {
        Some(url::Host::Ipv6(addr)) => addr.to_string(),
        Some(host) => host.to_string(),
        None => return Err(format!("'{url}' has no host")),
    };
    let port = url.port().unwrap_or(scheme.default_port());
    let mut target = url.path().to_string();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    Ok(Location {
        origin: Origin::new(scheme, &host, port),
        target,
    })
}

/// Whether a typed word is meant as a URL rather than the HOST of `HOST PORT`.
pub(crate) fn looks_like_url(word: &str) -> bool {
    word.contains("://") || (word.starts_with(':') && !word.starts_with("::"))
}

/// The request target for a path typed after `HOST PORT` or in the REPL: a leading `/`
/// is added when missing, a fragment is dropped, unsafe bytes are percent-encoded, and
/// `.` and `..` segments are resolved (RFC 3986 section 5.2.4), as for URLs and as curl
/// does: `/sub/../echo` asks for `/echo`, and gets `/echo`'s cookies.
pub(crate) fn target(typed: &str) -> String {
    let typed = typed.split('#').next().unwrap_or_default();
    let encoded = utf8_percent_encode(typed, TARGET_UNSAFE).to_string();
    let (path, query) = match encoded.find('?') {
        Some(i) => encoded.split_at(i),
        None => (encoded.as_str(), ""),
    };
    format!("{}{query}", remove_dot_segments(path))
}

/// `path` (with a leading `/` added when missing) without `.` and `..` segments; a
/// `..` above the top stays at the top, and a path ending in one keeps its `/`.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing = false;
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => trailing = i == last,
            ".." => {
                out.pop();
                trailing = i == last;
            }
            s => {
                out.push(s);
                trailing = false;
            }
        }
    }
    let mut joined = format!("/{}", out.join("/"));
    if trailing && !joined.ends_with('/') {
        joined.push('/');
    }
    joined
}

/// A REPL path against the session's base path (`cd`): absolute paths stand alone,
/// relative ones are appended to the base, as http-prompt does.
pub(crate) fn under_base(base: &str, typed: &str) -> String {
    if typed.starts_with('/') || base == "/" {
        return target(typed);
    }
    target(&format!("{}/{typed}", base.trim_end_matches('/')))
}

/// The new base path after `cd ARG` from `base`: `/x` absolute, `..` up one, `x` down.
pub(crate) fn change_dir(base: &str, arg: &str) -> String {
    let mut parts: Vec<&str> = if arg.starts_with('/') {
        Vec::new()
    } else {
        base.split('/').filter(|s| !s.is_empty()).collect()
    };
    for segment in arg.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    target(&format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(typed: &str) -> String {
        parse_url(typed, false)
            .map(|(l, _)| l.url())
            .unwrap_or_else(|e| e)
    }

    #[test]
    fn url_forms() {
        let cases = [
            ("http://127.0.0.1:6789/x", "http://127.0.0.1:6789/x"),
            ("HTTP://Example.ORG", "http://example.org/"),
            (
                "https://example.org/a?b=c#frag",
                "https://example.org/a?b=c",
            ),
            ("https://example.org:443/", "https://example.org/"),
            ("http://example.org:80/", "http://example.org/"),
            (":6789/x", "http://localhost:6789/x"),
            (":6789", "http://localhost:6789/"),
            (":/x", "http://localhost/x"),
            ("localhost:6789/x", "http://localhost:6789/x"),
            ("example.org/a b", "http://example.org/a%20b"),
            ("[::1]:8080/x", "http://[::1]:8080/x"),
            ("http://[::1]/", "http://[::1]/"),
        ];
        for (typed, want) in cases {
            assert_eq!(url(typed), want, "typed {typed:?}");
        }
        assert_eq!(
            parse_url("example.org/x", true).unwrap().0.url(),
            "https://example.org/x"
        );
        assert!(url("ftp://example.org/").contains("not supported"));
        assert!(url("http://").contains("is not a URL"));
    }

    #[test]
    fn url_credentials_are_decoded() {
        let (_, user) = parse_url("http://us%20er:p%40ss@h/", false).unwrap();
        assert_eq!(user, Some(("us er".into(), Some("p@ss".into()))));
        let (_, user) = parse_url("http://me@h/", false).unwrap();
        assert_eq!(user, Some(("me".into(), None)));
    }

    #[test]
    fn urls_are_told_from_hosts() {
        for word in ["http://h", ":6789", ":/x", "https://h/x"] {
            assert!(looks_like_url(word), "{word}");
        }
        for word in ["127.0.0.1", "::1", "example.org", "fe80::1"] {
            assert!(!looks_like_url(word), "{word}");
        }
    }

    #[test]
    fn dot_segments_are_resolved() {
        for (typed, sent) in [
            ("/sub/../echo", "/echo"),
            ("a/../echo", "/echo"),
            ("/a/./b", "/a/b"),
            ("/a/b/..", "/a/"),
            ("/a/.", "/a/"),
            ("/../../x", "/x"),
            ("..", "/"),
            ("/a//b/", "/a//b/"),
            ("/a/..b/.c", "/a/..b/.c"),
            ("/a/../b?x=/../y", "/b?x=/../y"),
            ("", "/"),
        ] {
            assert_eq!(target(typed), sent, "{typed}");
        }
    }

    #[test]
    fn targets() {
        let cases = [
            ("", "/"),
            ("/", "/"),
            ("HelloWorld.html", "/HelloWorld.html"),
            ("/a b.html", "/a%20b.html"),
            ("/caf\u{e9}", "/caf%C3%A9"),
            ("/a%20b", "/a%20b"),
            ("/search?q=a b&x=1", "/search?q=a%20b&x=1"),
            ("/page#section", "/page"),
            ("/a\r\nX-Injected: 1", "/a%0D%0AX-Injected:%201"),
            ("/<script>", "/%3Cscript%3E"),
        ];
        for (typed, want) in cases {
            assert_eq!(target(typed), want, "typed {typed:?}");
        }
    }

    #[test]
    fn hosts_and_fields() {
        let v6 = Origin::new(Scheme::Http, "[::1]", 8080);
        assert_eq!(
            (v6.host.as_str(), v6.host_field()),
            ("::1", "[::1]:8080".into())
        );
        assert_eq!(Origin::new(Scheme::Https, "h", 443).host_field(), "h");
        assert_eq!(Origin::new(Scheme::Http, "h", 443).host_field(), "h:443");
        assert_eq!(Origin::new(Scheme::Http, "h", 80).to_string(), "h:80");
        assert_eq!(
            Origin::new(Scheme::Https, "h", 443).to_string(),
            "https://h:443"
        );
    }

    #[test]
    fn joins_references_with_url_join() {
        let here = parse_url("http://h:81/dir/page.html?q", false).unwrap().0;
        let join = |r: &str| here.join(r).map(|l| l.url());
        assert_eq!(
            join("other.html").as_deref(),
            Some("http://h:81/dir/other.html")
        );
        assert_eq!(join("../up").as_deref(), Some("http://h:81/up"));
        assert_eq!(join("//x.org/y").as_deref(), Some("http://x.org/y"));
        assert_eq!(join("https://s/").as_deref(), Some("https://s/"));
        assert_eq!(join("mailto:a@b"), None);
    }

    #[test]
    fn query_items_are_form_encoded_and_appended() {
        let mut l = parse_url("http://h/s?a=1", false).unwrap().0;
        l.add_query(&[("q".into(), "a b&c".into()), ("é".into(), "".into())]);
        assert_eq!(l.target, "/s?a=1&q=a+b%26c&%C3%A9=");
    }

    #[test]
    fn base_paths() {
        assert_eq!(under_base("/", "users"), "/users");
        assert_eq!(under_base("/api/v1", "users"), "/api/v1/users");
        assert_eq!(under_base("/api/v1/", "users"), "/api/v1/users");
        assert_eq!(under_base("/api", "/abs"), "/abs");
        assert_eq!(change_dir("/", "/api/v1"), "/api/v1");
        assert_eq!(change_dir("/api/v1", ".."), "/api");
        assert_eq!(change_dir("/api", "v2/x"), "/api/v2/x");
        assert_eq!(change_dir("/api", "/"), "/");
        assert_eq!(change_dir("/", "../../.."), "/");
    }
}
