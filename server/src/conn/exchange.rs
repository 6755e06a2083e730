//! One HTTP/1 exchange: from a parsed head to the response and what the connection does
//! after it. Whether to close is decided here and nowhere else.

use crate::conn::input::Head;
use crate::conn::writer::Framing;
use crate::context::Ctx;
use crate::files;
use crate::response::Response;
use crate::shutdown::Shutdown;
use crate::state::State;
use shared::wire::limits::MAX_DISCARDED_BODY;
use shared::wire::message::BodyFraming;
use shared::wire::request::{Request, Version};
use shared::StatusCode;
use std::time::SystemTime;

/// What the connection does once the response is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum After {
    /// Read the next request, after skipping this one's body if it has one.
    KeepGoing { skip_body: Option<BodyFraming> },
    /// Close: the client sent nothing we leave unread.
    Close,
    /// Close, but first read and drop what the client may still be sending (a body we
    /// will not read), so a reset does not destroy the response before it is read.
    DrainThenClose,
}

/// A request answered, ready for the writer.
#[derive(Debug)]
pub(crate) struct Exchange {
    /// The response.
    pub response: Response,
    /// How the writer frames it.
    pub framing: Framing,
    /// What follows it.
    pub after: After,
    /// The request line for the access log, raw (empty when logging is off).
    pub request_line: Vec<u8>,
}

/// Answers one head. `served` counts the requests this connection answered before.
pub(crate) fn exchange(
    head: Head<'_, '_>,
    state: &State,
    served: u32,
    shutdown: &Shutdown,
    peer: std::net::IpAddr,
) -> Exchange {
    let now = SystemTime::now();
    let req = match head {
        Head::Request(req) => req,
        Head::Invalid { error, first_line } => {
            return Exchange {
                response: Response::error_detail(error.status(), error.describe()),
                framing: Framing {
                    close: true,
                    http10: false,
                    head_only: false,
                    now,
                },
                after: After::DrainThenClose,
                request_line: logged(state, || first_line.to_vec()),
            };
        }
    };
    let ctx = Ctx::new(req.method, req.target, req.headers, now).with_peer(peer);
    let too_big = matches!(req.body, BodyFraming::Length(n) if n > MAX_DISCARDED_BODY);
    let response = if too_big && (req.method == "GET" || ctx.head_only) {
        Response::error(StatusCode::CONTENT_TOO_LARGE)
    } else {
        files::handle(&ctx, state)
    };
    let after = after(&req, response.status, too_big, served, state, shutdown);
    Exchange {
        framing: Framing {
            close: !matches!(after, After::KeepGoing { .. }),
            http10: req.version == Version::Http10,
            head_only: ctx.head_only,
            now,
        },
        after,
        request_line: logged(state, || {
            format!("{} {} {}", req.method, req.target, req.version.as_str()).into_bytes()
        }),
        response,
    }
}

/// The one decision whether the connection carries another request.
fn after(
    req: &Request<'_, '_>,
    status: StatusCode,
    too_big: bool,
    served: u32,
    state: &State,
    shutdown: &Shutdown,
) -> After {
    let has_body = req.body != BodyFraming::Length(0);
    // A body we will not read (too large, or the client awaits 100 Continue, which we
    // never send) leaves the stream unable to carry another request.
    let unread_body = has_body && (req.expects_continue() || too_big);
    let close = unread_body
        // A request we could not use leaves the stream in an unknown state.
        || status == StatusCode::BAD_REQUEST
        || !req.keep_alive
        || served + 1 >= state.config.max_requests
        || shutdown.is_fired();
    match (close, has_body) {
        (false, true) => After::KeepGoing {
            skip_body: Some(req.body),
        },
        (false, false) => After::KeepGoing { skip_body: None },
        (true, true) => After::DrainThenClose,
        (true, false) => After::Close,
    }
}

/// The request line for the log, built only when the log is on.
fn logged(state: &State, line: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
    if state.config.quiet {
        Vec::new()
    } else {
        line()
    }
}
