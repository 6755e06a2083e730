//! Checking configured header fields (names and values) against RFC 9110 before any
//! of them reaches a response, so no setting can inject a line or break framing.

use std::fmt;

/// Why a configured field name or value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldError {
    /// The name is empty.
    EmptyName,
    /// The name has a character outside RFC 9110 `tchar` (the byte is given).
    BadNameChar(char),
    /// The value has CR, LF or NUL: it would end the field line or the head.
    LineBreak,
    /// The value has another control character (tab excepted).
    ControlChar(char),
    /// The value has a character outside US-ASCII (obsolete `obs-text`).
    NotAscii(char),
    /// The value starts or ends with a space or tab, which RFC 9110 5.5 excludes.
    OuterWhitespace,
    /// The field is one the server computes itself (framing or validators).
    Reserved(&'static str),
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::EmptyName => f.write_str("a field name cannot be empty"),
            FieldError::BadNameChar(c) => write!(
                f,
                "{c:?} cannot appear in a field name (letters, digits and !#$%&'*+-.^_`|~ only)"
            ),
            FieldError::LineBreak => f.write_str(
                "a field value cannot contain CR, LF or NUL (it would inject header lines)",
            ),
            FieldError::ControlChar(c) => {
                write!(f, "control character {c:?} in a field value")
            }
            FieldError::NotAscii(c) => write!(
                f,
                "{c:?} is not US-ASCII; percent-encode it (field values are ASCII, RFC 9110 5.5)"
            ),
            FieldError::OuterWhitespace => {
                f.write_str("a field value cannot start or end with a space or tab")
            }
            FieldError::Reserved(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for FieldError {}

/// RFC 9110 section 5.6.2 `tchar`.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Checks a field name: a non-empty RFC 9110 `token`.
pub fn check_name(name: &str) -> Result<(), FieldError> {
    if name.is_empty() {
        return Err(FieldError::EmptyName);
    }
    match name.chars().find(|&c| !c.is_ascii() || !is_tchar(c as u8)) {
        Some(c) => Err(FieldError::BadNameChar(c)),
        None => Ok(()),
    }
}

/// Checks a field value against RFC 9110 section 5.5 `field-value`: visible ASCII,
/// with spaces and tabs only between visible characters. `obs-text` (bytes above 0x7F)
/// is refused too: new fields are ASCII, and clients decode it inconsistently.
pub fn check_value(value: &str) -> Result<(), FieldError> {
    for c in value.chars() {
        match c {
            '\r' | '\n' | '\0' => return Err(FieldError::LineBreak),
            '\t' | ' ' => {}
            c if c.is_ascii_control() => return Err(FieldError::ControlChar(c)),
            c if !c.is_ascii() => return Err(FieldError::NotAscii(c)),
            _ => {}
        }
    }
    if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        return Err(FieldError::OuterWhitespace);
    }
    Ok(())
}

/// Fields a `[[headers]]` rule may not set, each with what to do instead: the server
/// computes them, and a configured value would break framing, validators or ranges.
const RESERVED: [(&str, &str); 14] = [
    ("content-length", "Content-Length is computed by the server"),
    (
        "transfer-encoding",
        "Transfer-Encoding is chosen by the server",
    ),
    ("connection", "Connection is managed by the server"),
    ("keep-alive", "Keep-Alive is managed by the server"),
    ("upgrade", "Upgrade is managed by the server"),
    ("te", "TE is a request field"),
    ("trailer", "Trailer is managed by the server"),
    (
        "content-encoding",
        "Content-Encoding is chosen by the server (precompressed twins, --compress)",
    ),
    (
        "content-range",
        "Content-Range is computed by the server for ranges",
    ),
    (
        "etag",
        "ETag is computed by the server; conditional requests depend on it",
    ),
    ("last-modified", "Last-Modified comes from the file"),
    ("date", "Date is set by the server"),
    (
        "location",
        "Location is set by the server; use [[redirects]]",
    ),
    (
        "vary",
        "Vary is computed by the server (Accept-Encoding, Origin)",
    ),
];

/// Checks a name and value that a rule wants to add to responses.
pub fn check_rule_field(name: &str, value: &str) -> Result<(), FieldError> {
    check_name(name)?;
    if let Some((_, why)) = RESERVED.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return Err(FieldError::Reserved(why));
    }
    check_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_would_inject_or_break_a_head_are_refused() {
        let cases: [(&str, Result<(), FieldError>); 12] = [
            ("no-cache", Ok(())),
            ("public, max-age=31536000, immutable", Ok(())),
            ("a\tb", Ok(())),
            ("", Ok(())),
            ("no-cache\r\nX-Injected: 1", Err(FieldError::LineBreak)),
            ("no-cache\nX: 1", Err(FieldError::LineBreak)),
            ("a\rb", Err(FieldError::LineBreak)),
            ("a\0b", Err(FieldError::LineBreak)),
            ("a\x07b", Err(FieldError::ControlChar('\x07'))),
            ("a\x7fb", Err(FieldError::ControlChar('\x7f'))),
            ("caf\u{e9}", Err(FieldError::NotAscii('\u{e9}'))),
            (" no-cache", Err(FieldError::OuterWhitespace)),
        ];
        for (value, want) in cases {
            assert_eq!(check_value(value), want, "value {value:?}");
        }
        assert_eq!(check_value("x\t"), Err(FieldError::OuterWhitespace));
    }

    #[test]
    fn names_are_tokens() {
        assert_eq!(check_name("X-Frame-Options"), Ok(()));
        assert_eq!(check_name(""), Err(FieldError::EmptyName));
        assert_eq!(check_name("X Frame"), Err(FieldError::BadNameChar(' ')));
        assert_eq!(check_name("X:Y"), Err(FieldError::BadNameChar(':')));
        assert_eq!(check_name("X\r\nY"), Err(FieldError::BadNameChar('\r')));
    }

    #[test]
    fn rules_cannot_set_framing_or_validator_fields() {
        assert!(check_rule_field("Cache-Control", "no-store").is_ok());
        assert!(check_rule_field("Content-Type", "text/plain").is_ok());
        for name in [
            "Content-Length",
            "transfer-encoding",
            "ETag",
            "Content-Encoding",
        ] {
            assert!(
                matches!(check_rule_field(name, "x"), Err(FieldError::Reserved(_))),
                "{name}"
            );
        }
    }
}
