//! The access log: one Common Log Format line per request on stdout, escaped so a
//! request can never forge or break a log line.
//!
//! Lines go through a [`LogQueue`], so a stalled stdout (a full pipe nobody reads) can
//! never block the server: lines that do not fit are dropped and counted on stderr.

use crate::log_queue::{LogQueue, Output};
use std::cell::RefCell;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The access log's queue.
static ACCESS: LogQueue = LogQueue::new("access-log lines", Output::Stdout);

/// How long the exit waits for queued lines to be written.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(1);

/// Waits (at most [`FLUSH_AT_EXIT`]) until every access-log and error line queued so far
/// has been written.
pub(crate) fn flush() {
    let deadline = Instant::now() + FLUSH_AT_EXIT;
    ACCESS.flush(deadline);
    crate::log_queue::ERRORS.flush(deadline);
}

/// Wakes the writer thread without waiting, so it reopens its file at once (SIGUSR1).
pub(crate) fn wake() {
    ACCESS.wake();
}

/// Longest request line kept in the log; the rest is cut, so a peer cannot bloat logs.
pub(crate) const MAX_LOGGED_REQUEST_LINE: usize = 2048;

thread_local! {
    static CLF_TIME: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Writes one line: `host - - [date] "request line" status bytes`.
pub(crate) fn log(peer: IpAddr, request_line: &[u8], status: u16, bytes: u64) {
    let mut line = String::with_capacity(96 + request_line.len());
    let _ = write!(line, "{peer} - - [");
    CLF_TIME.with(|t| {
        let mut t = t.borrow_mut();
        let now = shared::wire::date::to_seconds(SystemTime::now());
        if t.0 != now {
            *t = (now, clf_time(now));
        }
        line.push_str(&t.1);
    });
    line.push_str("] \"");
    escape_into(&mut line, request_line);
    let _ = writeln!(line, "\" {status} {bytes}");
    ACCESS.push(line);
}

/// Appends the raw bytes `s` with control characters, `"`, `\` and non-ASCII written as `\xHH`
/// (as nginx does), cut at [`MAX_LOGGED_REQUEST_LINE`].
pub(crate) fn escape_into(out: &mut String, s: &[u8]) {
    for &b in s.iter().take(MAX_LOGGED_REQUEST_LINE) {
        if b.is_ascii_graphic() && b != b'"' && b != b'\\' || b == b' ' {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
}

/// Formats Unix seconds as `10/Oct/2000:13:55:36 +0000` (UTC).
pub(crate) fn clf_time(secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = shared::wire::date::civil(UNIX_EPOCH + Duration::from_secs(secs));
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        c.day,
        MONTHS[(c.month as usize).saturating_sub(1) % 12],
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_dates() {
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_time(971_186_136), "10/Oct/2000:13:55:36 +0000");
        assert_eq!(clf_time(1_709_210_096), "29/Feb/2024:12:34:56 +0000");
    }

    #[test]
    fn escaping_prevents_log_injection() {
        let mut s = String::new();
        escape_into(
            &mut s,
            "GET /a\r\n127.0.0.1 - - \"x\" é HTTP/1.1".as_bytes(),
        );
        assert_eq!(
            s,
            "GET /a\\x0D\\x0A127.0.0.1 - - \\x22x\\x22 \\xC3\\xA9 HTTP/1.1"
        );
    }
}
