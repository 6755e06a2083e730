//! The read-rate floor for a whole HTTP/2 connection: while it has responses in flight,
//! the client must take at least [`MIN_SEND_RATE`] on average after one send timeout of
//! grace, as an HTTP/1 response must. It is per connection, not per stream, so a slow
//! link shared by a page's 100 streams is fine while a client granting a few bytes of
//! window now and then, to every stream it holds open, is dropped. Sans-I/O: the caller
//! passes the clock and the bytes written.

use crate::conn::MIN_SEND_RATE;
use std::time::{Duration, Instant};

/// Time spent with responses in flight, and the grace.
#[derive(Debug)]
pub(crate) struct Pace {
    grace: Duration,
    /// Busy time before the current busy spell.
    before: Duration,
    /// When the current busy spell began.
    since: Option<Instant>,
}

impl Pace {
    /// Nothing in flight yet; `grace` is the send timeout.
    pub(crate) fn new(grace: Duration) -> Pace {
        Pace {
            grace,
            before: Duration::ZERO,
            since: None,
        }
    }

    /// Records whether responses are in flight at `now`.
    pub(crate) fn set_busy(&mut self, busy: bool, now: Instant) {
        match (busy, self.since) {
            (true, None) => self.since = Some(now),
            (false, Some(since)) => {
                self.before += now.saturating_duration_since(since);
                self.since = None;
            }
            _ => {}
        }
    }

    /// When the connection falls under the floor, with `written` bytes sent so far
    /// (`None` while nothing is in flight). At or before `now` means it has.
    pub(crate) fn deadline(&self, written: u64, now: Instant) -> Option<Instant> {
        let since = self.since?;
        let busy = self.before + now.saturating_duration_since(since);
        let earned = Duration::from_millis(written.saturating_mul(1000) / MIN_SEND_RATE);
        Some(now + (self.grace + earned).saturating_sub(busy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(30);

    #[test]
    fn an_idle_connection_has_no_deadline() {
        let t0 = Instant::now();
        let mut p = Pace::new(GRACE);
        assert_eq!(p.deadline(0, t0), None);
        p.set_busy(true, t0);
        p.set_busy(false, t0 + Duration::from_secs(100));
        assert_eq!(p.deadline(0, t0 + Duration::from_secs(200)), None);
    }

    #[test]
    fn one_grace_then_the_floor() {
        let t0 = Instant::now();
        let mut p = Pace::new(GRACE);
        p.set_busy(true, t0);
        assert_eq!(p.deadline(0, t0), Some(t0 + GRACE));
        // 40 s busy, 1 KiB taken: 31 s were allowed, so it is overdue.
        let t = t0 + Duration::from_secs(40);
        assert!(p.deadline(1024, t).unwrap() <= t);
        // 1 MiB taken in the same 40 s (26 KiB/s) is far above the floor.
        assert!(p.deadline(1024 * 1024, t).unwrap() > t + GRACE);
    }

    #[test]
    fn only_busy_time_counts() {
        let t0 = Instant::now();
        let mut p = Pace::new(GRACE);
        p.set_busy(true, t0);
        p.set_busy(false, t0 + Duration::from_secs(20));
        // An hour idle, then busy again: 20 s used of the 30 s grace.
        let t1 = t0 + Duration::from_secs(3600);
        p.set_busy(true, t1);
        assert_eq!(p.deadline(0, t1), Some(t1 + Duration::from_secs(10)));
    }
}
