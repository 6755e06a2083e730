//! Never-blocking log output: lines go to a writer thread through a bounded queue, so a
//! stalled output (a full pipe nobody reads) or a broken one (`server 2>&1 | head -1`)
//! can never block, slow or kill the server. Lines that do not fit are dropped and
//! counted, and the count is reported once the writer catches up.
//!
//! Two queues exist: the access log (stdout, [`crate::access_log`]) and the error lines
//! ([`error`], stderr). Nothing else in the server writes to either stream once it runs.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Lines waiting for one writer thread. 8192 lines (about 1 MiB of access log) ride out
/// a burst or a slow terminal; past that, lines are dropped rather than slowing every
/// request.
pub(crate) const LOG_QUEUE_LINES: usize = 8192;

/// Most bytes a writer gathers into one write.
const LOG_BATCH_BYTES: usize = 64 * 1024;

/// What a writer thread receives.
enum Message {
    Line(String),
    /// Write everything queued before this, then acknowledge.
    Flush(SyncSender<()>),
}

/// Where a queue's lines go.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Output {
    Stdout,
    Stderr,
}

impl Output {
    fn write(self, bytes: &[u8]) {
        // Errors (a closed pipe, a full disk) are ignored: there is nowhere to report them.
        let _ = match self {
            Output::Stdout => std::io::stdout().lock().write_all(bytes),
            Output::Stderr => std::io::stderr().lock().write_all(bytes),
        };
    }

    fn name(self) -> &'static str {
        match self {
            Output::Stdout => "stdout",
            Output::Stderr => "stderr",
        }
    }
}

/// One bounded queue and its writer thread, started on first use.
#[derive(Debug)]
pub(crate) struct LogQueue {
    /// What the lines are, for the dropped-lines report ("access-log lines").
    what: &'static str,
    output: Output,
    tx: OnceLock<Option<SyncSender<Message>>>,
    dropped: AtomicU64,
}

/// The error lines, on stderr.
pub(crate) static ERRORS: LogQueue = LogQueue::new("error lines", Output::Stderr);

/// Queues one error line, `server: ` and `line`.
pub(crate) fn error(line: fmt::Arguments<'_>) {
    ERRORS.push(format!("server: {line}\n"));
}

impl LogQueue {
    /// A queue writing `what` to `output`.
    pub(crate) const fn new(what: &'static str, output: Output) -> LogQueue {
        LogQueue {
            what,
            output,
            tx: OnceLock::new(),
            dropped: AtomicU64::new(0),
        }
    }

    fn sender(&'static self) -> Option<&'static SyncSender<Message>> {
        self.tx
            .get_or_init(|| {
                let (tx, rx) = sync_channel(LOG_QUEUE_LINES);
                std::thread::Builder::new()
                    .name(format!("log {}", self.output.name()))
                    .spawn(move || self.write_lines(rx))
                    .ok()
                    .map(|_| tx)
            })
            .as_ref()
    }

    /// Queues `line` (which ends in a newline) without ever waiting; a line that does
    /// not fit is dropped and counted.
    pub(crate) fn push(&'static self, line: String) {
        let Some(tx) = self.sender() else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        match tx.try_send(Message::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Waits (at most until `deadline`) until every line queued so far has been written.
    pub(crate) fn flush(&'static self, deadline: Instant) {
        let (ack_tx, ack_rx) = sync_channel(1);
        let Some(tx) = self.sender() else { return };
        // The queue may be full: keep offering the marker until the deadline.
        let mut marker = Message::Flush(ack_tx);
        loop {
            match tx.try_send(marker) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                    marker = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return,
            }
        }
        let _ = ack_rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }

    /// Wakes the writer thread without waiting for it (it then looks at its sink again).
    pub(crate) fn wake(&'static self) {
        let (ack, _) = sync_channel(1);
        if let Some(tx) = self.sender() {
            let _ = tx.try_send(Message::Flush(ack));
        }
    }

    /// Lines dropped so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The writer thread: batches queued lines into few writes and reports drops.
    fn write_lines(&'static self, rx: Receiver<Message>) {
        let mut batch = String::with_capacity(LOG_BATCH_BYTES);
        let mut reported = 0;
        // The access log's destination: stdout, or the `--access-log` file.
        let mut sink = crate::log_file::Sink::default();
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
            match self.output {
                Output::Stdout => sink.write_all(batch.as_bytes()),
                Output::Stderr => self.output.write(batch.as_bytes()),
            }
            batch.clear();
            let dropped = self.dropped();
            if dropped > reported {
                let report = format!(
                    "server: {} {} dropped: {} is not keeping up\n",
                    dropped - reported,
                    self.what,
                    self.output.name()
                );
                match self.output {
                    // Our own output just took a batch: say it there.
                    Output::Stderr => self.output.write(report.as_bytes()),
                    Output::Stdout => ERRORS.push(report),
                }
                reported = dropped;
            }
            for ack in acks {
                let _ = ack.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_nobody_drains_drops_and_counts_instead_of_blocking() {
        static Q: LogQueue = LogQueue::new("test lines", Output::Stdout);
        // A sender whose receiver never runs: the queue fills, then every push is a drop.
        let (tx, _rx) = sync_channel(2);
        Q.tx.set(Some(tx)).unwrap();
        let start = Instant::now();
        for i in 0..10 {
            Q.push(format!("{i}\n"));
        }
        assert_eq!(Q.dropped(), 8);
        // A flush gives up at its deadline.
        Q.flush(Instant::now() + Duration::from_millis(50));
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
