//! One HTTP/2 stream: the request checked and turned into the handler's [`Ctx`],
//! answered by the same handler as HTTP/1.1, the head sent and the body streamed within
//! flow control, then one access-log line as for HTTP/1.1 (`HTTP/2.0` as the version).

use super::body::{self, Stop};
use super::request::Head;
use super::request_body::{self, Skipped, Waiting};
use super::response;
use super::{Respond, Settings};
use crate::context::Ctx;
use crate::files::Handled;
use crate::response::Response;
use bytes::Bytes;
use h2::server::SendResponse;
use h2::{Reason, RecvStream};
use http::{Method, Request};
use shared::StatusCode;
use std::net::SocketAddr;
use std::time::SystemTime;

/// Serves one stream to its end. Nothing here fails the connection: a stream that goes
/// wrong is reset, the others carry on.
pub(crate) async fn serve<R: Respond>(
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    responder: &R,
    settings: &Settings,
    peer: SocketAddr,
    waiting: &Waiting,
) {
    let (parts, mut body) = request.into_parts();
    let Ok(head) = Head::from_parts(parts) else {
        respond.send_reset(Reason::PROTOCOL_ERROR);
        return;
    };
    // A body is read to its end before the answer, as over HTTP/1.1, so that `h2` can
    // find it malformed while the stream is open. Then dropping the receiving half lets
    // `h2` discard whatever still arrives, and end a stream the client has not finished
    // with RST_STREAM(NO_ERROR) after our response (RFC 9113 section 8.1).
    let refused = match head.refusal() {
        Some(refused) => Some(refused),
        None => {
            match request_body::skip(&mut body, head.header_map(), settings.head_timeout, waiting)
                .await
            {
                Skipped::Done | Skipped::Unread => None,
                Skipped::Announced if matches!(head.method, Method::GET | Method::HEAD) => {
                    Some(Response::error(StatusCode::CONTENT_TOO_LARGE))
                }
                Skipped::Announced => None,
                Skipped::TooLarge => Some(Response::error(StatusCode::CONTENT_TOO_LARGE)),
                Skipped::TimedOut => Some(Response::error(StatusCode::REQUEST_TIMEOUT)),
                Skipped::Gone => return,
            }
        }
    };
    drop(body);
    // The clock, read once for the request (as over HTTP/1).
    let now = SystemTime::now();
    let fields = head.fields();
    let ctx = Ctx::new(head.method.as_str(), &head.target, &fields, now).with_peer(peer.ip());
    let mut response = match refused {
        Some(refused) => refused,
        None => match responder.respond(&ctx) {
            Handled::Ready(response) => response,
            // Slow disk work (a large folder) runs on a blocking thread, as over HTTP/1.
            Handled::Blocking(job) => crate::rt::unblock(move || job.run()).await,
        },
    };
    responder.finish(&mut response);
    let status = response.status.as_u16();
    let (head_frame, pieces) = response::split(response, ctx.head_only, now);
    let sent = send(&mut respond, head_frame, pieces, settings).await;
    if settings.log {
        crate::access_log::log(peer.ip(), head.log_line().as_bytes(), status, sent);
    }
}

/// Sends the head and the body; returns the body bytes handed to `h2`.
async fn send(
    respond: &mut SendResponse<Bytes>,
    head: http::Response<()>,
    pieces: Vec<body::Piece>,
    settings: &Settings,
) -> u64 {
    let Ok(mut stream) = respond.send_response(head, pieces.is_empty()) else {
        // The client reset the stream first.
        return 0;
    };
    if pieces.is_empty() {
        return 0;
    }
    let (sent, result) = body::send(&mut stream, pieces, settings.send_timeout).await;
    if let Err(Stop::Read(e)) = &result {
        crate::log_queue::error(format_args!(
            "a file could not be read while sending it: {e}; stream reset"
        ));
    }
    sent
}
