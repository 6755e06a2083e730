//! JSON bodies for people: validated with serde_json, then re-indented and coloured
//! token by token, so keys keep their order and numbers their spelling. Text that is
//! not valid JSON is left to be shown as text.

use crate::terminal::{escape_into, paint};
use anstyle::{AnsiColor, Style};

/// Indentation per level, as HTTPie's default.
const INDENT: &str = "    ";

const KEY: Style = AnsiColor::Blue.on_default().bold();
const STRING: Style = AnsiColor::Green.on_default();
const NUMBER: Style = AnsiColor::Cyan.on_default();
const LITERAL: Style = AnsiColor::Magenta.on_default();

/// Whether a `Content-Type` names JSON (`application/json`, `application/problem+json`,
/// `text/json`).
pub(crate) fn is_json_type(content_type: &[u8]) -> bool {
    let essence = String::from_utf8_lossy(content_type);
    let essence = essence
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence == "text/json" || essence.ends_with("+json")
}

/// Deepest nesting re-indented. Each level indents every line inside it, so the output
/// grows with the square of the depth (16 KB of `[[[...]]]` 8,000 deep made 256 MB);
/// no real document comes near 100 levels, and a deeper one is shown as it came.
pub(crate) const MAX_PRETTY_DEPTH: usize = 100;

/// Largest rendering, as a multiple of the body's length (plus a floor for small
/// bodies): re-indenting a flat document at depth 100 could still multiply it by
/// hundreds; past this the body is shown as it came.
const MAX_RENDERED_GROWTH: usize = 16;

/// `text` re-indented (`format`) and/or coloured (`colors`); `None` if it is not JSON,
/// nests deeper than [`MAX_PRETTY_DEPTH`] or would render larger than
/// [`MAX_RENDERED_GROWTH`] times itself. With `escape`, string contents are made safe
/// for a terminal.
pub(crate) fn render(text: &[u8], format: bool, colors: bool, escape: bool) -> Option<String> {
    if nests_deeper_than(text, MAX_PRETTY_DEPTH) {
        return None;
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(text).ok()?;
    let text = std::str::from_utf8(text).ok()?;
    let budget = text
        .len()
        .saturating_mul(MAX_RENDERED_GROWTH)
        .max(64 * 1024);
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut bytes = text.char_indices().peekable();
    // For each open container: (is an object, the next string is a key).
    let mut stack = Vec::<(bool, bool)>::new();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(INDENT);
        }
    };
    while let Some((i, c)) = bytes.next() {
        if out.len() > budget {
            return None;
        }
        match c {
            ' ' | '\t' | '\n' | '\r' if format => {}
            ' ' | '\t' | '\n' | '\r' => out.push(c),
            '{' | '[' => {
                out.push(c);
                stack.push((c == '{', c == '{'));
                let close = if c == '{' { '}' } else { ']' };
                let empty = text[i + 1..].trim_start().starts_with(close);
                if empty && format {
                    // `{}` and `[]` stay on one line.
                    for (_, next) in bytes.by_ref() {
                        if next == close {
                            out.push(close);
                            break;
                        }
                    }
                    stack.pop();
                } else {
                    depth += 1;
                    if format {
                        newline(&mut out, depth);
                    }
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                stack.pop();
                if format {
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            ',' => {
                out.push(',');
                if let Some((object, key)) = stack.last_mut() {
                    *key = *object;
                }
                if format {
                    newline(&mut out, depth);
                }
            }
            ':' => {
                out.push(':');
                if let Some((_, key)) = stack.last_mut() {
                    *key = false;
                }
                if format {
                    out.push(' ');
                }
            }
            '"' => {
                let start = i;
                let mut end = i + 1;
                let mut escaped = false;
                for (j, d) in bytes.by_ref() {
                    end = j + d.len_utf8();
                    match d {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => break,
                        _ => {}
                    }
                }
                let is_key = stack.last().is_some_and(|&(_, key)| key);
                let mut token = String::new();
                if escape {
                    escape_into(&mut token, &text.as_bytes()[start..end], false);
                } else {
                    token.push_str(&text[start..end]);
                }
                out.push_str(&paint(colors, if is_key { KEY } else { STRING }, &token));
            }
            _ => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = bytes.peek() {
                    if matches!(d, ',' | ']' | '}' | ':' | ' ' | '\t' | '\n' | '\r') {
                        break;
                    }
                    end = j + d.len_utf8();
                    bytes.next();
                }
                let token = &text[i..end];
                let style = if c == '-' || c.is_ascii_digit() {
                    NUMBER
                } else {
                    LITERAL
                };
                out.push_str(&paint(colors, style, token));
            }
        }
    }
    if format {
        out.push('\n');
    }
    Some(out)
}

/// Whether `text`'s arrays and objects nest deeper than `limit` (brackets inside strings
/// do not count). One pass, no recursion, whatever the depth.
fn nests_deeper_than(text: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in text {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_or_explosive_documents_are_shown_as_they_came() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(render(deep(MAX_PRETTY_DEPTH).as_bytes(), true, false, true).is_some());
        // 16 KB that would have rendered as 256 MB, and 400 KB that never finished.
        for n in [MAX_PRETTY_DEPTH + 1, 8_000, 200_000] {
            let started = std::time::Instant::now();
            assert!(
                render(deep(n).as_bytes(), true, true, true).is_none(),
                "{n}"
            );
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "{n}");
        }
        // Brackets in strings are not nesting.
        let text = format!("[\"{}\"]", "[".repeat(1000));
        assert!(render(text.as_bytes(), true, false, true).is_some());
        // A flat list at depth 90: each short item would be a 360-byte line.
        let wide = format!(
            "{}{}{}",
            "[".repeat(90),
            "1,".repeat(100_000) + "1",
            "]".repeat(90)
        );
        assert!(render(wide.as_bytes(), true, false, true).is_none());
    }

    #[test]
    fn indents_and_keeps_order_and_spelling() {
        let got = render(
            br#"{"b":1.50,"a":[true,null,{}],"c":{"d":"x"},"e":[]}"#,
            true,
            false,
            true,
        )
        .unwrap();
        assert_eq!(
            got,
            "{\n    \"b\": 1.50,\n    \"a\": [\n        true,\n        null,\n        {}\n    ],\n    \"c\": {\n        \"d\": \"x\"\n    },\n    \"e\": []\n}\n"
        );
    }

    #[test]
    fn colours_keys_and_values_differently() {
        let got = render(br#"{"k":"v","n":-2}"#, false, true, true).unwrap();
        assert!(got.contains(&paint(true, KEY, "\"k\"")), "{got}");
        assert!(got.contains(&paint(true, STRING, "\"v\"")), "{got}");
        assert!(got.contains(&paint(true, NUMBER, "-2")), "{got}");
        assert_eq!(render(b"[1, 2]", false, false, true).unwrap(), "[1, 2]");
    }

    #[test]
    fn invalid_json_is_none() {
        for bad in [&b"{"[..], b"{\"a\":}", b"not json", b"[1,]", b"\xff"] {
            assert_eq!(render(bad, true, true, true), None, "{bad:?}");
        }
    }

    #[test]
    fn escaped_quotes_and_unicode_in_strings() {
        let got = render("{\"a\\\"b\":\"\u{9b}x\\\\\"}".as_bytes(), true, false, true).unwrap();
        assert_eq!(got, "{\n    \"a\\\"b\": \"\\u{9b}x\\\\\"\n}\n");
    }

    #[test]
    fn json_types() {
        for t in [
            "application/json",
            "application/json; charset=utf-8",
            "application/problem+json",
            "TEXT/JSON",
        ] {
            assert!(is_json_type(t.as_bytes()), "{t}");
        }
        assert!(!is_json_type(b"text/html"));
    }
}
