//! What the client sends: the server's address, the request target made from what the
//! user typed, and the request head.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use shared::format::{end_head, header, request_line};
use std::fmt;

/// Bytes that may not appear raw in a request target (RFC 3986 section 2, RFC 9112
/// section 3.2): controls, space, non-ASCII (always encoded) and the unsafe punctuation.
/// `%` is kept so that an already-encoded path is sent as typed.
const TARGET_UNSAFE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The server a request goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// Host name or IP literal, without brackets.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Server {
    /// A server from the host as typed; `[::1]` and `::1` are the same host.
    pub fn new(host: &str, port: u16) -> Self {
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        Self {
            host: host.to_string(),
            port,
        }
    }

    /// `host:port` as it goes in the `Host` field, with IPv6 literals bracketed.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.authority())
    }
}

/// The request target for what the user typed: a leading `/` is added when missing, a
/// fragment is dropped (it is never sent), and unsafe bytes are percent-encoded.
pub fn target(typed: &str) -> String {
    let typed = typed.split('#').next().unwrap_or_default();
    let encoded = utf8_percent_encode(typed, TARGET_UNSAFE).to_string();
    if encoded.starts_with('/') {
        encoded
    } else {
        format!("/{encoded}")
    }
}

/// The request head for `method target` on `server`.
pub fn head(method: &str, target: &str, server: &Server) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    request_line(&mut out, method, target);
    header(&mut out, "Host", server.authority().as_bytes());
    header(
        &mut out,
        "User-Agent",
        concat!("client/", env!("CARGO_PKG_VERSION")).as_bytes(),
    );
    header(&mut out, "Accept", b"*/*");
    end_head(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let cases = [
            ("", "/"),
            ("/", "/"),
            ("HelloWorld.html", "/HelloWorld.html"),
            ("/a b.html", "/a%20b.html"),
            ("/caf\u{e9}", "/caf%C3%A9"),
            ("/a%20b", "/a%20b"),
            ("/search?q=a b&x=1", "/search?q=a%20b&x=1"),
            ("/page#section", "/page"),
            ("/a\r\nX-Injected: 1", "/a%0D%0AX-Injected:%201"),
            ("/<script>", "/%3Cscript%3E"),
        ];
        for (typed, want) in cases {
            assert_eq!(target(typed), want, "typed {typed:?}");
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(Server::new("[::1]", 80).authority(), "[::1]:80");
        assert_eq!(Server::new("::1", 80).host, "::1");
        assert_eq!(
            Server::new("example.org", 8080).authority(),
            "example.org:8080"
        );
    }

    #[test]
    fn request_head() {
        let h = head("GET", "/x", &Server::new("::1", 8080));
        let text = String::from_utf8(h).unwrap();
        assert!(
            text.starts_with("GET /x HTTP/1.1\r\nHost: [::1]:8080\r\n"),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\n"));
    }
}
