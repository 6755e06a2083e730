"""A hostile (or merely odd) HTTP/2 client for the end-to-end tests, frame by frame over
TLS with ALPN h2, built on the h2 package's own frame and HPACK libraries (hyperframe,
hpack). Usage: http2_peer.py MODE PORT CAFILE [ARGS...]; prints one result line.

Modes:
  malformed NAME VALUE   GET /HelloWorld.html with one extra field; prints how stream 1
                         ended: "rst CODE", "headers STATUS" or "goaway CODE".
  reset-accepted N PATH  N streams, in rounds of 100: open them, wait for each response
                         head, reset them all; prints "goaway CODE after K" (K resets
                         sent), else "headers after N" when one more GET is answered.
  reset-burst N          N HEADERS+RST_STREAM pairs in one write; "goaway CODE" or
                         "closed".
  flood KIND N           N PING or SETTINGS frames while reading; "goaway CODE" or
                         "closed".
  continuation N         one header block continued by N 16 KB CONTINUATION frames;
                         "goaway CODE" or "closed".
  zero-window PATH       SETTINGS_INITIAL_WINDOW_SIZE 0, then GET PATH; prints
                         "headers STATUS" then how the stream ended ("rst CODE").
"""

import select
import socket
import ssl
import sys
import time

from hpack import Encoder
from hyperframe.frame import (ContinuationFrame, Frame, GoAwayFrame, HeadersFrame,
                              PingFrame, RstStreamFrame, SettingsFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
CANCEL = 0x8


def connect(port, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["h2"])
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    sock = ctx.wrap_socket(raw, server_hostname="localhost")
    if sock.selected_alpn_protocol() != "h2":
        print("alpn %s" % sock.selected_alpn_protocol())
        sys.exit(0)
    return sock


class Peer:
    def __init__(self, port, cafile, settings=None):
        self.sock = connect(port, cafile)
        self.buf = b""
        self.encoder = Encoder()
        hello = SettingsFrame(0)
        for k, v in (settings or {}).items():
            hello.settings[k] = v
        self.sock.sendall(PREFACE + hello.serialize())

    def headers(self, stream, path, extra=(), end_stream=True):
        fields = [(":method", "GET"), (":scheme", "https"), (":path", path),
                  (":authority", "localhost")] + list(extra)
        f = HeadersFrame(stream)
        f.data = self.encoder.encode(fields)
        f.flags.add("END_HEADERS")
        if end_stream:
            f.flags.add("END_STREAM")
        return f.serialize()

    def parsed(self):
        """The whole frames buffered so far, taken off the buffer."""
        while len(self.buf) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(self.buf[:9]))
            if len(self.buf) < 9 + length:
                return
            frame.parse_body(memoryview(self.buf[9:9 + length]))
            self.buf = self.buf[9 + length:]
            yield frame

    def next(self):
        """The next frame, or None when the connection ends."""
        while True:
            if len(self.buf) >= 9:
                frame, length = Frame.parse_frame_header(memoryview(self.buf[:9]))
                if len(self.buf) >= 9 + length:
                    frame.parse_body(memoryview(self.buf[9:9 + length]))
                    self.buf = self.buf[9 + length:]
                    return frame
            try:
                data = self.sock.recv(65536)
            except (ConnectionError, ssl.SSLError, OSError):
                return None
            if not data:
                return None
            self.buf += data

    def until(self, want):
        while True:
            f = self.next()
            if f is None or want(f):
                return f

    def goaway_or_closed(self):
        f = self.until(lambda f: isinstance(f, GoAwayFrame))
        return "goaway %d" % f.error_code if f else "closed"


def pour(peer, chunks):
    """Writes `chunks` while reading what comes back, in this one thread (an SSL socket
    must never be read and written from two threads at once: OpenSSL's state is not
    thread-safe, and a reader thread crashed the interpreter); returns "goaway CODE" for
    the first GOAWAY read, or "closed" when the connection ends without one."""
    sock = peer.sock
    sock.setblocking(False)
    chunks = iter(chunks)
    pending = b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not pending and chunks is not None:
            pending = next(chunks, b"")
            if not pending:
                chunks = None
        readable, writable, _ = select.select([sock], [sock] if pending else [], [], 0.5)
        if readable or sock.pending():
            try:
                data = sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                data = None
            except (ConnectionError, ssl.SSLError, OSError):
                return "closed"
            if data == b"":
                return "closed"
            if data:
                peer.buf += data
                for f in peer.parsed():
                    if isinstance(f, GoAwayFrame):
                        return "goaway %d" % f.error_code
        if writable and pending:
            try:
                pending = pending[sock.send(pending):]
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except (ConnectionError, ssl.SSLError, OSError):
                # The server stopped reading: keep reading what it sent before.
                pending, chunks = b"", None
    return "timeout"


def ending(f):
    if f is None:
        return "closed"
    if isinstance(f, GoAwayFrame):
        return "goaway %d" % f.error_code
    if isinstance(f, RstStreamFrame):
        return "rst %d" % f.error_code
    return "headers"


def main():
    mode, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    args = sys.argv[4:]
    if mode == "malformed":
        p = Peer(port, cafile)
        p.sock.sendall(p.headers(1, "/HelloWorld.html", [(args[0], args[1])]))
        f = p.until(lambda f: isinstance(f, GoAwayFrame)
                    or f.stream_id == 1 and isinstance(f, (HeadersFrame, RstStreamFrame)))
        print(ending(f))
    elif mode == "reset-accepted":
        # In rounds of 100 streams (under the 128 concurrent): open them, wait until each
        # is answered (so the server accepted and served it), then reset them all.
        n, path = int(args[0]), args[1]
        p = Peer(port, cafile)
        done = 0
        while done < n:
            ids = [1 + 2 * (done + i) for i in range(min(100, n - done))]
            p.sock.sendall(b"".join(p.headers(sid, path) for sid in ids))
            waiting = set(ids)
            while waiting:
                f = p.until(lambda f: isinstance(f, GoAwayFrame)
                            or f.stream_id in waiting and isinstance(f, HeadersFrame))
                if f is None or isinstance(f, GoAwayFrame):
                    print("%s after %d" % (ending(f), done))
                    return
                waiting.discard(f.stream_id)
            try:
                p.sock.sendall(b"".join(RstStreamFrame(sid, error_code=CANCEL).serialize()
                                        for sid in ids))
            except OSError:
                pass
            done += len(ids)
        # Under the limit: the connection still serves.
        sid = 1 + 2 * done
        p.sock.sendall(p.headers(sid, "/HelloWorld.html"))
        f = p.until(lambda f: isinstance(f, GoAwayFrame)
                    or f.stream_id == sid and isinstance(f, HeadersFrame))
        print("%s after %d" % (ending(f), done))
    elif mode == "reset-burst":
        p = Peer(port, cafile)
        burst = b"".join(p.headers(1 + 2 * i, "/HelloWorld.html")
                         + RstStreamFrame(1 + 2 * i, error_code=CANCEL).serialize()
                         for i in range(int(args[0])))
        try:
            p.sock.sendall(burst)
        except OSError:
            pass
        print(p.goaway_or_closed())
    elif mode == "flood":
        kind, n = args[0], int(args[1])
        one = (PingFrame(0, opaque_data=b"12345678") if kind == "PING" else SettingsFrame(0)).serialize()
        p = Peer(port, cafile)
        print(pour(p, (one * 100 for _ in range(n // 100))))
    elif mode == "continuation":
        n = int(args[0])
        p = Peer(port, cafile)
        first = HeadersFrame(1)
        first.data = p.encoder.encode([(":method", "GET"), (":scheme", "https"), (":path", "/")])
        first.flags.add("END_STREAM")
        filler = ContinuationFrame(1)
        filler.data = Encoder().encode([("x-filler", "a" * 16000)])
        chunks = [first.serialize()] + [filler.serialize()] * n
        print(pour(p, iter(chunks)))
    elif mode == "zero-window":
        p = Peer(port, cafile, {SettingsFrame.INITIAL_WINDOW_SIZE: 0})
        p.sock.sendall(p.headers(1, args[0]))
        f = p.until(lambda f: f.stream_id == 1 and isinstance(f, (HeadersFrame, RstStreamFrame)))
        first = ending(f)
        f = p.until(lambda f: f.stream_id == 1 and isinstance(f, RstStreamFrame)
                    or isinstance(f, GoAwayFrame))
        print(first, ending(f))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
