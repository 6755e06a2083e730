//! Reading input we will not answer: skipping a request body so the next pipelined
//! request can be parsed, and the lingering close that keeps our last response from
//! being destroyed by a reset. Both are bounded in time by the watchdog and in bytes.

use crate::conn::input::Input;
use crate::conn::Transport;
use crate::watchdog::{Phase, Watch};
use futures::io::{AsyncReadExt, AsyncWriteExt};
use shared::wire::body::{BodyDecoder, Decoded};
use shared::wire::limits::MAX_DISCARDED_BODY;
use shared::wire::message::BodyFraming;
use std::io;
use std::time::Duration;

/// After deciding to close with unread input pending, read and discard for at most this
/// long (and [`LINGER_MAX_BYTES`]) so the kernel does not reset the connection and
/// destroy the response before the client reads it (nginx's lingering close).
pub(crate) const LINGER_TIME: Duration = Duration::from_secs(2);

/// Most bytes read and discarded while lingering.
const LINGER_MAX_BYTES: usize = 256 * 1024;

/// Extra time a body gets beyond a head's timeout, from when we start skipping it (over
/// HTTP/2 too).
pub(crate) const BODY_GRACE: Duration = Duration::from_secs(1);

/// How skipping a request body ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Skipped {
    /// The whole body was read and dropped: the next request can be parsed.
    Done,
    /// More than [`MAX_DISCARDED_BODY`] bytes: answer 413 and close.
    TooLarge,
    /// Not valid chunked framing: answer 400 and close.
    Malformed,
    /// The client closed, or was too slow (the watchdog cut it): just close.
    Ended,
}

/// Reads and drops a request body, within a head's timeout (plus a second) from now.
pub(crate) async fn skip_body<S: Transport>(
    stream: &mut S,
    framing: BodyFraming,
    input: &mut Input,
    watch: &Watch,
    head_timeout: Duration,
) -> io::Result<Skipped> {
    let mut decoder = BodyDecoder::request(framing);
    watch.set_phase(Phase::Drain);
    watch.arm(head_timeout + BODY_GRACE);
    loop {
        // Consume what is buffered.
        let (used, decoded) = match decoder.decode(input.buffered()) {
            Ok(step) => step,
            Err(_) => return Ok(Skipped::Malformed),
        };
        input.consume(used);
        match decoded {
            Decoded::Done => {
                watch.disarm();
                return Ok(Skipped::Done);
            }
            Decoded::Data(_) if decoder.body_len() > MAX_DISCARDED_BODY => {
                return Ok(Skipped::TooLarge)
            }
            Decoded::Data(_) => continue,
            Decoded::NeedMore => {}
        }
        // End of input, or the watchdog cut the reading side at the deadline.
        if input.read_more(stream).await? == 0 {
            return Ok(Skipped::Ended);
        }
    }
}

/// Half-closes, then reads and drops input until the client closes (at most `limit`
/// and [`LINGER_MAX_BYTES`]), so our last response is not destroyed by a reset before
/// the client reads it.
pub(crate) async fn linger_close<S: Transport>(stream: &mut S, watch: &Watch, limit: Duration) {
    // Closing our side may need a write (a TLS close_notify): bounded like any send.
    watch.set_phase(Phase::Send);
    watch.arm(limit);
    let _ = stream.close().await;
    // `close` ends a TLS session but leaves TCP open: half-close the socket itself.
    let _ = rustix::net::shutdown(stream.socket(), rustix::net::Shutdown::Write);
    watch.set_phase(Phase::Drain);
    let mut scratch = vec![0u8; 4096];
    let mut drained = 0;
    while drained < LINGER_MAX_BYTES {
        match stream.read(&mut scratch).await {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    watch.disarm();
}
