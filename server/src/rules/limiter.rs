//! A per-address limit on failed password attempts, so `[[auth]]` passwords cannot be
//! guessed at network speed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed attempts an address may make within [`FAILED_ATTEMPT_WINDOW`]. Ten covers a
/// person mistyping; a guesser gets ten tries a minute instead of thousands a second.
pub const MAX_FAILED_ATTEMPTS: u32 = 10;

/// The window over which failures are counted; a limited address waits for its end.
pub const FAILED_ATTEMPT_WINDOW: Duration = Duration::from_secs(60);

/// Addresses tracked at once. Beyond it, expired entries go first, then the oldest, so
/// many addresses cannot grow the table without bound (4096 entries are ~200 KiB).
pub const MAX_TRACKED_ADDRESSES: usize = 4096;

/// Failures per address (an IPv4 address, or an IPv6 /64: one host usually owns a
/// whole /64, so counting single IPv6 addresses would let it try forever).
#[derive(Debug, Default)]
pub struct Limiter {
    entries: Mutex<HashMap<IpAddr, Entry>>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    since: Instant,
}

impl Limiter {
    /// How long `peer` must wait before trying again, if it is limited now.
    pub fn blocked(&self, peer: IpAddr, now: Instant) -> Option<Duration> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = entries.get(&key(peer))?;
        let end = e.since + FAILED_ATTEMPT_WINDOW;
        (e.failures >= MAX_FAILED_ATTEMPTS && now < end).then(|| end - now)
    }

    /// Counts one failed attempt by `peer`.
    pub fn failed(&self, peer: IpAddr, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let k = key(peer);
        if !entries.contains_key(&k) && entries.len() >= MAX_TRACKED_ADDRESSES {
            entries.retain(|_, e| now < e.since + FAILED_ATTEMPT_WINDOW);
            if entries.len() >= MAX_TRACKED_ADDRESSES {
                if let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.since).map(|(k, _)| *k) {
                    entries.remove(&oldest);
                }
            }
        }
        let e = entries.entry(k).or_insert(Entry {
            failures: 0,
            since: now,
        });
        if now >= e.since + FAILED_ATTEMPT_WINDOW {
            *e = Entry {
                failures: 0,
                since: now,
            };
        }
        e.failures = e.failures.saturating_add(1);
    }
}

/// The address failures are counted under.
fn key(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_limited_after_the_maximum_then_freed_when_the_window_ends() {
        let l = Limiter::default();
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..MAX_FAILED_ATTEMPTS - 1 {
            l.failed(peer, t0);
        }
        assert_eq!(l.blocked(peer, t0), None);
        l.failed(peer, t0);
        assert_eq!(l.blocked(peer, t0), Some(FAILED_ATTEMPT_WINDOW));
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(
            l.blocked(other, t0),
            None,
            "other addresses are not affected"
        );
        assert_eq!(l.blocked(peer, t0 + FAILED_ATTEMPT_WINDOW), None);
        l.failed(peer, t0 + FAILED_ATTEMPT_WINDOW);
        assert_eq!(
            l.blocked(peer, t0 + FAILED_ATTEMPT_WINDOW),
            None,
            "a new window starts"
        );
    }

    #[test]
    fn ipv6_counts_per_slash_64_and_mapped_ipv4_as_ipv4() {
        let l = Limiter::default();
        let t0 = Instant::now();
        for i in 0..MAX_FAILED_ATTEMPTS {
            l.failed(format!("2001:db8::{i:x}").parse().unwrap(), t0);
        }
        assert!(l.blocked("2001:db8::ffff:1".parse().unwrap(), t0).is_some());
        assert!(l.blocked("2001:db8:0:1::1".parse().unwrap(), t0).is_none());
        for _ in 0..MAX_FAILED_ATTEMPTS {
            l.failed("::ffff:192.0.2.9".parse().unwrap(), t0);
        }
        assert!(l.blocked("192.0.2.9".parse().unwrap(), t0).is_some());
    }

    #[test]
    fn the_table_stays_bounded() {
        let l = Limiter::default();
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED_ADDRESSES as u32 + 100) {
            l.failed(
                IpAddr::V4(i.into()),
                t0 + Duration::from_millis(u64::from(i)),
            );
        }
        let len = l.entries.lock().unwrap().len();
        assert_eq!(len, MAX_TRACKED_ADDRESSES);
    }
}
