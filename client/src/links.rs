//! Paths seen so far on the current server, for REPL completion: requested paths,
//! `Location` headers and links in the last HTML page, resolved against the request.

use crate::request::Server;
use std::collections::BTreeSet;

/// Most paths remembered. Completion lists stay readable well below this, and a page
/// with a million links cannot grow the set without bound.
const MAX_KNOWN_PATHS: usize = 2000;

/// Longest link kept, in bytes: longer ones are data, not something to type.
const MAX_LINK_LEN: usize = 512;

/// The set of paths the user may want to type next.
#[derive(Clone, Debug, Default)]
pub struct KnownPaths {
    paths: BTreeSet<String>,
}

impl KnownPaths {
    /// Remembers a path (already a request target starting with `/`).
    pub fn add(&mut self, path: &str) {
        if path.starts_with('/') && path.len() <= MAX_LINK_LEN && self.paths.len() < MAX_KNOWN_PATHS
        {
            self.paths.insert(path.to_string());
        }
    }

    /// Remembers what `reference` (a link or `Location` value) points to on `server`,
    /// resolved against the `base` request path; links to other servers are skipped.
    pub fn add_reference(&mut self, base: &str, reference: &str, server: &Server) {
        if let Some(path) = resolve(base, reference, server) {
            self.add(&path);
        }
    }

    /// Remembers every `href` and `src` target in an HTML page fetched from `base`.
    pub fn add_links(&mut self, base: &str, html: &[u8], server: &Server) {
        for link in links(html) {
            self.add_reference(base, &link, server);
        }
    }

    /// Forgets everything (on `open` of another server).
    pub fn clear(&mut self) {
        self.paths.clear();
    }

    /// The known paths starting with `prefix`, in order.
    pub fn starting_with(&self, prefix: &str) -> Vec<String> {
        self.paths
            .range(prefix.to_string()..)
            .take_while(|p| p.starts_with(prefix))
            .cloned()
            .collect()
    }
}

/// The values of `href=` and `src=` attributes, unquoted and with `&amp;` decoded.
fn links(html: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(html);
    let lower = text.to_ascii_lowercase();
    let mut found = Vec::new();
    for attr in ["href=", "src="] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(attr) {
            let start = from + i + attr.len();
            from = start;
            // The attribute name must stand alone: `data-href=` is not a link.
            let before = lower[..start - attr.len()].chars().last();
            if !before.is_some_and(|c| c.is_whitespace()) {
                continue;
            }
            let rest = &text[start..];
            let value = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
                _ => rest
                    .split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or(""),
            };
            if !value.is_empty() && value.len() <= MAX_LINK_LEN && found.len() < MAX_KNOWN_PATHS {
                found.push(value.replace("&amp;", "&"));
            }
        }
    }
    found
}

/// Resolves `reference` against the request path `base` (RFC 3986 section 5.2, for the
/// cases links use); `None` for another server, another scheme or a bare fragment.
fn resolve(base: &str, reference: &str, server: &Server) -> Option<String> {
    let reference = reference.trim().split('#').next().unwrap_or_default();
    if reference.is_empty() {
        return None;
    }
    let lower = reference.to_ascii_lowercase();
    let after_authority = if let Some(rest) = lower.strip_prefix("http://").map(|_| &reference[7..])
    {
        Some(rest)
    } else {
        reference.strip_prefix("//")
    };
    if let Some(rest) = after_authority {
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let same = authority.eq_ignore_ascii_case(&server.authority())
            || (server.port == 80 && authority.eq_ignore_ascii_case(&server.host));
        return same.then(|| normalize(if path.is_empty() { "/" } else { path }));
    }
    // Any other scheme (https:, mailto:, javascript:, data:) is not for us.
    let scheme_end = reference.find(':');
    let first_slash = reference.find('/').unwrap_or(reference.len());
    if scheme_end.is_some_and(|i| i < first_slash) {
        return None;
    }
    if reference.starts_with('/') {
        return Some(normalize(reference));
    }
    let base = base.split('?').next().unwrap_or("/");
    let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
    let joined = if reference.starts_with('?') {
        format!("{base}{reference}")
    } else {
        format!("{dir}{reference}")
    };
    Some(normalize(&joined))
}

/// Removes `.` and `..` segments from an absolute path, keeping any query.
fn normalize(path: &str) -> String {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let mut result = format!("/{}", out.join("/"));
    if let Some(q) = query {
        result.push('?');
        result.push_str(q);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_references() {
        let server = Server::new("127.0.0.1", 8080);
        let cases = [
            ("/dir/page.html", "other.html", Some("/dir/other.html")),
            ("/dir/page.html", "/abs.html", Some("/abs.html")),
            ("/dir/page.html", "../up.html", Some("/up.html")),
            ("/dir/page.html", "../../../up.html", Some("/up.html")),
            ("/dir/", "./sub/", Some("/dir/sub/")),
            ("/dir/page.html", "?q=1", Some("/dir/page.html?q=1")),
            ("/", "a.html#top", Some("/a.html")),
            ("/", "#top", None),
            ("/", "http://127.0.0.1:8080/x", Some("/x")),
            ("/", "HTTP://127.0.0.1:8080", Some("/")),
            ("/", "//127.0.0.1:8080/y", Some("/y")),
            ("/", "http://example.org/x", None),
            ("/", "https://127.0.0.1:8080/x", None),
            ("/", "mailto:a@b", None),
            ("/", "javascript:alert(1)", None),
        ];
        for (base, reference, want) in cases {
            assert_eq!(
                resolve(base, reference, &server).as_deref(),
                want,
                "{base} + {reference}"
            );
        }
    }

    #[test]
    fn finds_links_in_html() {
        let html = br#"<a href="/a.html">a</a> <A HREF='b.html'>b</A> <img src=c.png>
            <div data-href="/no"></div> <a href="/q?x=1&amp;y=2">q</a> <a href="">e</a>"#;
        let mut known = KnownPaths::default();
        known.add_links("/dir/index.html", html, &Server::new("h", 80));
        assert_eq!(
            known.starting_with("/"),
            ["/a.html", "/dir/b.html", "/dir/c.png", "/q?x=1&y=2"]
        );
        assert_eq!(known.starting_with("/dir/b"), ["/dir/b.html"]);
    }

    #[test]
    fn stays_bounded() {
        let html = "<a href=\"/x\">".repeat(10)
            + &(0..3 * MAX_KNOWN_PATHS)
                .map(|i| format!(" href=/p{i}"))
                .collect::<String>();
        let mut known = KnownPaths::default();
        known.add_links("/", html.as_bytes(), &Server::new("h", 80));
        assert!(known.starting_with("/").len() <= MAX_KNOWN_PATHS);
    }
}
