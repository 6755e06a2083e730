//! Every HTTP/2 limit, named, with nginx's value where nginx has one, and the `h2`
//! server builder that applies them.

use shared::wire::limits::{MAX_HEADERS, MAX_REQUEST_HEAD};
use std::time::Duration;

/// Streams a client may have open at once. nginx's `http2_max_concurrent_streams` is
/// 128: a page's worth of assets in flight, while bounding the work one connection holds.
pub(crate) const MAX_CONCURRENT_STREAMS: u32 = 128;

/// Largest request header list (RFC 9113 section 6.5.2: names, values and 32 bytes per
/// field, as HPACK counts them). The same budget as an HTTP/1 head, so a request one
/// protocol refuses the other refuses too; `h2` answers a larger one with 431, and
/// aborts a connection whose header block (CONTINUATION frames included) grows far past
/// it, which defeats CONTINUATION floods (CVE-2024-27316 class).
pub(crate) const MAX_HEADER_LIST_SIZE: u32 = (MAX_REQUEST_HEAD + 32 * MAX_HEADERS) as u32;

/// Largest frame payload the server accepts: RFC 9113's default, what nginx announces.
/// DATA frames we send follow the client's own setting.
pub(crate) const MAX_FRAME_SIZE: u32 = 16_384;

/// Flow-control window per request stream: RFC 9113's default 65,535 (nginx's
/// `http2_body_preread_size` is 64 KiB). A static server never reads request bodies, so
/// a larger window would only invite the client to send what is discarded.
pub(crate) const INITIAL_STREAM_WINDOW: u32 = 65_535;

/// Flow-control window of the whole connection for what the client sends, the default.
pub(crate) const INITIAL_CONNECTION_WINDOW: u32 = 65_535;

/// Streams a client may reset before the server accepted them, at once, before `h2`
/// sends GOAWAY `ENHANCE_YOUR_CALM` (its default; the first CVE-2023-44487 defence).
pub(crate) const MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;

/// Streams the server may reset because of the client's protocol errors before `h2`
/// closes the connection (its default: a peer erring that often is not a browser).
pub(crate) const MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;

/// Locally reset streams remembered, so frames racing the reset are ignored, not errors.
pub(crate) const MAX_CONCURRENT_RESET_STREAMS: usize = 50;

/// How long a locally reset stream is remembered.
pub(crate) const RESET_STREAM_DURATION: Duration = Duration::from_secs(1);

/// Largest piece of a body read and handed to `h2` at once, and so the most a stream
/// buffers: 64 KiB amortises a read on the blocking pool and a DATA frame run, and 128
/// streams x 64 KiB bounds a connection at 8 MiB even when the client opens every window.
pub(crate) const BODY_CHUNK: usize = 64 * 1024;

/// Resets a client may send in a burst before the sustained rate applies: twice the
/// concurrent streams, so a browser cancelling a whole page of downloads at once (on
/// navigation) is well inside it.
pub(crate) const RESET_BURST: u32 = 2 * MAX_CONCURRENT_STREAMS;

/// Resets per second sustained (the rapid-reset cap). Browsers cancel a handful of
/// streams a minute; an attacker needs thousands a second to hurt.
pub(crate) const RESETS_PER_SECOND: u32 = 100;

/// PING, SETTINGS and PRIORITY frames (and unknown frame types) a client may send in a
/// burst. Browsers send a few per connection (Firefox's priority tree is 6 PRIORITY
/// frames); 500 leaves room for any of them, while each flood frame costs a reply.
pub(crate) const CONTROL_BURST: u32 = 500;

/// Control frames per second sustained after the burst.
pub(crate) const CONTROL_PER_SECOND: u32 = 50;

/// The `h2` server builder with every limit above.
pub(crate) fn builder() -> h2::server::Builder {
    let mut b = h2::server::Builder::new();
    b.max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .max_header_list_size(MAX_HEADER_LIST_SIZE)
        .max_frame_size(MAX_FRAME_SIZE)
        .initial_window_size(INITIAL_STREAM_WINDOW)
        .initial_connection_window_size(INITIAL_CONNECTION_WINDOW)
        .max_pending_accept_reset_streams(MAX_PENDING_ACCEPT_RESET_STREAMS)
        .max_local_error_reset_streams(Some(MAX_LOCAL_ERROR_RESET_STREAMS))
        .max_concurrent_reset_streams(MAX_CONCURRENT_RESET_STREAMS)
        .reset_stream_duration(RESET_STREAM_DURATION)
        .max_send_buffer_size(BODY_CHUNK);
    b
}
