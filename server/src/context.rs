//! The per-request context: what every step of the handler needs, worked out once from
//! a request whatever protocol carried it (method, HEAD or not, the clock, the sanitised
//! path, the fields by name).

use shared::site::path::{sanitize_path, SafePath};
use shared::wire::message::{self, Header};
use shared::wire::request::target_path;
use shared::StatusCode;
use std::net::IpAddr;
use std::time::SystemTime;

/// Why a request's target names no servable path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    /// The status to answer with.
    pub status: StatusCode,
    /// The sentence for the error page.
    pub detail: &'static str,
}

/// One request, as the handler sees it.
#[derive(Debug)]
pub(crate) struct Ctx<'r> {
    /// The method token, case-sensitive.
    pub method: &'r str,
    /// Whether the method is HEAD: same fields as GET, no body.
    pub head_only: bool,
    /// The clock, read once for the whole request (Date, Last-Modified, If-Range).
    pub now: SystemTime,
    /// The request target as sent (the query is kept for redirects and listings).
    pub target: &'r str,
    /// The request's fields, in order.
    pub fields: &'r [Header<'r>],
    /// The decoded, normalised path beneath the root, or why there is none.
    pub path: Result<SafePath, Refused>,
    /// The client's address (failed logins are counted per address).
    pub peer: Option<IpAddr>,
    /// Whether this runs on a blocking thread, so a step may do slow disk work (read a
    /// large folder). On the executor such a step defers the request instead.
    pub may_block: bool,
}

/// A request copied out of the read buffer, to be answered later elsewhere (on a
/// blocking thread).
#[derive(Debug)]
pub(crate) struct OwnedRequest {
    method: String,
    target: String,
    fields: Vec<(String, Vec<u8>)>,
    now: SystemTime,
    peer: Option<IpAddr>,
}

impl OwnedRequest {
    /// A copy of what `ctx` was built from.
    pub(crate) fn of(ctx: &Ctx<'_>) -> OwnedRequest {
        OwnedRequest {
            method: ctx.method.to_string(),
            target: ctx.target.to_string(),
            fields: ctx
                .fields
                .iter()
                .map(|h| (h.name.to_string(), h.value.to_vec()))
                .collect(),
            now: ctx.now,
            peer: ctx.peer,
        }
    }

    /// Runs `f` with the request's context again, now allowed to block.
    pub(crate) fn with_ctx<T>(&self, f: impl FnOnce(&Ctx<'_>) -> T) -> T {
        let fields: Vec<Header<'_>> = self
            .fields
            .iter()
            .map(|(name, value)| Header { name, value })
            .collect();
        let mut ctx = Ctx::new(&self.method, &self.target, &fields, self.now);
        ctx.may_block = true;
        ctx.peer = self.peer;
        f(&ctx)
    }
}

impl<'r> Ctx<'r> {
    /// The context of a request for `target` with `fields`, at `now`.
    pub(crate) fn new(
        method: &'r str,
        target: &'r str,
        fields: &'r [Header<'r>],
        now: SystemTime,
    ) -> Ctx<'r> {
        let path = match target_path(target) {
            None => Err(Refused {
                status: StatusCode::BAD_REQUEST,
                detail: shared::site::page::default_detail(StatusCode::BAD_REQUEST),
            }),
            Some(p) => sanitize_path(p).map_err(|e| Refused {
                status: e.status(),
                detail: e.describe(),
            }),
        };
        Ctx {
            method,
            head_only: method == "HEAD",
            now,
            target,
            fields,
            path,
            peer: None,
            may_block: false,
        }
    }

    /// The same context, from the client at `peer`.
    pub(crate) fn with_peer(mut self, peer: IpAddr) -> Ctx<'r> {
        self.peer = Some(peer);
        self
    }

    /// The value of the first field named `name` (case-insensitive).
    pub(crate) fn field(&self, name: &str) -> Option<&'r [u8]> {
        message::field(self.fields, name)
    }

    /// Every value of fields named `name`, in order.
    pub(crate) fn fields_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'r [u8]> + 's {
        message::fields_named(self.fields, name)
    }

    /// The query string, without its `?`.
    pub(crate) fn query(&self) -> Option<&'r str> {
        self.target.split_once('?').map(|(_, q)| q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_sanitised_once_when_the_context_is_built() {
        let fields = [Header {
            name: "Accept",
            value: b"text/html",
        }];
        let ctx = Ctx::new("HEAD", "/a/./b/../c?x=1", &fields, SystemTime::UNIX_EPOCH);
        assert!(ctx.head_only);
        assert_eq!(ctx.path.as_ref().map(|p| p.relative.as_str()), Ok("a/c"));
        assert_eq!(ctx.query(), Some("x=1"));
        assert_eq!(ctx.field("accept"), Some(&b"text/html"[..]));
        let up = Ctx::new("GET", "/../etc/passwd", &[], SystemTime::UNIX_EPOCH);
        assert!(up.path.is_err());
        let star = Ctx::new("GET", "*", &[], SystemTime::UNIX_EPOCH);
        assert_eq!(star.path.unwrap_err().status, StatusCode::BAD_REQUEST);
        // A copy answers the same way later, and may block.
        let owned = OwnedRequest::of(&ctx);
        owned.with_ctx(|again| {
            assert!(again.may_block && again.head_only);
            assert_eq!(again.path, ctx.path);
            assert_eq!(again.field("ACCEPT"), Some(&b"text/html"[..]));
        });
    }
}
