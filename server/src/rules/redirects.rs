//! `[[redirects]]`: a path answered with 301/302/303/307/308 and a `Location` built from
//! the file's destination and the source's captures, never an open redirect.
//!
//! The scheme and host of a redirect always come from the file: a destination is either
//! a local path (`/new/$1`) or an absolute `http(s)://` URL whose captures may only stand
//! in its path. Captured text is percent-encoded, and runs of slashes in the path are
//! folded, so no request can turn a local destination into `//evil.example`.

use super::field;
use super::file::RedirectRule;
use super::glob::Captures;
use shared::StatusCode;

/// The statuses a redirect may use (RFC 9110 section 15.4).
const STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

/// A checked redirect rule.
#[derive(Debug)]
pub struct Redirect {
    source: Captures,
    /// The destination, split at its `$N` references.
    template: Vec<Piece>,
    /// Where the path of the destination starts (after `scheme://host`).
    path_start: usize,
    /// Whether the destination has its own query (then the request's is dropped).
    has_query: bool,
    status: StatusCode,
}

#[derive(Debug)]
enum Piece {
    Text(String),
    Capture(usize),
}

impl Redirect {
    /// Checks and compiles one rule.
    pub fn new(rule: &RedirectRule) -> Result<Redirect, String> {
        let source = Captures::new(&rule.source)?;
        if !STATUSES.contains(&rule.status) {
            return Err(format!(
                "status {} is not a redirect; use 301 or 308 (permanent), 302 or 307 (temporary), or 303",
                rule.status
            ));
        }
        let d = rule.destination.as_str();
        field::check_value(d).map_err(|e| format!("destination {d:?}: {e}"))?;
        if d.contains([' ', '\t', '#']) {
            return Err(format!(
                "destination {d:?} has a space, tab or #; percent-encode it (%20)"
            ));
        }
        let path_start = if d.starts_with('/') && !d.starts_with("//") {
            0
        } else if let Some(rest) = d
            .strip_prefix("https://")
            .or_else(|| d.strip_prefix("http://"))
        {
            let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
            if authority_len == 0 || rest[..authority_len].contains(['$', '@', '\\']) {
                return Err(format!(
                    "destination {d:?}: give a host after the scheme, without $ captures or user info"
                ));
            }
            d.len() - rest.len() + authority_len
        } else {
            return Err(format!(
                "destination {d:?} must be a local path such as /new/$1, or an http:// or https:// URL"
            ));
        };
        let template = parse_template(d, source.count())?;
        Ok(Redirect {
            source,
            template,
            path_start,
            has_query: d.contains('?'),
            status: StatusCode(rule.status),
        })
    }

    /// The status and `Location` for `path` (a rule path) when this rule's source
    /// matches it as written; `query` is the request's, without `?`.
    pub fn location(&self, path: &str, query: Option<&str>) -> Option<(StatusCode, String)> {
        let captures = self.source.captures(path)?;
        let mut out = String::new();
        for piece in &self.template {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Capture(n) => {
                    out.push_str(&shared::site::path::encode_path(captures[n - 1]))
                }
            }
        }
        let mut location = fold_slashes(&out, self.path_start);
        if let Some(q) = query.filter(|q| !self.has_query && !q.is_empty()) {
            // The request line was parsed already; still, only visible ASCII goes in a field.
            if q.bytes().all(|b| b.is_ascii_graphic() && b != b'#') {
                location.push('?');
                location.push_str(q);
            }
        }
        Some((self.status, location))
    }
}

/// Splits a destination at `$1`..`$9` (`$$` is a literal `$`).
fn parse_template(d: &str, captures: usize) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = d.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            text.push(c);
            continue;
        }
        match chars.next() {
            Some('$') => text.push('$'),
            Some(digit @ '1'..='9') => {
                let n = digit as usize - '0' as usize;
                if n > captures {
                    return Err(format!(
                        "destination {d:?} uses ${n}, but the source has {captures} wildcard(s)"
                    ));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Capture(n));
            }
            _ => {
                return Err(format!(
                    "destination {d:?}: $ must be followed by a digit 1-9 (or write $$)"
                ))
            }
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Folds runs of `/` into one in the path part (from `path_start` to the query), so an
/// empty capture can never make `//host`.
fn fold_slashes(url: &str, path_start: usize) -> String {
    let (head, rest) = url.split_at(path_start);
    let (path, query) = match rest.find('?') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(head);
    let mut previous_slash = false;
    for c in path.chars() {
        if c == '/' && previous_slash {
            continue;
        }
        previous_slash = c == '/';
        out.push(c);
    }
    out.push_str(query);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(source: &str, destination: &str, status: u16) -> RedirectRule {
        RedirectRule {
            source: source.into(),
            destination: destination.into(),
            status,
        }
    }

    fn to(source: &str, destination: &str, path: &str) -> Option<String> {
        Redirect::new(&rule(source, destination, 308))
            .unwrap()
            .location(path, None)
            .map(|(_, l)| l)
    }

    #[test]
    fn captures_fill_the_destination() {
        let cases = [
            ("/old/*", "/new/$1", "/old/page", Some("/new/page")),
            ("/old/**", "/new/$1", "/old/a/b.html", Some("/new/a/b.html")),
            (
                "/blog/*/*",
                "/posts/$2-$1",
                "/blog/2020/hello",
                Some("/posts/hello-2020"),
            ),
            ("/old/*", "/new/$1", "/old/a%20b", Some("/new/a%2520b")),
            ("/old/*", "/new/$1", "/old/a b", Some("/new/a%20b")),
            (
                "/old/*",
                "/new/$1",
                "/old/caf\u{e9}",
                Some("/new/caf%C3%A9"),
            ),
            ("/old/*", "/new/$1", "/other/page", None),
            (
                "/docs",
                "https://docs.example.com/",
                "/docs",
                Some("https://docs.example.com/"),
            ),
            (
                "/d/**",
                "https://docs.example.com/v2/$1",
                "/d/x/y",
                Some("https://docs.example.com/v2/x/y"),
            ),
            (
                "/cost",
                "/price?currency=$$",
                "/cost",
                Some("/price?currency=$"),
            ),
        ];
        for (source, destination, path, want) in cases {
            assert_eq!(
                to(source, destination, path).as_deref(),
                want,
                "{source} → {destination} on {path}"
            );
        }
    }

    #[test]
    fn request_data_never_makes_an_open_redirect() {
        // An empty capture in front of a slash would give //host: slashes are folded.
        assert_eq!(
            to("/go/*", "/$1/evil.example", "/go/").as_deref(),
            Some("/evil.example")
        );
        // Captured text is encoded: it cannot add a scheme, a host, a query or a fragment.
        assert_eq!(to("/go/*", "/$1", "/go/http:").as_deref(), Some("/http%3A"));
        assert_eq!(
            to("/go/*", "/x/$1", "/go/a?b#c").as_deref(),
            Some("/x/a%3Fb%23c")
        );
        // Captures may not stand in a host.
        for bad in [
            "https://$1.example.com/",
            "http://$1/",
            "//$1/x",
            "$1",
            "https://a@b/",
        ] {
            assert!(Redirect::new(&rule("/go/*", bad, 302)).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_request_query_is_kept_unless_the_destination_has_one() {
        let r = Redirect::new(&rule("/old/*", "/new/$1", 301)).unwrap();
        assert_eq!(r.location("/old/a", Some("x=1")).unwrap().1, "/new/a?x=1");
        let r = Redirect::new(&rule("/old/*", "/new?p=$1", 301)).unwrap();
        assert_eq!(r.location("/old/a", Some("x=1")).unwrap().1, "/new?p=a");
    }

    #[test]
    fn bad_rules_are_refused() {
        let bad = [
            rule("/a", "/b", 200),
            rule("/a", "/b", 304),
            rule("/a", "b", 301),
            rule("/a", "ftp://x/", 301),
            rule("/a", "/b c", 301),
            rule("/a", "/b\r\nSet-Cookie: x", 301),
            rule("/a/*", "/b/$2", 301),
            rule("/a", "/b$x", 301),
        ];
        for r in bad {
            assert!(Redirect::new(&r).is_err(), "{r:?}");
        }
        assert_eq!(
            Redirect::new(&rule("/a", "/b", 307)).unwrap().status,
            StatusCode(307)
        );
    }
}
