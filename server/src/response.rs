//! The protocol-neutral response: a status, fields and a body, built whole by the
//! handler and turned into bytes by one writer per protocol ([`crate::conn::writer`] for
//! HTTP/1). Fields that belong to the framing or to one protocol (`Content-Length`,
//! `Date`, `Server`, `Connection`, `Keep-Alive`, `Transfer-Encoding`) are never set here:
//! each writer adds what its protocol needs, so an HTTP/2 writer reuses all of this.

use bytes::Bytes;
use shared::site::page;
use shared::StatusCode;
use std::borrow::Cow;
use std::fs::File;
use std::sync::Arc;

/// The `Server` field value.
pub(crate) const SERVER_NAME: &str = concat!("server/", env!("CARGO_PKG_VERSION"));

/// The `Content-Type` of our HTML pages.
pub(crate) const HTML: &str = "text/html; charset=utf-8";

/// A response decided by the handler.
#[derive(Debug)]
pub(crate) struct Response {
    /// The status sent.
    pub status: StatusCode,
    /// Representation and control fields, in the order sent.
    pub fields: Fields,
    /// The content. For HEAD it still describes what a GET would send (its length is
    /// the `Content-Length`); the writer sends none of it.
    pub body: Body,
}

/// What follows the head.
#[derive(Debug)]
pub(crate) enum Body {
    /// Nothing (304, an empty file).
    Empty,
    /// Shared in-memory bytes: a cached file, a gzip result, an error page, a listing.
    Memory(Bytes),
    /// `len` bytes of `file` from `offset`.
    File {
        file: Arc<File>,
        offset: u64,
        len: u64,
    },
    /// `multipart/byteranges`: literal pieces and ranges of `file`, in order.
    Multipart { file: Arc<File>, parts: Vec<Part> },
}

/// One piece of a [`Body::Multipart`] body.
#[derive(Debug)]
pub(crate) enum Part {
    /// Literal bytes (a part's head, the closing delimiter).
    Bytes(Bytes),
    /// `len` bytes of the file from `offset`.
    Range { offset: u64, len: u64 },
}

impl Body {
    /// The number of content bytes.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Memory(b) => b.len() as u64,
            Body::File { len, .. } => *len,
            Body::Multipart { parts, .. } => parts
                .iter()
                .map(|p| match p {
                    Part::Bytes(b) => b.len() as u64,
                    Part::Range { len, .. } => *len,
                })
                .sum(),
        }
    }
}

/// A field value: most are static or shared, so building a response copies little.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Static(&'static str),
    Shared(Arc<str>),
    Owned(String),
}

impl Value {
    /// The value's bytes, as sent.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Value::Static(s) => s,
            Value::Shared(s) => s,
            Value::Owned(s) => s,
        }
    }
}

impl From<&'static str> for Value {
    fn from(s: &'static str) -> Value {
        Value::Static(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Owned(s)
    }
}

impl From<Arc<str>> for Value {
    fn from(s: Arc<str>) -> Value {
        Value::Shared(s)
    }
}

impl From<Cow<'static, str>> for Value {
    fn from(s: Cow<'static, str>) -> Value {
        match s {
            Cow::Borrowed(s) => Value::Static(s),
            Cow::Owned(s) => Value::Owned(s),
        }
    }
}

/// A response's fields, in order; names compare case-insensitively.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fields(Vec<(Cow<'static, str>, Value)>);

impl Fields {
    /// No fields yet, with room for `n` without growing.
    pub(crate) fn with_capacity(n: usize) -> Fields {
        Fields(Vec::with_capacity(n))
    }

    /// Puts a field line at `index` (0: first), keeping any of the same name.
    pub(crate) fn insert(
        &mut self,
        index: usize,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Value>,
    ) {
        self.0
            .insert(index.min(self.0.len()), (name.into(), value.into()));
    }

    /// Adds a field line, keeping any of the same name.
    pub(crate) fn append(&mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        self.0.push((name.into(), value.into()));
    }

    /// Appends every field of `other`, in order.
    pub(crate) fn extend(&mut self, other: Fields) {
        self.0.extend(other.0);
    }

    /// Replaces every field named `name` (any case) with one line, in the first one's
    /// place, or appends it.
    pub(crate) fn set(&mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        let name = name.into();
        let Some(first) = self
            .0
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(&name))
        else {
            self.0.push((name, value.into()));
            return;
        };
        let mut k = self.0.len();
        while k > first + 1 {
            k -= 1;
            if self.0[k].0.eq_ignore_ascii_case(&name) {
                self.0.remove(k);
            }
        }
        self.0[first] = (name, value.into());
    }

    /// Removes every field named `name` (any case).
    pub(crate) fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The value of the first field named `name` (any case).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every field, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_ref(), v.as_str()))
    }
}

impl Response {
    /// A response with `status`, no fields and no body.
    pub(crate) fn new(status: StatusCode) -> Response {
        Response {
            status,
            fields: Fields::default(),
            body: Body::Empty,
        }
    }

    /// Adds a field (builder style).
    pub(crate) fn with(mut self, name: &'static str, value: impl Into<Value>) -> Response {
        self.fields.append(name, value);
        self
    }

    /// A response whose body is `body`, of type `content_type`.
    pub(crate) fn page(
        status: StatusCode,
        content_type: impl Into<Value>,
        body: impl Into<Bytes>,
    ) -> Response {
        let mut r = Response::new(status).with("Content-Type", content_type);
        r.body = Body::Memory(body.into());
        r
    }

    /// An error page with the default explanation for `status`.
    pub(crate) fn error(status: StatusCode) -> Response {
        Response::error_detail(status, page::default_detail(status))
    }

    /// An error page with a specific explanation.
    pub(crate) fn error_detail(status: StatusCode, detail: &str) -> Response {
        Response::page(status, HTML, page::error_page(status, detail).into_bytes())
    }

    /// 301 to `location`, which must be an absolute path the caller built safely.
    pub(crate) fn moved(location: String) -> Response {
        let detail = format!("This folder lives at {location}");
        Response::error_detail(StatusCode::MOVED_PERMANENTLY, &detail).with("Location", location)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_every_line_of_a_name_in_place() {
        let mut f = Fields::default();
        f.append("A", "1");
        f.append("Vary", "x");
        f.append("a", "2");
        f.set("a", "3");
        f.set("B", "4");
        let all: Vec<(&str, &str)> = f.iter().collect();
        assert_eq!(all, [("a", "3"), ("Vary", "x"), ("B", "4")]);
        f.remove("vary");
        assert_eq!((f.get("VARY"), f.get("b")), (None, Some("4")));
    }

    #[test]
    fn multipart_length_counts_every_part() {
        let file = Arc::new(File::open("/dev/null").unwrap());
        let body = Body::Multipart {
            file,
            parts: vec![
                Part::Bytes(Bytes::from_static(b"head")),
                Part::Range { offset: 5, len: 10 },
                Part::Bytes(Bytes::from_static(b"end")),
            ],
        };
        assert_eq!(body.len(), 17);
    }
}
