#!/usr/bin/env python3
"""Memory per idle keep-alive connection, for tests/bench/run.sh.

Opens COUNT connections to 127.0.0.1:PORT; on each it sends one GET and reads the whole
response, then leaves the connection idle. Reads the server's VmRSS (/proc/PID/status)
before and after, checks how many connections the server still holds open, and prints
one line:  IDLE before_kib=.. after_kib=.. opened=.. still_open=.. failed=.. seconds=..
"""
import argparse
import socket
import sys
import time

REQUEST = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench-idle\r\n\r\n"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def read_response(sock):
    """Reads one response with a Content-Length body; returns its status code."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        body += chunk
    return status


def one(port, path, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(REQUEST % path.encode())
    status = read_response(s)
    if status != 200:
        raise ConnectionError(f"status {status}")
    return s


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--path", default="/HelloWorld.html")
    p.add_argument("--settle", type=float, default=1.0, help="seconds before measuring")
    p.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()

    # Warm the server with one connection (lazy start-up allocations), then close it.
    one(a.port, a.path, a.timeout).close()
    time.sleep(a.settle)
    before = rss_kib(a.pid)

    start = time.monotonic()
    socks, failed, first_error = [], 0, None
    for _ in range(a.count):
        try:
            socks.append(one(a.port, a.path, a.timeout))
        except (OSError, ValueError, IndexError) as e:
            failed += 1
            first_error = first_error or repr(e)
            if failed >= 50:
                break
    seconds = time.monotonic() - start
    time.sleep(a.settle)
    after = rss_kib(a.pid)

    # A connection the server closed reads as EOF (b""); an open idle one would block.
    still_open = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                continue
        except BlockingIOError:
            still_open += 1
            continue
        except OSError:
            continue
    for s in socks:
        s.close()
    print(f"IDLE before_kib={before} after_kib={after} opened={len(socks)} "
          f"still_open={still_open} failed={failed} seconds={seconds:.2f}")
    if first_error:
        print(f"idle.py: first error: {first_error}", file=sys.stderr)


if __name__ == "__main__":
    main()
