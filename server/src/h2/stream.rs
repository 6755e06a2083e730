//! One HTTP/2 stream: the request checked, answered by the handler, the head sent and
//! the body streamed within flow control, then one access-log line as for HTTP/1.1.

use super::body::{self, Piece, Stop};
use super::request::Head;
use super::{Answer, Respond, Settings};
use bytes::Bytes;
use h2::server::SendResponse;
use h2::{Reason, RecvStream};
use http::{Method, Request};
use std::net::SocketAddr;

/// Serves one stream to its end. Nothing here fails the connection: a stream that goes
/// wrong is reset, the others carry on.
pub(crate) async fn serve<R: Respond>(
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    responder: &R,
    settings: &Settings,
    peer: SocketAddr,
) {
    let (parts, body) = request.into_parts();
    // Request bodies are never read (GET and HEAD have none worth reading): dropping
    // the receiving half lets `h2` discard what arrives, release its window, and end the
    // stream with RST_STREAM(NO_ERROR) after our response (RFC 9113 section 8.1).
    drop(body);
    let Ok(head) = Head::from_parts(parts) else {
        respond.send_reset(Reason::PROTOCOL_ERROR);
        return;
    };
    let head_only = head.method == Method::HEAD;
    let answer = if head.too_many_fields() {
        responder.error(431, head_only)
    } else {
        responder.respond(&head)
    };
    let (status, sent) = send(&mut respond, answer, head_only, settings).await;
    log(settings, peer, &head.log_line(), status, sent);
}

/// Sends `answer`; returns its status and the body bytes sent.
async fn send(
    respond: &mut SendResponse<Bytes>,
    answer: Answer,
    head_only: bool,
    settings: &Settings,
) -> (u16, u64) {
    let status = answer.head.status();
    // HEAD, 1xx, 204 and 304 carry no content (RFC 9110 section 6.4.1), whatever the
    // handler attached.
    let bodiless = head_only
        || status.is_informational()
        || status == http::StatusCode::NO_CONTENT
        || status == http::StatusCode::NOT_MODIFIED;
    let pieces: Vec<Piece> = if bodiless {
        Vec::new()
    } else {
        answer.body.into_iter().filter(|p| !p.is_empty()).collect()
    };
    let Ok(mut stream) = respond.send_response(answer.head, pieces.is_empty()) else {
        // The client reset the stream first.
        return (status.as_u16(), 0);
    };
    if pieces.is_empty() {
        return (status.as_u16(), 0);
    }
    let (sent, result) = body::send(&mut stream, pieces, settings.send_timeout).await;
    if let Err(Stop::Read(e)) = &result {
        eprintln!("server: a file could not be read while sending it: {e}; stream reset");
    }
    (status.as_u16(), sent)
}

fn log(settings: &Settings, peer: SocketAddr, line: &str, status: u16, bytes: u64) {
    if settings.log {
        crate::access_log::log(peer.ip(), line.as_bytes(), status, bytes);
    }
}
