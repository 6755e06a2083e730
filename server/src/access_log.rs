//! The access log: one Common Log Format line per request on stdout, escaped so a
//! request can never forge or break a log line.
//!
//! Connections hand lines to a writer thread through a bounded queue, so a stalled
//! stdout (a full pipe nobody reads) can never block the server: lines that do not fit
//! are dropped and counted on stderr instead.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Lines waiting for the writer thread. 8192 lines (about 1 MiB) ride out a burst or a
/// slow terminal; past that, lines are dropped rather than slowing every request.
const LOG_QUEUE_LINES: usize = 8192;

/// Most bytes the writer gathers into one write.
const LOG_BATCH_BYTES: usize = 64 * 1024;

/// What the writer thread receives.
enum Message {
    Line(String),
    /// Write everything queued before this, then acknowledge.
    Flush(SyncSender<()>),
}

static QUEUE: OnceLock<SyncSender<Message>> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);

fn queue() -> &'static SyncSender<Message> {
    QUEUE.get_or_init(|| {
        let (tx, rx) = sync_channel(LOG_QUEUE_LINES);
        let spawned = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_lines(rx));
        if let Err(e) = spawned {
            eprintln!("server: cannot start the access-log writer: {e}; lines will be dropped");
        }
        tx
    })
}

/// The writer thread: batches queued lines into few writes.
fn write_lines(rx: Receiver<Message>) {
    let mut batch = String::with_capacity(LOG_BATCH_BYTES);
    let mut sink = crate::log_file::Sink::default();
    let mut reported = 0;
    while let Ok(first) = rx.recv() {
        let mut acks = Vec::new();
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Message::Line(line) => batch.push_str(&line),
                Message::Flush(ack) => acks.push(ack),
            }
            if batch.len() < LOG_BATCH_BYTES {
                next = rx.try_recv().ok();
            }
        }
        sink.write_all(batch.as_bytes());
        batch.clear();
        let dropped = DROPPED.load(Ordering::Relaxed);
        if dropped > reported {
            eprintln!(
                "server: {} access-log lines dropped: stdout is not keeping up",
                dropped - reported
            );
            reported = dropped;
        }
        for ack in acks {
            let _ = ack.send(());
        }
    }
}

/// Waits (at most a second) until every line logged so far has been written.
pub(crate) fn flush() {
    let (tx, rx) = sync_channel(1);
    if queue().send(Message::Flush(tx)).is_ok() {
        let _ = rx.recv_timeout(Duration::from_secs(1));
    }
}

/// Wakes the writer thread without waiting (so it reopens its file at once on SIGUSR1).
pub fn wake() {
    let (tx, _rx) = sync_channel(1);
    let _ = queue().try_send(Message::Flush(tx));
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
    match queue().try_send(Message::Line(line)) {
        Ok(()) | Err(TrySendError::Disconnected(_)) => {}
        Err(TrySendError::Full(_)) => {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
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
