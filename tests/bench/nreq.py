#!/usr/bin/env python3
"""Sends N keep-alive GETs over C connections, each sending its next request once its
response is whole; used by instructions.sh, where the server runs under valgrind and
wrk's fixed duration would give an unknown count.

usage: nreq.py PORT N [CONNECTIONS] [PATH]
"""
import asyncio
import sys


async def client(port, request, left):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while left[0] > 0:
        left[0] -= 1
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
    writer.close()


async def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    connections = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    path = sys.argv[4] if len(sys.argv) > 4 else "/HelloWorld.html"
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    left = [n]
    await asyncio.gather(*[client(port, request, left) for _ in range(connections)])


if __name__ == "__main__":
    asyncio.run(main())
