//! HTTP/2 over TLS (RFC 9113) with the `h2` crate on the async-std runtime: `h2` speaks
//! tokio's I/O traits, and `tokio_util::compat` adapts our futures-based streams to them
//! (no tokio runtime runs). A connection is one task driving `h2` and its streams
//! ([`conn`]); each stream gets the same [`Ctx`] and the same handler as HTTP/1.1
//! ([`Respond`], [`files::handle`]), and its [`Response`] is written by this module's
//! writer ([`stream`], [`response`], [`body`]).
//!
//! Not here: h2c (cleartext HTTP/2, prior knowledge or `Upgrade: h2c`), server push,
//! RFC 9218 priorities. Request bodies are read and dropped ([`request_body`]): the
//! server serves GET and HEAD only.

mod body;
mod conn;
mod flood;
mod frames;
mod io;
mod limits;
mod pace;
mod request;
mod request_body;
mod response;
mod stream;

#[cfg(test)]
mod tests;

pub(crate) use conn::serve;

use crate::config::Config;
use crate::context::Ctx;
use crate::files::{self, Handled};
use crate::response::Response;
use crate::state::State;
use std::sync::Arc;
use std::time::Duration;

/// ALPN protocol id of HTTP/2 over TLS (RFC 9113 section 3.2), offered before
/// `http/1.1`.
pub(crate) const ALPN_H2: &[u8] = b"h2";

/// The connection-wide timeouts and caps, from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// For the client preface and, while no request has come yet, for the first one.
    pub(crate) head_timeout: Duration,
    /// How long a connection with no open stream stays open (keep-alive timeout).
    pub(crate) idle_timeout: Duration,
    /// Longest wait for the client's window or for the socket to take our bytes.
    pub(crate) send_timeout: Duration,
    /// Streams one connection may carry before GOAWAY (as requests per HTTP/1
    /// connection).
    pub(crate) max_requests: u32,
    /// Whether each stream writes an access-log line.
    pub(crate) log: bool,
}

impl Settings {
    /// The settings `config` implies, the same values as for HTTP/1.1.
    pub(crate) fn from_config(config: &Config) -> Settings {
        Settings {
            head_timeout: Duration::from_secs(config.head_timeout),
            idle_timeout: Duration::from_secs(config.keep_alive_timeout),
            send_timeout: Duration::from_secs(config.send_timeout),
            max_requests: config.max_requests,
            log: !config.quiet,
        }
    }
}

/// What the driver needs from the rest of the server: the handler. The server's is
/// [`files::handle`], the same for HTTP/1.1; tests put a stub in its place.
pub(crate) trait Respond: Sync {
    /// The answer to the request `ctx` describes, or the blocking job that makes it.
    fn respond(&self, ctx: &Ctx<'_>) -> Handled;

    /// Last fields on every response of the connection, refusals included.
    fn finish(&self, _response: &mut Response) {}
}

impl Respond for Arc<State> {
    fn respond(&self, ctx: &Ctx<'_>) -> Handled {
        files::handle(ctx, self)
    }

    fn finish(&self, response: &mut Response) {
        // HTTP/2 runs over TLS only: the fields of TLS responses (HSTS) always apply.
        crate::conn::tls_fields(self, response);
    }
}
