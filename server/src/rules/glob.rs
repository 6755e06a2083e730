//! Path globs: which rule of a kind covers a request path (first in file order wins), and
//! the `*` captures of redirect sources.
//!
//! Globs match the decoded, normalised path the file lookup uses ([`rule_path`]), so no
//! spelling of a URL can slip past a rule: `//private`, `/./private`, `/%70rivate` and
//! `/public/../private` are all `/private`. Matching ignores ASCII case, so `/PRIVATE/`
//! is covered too (it is the same folder on a case-folding file system). `*` and `?`
//! stay within one segment, `**` spans any depth, and a source ending in `/**` also
//! covers the folder itself (`/private` and `/private/`).

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use shared::site::path::SafePath;

/// Most wildcards in a redirect source: the captures are `$1` to `$9`.
pub const MAX_CAPTURES: usize = 9;

/// The path rules match: `/` plus the normalised relative path, with a final `/` for a
/// folder URL (`/`, `/docs/`, `/docs/a.html`).
pub fn rule_path(safe: &SafePath) -> String {
    let mut path = String::with_capacity(safe.relative.len() + 2);
    path.push('/');
    path.push_str(&safe.relative);
    if safe.trailing_slash && !safe.relative.is_empty() {
        path.push('/');
    }
    path
}

/// The rules of one kind, matched together.
#[derive(Debug)]
pub struct Matcher {
    set: GlobSet,
    /// For each glob in `set`, the index of the rule it belongs to.
    owners: Vec<usize>,
}

impl Matcher {
    /// Compiles one source per rule, in file order.
    pub fn new<'s>(sources: impl IntoIterator<Item = &'s str>) -> Result<Matcher, (usize, String)> {
        let mut builder = GlobSetBuilder::new();
        let mut owners = Vec::new();
        for (index, source) in sources.into_iter().enumerate() {
            for glob in expand(source).map_err(|e| (index, e))? {
                builder.add(build(&glob).map_err(|e| (index, format!("source {source:?}: {e}")))?);
                owners.push(index);
            }
        }
        let set = builder
            .build()
            .map_err(|e| (0, format!("cannot compile the sources: {e}")))?;
        Ok(Matcher { set, owners })
    }

    /// The first rule (in file order) whose source covers `path`.
    pub fn first(&self, path: &str) -> Option<usize> {
        if self.owners.is_empty() {
            return None;
        }
        self.set
            .matches(path)
            .into_iter()
            .map(|g| self.owners[g])
            .min()
    }
}

/// One glob with this module's rules: `*` within a segment, ASCII case ignored.
pub(super) fn build(glob: &str) -> Result<globset::Glob, String> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .case_insensitive(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| e.kind().to_string())
}

/// The globs standing for one source: itself, plus the bare folder for `/x/**`.
fn expand(source: &str) -> Result<Vec<String>, String> {
    if !source.starts_with('/') {
        return Err(format!(
            "source {source:?} must start with / (it is matched against the URL path)"
        ));
    }
    if source.chars().any(|c| c.is_control()) {
        return Err(format!("control character in source {source:?}"));
    }
    let mut globs = vec![source.to_string()];
    if let Some(folder) = source.strip_suffix("/**") {
        if !folder.is_empty() {
            globs.push(folder.to_string());
        }
    }
    Ok(globs)
}

/// One piece of a redirect source.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// A literal character (compared ignoring ASCII case).
    Lit(char),
    /// `*`: any run within one segment, captured.
    Star,
    /// `?`: one character within a segment, captured.
    Quest,
    /// `/**/`: a slash, then any whole segments each followed by a slash; the segments
    /// (without the slashes around them) are captured.
    DeepMid,
    /// `/**` at the end: a slash and everything after it, captured.
    DeepEnd,
}

/// A redirect source that can say what its wildcards matched.
#[derive(Clone, Debug)]
pub struct Captures {
    tokens: Vec<Token>,
}

impl Captures {
    /// Compiles the wildcard subset redirect sources use: literals, `\` escapes, `*`,
    /// `?` and `**` as a whole segment (no `[...]` or `{...}`: they capture nothing).
    pub fn new(source: &str) -> Result<Captures, String> {
        // The same start-up checks as every other rule's source: a source without its
        // leading slash would never match, silently.
        expand(source)?;
        let chars: Vec<char> = source.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' => {
                    let c = *chars.get(i + 1).ok_or("a source cannot end with \\")?;
                    tokens.push(Token::Lit(c));
                    i += 2;
                    continue;
                }
                '[' | ']' | '{' | '}' => {
                    return Err(format!(
                        "redirect source {source:?}: use *, ? and ** only ([...] and {{...}} capture nothing)"
                    ));
                }
                '*' if chars.get(i + 1) == Some(&'*') => {
                    let after_slash = tokens.last() == Some(&Token::Lit('/'));
                    match chars.get(i + 2) {
                        Some('/') if after_slash => {
                            tokens.pop();
                            tokens.push(Token::DeepMid);
                            i += 3;
                        }
                        None if after_slash => {
                            tokens.pop();
                            tokens.push(Token::DeepEnd);
                            i += 2;
                        }
                        _ => {
                            return Err(format!(
                                "redirect source {source:?}: ** must be a whole segment (/**/ or a final /**); use * within a segment"
                            ))
                        }
                    }
                    continue;
                }
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::Quest),
                c => tokens.push(Token::Lit(c)),
            }
            i += 1;
        }
        let wildcards = tokens
            .iter()
            .filter(|t| !matches!(t, Token::Lit(_)))
            .count();
        if wildcards > MAX_CAPTURES {
            return Err(format!(
                "redirect source {source:?} has {wildcards} wildcards; at most {MAX_CAPTURES} ($1 to $9)"
            ));
        }
        Ok(Captures { tokens })
    }

    /// How many captures a match yields.
    pub fn count(&self) -> usize {
        self.tokens
            .iter()
            .filter(|t| !matches!(t, Token::Lit(_)))
            .count()
    }

    /// What each wildcard matched in `path`, or `None` if the source does not match;
    /// earlier wildcards take as much as they can. No recursion and no backtracking: a
    /// table says, for each token and position, whether the rest can match (tokens ×
    /// path length entries, each filled in constant time), then one pass reads the
    /// captures off it.
    pub fn captures<'p>(&self, path: &'p str) -> Option<Vec<&'p str>> {
        let chars: Vec<(usize, char)> = path.char_indices().collect();
        let n = chars.len();
        let at = |i: usize| chars.get(i).map(|&(_, c)| c);
        let width = n + 1;
        // ok[t * width + i]: tokens[t..] match chars[i..] exactly.
        let mut ok = vec![false; (self.tokens.len() + 1) * width];
        ok[self.tokens.len() * width + n] = true;
        for t in (0..self.tokens.len()).rev() {
            let next = (t + 1) * width;
            // For `/**/`: some slash strictly after i has ok[t + 1][slash + 1].
            let mut slash_after = false;
            for i in (0..=n).rev() {
                let here = match (&self.tokens[t], at(i)) {
                    (Token::Lit(c), Some(r)) => r.eq_ignore_ascii_case(c) && ok[next + i + 1],
                    (Token::Quest, Some(r)) => r != '/' && ok[next + i + 1],
                    (Token::Star, r) => {
                        ok[next + i] || (r.is_some_and(|r| r != '/') && ok[t * width + i + 1])
                    }
                    (Token::DeepEnd, Some('/')) => ok[next + n],
                    (Token::DeepMid, Some('/')) => ok[next + i + 1] || slash_after,
                    _ => false,
                };
                // Updated after `here`, so it covers slashes strictly after i.
                if at(i) == Some('/') && ok[next + i + 1] {
                    slash_after = true;
                }
                ok[t * width + i] = here;
            }
        }
        if !ok[0] {
            return None;
        }
        let byte = |i: usize| chars.get(i).map_or(path.len(), |&(b, _)| b);
        let mut found = Vec::with_capacity(self.count());
        let mut i = 0;
        for (t, token) in self.tokens.iter().enumerate() {
            let next = (t + 1) * width;
            match token {
                Token::Lit(_) => i += 1,
                Token::Quest => {
                    found.push(&path[byte(i)..byte(i + 1)]);
                    i += 1;
                }
                Token::Star => {
                    let segment_end = (i..n).find(|&k| at(k) == Some('/')).unwrap_or(n);
                    let end = (i..=segment_end).rev().find(|&e| ok[next + e])?;
                    found.push(&path[byte(i)..byte(end)]);
                    i = end;
                }
                Token::DeepEnd => {
                    found.push(&path[byte(i + 1)..]);
                    i = n;
                }
                Token::DeepMid => {
                    let start = i + 1;
                    match (start..n)
                        .rev()
                        .find(|&s| at(s) == Some('/') && ok[next + s + 1])
                    {
                        Some(slash) => {
                            found.push(&path[byte(start)..byte(slash)]);
                            i = slash + 1;
                        }
                        None => {
                            found.push("");
                            i = start;
                        }
                    }
                }
            }
        }
        Some(found)
    }
}

#[cfg(test)]
#[path = "glob_tests.rs"]
mod tests;
