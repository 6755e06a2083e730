//! The send deadline: each wait for the peer to take bytes lasts at most the send
//! timeout, and overall the peer must read at least [`MIN_SEND_RATE`] on average, so a
//! slow-read attacker cannot hold a connection. Enforced through the watchdog.

use crate::watchdog::{Phase, Watch};
use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

/// The slowest average rate a client may read a response at, after the send timeout's
/// grace: 1 KiB/s is below any real network (GPRS manages 5 KiB/s), yet it drops a
/// slow-read attacker that takes a few bytes every few seconds to hold a connection.
pub(crate) const MIN_SEND_RATE: u64 = 1024;

/// Times one response's writes.
#[derive(Debug)]
pub(crate) struct Pacer<'a> {
    watch: &'a Watch,
    limit: Duration,
    start: Instant,
    sent: u64,
}

impl<'a> Pacer<'a> {
    /// Starts timing a response; `limit` is the send timeout.
    pub(crate) fn new(watch: &'a Watch, limit: Duration) -> Pacer<'a> {
        Pacer {
            watch,
            limit,
            start: Instant::now(),
            sent: 0,
        }
    }

    /// Bytes written so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// Counts `n` more bytes written.
    pub(crate) fn add(&mut self, n: usize) {
        self.sent += n as u64;
    }

    /// How long the next wait may last.
    fn allowance(&self) -> Duration {
        let earned = Duration::from_millis(self.sent.saturating_mul(1000) / MIN_SEND_RATE);
        let budget = self.limit.saturating_add(earned);
        budget.saturating_sub(self.start.elapsed()).min(self.limit)
    }

    /// Runs `io` (a write, a flush, a wait for writability) within the allowance; past
    /// it the watchdog cuts the socket and this fails with `TimedOut`.
    pub(crate) async fn bounded<T>(
        &self,
        io: impl Future<Output = io::Result<T>>,
    ) -> io::Result<T> {
        self.watch.set_phase(Phase::Send);
        self.watch.arm(self.allowance());
        let result = io.await;
        self.watch.disarm();
        if self.watch.fired_in() == Some(Phase::Send) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "send timeout: the client reads too slowly or not at all",
            ));
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watchdog::Watchdog;
    use std::os::fd::AsFd;

    #[test]
    fn pacer_allows_one_timeout_then_demands_the_minimum_rate() {
        let dog = Watchdog::new();
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let reg = dog.register(socket.as_fd(), Duration::from_secs(1));
        let mut p = Pacer::new(&reg, Duration::from_secs(30));
        // At the start: the whole send timeout.
        assert!(p.allowance() > Duration::from_secs(29));
        // Pretend 40 s passed with only 1 KiB sent: the client is below the floor.
        p.start -= Duration::from_secs(40);
        p.sent = 1024;
        assert_eq!(p.allowance(), Duration::ZERO);
        // A client that read 1 MiB in those 40 s (26 KiB/s) keeps the full timeout.
        p.sent = 1024 * 1024;
        assert_eq!(p.allowance(), Duration::from_secs(30));
    }
}
