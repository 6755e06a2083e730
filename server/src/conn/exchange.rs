//! One HTTP/1 exchange: from a parsed head to the response and what the connection does
//! after it. Whether to close is decided here and nowhere else.

use crate::conn::input::Head;
use crate::conn::writer::Framing;
use crate::context::Ctx;
use crate::files::{self, Handled};
use crate::response::Response;
use crate::shutdown::Shutdown;
use crate::state::State;
use shared::wire::limits::MAX_DISCARDED_BODY;
use shared::wire::message::BodyFraming;
use shared::wire::request::{Request, Version};
use shared::StatusCode;
use std::sync::Arc;
use std::time::SystemTime;

/// What the connection does once the response is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum After {
    /// Read the next request.
    KeepGoing,
    /// Close: the client sent nothing we leave unread.
    Close,
    /// Close, but first read and drop what the client may still be sending (a body we
    /// will not read), so a reset does not destroy the response before it is read.
    DrainThenClose,
}

/// A request answered, ready for the writer.
#[derive(Debug)]
pub(crate) struct Exchange {
    /// The response, or the job that will make it on a blocking thread.
    pub answer: Handled,
    /// How the writer frames it.
    pub framing: Framing,
    /// A request body to read and drop before the response is sent: a client that sends
    /// its whole request before reading would otherwise never take our response while
    /// we wait for it (a body we will not read at all closes the connection instead).
    pub skip_body: Option<BodyFraming>,
    /// What follows it.
    pub after: After,
    /// The request line for the access log, raw (empty when logging is off).
    pub request_line: Vec<u8>,
}

/// Answers one head. `served` counts the requests this connection answered before.
pub(crate) fn exchange(
    head: Head<'_, '_>,
    state: &Arc<State>,
    served: u32,
    shutdown: &Shutdown,
    peer: std::net::IpAddr,
) -> Exchange {
    let now = SystemTime::now();
    let req = match head {
        Head::Request(req) => req,
        Head::Invalid { error, first_line } => {
            return Exchange {
                answer: Handled::Ready(Response::error_detail(error.status(), error.describe())),
                framing: Framing {
                    close: true,
                    http10: false,
                    head_only: false,
                    now,
                },
                skip_body: None,
                after: After::DrainThenClose,
                request_line: logged(state, || first_line.to_vec()),
            };
        }
    };
    let ctx = Ctx::new(req.method, req.target, req.headers, now).with_peer(peer);
    let too_big = matches!(req.body, BodyFraming::Length(n) if n > MAX_DISCARDED_BODY);
    let answer = if too_big && (req.method == "GET" || ctx.head_only) {
        Handled::Ready(Response::error(StatusCode::CONTENT_TOO_LARGE))
    } else {
        files::handle(&ctx, state)
    };
    let has_body = req.body != BodyFraming::Length(0);
    // A body we will not read (too large, or the client awaits 100 Continue, which we
    // never send) leaves the stream unable to carry another request.
    let unread_body = has_body && (req.expects_continue() || too_big);
    let after = after(&req, unread_body, served, state, shutdown);
    let mut x = Exchange {
        skip_body: (has_body && !unread_body).then_some(req.body),
        framing: Framing {
            close: after != After::KeepGoing,
            http10: req.version == Version::Http10,
            head_only: ctx.head_only,
            now,
        },
        after,
        request_line: logged(state, || {
            format!("{} {} {}", req.method, req.target, req.version.as_str()).into_bytes()
        }),
        answer,
    };
    if let Handled::Ready(response) = &x.answer {
        let status = response.status;
        x.settle(status);
    }
    x
}

impl Exchange {
    /// Completes the decision once the response's status is known.
    pub(crate) fn settle(&mut self, status: StatusCode) {
        settle(&mut self.after, &mut self.framing, status);
    }
}

/// A request we could not use (400) leaves the stream in an unknown state: close.
pub(crate) fn settle(after: &mut After, framing: &mut Framing, status: StatusCode) {
    if status == StatusCode::BAD_REQUEST && *after == After::KeepGoing {
        *after = After::Close;
        framing.close = true;
    }
}

/// The one decision whether the connection carries another request (with
/// [`Exchange::settle`] for what the response's status adds).
fn after(
    req: &Request<'_, '_>,
    unread_body: bool,
    served: u32,
    state: &State,
    shutdown: &Shutdown,
) -> After {
    let close = unread_body
        || !req.keep_alive
        || served + 1 >= state.config.max_requests
        || shutdown.is_fired();
    match (close, unread_body) {
        (false, _) => After::KeepGoing,
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
