#!/usr/bin/env python3
"""Slow clients for tests/soak/soak.sh: trickling heads and slow readers, for a bounded time.

    slow_clients.py PORT SECONDS [TRICKLERS] [READERS]

Tricklers send a request head one byte every 0.5 s (the server's absolute head timeout
must cut them off with 408); readers ask for /big.bin and read 4 KiB every 0.2 s through
a small receive buffer (the server must keep serving everyone else meanwhile). Each
reconnects when its connection ends. Prints one summary line at the end; a trickle still
under way when the time is up counts as `trickle_cut_by_end`.
"""
import select
import socket
import sys
import threading
import time

port = int(sys.argv[1])
end = time.monotonic() + float(sys.argv[2])
tricklers = int(sys.argv[3]) if len(sys.argv) > 3 else 8
readers = int(sys.argv[4]) if len(sys.argv) > 4 else 4
lock = threading.Lock()
stats = {"trickle_conns": 0, "trickle_408": 0, "trickle_other": 0, "trickle_cut_by_end": 0,
         "trickle_closed_silently": 0,
         "reader_conns": 0, "reader_bytes": 0, "errors": 0}


def bump(key, n=1):
    with lock:
        stats[key] += n


def connect():
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def trickler():
    head = b"GET /index.html HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200 + b"\r\n\r\n"
    while time.monotonic() < end:
        try:
            s = connect()
            bump("trickle_conns")
            reply = b""
            for b in head:
                if time.monotonic() >= end:
                    break
                try:
                    s.sendall(bytes([b]))
                except OSError:
                    break
                ready, _, _ = select.select([s], [], [], 0.5)
                if ready:
                    reply = s.recv(4096)
                    break
            if reply.startswith(b"HTTP/1.1 408"):
                bump("trickle_408")
            elif reply:
                bump("trickle_other")
            elif time.monotonic() >= end:
                bump("trickle_cut_by_end")
            else:
                bump("trickle_closed_silently")
            s.close()
        except OSError:
            bump("errors")
            time.sleep(0.5)


def reader():
    while time.monotonic() < end:
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(30)
            s.connect(("127.0.0.1", port))
            bump("reader_conns")
            s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            while time.monotonic() < end:
                chunk = s.recv(4096)
                if not chunk:
                    break
                bump("reader_bytes", len(chunk))
                time.sleep(0.2)
            s.close()
        except OSError:
            bump("errors")
            time.sleep(0.5)


threads = [threading.Thread(target=trickler, daemon=True) for _ in range(tricklers)]
threads += [threading.Thread(target=reader, daemon=True) for _ in range(readers)]
for t in threads:
    t.start()
for t in threads:
    t.join(timeout=max(0.0, end + 5 - time.monotonic()))
print("SLOW " + " ".join(f"{k}={v}" for k, v in stats.items()))
