"""A response head trickled in reads of one byte (a server writing it byte by
byte, each segment read alone): the bytes kept since the request for the
salvage of an answer followed by excess bytes (connection.py, 46ca88c) were a
list with one bytes object per read, about 43 bytes of memory per byte received:
2.7 MB for a 60 KiB head where the bound said 64 KiB, 680 MB for 256 such
connections in flight. The reads are fed to the connection's protocol as its
transport would (a real socket pair), and the memory is traced."""

from __future__ import annotations

import asyncio
import socket

from support.traced import traced

from monitor.http.connection import SALVAGE_MAX, Connection


async def test_a_head_trickled_byte_by_byte_is_kept_within_its_bound() -> None:
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    conn = Connection(loop)
    await loop.create_connection(lambda: conn, sock=ours)
    try:
        sent = asyncio.ensure_future(conn.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        await asyncio.sleep(0)
        head = b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * (60 * 1024)
        with traced() as memory:
            for i in range(len(head)):
                # one read of one byte, a new object as recv(2)'s (a slice's is shared)
                conn.data_received(bytes(bytearray(head[i : i + 1])))
        assert memory.peak < 2 * SALVAGE_MAX + 64 * 1024, memory
        conn.data_received(b"\r\nContent-Length: 0\r\n\r\n")
        message, _ = await sent
        assert message.code == 200 and len(message.headers["X-Long"]) == 60 * 1024
    finally:
        conn.close()
        theirs.close()
