//! Tab completion and hints for the REPL: command names, and paths seen so far on the
//! current server (requested paths, `Location` fields, links in the last HTML page,
//! resolved with `url::Url::join`). Anything holding a control character is never
//! offered, so a page cannot make completion write escape sequences to the terminal.

use crate::command::{COMMANDS, METHODS};
use crate::target::{under_base, Location};
use crate::terminal::is_clean;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use std::borrow::Cow;
use std::collections::BTreeSet;

/// Most paths remembered. Completion lists stay readable well below this, and a page
/// with a million links cannot grow the set without bound.
pub(crate) const MAX_KNOWN_PATHS: usize = 2000;

/// Longest link kept, in bytes: longer ones are data, not something to type.
const MAX_LINK_LEN: usize = 512;

/// The set of paths the user may want to type next.
#[derive(Clone, Debug, Default)]
pub(crate) struct KnownPaths {
    paths: BTreeSet<String>,
}

impl KnownPaths {
    /// Remembers a path (a request target starting with `/`) if it is clean text.
    pub fn add(&mut self, path: &str) {
        if path.starts_with('/')
            && path.len() <= MAX_LINK_LEN
            && is_clean(path)
            && self.paths.len() < MAX_KNOWN_PATHS
        {
            self.paths.insert(path.to_string());
        }
    }

    /// Remembers what `reference` (a link or `Location` value) points to, resolved
    /// against `base`; links to other origins are skipped.
    pub fn add_reference(&mut self, base: &Location, reference: &str) {
        // Checked before joining too: the join would percent-encode what it holds.
        if !is_clean(reference) {
            return;
        }
        if let Some(to) = base.join(reference).filter(|to| to.origin == base.origin) {
            self.add(&to.target);
        }
    }

    /// Remembers every `href` and `src` target in an HTML page fetched from `base`.
    pub fn add_links(&mut self, base: &Location, html: &[u8]) {
        for link in links(html) {
            self.add_reference(base, &link);
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

/// Completion, hints and colours for the prompt.
pub(crate) struct ReplHelper {
    /// Paths to offer.
    pub known: KnownPaths,
    /// The session's base path, for relative paths.
    pub base: String,
    /// File names for `save`.
    pub files: FilenameCompleter,
    /// Whether hints are dimmed.
    pub color: bool,
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let pair = |s: String| Pair {
            display: s.clone(),
            replacement: s,
        };
        let Some((name, arg)) = before.split_once(' ') else {
            // Completing the command name itself.
            let names = COMMANDS
                .iter()
                .filter(|(n, _, _)| n.starts_with(before))
                .map(|(n, args, _)| {
                    pair(if args.is_empty() {
                        n.to_string()
                    } else {
                        format!("{n} ")
                    })
                })
                .collect();
            return Ok((0, names));
        };
        let arg = arg.trim_start();
        let start = pos - arg.len();
        let fetches = METHODS.iter().any(|(n, _)| *n == name) || name == "cd";
        if fetches && !arg.contains(' ') {
            let typed = if arg.starts_with('/') {
                arg.to_string()
            } else {
                under_base(&self.base, arg)
            };
            let typed = if arg.is_empty() && self.base == "/" {
                "/".to_string()
            } else {
                typed
            };
            let found = self
                .known
                .starting_with(&typed)
                .into_iter()
                .map(pair)
                .collect();
            return Ok((start, found));
        }
        if name == "save" {
            return self.files.complete(line, pos, ctx);
        }
        Ok((start, Vec::new()))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        if pos < line.len() || line.is_empty() {
            return None;
        }
        let (name, rest) = match line.split_once(' ') {
            Some((name, rest)) => (name, Some(rest)),
            None => (line, None),
        };
        match rest {
            // Still typing the name: show the rest of the first match and its arguments.
            None => COMMANDS
                .iter()
                .find(|(n, _, _)| n.starts_with(name))
                .map(|(n, args, _)| {
                    let tail = &n[name.len()..];
                    if args.is_empty() {
                        tail.to_string()
                    } else {
                        format!("{tail} {args}")
                    }
                }),
            Some("") => COMMANDS
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, args, _)| args.to_string())
                .filter(|a| !a.is_empty()),
            Some(_) => None,
        }
    }
}

impl Highlighter for ReplHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            let style = anstyle::Style::new().dimmed();
            Cow::Owned(format!("{}{hint}{}", style.render(), style.render_reset()))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

impl Validator for ReplHelper {}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::parse_url;

    fn at(url: &str) -> Location {
        parse_url(url, false).unwrap().0
    }

    #[test]
    fn references_resolve_with_url_join() {
        let base = at("http://127.0.0.1:8080/dir/page.html");
        let mut known = KnownPaths::default();
        for r in [
            "other.html",
            "/abs.html",
            "../up.html",
            "./sub/",
            "?q=1",
            "a.html#top",
            "#top",
            "http://127.0.0.1:8080/x",
            "//127.0.0.1:8080/y",
            "http://example.org/x",
            "https://127.0.0.1:8080/z",
            "mailto:a@b",
            "javascript:alert(1)",
        ] {
            known.add_reference(&base, r);
        }
        assert_eq!(
            known.starting_with("/"),
            [
                "/abs.html",
                "/dir/a.html",
                "/dir/other.html",
                "/dir/page.html",
                "/dir/page.html?q=1",
                "/dir/sub/",
                "/up.html",
                "/x",
                "/y"
            ]
        );
    }

    #[test]
    fn finds_links_in_html() {
        let html = br#"<a href="/a.html">a</a> <A HREF='b.html'>b</A> <img src=c.png>
            <div data-href="/no"></div> <a href="/q?x=1&amp;y=2">q</a> <a href="">e</a>"#;
        let mut known = KnownPaths::default();
        known.add_links(&at("http://h/dir/index.html"), html);
        assert_eq!(
            known.starting_with("/"),
            ["/a.html", "/dir/b.html", "/dir/c.png", "/q?x=1&y=2"]
        );
        assert_eq!(known.starting_with("/dir/b"), ["/dir/b.html"]);
    }

    #[test]
    fn links_with_control_characters_are_never_offered() {
        let html = "<a href=\"/q\u{1b}]52;c;aGk=\u{7}\">x</a> <a href=\"/t\u{9b}2J\">y</a> <a href=\"/ok\">z</a>";
        let mut known = KnownPaths::default();
        known.add_links(&at("http://h/"), html.as_bytes());
        known.add_reference(&at("http://h/"), "/loc\u{1b}[2J");
        known.add("/typed\u{7}");
        assert_eq!(known.starting_with("/"), ["/ok"]);
    }

    #[test]
    fn stays_bounded() {
        let html = "<a href=\"/x\">".repeat(10)
            + &(0..3 * MAX_KNOWN_PATHS)
                .map(|i| format!(" href=/p{i}"))
                .collect::<String>();
        let mut known = KnownPaths::default();
        known.add_links(&at("http://h/"), html.as_bytes());
        assert!(known.starting_with("/").len() <= MAX_KNOWN_PATHS);
    }
}
