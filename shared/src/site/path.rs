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
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let mut segments: Vec<String> = Vec::new();
    let raw_segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = raw_segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, raw) in raw_segments.iter().enumerate() {
        let seg = decode_segment(raw)?;
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
fn decode_segment(raw: &str) -> Result<String, PathError> {
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
