//! The one path function: turn a request path into a relative path that is safe to open
//! beneath the served root.

use crate::StatusCode;

/// Why a request path was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// The path does not start with `/`.
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded path is not UTF-8.
    NotUtf8,
    /// A NUL byte, raw or encoded.
    Nul,
    /// An encoded slash (`%2F`), which would change how the path splits.
    EncodedSlash,
    /// A backslash, raw or encoded: a separator on some systems, never a name here.
    Backslash,
    /// A control character (0x01-0x1F, 0x7F), raw or encoded.
    ControlChar,
    /// `..` segments that would climb above the root.
    EscapesRoot,
}

impl PathError {
    /// The status that answers this error.
    pub fn status(self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    /// A short lowercase description for logs.
    pub fn describe(self) -> &'static str {
        match self {
            PathError::NotAbsolute => "path does not start with /",
            PathError::BadEscape => "invalid percent-escape in path",
            PathError::NotUtf8 => "path is not UTF-8",
            PathError::Nul => "NUL in path",
            PathError::EncodedSlash => "encoded slash in path",
            PathError::Backslash => "backslash in path",
            PathError::ControlChar => "control character in path",
            PathError::EscapesRoot => "path climbs above the root",
        }
    }
}

error_display!(PathError);

/// A decoded, normalised path relative to the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafePath {
    /// Segments joined by `/`, no leading slash, no `.`/`..`/empty segments; `""` is the
    /// root itself.
    pub relative: String,
    /// Whether the request path ended with `/` (a directory was asked for).
    pub trailing_slash: bool,
    /// Whether a segment starts with `.` (outside a leading `.well-known`).
    pub hidden: bool,
}

impl SafePath {
    /// The relative path of `name` inside this (folder) path.
    pub fn join(&self, name: &str) -> String {
        if self.relative.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.relative)
        }
    }

    /// The segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.relative.split('/').filter(|s| !s.is_empty())
    }
}

/// Decodes and normalises `path` (the path part of a request target, without query).
///
/// Percent-escapes are decoded once; NUL, control characters, backslashes and encoded
/// slashes are refused; `.` and empty segments are dropped and `..` removes the previous
/// segment, refusing to climb above the root (RFC 3986 section 5.2.4, applied after
/// decoding so `%2e%2e` is caught too).
pub fn sanitize_path(path: &str) -> Result<SafePath, PathError> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(PathError::NotAbsolute);
    };
    if let Some(plain) = plain(rest) {
        return Ok(plain);
    }
    // Built in place, in one allocation: each segment is decoded onto the end, then
    // dropped again if it is `.`, empty or `..` (which also drops the one before it).
    let mut out: Vec<u8> = Vec::with_capacity(rest.len());
    let mut trailing_slash = false;
    let mut raw_segments = rest.split('/').peekable();
    while let Some(raw) = raw_segments.next() {
        let last = raw_segments.peek().is_none();
        let before = out.len();
        if before > 0 {
            out.push(b'/');
        }
        let start = out.len();
        decode_segment(raw, &mut out)?;
        match &out[start..] {
            b"" | b"." => {
                out.truncate(before);
                trailing_slash |= last;
            }
            b".." => {
                if before == 0 {
                    return Err(PathError::EscapesRoot);
                }
                // Decoded segments never hold a `/` (`%2F` is refused), so the last one
                // starts after the last `/`.
                let previous = out[..before].iter().rposition(|&b| b == b'/');
                out.truncate(previous.unwrap_or(0));
                trailing_slash |= last;
            }
            _ => {}
        }
    }
    // Every segment was checked as UTF-8 on its own, and `/` joins them.
    let relative = String::from_utf8(out).map_err(|_| PathError::NotUtf8)?;
    let hidden = is_hidden(&relative);
    Ok(SafePath {
        trailing_slash: trailing_slash || relative.is_empty(),
        relative,
        hidden,
    })
}

/// Whether a root-relative path (as [`sanitize_path`] makes, or the real path of one
/// through a symlink) has a segment starting with `.`, other than a first `.well-known`.
pub fn is_hidden(relative: &str) -> bool {
    relative
        .split('/')
        .enumerate()
        .any(|(i, s)| s.starts_with('.') && !(i == 0 && s == ".well-known"))
}

/// The common case, in one pass and one copy: a path of unreserved ASCII only (letters,
/// digits, `-`, `.`, `_`, `~`) in non-empty segments none of which starts with `.` (so
/// nothing to decode, refuse, drop or hide), with at most a trailing `/`. `None`: take
/// the general path.
fn plain(rest: &str) -> Option<SafePath> {
    let mut segment_start = true;
    for &b in rest.as_bytes() {
        match b {
            // An empty segment (`//`, or `/` first); a trailing `/` is never looked at
            // again, so it passes.
            b'/' if segment_start => return None,
            b'/' => {
                segment_start = true;
                continue;
            }
            b'.' if segment_start => return None,
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {}
            _ => return None,
        }
        segment_start = false;
    }
    let trailing_slash = rest.is_empty() || rest.ends_with('/');
    Some(SafePath {
        relative: rest.strip_suffix('/').unwrap_or(rest).to_string(),
        trailing_slash,
        hidden: false,
    })
}

/// Percent-decodes one segment onto the end of `out` and checks its bytes: a bad escape
/// or an encoded slash first, then NUL, backslash and control bytes, then UTF-8.
fn decode_segment(raw: &str, out: &mut Vec<u8>) -> Result<(), PathError> {
    let start = out.len();
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(PathError::BadEscape)?;
            let decoded = match (hex_digit(hex[0]), hex_digit(hex[1])) {
                (Some(h), Some(l)) => h << 4 | l,
                _ => return Err(PathError::BadEscape),
            };
            if decoded == b'/' {
                return Err(PathError::EncodedSlash);
            }
            out.push(decoded);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    let segment = &out[start..];
    for &b in segment {
        match b {
            0 => return Err(PathError::Nul),
            b'\\' => return Err(PathError::Backslash),
            0x01..=0x1f | 0x7f => return Err(PathError::ControlChar),
            _ => {}
        }
    }
    std::str::from_utf8(segment).map_err(|_| PathError::NotUtf8)?;
    Ok(())
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Percent-encodes a relative path for use in a URL (`Location`, listing links):
/// everything but unreserved characters and `/` is escaped, so the result can never be
/// read as a scheme, an authority (`//host`) or a query.
pub fn encode_path(path: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(path, KEEP).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use PathError::*;

    fn ok(rel: &str, slash: bool, hidden: bool) -> Result<SafePath, PathError> {
        Ok(SafePath {
            relative: rel.to_string(),
            trailing_slash: slash,
            hidden,
        })
    }

    /// The implementation before it was made to build the path in one allocation: a
    /// segment at a time, joined at the end. The one above must agree with it.
    fn reference(path: &str) -> Result<SafePath, PathError> {
        if !path.starts_with('/') {
            return Err(PathError::NotAbsolute);
        }
        let mut segments: Vec<String> = Vec::new();
        let raw_segments: Vec<&str> = path.split('/').skip(1).collect();
        let last = raw_segments.len().saturating_sub(1);
        let mut trailing_slash = false;
        for (i, raw) in raw_segments.iter().enumerate() {
            let seg = reference_segment(raw)?;
            match seg.as_str() {
                "" | "." => {
                    if i == last {
                        trailing_slash = true;
                    }
                }
                ".." => {
                    if segments.pop().is_none() {
                        return Err(PathError::EscapesRoot);
                    }
                    if i == last {
                        trailing_slash = true;
                    }
                }
                _ => segments.push(seg),
            }
        }
        let hidden = segments
            .iter()
            .enumerate()
            .any(|(i, s)| s.starts_with('.') && !(i == 0 && s == ".well-known"));
        Ok(SafePath {
            relative: segments.join("/"),
            trailing_slash: trailing_slash || segments.is_empty(),
            hidden,
        })
    }

    /// Percent-decodes one segment and checks its bytes.
    fn reference_segment(raw: &str) -> Result<String, PathError> {
        let bytes = raw.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'%' {
                let hex = bytes.get(i + 1..i + 3).ok_or(PathError::BadEscape)?;
                let decoded = match (hex_digit(hex[0]), hex_digit(hex[1])) {
                    (Some(h), Some(l)) => h << 4 | l,
                    _ => return Err(PathError::BadEscape),
                };
                if decoded == b'/' {
                    return Err(PathError::EncodedSlash);
                }
                out.push(decoded);
                i += 3;
            } else {
                out.push(b);
                i += 1;
            }
        }
        for &b in &out {
            match b {
                0 => return Err(PathError::Nul),
                b'\\' => return Err(PathError::Backslash),
                0x01..=0x1f | 0x7f => return Err(PathError::ControlChar),
                _ => {}
            }
        }
        String::from_utf8(out).map_err(|_| PathError::NotUtf8)
    }

    #[test]
    fn agrees_with_the_segment_at_a_time_reference() {
        // Every string over an alphabet of the pieces that matter, up to 5 pieces long.
        const ALPHABET: [&str; 12] = [
            "/", ".", "a", "%", "2", "e", "f", "%2e", "%2F", "%00", "%ff", "\\",
        ];
        let mut inputs = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..5 {
            let mut next = Vec::new();
            for s in &frontier {
                for a in ALPHABET {
                    next.push(format!("{s}{a}"));
                }
            }
            inputs.extend(next.iter().cloned());
            frontier = next;
        }
        // And longer ones, drawn from the same alphabet by a fixed pseudo-random walk.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100_000 {
            let mut s = String::new();
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            for _ in 0..6 + (seed >> 60) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                s.push_str(ALPHABET[(seed >> 33) as usize % ALPHABET.len()]);
            }
            inputs.push(s);
        }
        for input in inputs {
            let path = format!("/{input}");
            assert_eq!(sanitize_path(&path), reference(&path), "input {path:?}");
        }
    }

    #[test]
    fn hostile_inputs() {
        let cases = [
            ("/", ok("", true, false)),
            ("/HelloWorld.html", ok("HelloWorld.html", false, false)),
            ("/a/b/", ok("a/b", true, false)),
            ("/a//b", ok("a/b", false, false)),
            ("/a/./b", ok("a/b", false, false)),
            ("/a/../b", ok("b", false, false)),
            ("/a/..", ok("", true, false)),
            ("/a%20b", ok("a b", false, false)),
            ("/caf%C3%A9", ok("café", false, false)),
            ("/%2e%2e/etc/passwd", Err(EscapesRoot)),
            ("/../etc/passwd", Err(EscapesRoot)),
            ("/a/../../etc/passwd", Err(EscapesRoot)),
            ("/%2E%2E/%2E%2E/etc/passwd", Err(EscapesRoot)),
            ("/.%2e/x", Err(EscapesRoot)),
            ("/..", Err(EscapesRoot)),
            ("/%252e%252e/x", ok("%2e%2e/x", false, false)),
            ("/..%2fetc", Err(EncodedSlash)),
            ("/a%2Fb", Err(EncodedSlash)),
            ("/..%5c..%5cetc", Err(Backslash)),
            ("/..\\..\\etc", Err(Backslash)),
            ("/a%00.html", Err(Nul)),
            ("/a%0d%0aX: y", Err(ControlChar)),
            ("/a%7f", Err(ControlChar)),
            ("/a%", Err(BadEscape)),
            ("/a%4", Err(BadEscape)),
            ("/a%zz", Err(BadEscape)),
            ("/%c0%ae%c0%ae/x", Err(NotUtf8)),
            ("/%ff", Err(NotUtf8)),
            ("a/b", Err(NotAbsolute)),
            ("", Err(NotAbsolute)),
            ("/.git/config", ok(".git/config", false, true)),
            ("/a/.env", ok("a/.env", false, true)),
            (
                "/.well-known/security.txt",
                ok(".well-known/security.txt", false, false),
            ),
            ("/a/.well-known/x", ok("a/.well-known/x", false, true)),
            ("/%2ehidden", ok(".hidden", false, true)),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize_path(input), want, "input {input:?}");
        }
    }

    #[test]
    fn join_names_inside_a_folder() {
        let root = sanitize_path("/").unwrap();
        let sub = sanitize_path("/a/b/").unwrap();
        assert_eq!(
            (root.join("x"), sub.join("x")),
            ("x".to_string(), "a/b/x".to_string())
        );
    }

    #[test]
    fn encoding_never_makes_an_authority() {
        assert_eq!(encode_path("/evil.example/x"), "/evil.example/x");
        assert_eq!(encode_path("a b?c#d"), "a%20b%3Fc%23d");
        assert_eq!(encode_path("café"), "caf%C3%A9");
    }
}
