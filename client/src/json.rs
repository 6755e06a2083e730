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

/// `text` re-indented (`format`) and/or coloured (`colors`); `None` if it is not JSON.
/// With `escape`, string contents are made safe for a terminal.
pub(crate) fn render(text: &[u8], format: bool, colors: bool, escape: bool) -> Option<String> {
    serde_json::from_slice::<serde::de::IgnoredAny>(text).ok()?;
    let text = std::str::from_utf8(text).ok()?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
