//! A request body read and dropped before the answer, as over HTTP/1.1: bounded in bytes
//! and in time, its window given back as it comes. While the stream is open `h2` checks
//! its framing (DATA that does not add up to `content-length`, trailers without
//! END_STREAM: malformed, RFC 9113 section 8.1.1) and resets it with `PROTOCOL_ERROR`;
//! answering first would close the stream and leave those frames to be ignored.

use crate::conn::BODY_GRACE;
use crate::rt::Timer;
use h2::RecvStream;
use http::header::{CONTENT_LENGTH, EXPECT};
use http::HeaderMap;
use shared::wire::limits::MAX_DISCARDED_BODY;
use std::cell::Cell;
use std::time::Duration;

/// What became of a request's body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Skipped {
    /// There was none, or all of it was read: answer as usual.
    Done,
    /// Not read: the client waits for `100 Continue` (never sent). The answer goes
    /// first and `h2` then ends the stream with RST_STREAM(NO_ERROR) (RFC 9113
    /// section 8.1).
    Unread,
    /// Not read either: announced larger than [`MAX_DISCARDED_BODY`]. A GET or HEAD
    /// gets 413, as over HTTP/1.1.
    Announced,
    /// More than [`MAX_DISCARDED_BODY`] bytes came: answer 413.
    TooLarge,
    /// The body did not end within a head's timeout (plus [`BODY_GRACE`]): answer 408.
    TimedOut,
    /// The stream was reset (malformed framing, or the client's reset): no answer.
    Gone,
}

/// A connection's streams waiting for their bodies, shared by its driver and its
/// streams (one task, so plain cells). While a stream waits for the client, the server
/// sends nothing, and the read-rate floor must not count that time against the client.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    reading: Cell<usize>,
    late: Cell<bool>,
}

impl Waiting {
    /// Streams reading a body now.
    pub(crate) fn reading(&self) -> usize {
        self.reading.get()
    }

    /// Whether a body came too late since the last call: the connection then ends with
    /// GOAWAY once its streams are done, as HTTP/1.1 closes after its 408.
    pub(crate) fn take_late(&self) -> bool {
        self.late.replace(false)
    }
}

/// Counts a stream in [`Waiting::reading`] while it lives.
struct Reading<'a>(&'a Waiting);

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0.reading.set(self.0.reading.get() - 1);
    }
}

/// Reads and drops the body of a request with `fields`, within `head_timeout` plus
/// [`BODY_GRACE`] from now, counted in `waiting` meanwhile.
pub(crate) async fn skip(
    body: &mut RecvStream,
    fields: &HeaderMap,
    head_timeout: Duration,
    waiting: &Waiting,
) -> Skipped {
    if body.is_end_stream() {
        return Skipped::Done;
    }
    let announced = fields
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let continues = fields
        .get(EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if announced.is_some_and(|n| n > MAX_DISCARDED_BODY) {
        return Skipped::Announced;
    }
    if continues {
        return Skipped::Unread;
    }
    waiting.reading.set(waiting.reading.get() + 1);
    let _counted = Reading(waiting);
    let reading = async {
        let mut read = 0u64;
        loop {
            match body.data().await {
                None => return Skipped::Done,
                Some(Err(_)) => return Skipped::Gone,
                Some(Ok(bytes)) => {
                    read += bytes.len() as u64;
                    // Give the window back, so the client can send the rest.
                    let _ = body.flow_control().release_capacity(bytes.len());
                    if read > MAX_DISCARDED_BODY {
                        return Skipped::TooLarge;
                    }
                }
            }
        }
    };
    let late = async {
        Timer::after(head_timeout + BODY_GRACE).await;
        Skipped::TimedOut
    };
    let skipped = futures_lite::future::or(reading, late).await;
    if skipped == Skipped::TimedOut {
        waiting.late.set(true);
    }
    skipped
}
