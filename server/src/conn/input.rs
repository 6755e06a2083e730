//! The connection's read buffer: every request head is parsed once, from one place.
//!
//! The common case holds no buffer while idle and copies nothing: bytes are read into a
//! per-thread scratch buffer and a complete head is parsed and handed over straight from
//! it, within one poll. Only a head that arrives in pieces, pipelined requests or a body
//! are kept in the connection's own buffer, which is given back once drained.

use futures::io::{AsyncRead, AsyncReadExt};
use shared::wire::limits::{MAX_HEADERS, MAX_REQUEST_HEAD};
use shared::wire::request::{
    downgrade_minor_version, parse_request_uninit, Request, RequestError, Status,
};
use std::cell::RefCell;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Size of a read when the connection holds no partial input: a typical head fits
/// in one read, and reading no more than a head's limit keeps pipelined surplus small.
const READ_CHUNK: usize = MAX_REQUEST_HEAD;

/// Size of a read for input we skip (a body, a lingering close).
const SKIP_CHUNK: usize = 4096;

/// Longest first line of an unparseable head kept for the log.
pub(crate) const MAX_FIRST_LINE: usize = crate::access_log::MAX_LOGGED_REQUEST_LINE;

thread_local! {
    // Nothing borrows this across an await: it is used within one poll only, so tasks
    // moving between threads never share it.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_CHUNK]);
}

/// One head, as parsed.
#[derive(Debug)]
pub(crate) enum Head<'b, 'h> {
    /// A valid request head.
    Request(Request<'b, 'h>),
    /// A head that breaks the rules; the connection cannot carry another request.
    Invalid {
        error: RequestError,
        /// Its first line, raw and cut, for the log.
        first_line: &'b [u8],
    },
}

/// What waiting for a head gave.
#[derive(Debug)]
pub(crate) enum Read<T> {
    /// A complete head, already handled by the caller's function.
    Head(T),
    /// The peer closed (or the watchdog cut the reading side) before a whole head.
    Closed,
    /// The bytes are a TLS handshake, not HTTP: the client meant https://.
    TlsHandshake,
}

/// Bytes received and not yet consumed.
#[derive(Debug, Default)]
pub(crate) struct Input {
    pending: Pending,
    /// Whether `pending` was parsed since bytes last arrived (and held no whole head).
    parsed: bool,
}

/// The bytes themselves: one pointer while nothing is buffered (almost always, between
/// requests), where a `Vec` would take three words of every idle connection's task.
#[derive(Debug, Default)]
#[allow(clippy::box_collection)] // the point: one word while empty, not three
struct Pending(Option<Box<Vec<u8>>>);

impl Pending {
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.0
                .get_or_insert_with(Default::default)
                .extend_from_slice(bytes);
        }
    }

    /// Drops the first `n` bytes.
    fn consume(&mut self, n: usize) {
        if let Some(v) = &mut self.0 {
            v.drain(..n.min(v.len()));
        }
    }
}

impl std::ops::Deref for Pending {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.0.as_deref().map_or(&[], |v| v.as_slice())
    }
}

impl std::ops::DerefMut for Pending {
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Some(v) => v.as_mut_slice(),
            None => &mut [],
        }
    }
}

impl Input {
    /// Whether nothing is buffered.
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Gives back the memory a slow or pipelining client made the buffer grow to.
    pub(crate) fn shrink_if_empty(&mut self) {
        if self.pending.is_empty() {
            self.pending = Pending::default();
        }
    }

    /// The buffered bytes.
    pub(crate) fn buffered(&self) -> &[u8] {
        &self.pending
    }

    /// Drops the first `n` buffered bytes.
    pub(crate) fn consume(&mut self, n: usize) {
        self.pending.consume(n);
    }

    /// Reads whatever arrives next onto the buffer; 0 means end of input.
    pub(crate) async fn read_more<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
    ) -> io::Result<usize> {
        // On the heap: a buffer in the future itself would make every task larger.
        let mut chunk = vec![0u8; SKIP_CHUNK];
        let n = stream.read(&mut chunk).await?;
        self.pending.extend_from_slice(&chunk[..n]);
        self.parsed = false;
        Ok(n)
    }

    /// Polls for the next complete head and hands it, parsed once, to `handle`, whose
    /// result is returned. `first_byte` runs when the first bytes of a new head arrive
    /// (its deadline starts there).
    pub(crate) fn poll_head<S, F, T>(
        &mut self,
        cx: &mut Context<'_>,
        stream: &mut S,
        first_byte: &mut impl FnMut(),
        handle: &mut Option<F>,
    ) -> Poll<io::Result<Read<T>>>
    where
        S: AsyncRead + Unpin,
        F: FnOnce(Head<'_, '_>) -> T,
    {
        loop {
            // A head already buffered (pipelined, or completed by the last read).
            if !self.pending.is_empty() && !self.parsed {
                if let Some((read, used)) = parse_with(&mut self.pending, handle) {
                    self.consume(used);
                    self.parsed = false;
                    return Poll::Ready(Ok(read));
                }
                self.parsed = true;
            }
            let was_empty = self.pending.is_empty();
            let read = SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                // A trickling client costs the bytes it sent, not a head's capacity.
                let room = if was_empty {
                    scratch.len()
                } else {
                    (MAX_REQUEST_HEAD + 1)
                        .saturating_sub(self.pending.len())
                        .clamp(1024, scratch.len())
                };
                let n = match Pin::new(&mut *stream).poll_read(cx, &mut scratch[..room]) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {
                        return Poll::Ready(Ok(None))
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Ready(Ok(0)) => return Poll::Ready(Ok(Some(Read::Closed))),
                    Poll::Ready(Ok(n)) => n,
                };
                if !was_empty {
                    self.pending.extend_from_slice(&scratch[..n]);
                    self.parsed = false;
                    return Poll::Ready(Ok(None));
                }
                first_byte();
                // The common case: a whole head in one read, parsed where it landed.
                let got = &mut scratch[..n];
                match parse_with(got, handle) {
                    Some((read, used)) => {
                        self.pending.extend_from_slice(&got[used..]);
                        Poll::Ready(Ok(Some(read)))
                    }
                    None => {
                        self.pending.extend_from_slice(got);
                        self.parsed = true;
                        Poll::Ready(Ok(None))
                    }
                }
            });
            match read {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(Some(done))) => return Poll::Ready(Ok(done)),
                Poll::Ready(Ok(None)) => {}
            }
        }
    }
}

/// Parses `buf`; if it holds a whole head (or a bad one), hands it to `handle` and
/// returns the result with the bytes the head used. `None`: read more. A TLS handshake
/// is not handed over: it gets no HTTP answer ([`Read::TlsHandshake`]).
fn parse_with<F, T>(buf: &mut [u8], handle: &mut Option<F>) -> Option<(Read<T>, usize)>
where
    F: FnOnce(Head<'_, '_>) -> T,
{
    match parse_once(buf, handle, true) {
        Parsed::Done(read) => read,
        Parsed::NewerMinorVersion => {
            // An HTTP/1.2+ request line is read as HTTP/1.1 (RFC 9110 section 2.5).
            // httparse refuses such a line, so it is rewritten only then, not scanned
            // for in every head.
            downgrade_minor_version(buf);
            match parse_once(buf, handle, false) {
                Parsed::Done(read) => read,
                Parsed::NewerMinorVersion => None,
            }
        }
    }
}

/// What one parse of the buffer came to.
enum Parsed<T> {
    /// [`parse_with`]'s answer.
    Done(Option<(Read<T>, usize)>),
    /// The version was refused: it may be an HTTP/1.x newer than 1.1, to read as 1.1.
    NewerMinorVersion,
}

/// [`parse_with`] without the downgrade; with `may_retry`, a refused version is handed
/// back instead of answered.
fn parse_once<F, T>(buf: &[u8], handle: &mut Option<F>, may_retry: bool) -> Parsed<T>
where
    F: FnOnce(Head<'_, '_>) -> T,
{
    let mut headers = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let (head, used) = match parse_request_uninit(buf, &mut headers) {
        Ok(Status::Partial) => return Parsed::Done(None),
        Ok(Status::Complete(req)) => {
            let used = req.head_len;
            (Head::Request(req), used)
        }
        Err(RequestError::VersionNotSupported) if may_retry => return Parsed::NewerMinorVersion,
        // Checked only once parsing failed, so valid requests pay nothing for it.
        Err(_) if crate::tls::sniff::is_tls_handshake(buf) => {
            return Parsed::Done(Some((Read::TlsHandshake, buf.len())))
        }
        Err(error) => (
            Head::Invalid {
                error,
                first_line: first_line(buf),
            },
            buf.len(),
        ),
    };
    let Some(handle) = handle.take() else {
        return Parsed::Done(None);
    };
    Parsed::Done(Some((Read::Head(handle(head)), used)))
}

/// The first line of an unparseable head, raw, cut for the log.
fn first_line(buf: &[u8]) -> &[u8] {
    let line = buf.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    &line[..line.len().min(MAX_FIRST_LINE)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::Cursor;
    use std::task::Poll;

    /// Polls once against an in-memory stream.
    fn head_of(input: &mut Input, bytes: &[u8]) -> Option<String> {
        let mut stream = Cursor::new(bytes.to_vec());
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut handle = Some(|h: Head<'_, '_>| match h {
            Head::Request(r) => r.target.to_string(),
            Head::Invalid { error, .. } => format!("{error:?}"),
        });
        match input.poll_head(&mut cx, &mut stream, &mut || {}, &mut handle) {
            Poll::Ready(Ok(Read::Head(t))) => Some(t),
            _ => None,
        }
    }

    #[test]
    fn pipelined_heads_are_parsed_one_at_a_time_and_the_rest_kept() {
        let mut input = Input::default();
        let two = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(head_of(&mut input, two).as_deref(), Some("/a"));
        assert_eq!(input.buffered().len(), two.len() / 2);
        // The second comes from the buffer without reading.
        assert_eq!(head_of(&mut input, b"").as_deref(), Some("/b"));
        assert!(input.is_empty());
    }

    #[test]
    fn a_head_in_pieces_is_kept_until_whole() {
        let mut input = Input::default();
        let mut stream = Cursor::new(b"GET /a HTTP/1.1\r\nHo".to_vec());
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut firsts = 0;
        let mut handle = Some(|_: Head<'_, '_>| ());
        // The cursor ends after the piece: the read sees end of input.
        let r = input.poll_head(&mut cx, &mut stream, &mut || firsts += 1, &mut handle);
        assert!(matches!(r, Poll::Ready(Ok(Read::Closed))));
        assert_eq!((firsts, input.buffered().len()), (1, 19));
        assert_eq!(head_of(&mut input, b"st: x\r\n\r\n").as_deref(), Some("/a"));
    }

    #[test]
    fn a_newer_minor_version_in_pieces_is_read_as_1_1() {
        let mut input = Input::default();
        assert_eq!(head_of(&mut input, b"GET /a HTTP/1.2"), None);
        let got = head_of(&mut input, b"\r\nHost: x\r\n\r\n");
        assert_eq!(got.as_deref(), Some("/a"));
    }

    #[test]
    fn a_bad_head_is_handed_over_with_its_first_line() {
        let mut input = Input::default();
        let got = head_of(
            &mut input,
            b"GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: z\r\n\r\n",
        );
        assert_eq!(got.as_deref(), Some("BadContentLength"));
    }

    #[test]
    fn a_tls_client_hello_is_not_handed_over_as_a_bad_head() {
        let mut input = Input::default();
        let mut stream = Cursor::new(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec());
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut handled = false;
        let mut handle = Some(|_: Head<'_, '_>| handled = true);
        let r = input.poll_head(&mut cx, &mut stream, &mut || {}, &mut handle);
        assert!(matches!(r, Poll::Ready(Ok(Read::TlsHandshake))), "{r:?}");
        assert!(!handled, "a ClientHello must get no HTTP answer");
    }
}
