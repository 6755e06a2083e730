//! Making server bytes safe for a terminal: control characters and escape sequences are
//! shown escaped (`\x1b`), never obeyed, and text that will be offered back to the user
//! (completion candidates, history) is refused outright when it holds any.

use anstyle::Style;

/// How escaped bytes are drawn, so they stand out from the text around them.
const ESCAPED: Style = Style::new().dimmed();

/// `text` in `style` when `color`, else as is.
pub(crate) fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

/// Appends `bytes` for a terminal: UTF-8 text as is, CRLF as a newline, tabs and
/// newlines kept, every other control character, bidirectional override and invalid
/// byte escaped (`\x1b`, `\u{85}`, `\u{202e}`), so a server cannot move the cursor,
/// change colours, set the title or make text read differently from what it is.
pub(crate) fn escape_into(out: &mut String, bytes: &[u8], color: bool) {
    let push_escaped = |out: &mut String, s: &str| {
        out.push_str(&paint(color, ESCAPED, s));
    };
    for piece in bytes.utf8_chunks() {
        let mut chars = piece.valid().chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\n' | '\t' => out.push(c),
                '\r' if chars.peek() == Some(&'\n') => {}
                c if c.is_control() || is_bidi_control(c) => {
                    let code = u32::from(c);
                    if code < 0x80 {
                        push_escaped(out, &format!("\\x{code:02x}"));
                    } else {
                        push_escaped(out, &format!("\\u{{{code:x}}}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in piece.invalid() {
            push_escaped(out, &format!("\\x{b:02x}"));
        }
    }
}

/// `bytes` escaped for a terminal on one line: newlines and tabs escaped too.
pub(crate) fn escape_line(bytes: &[u8]) -> String {
    let mut out = String::new();
    for piece in String::from_utf8_lossy(bytes).split_inclusive(['\n', '\t']) {
        let (text, end) = match piece.strip_suffix('\n') {
            Some(t) => (t, "\\n"),
            None => match piece.strip_suffix('\t') {
                Some(t) => (t, "\\t"),
                None => (piece, ""),
            },
        };
        escape_into(&mut out, text.as_bytes(), false);
        out.push_str(end);
    }
    out
}

/// Whether `text` may be offered as a completion or stored in the history file: no
/// control character of any kind (C0, DEL, C1), nor a bidirectional override that
/// would make it read differently from what it is.
pub(crate) fn is_clean(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() || is_bidi_control(c))
}

/// The Unicode bidirectional marks, embeddings, overrides and isolates (the "Trojan
/// Source" characters): they reorder what a terminal shows.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// How many bytes at the end of `bytes` to hold back for the next piece: an incomplete
/// UTF-8 sequence (at most 3 bytes) or a CR that may start a CRLF.
pub(crate) fn held_back(bytes: &[u8]) -> usize {
    if bytes.last() == Some(&b'\r') {
        return 1;
    }
    let tail_start = bytes.len().saturating_sub(3);
    for i in (tail_start..bytes.len()).rev() {
        let b = bytes[i];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte: look further back for the lead
        }
        let need = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return 0,
        };
        return if bytes.len() - i < need {
            bytes.len() - i
        } else {
            0
        };
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(bytes: &[u8]) -> String {
        let mut out = String::new();
        escape_into(&mut out, bytes, false);
        out
    }

    #[test]
    fn escapes_what_a_terminal_would_obey() {
        let cases: &[(&[u8], &str)] = &[
            (b"plain text\n", "plain text\n"),
            (b"tab\there", "tab\there"),
            (b"crlf\r\nline", "crlf\nline"),
            (b"bare\rcr", "bare\\x0dcr"),
            (b"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
            (b"\x1b]0;title\x07", "\\x1b]0;title\\x07"),
            (b"bell\x07 del\x7f", "bell\\x07 del\\x7f"),
            ("caf\u{e9} \u{1F600}".as_bytes(), "caf\u{e9} \u{1F600}"),
            ("c1\u{9b}31m".as_bytes(), "c1\\u{9b}31m"),
            (b"bad \xff\xfe utf8", "bad \\xff\\xfe utf8"),
            ("evil\u{202e}txt.exe".as_bytes(), "evil\\u{202e}txt.exe"),
            (
                "iso\u{2066}late\u{2069}".as_bytes(),
                "iso\\u{2066}late\\u{2069}",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(escaped(input), *want, "input {input:?}");
        }
        assert_eq!(escape_line(b"a\nb\tc\x1b"), "a\\nb\\tc\\x1b");
    }

    #[test]
    fn completion_text_with_control_characters_is_not_clean() {
        for dirty in [
            "/q\u{1b}]52;c;aGk=\u{7}",
            "/a\nb",
            "/\u{9b}2J",
            "/x\u{202e}gpj.exe",
            "/del\u{7f}",
        ] {
            assert!(!is_clean(dirty), "{dirty:?}");
        }
        for clean in ["/a b", "/caf\u{e9}", "/\u{1F600}", "/q?x=1&y=2"] {
            assert!(is_clean(clean), "{clean:?}");
        }
    }

    #[test]
    fn holds_back_split_sequences() {
        assert_eq!(held_back(b"abc"), 0);
        assert_eq!(held_back(b"abc\r"), 1);
        assert_eq!(held_back(&"\u{e9}".as_bytes()[..1]), 1);
        assert_eq!(held_back(&"\u{1F600}".as_bytes()[..3]), 3);
        assert_eq!(held_back("\u{1F600}".as_bytes()), 0);
        assert_eq!(held_back(b"\xff"), 0);
    }
}
