//! What the client sends: a method, a location, header fields (defaults merged with the
//! user's edits) and a body, and the request head made from them.

use crate::items::{HeaderEdit, Items};
use crate::target::Location;
use shared::wire::format::{end_head, header, header_u64, request_line};
use std::path::{Path, PathBuf};

/// File bodies above this size are sent with `Expect: 100-continue` (RFC 9110 10.1.1), so
/// a server that refuses the request (401, 413) says so before the client uploads it.
/// 1 MiB is where curl starts doing the same.
pub(crate) const EXPECT_CONTINUE_MIN: u64 = 1024 * 1024;

/// The `User-Agent` sent unless the user replaces or drops it.
pub(crate) const USER_AGENT: &str = concat!("client/", env!("CARGO_PKG_VERSION"));

/// The codings the client can decode, offered on every request (HTTPie sends the same).
pub(crate) const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// `Accept` with a JSON body, as HTTPie sends it.
const ACCEPT_JSON: &str = "application/json, */*;q=0.5";

/// The `Content-Type` of a form body (`-f`), as HTTPie sends it.
pub(crate) const FORM_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// curl's `Content-Type` for `-d` data.
const CURL_DATA_TYPE: &str = "application/x-www-form-urlencoded";

/// A request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    /// None at all.
    Empty,
    /// Bytes in memory (JSON, a form, `-d TEXT`, `-d @-`).
    Bytes(Vec<u8>),
    /// A file, streamed from disk; its length was read when the request was built.
    File {
        /// Where it is.
        path: PathBuf,
        /// Its length, sent as `Content-Length`.
        len: u64,
    },
}

impl Body {
    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::File { len, .. } => *len,
        }
    }

    /// A file body, with its length read now.
    pub fn file(path: &Path) -> Result<Body, String> {
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
        if !meta.is_file() {
            return Err(format!("'{}' is not a regular file", path.display()));
        }
        Ok(Body::File {
            path: path.to_path_buf(),
            len: meta.len(),
        })
    }
}

/// The raw body from curl's `-d`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Data {
    /// `-d TEXT`.
    Text(String),
    /// `-d @FILE`.
    File(PathBuf),
    /// `-d @-`: standard input, read when the request is built.
    Stdin,
}

/// Everything a user said about one request besides where it goes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shape {
    /// `-X METHOD`, or the REPL command's method.
    pub method: Option<String>,
    /// Header edits: session defaults, then `-H`, then items.
    pub headers: Vec<HeaderEdit>,
    /// The items after the URL.
    pub items: Items,
    /// `-d`.
    pub data: Option<Data>,
    /// `-f/--form`.
    pub form: bool,
    /// `Authorization` from `-a` or `--bearer` (already formatted).
    pub authorization: Option<String>,
}

/// A request ready to send, and to send again after a redirect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    /// The method token.
    pub method: String,
    /// Where it goes.
    pub location: Location,
    /// Every field but `Host`, `Content-Length`, `Expect` and jar cookies, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

impl Request {
    /// Builds the request `shape` describes for `location`: the method (POST when there is
    /// a body and none was named, HTTPie's rule), defaults merged with the user's edits,
    /// `name==value` items in the query, and the body.
    pub fn build(
        mut location: Location,
        shape: &Shape,
        stdin: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<Request, String> {
        let items = &shape.items;
        if shape.data.is_some() && items.has_body() {
            return Err(
                "-d and body items (name=value, @FILE) cannot be combined; pick one".into(),
            );
        }
        if items.body_file.is_some() && !items.fields.is_empty() {
            return Err(
                "@FILE sends the whole body; it cannot be combined with name=value fields".into(),
            );
        }
        location.add_query(&items.query);
        let (body, content_type, json) = match (&shape.data, &items.body_file) {
            (Some(Data::Text(t)), _) => (
                Body::Bytes(t.clone().into_bytes()),
                Some(CURL_DATA_TYPE.to_string()),
                false,
            ),
            (Some(Data::File(p)), _) => (Body::file(p)?, Some(CURL_DATA_TYPE.to_string()), false),
            (Some(Data::Stdin), _) => (
                Body::Bytes(stdin()?),
                Some(CURL_DATA_TYPE.to_string()),
                false,
            ),
            (None, Some(p)) => {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let known = shared::site::mime::content_type(&name);
                let ctype = (known != shared::site::mime::DEFAULT_TYPE).then(|| known.into_owned());
                (Body::file(p)?, ctype, false)
            }
            (None, None) if items.fields.is_empty() => (Body::Empty, None, false),
            (None, None) if shape.form => (
                Body::Bytes(items.form_body()?.into_bytes()),
                Some(FORM_TYPE.to_string()),
                false,
            ),
            (None, None) => (
                Body::Bytes(items.json_body().into_bytes()),
                Some("application/json".to_string()),
                true,
            ),
        };
        let method = match &shape.method {
            Some(m) => checked_method(m)?,
            None if body != Body::Empty => "POST".to_string(),
            None => "GET".to_string(),
        };
        let mut headers = vec![
            ("User-Agent".to_string(), USER_AGENT.to_string()),
            (
                "Accept".to_string(),
                if json { ACCEPT_JSON } else { "*/*" }.to_string(),
            ),
            ("Accept-Encoding".to_string(), ACCEPT_ENCODING.to_string()),
        ];
        if let Some(auth) = &shape.authorization {
            headers.push(("Authorization".to_string(), auth.clone()));
        }
        if let Some(ctype) = content_type {
            headers.push(("Content-Type".to_string(), ctype));
        }
        let mut fields = Fields {
            defaults: headers.into_iter().map(|f| (f, false)).collect(),
            added: Vec::new(),
        };
        for edit in shape.headers.iter().chain(&items.headers) {
            fields.apply(edit);
        }
        Ok(Request {
            method,
            location,
            headers: fields.into_list(),
            body,
        })
    }

    /// The value of the first field named `name` this request sends.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the body goes with `Expect: 100-continue`.
    pub fn expects_continue(&self) -> bool {
        matches!(self.body, Body::File { len, .. } if len >= EXPECT_CONTINUE_MIN)
    }

    /// The head as sent: request line, `Host`, the fields, `cookie` from the jar,
    /// `Content-Length` when there is a body (or the method defines one), `Expect`.
    pub fn head(&self, cookie: Option<&str>) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        request_line(&mut out, &self.method, &self.location.target);
        if self.header("host").is_none() {
            header(
                &mut out,
                "Host",
                self.location.origin.host_field().as_bytes(),
            );
        }
        let mut cookie_sent = false;
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case("cookie") {
                if let Some(jar) = cookie.filter(|c| !c.is_empty()) {
                    header(&mut out, name, format!("{value}; {jar}").as_bytes());
                    cookie_sent = true;
                    continue;
                }
            }
            if value.is_empty() {
                // An empty field value: `Name:` with no trailing space.
                out.extend_from_slice(format!("{name}:\r\n").as_bytes());
            } else {
                header(&mut out, name, value.as_bytes());
            }
        }
        if let Some(jar) = cookie.filter(|c| !cookie_sent && !c.is_empty()) {
            header(&mut out, "Cookie", jar.as_bytes());
        }
        // RFC 9110 8.6: send Content-Length when the method gives the body a meaning,
        // even for an empty one, so the server need not wait for a body.
        let defines_body = matches!(self.method.as_str(), "POST" | "PUT" | "PATCH");
        if self.body != Body::Empty || defines_body {
            header_u64(&mut out, "Content-Length", self.body.len());
        }
        if self.expects_continue() {
            header(&mut out, "Expect", b"100-continue");
        }
        end_head(&mut out);
        out
    }
}

/// The fields of a request: defaults first (each replaceable once, in place), then
/// what the user added.
struct Fields {
    defaults: Vec<((String, String), bool)>,
    added: Vec<(String, String)>,
}

impl Fields {
    /// Applies one edit: a `Set` of a default field replaces it in place (the first
    /// time), an `Unset` drops every field of that name or, when there was none, adds it
    /// empty; `Empty` adds it empty.
    fn apply(&mut self, edit: &HeaderEdit) {
        let name = edit.name();
        let same = |n: &str| n.eq_ignore_ascii_case(name);
        match edit {
            HeaderEdit::Set(_, value) => {
                match self
                    .defaults
                    .iter_mut()
                    .find(|((n, _), replaced)| same(n) && !replaced)
                {
                    Some(slot) => *slot = ((name.to_string(), value.clone()), true),
                    None => self.added.push((name.to_string(), value.clone())),
                }
            }
            HeaderEdit::Unset(_) => {
                let before = self.defaults.len() + self.added.len();
                self.defaults.retain(|((n, _), _)| !same(n));
                self.added.retain(|(n, _)| !same(n));
                if self.defaults.len() + self.added.len() == before {
                    self.added.push((name.to_string(), String::new()));
                }
            }
            HeaderEdit::Empty(_) => self.added.push((name.to_string(), String::new())),
        }
    }

    fn into_list(self) -> Vec<(String, String)> {
        self.defaults
            .into_iter()
            .map(|(f, _)| f)
            .chain(self.added)
            .collect()
    }
}

/// A method must be a token (RFC 9110 section 9.1); it is sent as typed, uppercased
/// for the methods everyone knows.
fn checked_method(method: &str) -> Result<String, String> {
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if method.is_empty() || !method.chars().all(tchar) {
        return Err(format!(
            "'{}' is not a method name (a token like GET or PURGE)",
            method.escape_debug()
        ));
    }
    let upper = method.to_ascii_uppercase();
    let known = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
    ];
    Ok(if known.contains(&upper.as_str()) {
        upper
    } else {
        method.to_string()
    })
}
