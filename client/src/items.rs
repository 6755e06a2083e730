//! HTTPie's request items (`Name:value`, `name==value`, `name=value`, `name:=json`,
//! `@FILE`...) and curl's `-H`, parsed into header edits, query pairs and a body.

use std::path::PathBuf;

/// Separators, longest first so that `:=` wins over `:` at the same position.
const SEPARATORS: &[(&str, Sep)] = &[
    (":=@", Sep::JsonFile),
    (":=", Sep::Json),
    ("==", Sep::Query),
    ("=@", Sep::FieldFile),
    ("=", Sep::Field),
    (":", Sep::Header),
    (";", Sep::HeaderEmpty),
    ("@", Sep::Upload),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sep {
    JsonFile,
    Json,
    Query,
    FieldFile,
    Field,
    Header,
    HeaderEmpty,
    Upload,
}

/// A change to the request's header fields, applied in order over the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HeaderEdit {
    /// `Name:value`: set (replacing a default of that name) or add.
    Set(String, String),
    /// `Name:`: drop a default field of that name, else send it empty.
    Unset(String),
    /// `Name;`: send the field with an empty value.
    Empty(String),
}

impl HeaderEdit {
    /// The field name this edit is about.
    pub fn name(&self) -> &str {
        match self {
            HeaderEdit::Set(n, _) | HeaderEdit::Unset(n) | HeaderEdit::Empty(n) => n,
        }
    }
}

/// A data field's value: a JSON string, or raw JSON text (already validated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// `name=value`: a string.
    Text(String),
    /// `name:=json`: raw JSON, validated.
    Json(String),
}

/// What a list of items asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Items {
    /// Header edits, in the order given.
    pub headers: Vec<HeaderEdit>,
    /// `name==value` pairs for the query string.
    pub query: Vec<(String, String)>,
    /// `name=value` and `name:=json` fields, in order.
    pub fields: Vec<(String, Value)>,
    /// `@FILE`: the whole body from a file.
    pub body_file: Option<PathBuf>,
}

impl Items {
    /// Parses every item; the first bad one is the error.
    pub fn parse<S: AsRef<str>>(words: &[S]) -> Result<Items, String> {
        let mut items = Items::default();
        for word in words {
            items.add(word.as_ref())?;
        }
        Ok(items)
    }

    /// Whether these items make a request body.
    pub fn has_body(&self) -> bool {
        !self.fields.is_empty() || self.body_file.is_some()
    }

    fn add(&mut self, word: &str) -> Result<(), String> {
        if let Some(path) = word.strip_prefix('@') {
            if path.is_empty() {
                return Err("'@' needs a file name; try @data.json".into());
            }
            if self.body_file.is_some() {
                return Err(format!("'{word}': only one @FILE body per request"));
            }
            self.body_file = Some(expand_tilde(path));
            return Ok(());
        }
        let Some((key, sep, value)) = split(word) else {
            return Err(format!(
                "'{word}' is not a request item; use Name:value (header), name==value (query), \
                 name=value (JSON field), name:=json, or @FILE"
            ));
        };
        match sep {
            Sep::Header | Sep::HeaderEmpty => {
                check_header(&key, value)?;
                let value = value.trim().to_string();
                self.headers.push(match sep {
                    Sep::HeaderEmpty => HeaderEdit::Empty(key),
                    _ if value.is_empty() => HeaderEdit::Unset(key),
                    _ => HeaderEdit::Set(key, value),
                });
            }
            Sep::Query => self.query.push((key, value.to_string())),
            Sep::Field => self.fields.push((key, Value::Text(value.to_string()))),
            Sep::FieldFile => {
                let text = read_text(value)?;
                self.fields.push((key, Value::Text(text)));
            }
            Sep::Json => self.fields.push((key, Value::Json(json(word, value)?))),
            Sep::JsonFile => {
                let text = read_text(value)?;
                self.fields.push((key, Value::Json(json(word, &text)?)));
            }
            Sep::Upload => {
                return Err(format!(
                    "'{word}': multipart file uploads (name@FILE) are not supported; \
                     send the file as the whole body with @FILE"
                ))
            }
        }
        Ok(())
    }

    /// The JSON object made of the fields, in order, as HTTPie writes it
    /// (`{"name": "pen", "price": 3}`); a later field of the same name wins.
    pub fn json_body(&self) -> String {
        let mut out = String::from("{");
        let mut seen: Vec<&str> = Vec::new();
        for (i, (name, _)) in self.fields.iter().enumerate() {
            if seen.contains(&name.as_str()) {
                continue;
            }
            seen.push(name);
            let last = self.fields[i..]
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map_or(&self.fields[i].1, |(_, v)| v);
            if out.len() > 1 {
                out.push_str(", ");
            }
            out.push_str(&serde_json::Value::from(name.as_str()).to_string());
            out.push_str(": ");
            match last {
                Value::Text(t) => out.push_str(&serde_json::Value::from(t.as_str()).to_string()),
                Value::Json(j) => out.push_str(j),
            }
        }
        out.push('}');
        out
    }

    /// The fields as `application/x-www-form-urlencoded` (`-f`); raw JSON fields cannot be.
    pub fn form_body(&self) -> Result<String, String> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.fields {
            match value {
                Value::Text(t) => form.append_pair(name, t),
                Value::Json(_) => {
                    return Err(format!(
                        "'{name}:=...' is a JSON value and cannot be sent as a form; drop -f or use {name}=..."
                    ))
                }
            };
        }
        Ok(form.finish())
    }
}

/// Parses curl's `-H 'Name: value'` (also `Name:` to drop, `Name;` for empty).
pub(crate) fn curl_header(text: &str) -> Result<HeaderEdit, String> {
    let mut items = Items::default();
    match split(text) {
        Some((_, Sep::Header | Sep::HeaderEmpty, _)) => items.add(text)?,
        _ => {
            return Err(format!(
                "-H '{text}' is not a header; try -H 'Accept: text/html'"
            ))
        }
    }
    items
        .headers
        .pop()
        .ok_or_else(|| format!("-H '{text}' is not a header"))
}

/// Splits at the first unescaped separator; a backslash before a separator character
/// makes it part of the key (`a\:b=c` is the field `a:b`).
fn split(word: &str) -> Option<(String, Sep, &str)> {
    let mut key = String::new();
    let mut chars = word.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some(&(_, next)) if ":=;@\\".contains(next) => {
                    key.push(next);
                    chars.next();
                }
                _ => key.push(c),
            }
            continue;
        }
        if let Some((text, sep)) = SEPARATORS.iter().find(|(s, _)| word[i..].starts_with(s)) {
            if key.is_empty() {
                return None;
            }
            return Some((key, *sep, &word[i + text.len()..]));
        }
        key.push(c);
    }
    None
}

/// A header name must be a token and a value must not hold CR, LF or NUL (RFC 9110
/// section 5.5), or the item would inject lines into the request.
fn check_header(name: &str, value: &str) -> Result<(), String> {
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !name.chars().all(tchar) {
        return Err(format!(
            "'{}' is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)",
            name.escape_debug()
        ));
    }
    if value.contains(['\r', '\n', '\0']) {
        return Err(format!(
            "the value of header '{name}' holds a line break or NUL; headers are one line"
        ));
    }
    if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding")
    {
        return Err(format!(
            "'{name}' is set from the body; do not set it by hand"
        ));
    }
    Ok(())
}

fn json(word: &str, text: &str) -> Result<String, String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(_) => Ok(text.trim().to_string()),
        Err(e) => Err(format!("'{word}': the value is not valid JSON ({e})")),
    }
}

fn read_text(path: &str) -> Result<String, String> {
    let path = expand_tilde(path);
    std::fs::read_to_string(&path).map_err(|e| format!("cannot read '{}': {e}", path.display()))
}

/// `~` and `~/x` become the home directory (as a shell would have done had the word not
/// been quoted or typed in the REPL).
pub(crate) fn expand_tilde(path: &str) -> PathBuf {
    let home = || {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    };
    match path.strip_prefix('~') {
        Some("") => home().unwrap_or_else(|| PathBuf::from(path)),
        Some(rest) if rest.starts_with('/') => match home() {
            Some(h) => h.join(rest.trim_start_matches('/')),
            None => PathBuf::from(path),
        },
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(word: &str) -> Items {
        Items::parse(&[word]).unwrap()
    }

    #[test]
    fn each_separator() {
        assert_eq!(
            one("Accept:text/html").headers,
            [HeaderEdit::Set("Accept".into(), "text/html".into())]
        );
        assert_eq!(
            one("X-A: spaced ").headers,
            [HeaderEdit::Set("X-A".into(), "spaced".into())]
        );
        assert_eq!(
            one("User-Agent:").headers,
            [HeaderEdit::Unset("User-Agent".into())]
        );
        assert_eq!(
            one("X-Empty;").headers,
            [HeaderEdit::Empty("X-Empty".into())]
        );
        assert_eq!(one("q==a b").query, [("q".into(), "a b".into())]);
        assert_eq!(
            one("name=pen").fields,
            [("name".into(), Value::Text("pen".into()))]
        );
        assert_eq!(one("n:=3").fields, [("n".into(), Value::Json("3".into()))]);
        assert_eq!(
            one("url=http://x/").fields,
            [("url".into(), Value::Text("http://x/".into()))]
        );
        assert_eq!(
            one("Referer:http://x/").headers,
            [HeaderEdit::Set("Referer".into(), "http://x/".into())]
        );
        assert_eq!(
            one("@body.json").body_file,
            Some(PathBuf::from("body.json"))
        );
    }

    #[test]
    fn backslash_escapes_a_separator() {
        assert_eq!(
            one("a\\:b=c").fields,
            [("a:b".into(), Value::Text("c".into()))]
        );
        assert_eq!(one("a\\=b==c").query, [("a=b".into(), "c".into())]);
        assert_eq!(
            one("a\\b=c").fields,
            [("a\\b".into(), Value::Text("c".into()))]
        );
    }

    #[test]
    fn refusals() {
        for (word, says) in [
            ("plain", "is not a request item"),
            ("=x", "is not a request item"),
            ("n:={bad", "not valid JSON"),
            ("Bad Name:x", "not a valid header name"),
            ("Content-Length:5", "set from the body"),
            ("f@file.txt", "multipart"),
            ("@", "needs a file name"),
        ] {
            let err = Items::parse(&[word]).unwrap_err();
            assert!(err.contains(says), "{word}: {err}");
        }
    }

    #[test]
    fn json_body_keeps_order_and_types() {
        let items =
            Items::parse(&["name=pen", "price:=3", "tags:=[\"a\"]", "q==x", "name=ink"]).unwrap();
        assert_eq!(
            items.json_body(),
            r#"{"name": "ink", "price": 3, "tags": ["a"]}"#
        );
        assert_eq!(
            one("say=\"hi\"\n").json_body(),
            "{\"say\": \"\\\"hi\\\"\\n\"}"
        );
    }

    #[test]
    fn form_body() {
        let items = Items::parse(&["a=1 2", "b=x&y"]).unwrap();
        assert_eq!(items.form_body().unwrap(), "a=1+2&b=x%26y");
        assert!(one("n:=1").form_body().is_err());
    }

    #[test]
    fn curl_headers() {
        assert_eq!(
            curl_header("Accept: text/html").unwrap(),
            HeaderEdit::Set("Accept".into(), "text/html".into())
        );
        assert_eq!(
            curl_header("Accept:").unwrap(),
            HeaderEdit::Unset("Accept".into())
        );
        assert!(curl_header("a=b").is_err());
    }

    #[test]
    fn tilde_expands_to_home() {
        let home = std::env::var("HOME").unwrap_or_default();
        if !home.is_empty() {
            assert_eq!(expand_tilde("~/x"), PathBuf::from(&home).join("x"));
        }
        assert_eq!(expand_tilde("a~/x"), PathBuf::from("a~/x"));
    }
}
