//! Flood detection per connection: token buckets for the frames a client can send
//! endlessly at no cost to itself while each costs the server work. Stream resets (the
//! HTTP/2 rapid-reset attack, CVE-2023-44487, where every HEADERS + RST_STREAM pair makes
//! the server start and abandon a response) and control frames (PING, SETTINGS and
//! PRIORITY floods, CVE-2019-9512/9515/9513) each have a burst and a sustained rate; a
//! client past either gets GOAWAY `ENHANCE_YOUR_CALM`.

use super::frames::{kind, FrameHead, FLAG_ACK};
use super::limits::{CONTROL_BURST, CONTROL_PER_SECOND, RESETS_PER_SECOND, RESET_BURST};
use std::fmt;
use std::time::Instant;

/// What a client flooded the connection with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flood {
    /// RST_STREAM frames beyond [`RESET_BURST`] and [`RESETS_PER_SECOND`].
    Resets,
    /// PING, SETTINGS, PRIORITY or unknown frames beyond [`CONTROL_BURST`] and
    /// [`CONTROL_PER_SECOND`].
    Control,
}

impl fmt::Display for Flood {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flood::Resets => "too many stream resets (HTTP/2 rapid reset)",
            Flood::Control => "too many PING, SETTINGS or PRIORITY frames",
        })
    }
}

/// A token bucket: holds up to `burst` tokens, refilled at `per_second`.
#[derive(Debug)]
struct Bucket {
    /// Tokens, in thousandths, so a refill of less than one token is not lost.
    milli: u64,
    burst: u64,
    per_second: u64,
    refilled: Instant,
}

impl Bucket {
    fn new(burst: u32, per_second: u32, now: Instant) -> Bucket {
        Bucket {
            milli: u64::from(burst) * 1000,
            burst: u64::from(burst) * 1000,
            per_second: u64::from(per_second),
            refilled: now,
        }
    }

    /// Takes one token; `false` when the bucket is empty.
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled);
        // Tokens per second are thousandths per millisecond.
        let earned = (elapsed.as_millis() as u64).saturating_mul(self.per_second);
        if earned > 0 {
            self.milli = self.milli.saturating_add(earned).min(self.burst);
            self.refilled = now;
        }
        match self.milli.checked_sub(1000) {
            Some(left) => {
                self.milli = left;
                true
            }
            None => false,
        }
    }
}

/// The connection's meters; the first flood seen stays recorded.
#[derive(Debug)]
pub(crate) struct Meter {
    resets: Bucket,
    control: Bucket,
    tripped: Option<Flood>,
}

impl Meter {
    /// Full buckets at `now`.
    pub(crate) fn new(now: Instant) -> Meter {
        Meter {
            resets: Bucket::new(RESET_BURST, RESETS_PER_SECOND, now),
            control: Bucket::new(CONTROL_BURST, CONTROL_PER_SECOND, now),
            tripped: None,
        }
    }

    /// Counts one frame the client sent; returns the flood it completes, if any.
    pub(crate) fn count(&mut self, frame: FrameHead, now: Instant) -> Option<Flood> {
        let which = match frame.kind {
            kind::RST_STREAM => Flood::Resets,
            kind::PING | kind::SETTINGS if frame.flags & FLAG_ACK == 0 => Flood::Control,
            kind::PRIORITY => Flood::Control,
            k if k > kind::CONTINUATION => Flood::Control,
            _ => return None,
        };
        let bucket = match which {
            Flood::Resets => &mut self.resets,
            Flood::Control => &mut self.control,
        };
        if !bucket.take(now) && self.tripped.is_none() {
            self.tripped = Some(which);
        }
        self.tripped
    }

    /// The flood seen so far, if any.
    pub(crate) fn tripped(&self) -> Option<Flood> {
        self.tripped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn frame(kind: u8, flags: u8) -> FrameHead {
        FrameHead {
            kind,
            flags,
            len: 0,
            stream: 1,
        }
    }

    #[test]
    fn a_burst_of_resets_is_allowed_then_trips() {
        let t0 = Instant::now();
        let mut m = Meter::new(t0);
        for _ in 0..RESET_BURST {
            assert_eq!(m.count(frame(kind::RST_STREAM, 0), t0), None);
        }
        assert_eq!(m.count(frame(kind::RST_STREAM, 0), t0), Some(Flood::Resets));
        assert_eq!(m.tripped(), Some(Flood::Resets));
    }

    #[test]
    fn resets_at_the_sustained_rate_never_trip() {
        let t0 = Instant::now();
        let mut m = Meter::new(t0);
        let gap = Duration::from_millis(1000 / u64::from(RESETS_PER_SECOND));
        for i in 0..(RESET_BURST * 10) {
            let now = t0 + gap * i;
            assert_eq!(m.count(frame(kind::RST_STREAM, 0), now), None, "reset {i}");
        }
    }

    #[test]
    fn pings_and_settings_count_but_their_acks_and_other_frames_do_not() {
        let t0 = Instant::now();
        let mut m = Meter::new(t0);
        for _ in 0..(CONTROL_BURST * 2) {
            assert_eq!(m.count(frame(kind::PING, FLAG_ACK), t0), None);
            assert_eq!(m.count(frame(kind::SETTINGS, FLAG_ACK), t0), None);
            assert_eq!(m.count(frame(0x0, 0), t0), None); // DATA
            assert_eq!(m.count(frame(0x1, 0), t0), None); // HEADERS
            assert_eq!(m.count(frame(0x8, 0), t0), None); // WINDOW_UPDATE
        }
        for k in [kind::PING, kind::SETTINGS, kind::PRIORITY, 0x42] {
            let mut m = Meter::new(t0);
            for _ in 0..CONTROL_BURST {
                assert_eq!(m.count(frame(k, 0), t0), None);
            }
            assert_eq!(m.count(frame(k, 0), t0), Some(Flood::Control), "type {k}");
        }
    }

    #[test]
    fn the_bucket_refills_after_a_pause() {
        let t0 = Instant::now();
        let mut m = Meter::new(t0);
        for _ in 0..RESET_BURST {
            m.count(frame(kind::RST_STREAM, 0), t0);
        }
        let later = t0 + Duration::from_secs(1);
        for _ in 0..RESETS_PER_SECOND {
            assert_eq!(m.count(frame(kind::RST_STREAM, 0), later), None);
        }
    }
}
