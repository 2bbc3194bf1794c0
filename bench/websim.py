"""Local web simulator for the link-checker benchmark (loopback only).

Serves news-like pages and images on many loopback addresses (127.0.0.1 …
127.0.0.N, one listening socket per address, each a host of its own), so a
link checker can be timed against something that behaves like a real site
without any traffic leaving the machine:

- pages: HTML with a real ``<head>`` (charset, title, ``<link rel=canonical>``,
  ``<link rel=amphtml>`` on web pages, ``<html ⚡>`` on AMP pages) followed by
  30-60 KB of article text, so a checker that reads whole pages pays for it;
- images: real PNG, JPEG (baseline and progressive), GIF and WebP headers
  whose dimensions come from the path, padded to 50-300 KB, so a checker that
  downloads whole images pays for it and one that reads a prefix does not;
- HEAD, single-range ``Range`` requests (206 / 416), keep-alive, pipelining;
- ``--shape small``: pages and images of a few KiB instead (per-check CPU
  decides, not bytes); ``--latency-ms``: every answer waits that long.

Everything is a function of the path (no per-request randomness). The HTTP
side is a hand-written asyncio Protocol rather than aiohttp.web because the
simulator shares two cores with the checkers it times and must not be the
bottleneck; ``--workers 2`` runs two processes on the same port with
SO_REUSEPORT. ``GET /__stats`` returns the request and byte counters of all
workers, so a benchmark can verify what each checker actually fetched;
``GET /__stats?mark=1`` also sets a mark, and the answers to later ones say
when the first and the last request after it arrived (``first_ns``,
``last_ns``, on CLOCK_MONOTONIC, which every process on the machine shares;
0 while none has): a tool's start-up before its first request, and its end
after the last, apart from the checking between.

URL layout (``page_url``/``image_url`` build them)::

    /news/<slug>.html                      web page; amphtml -> /amp/news/<slug>.html
    /amp/news/<slug>.html                  AMP page; canonical -> /news/<slug>.html
    /c/<origin-host:port>/amp/news/<slug>.html
                                           AMP-cache-style copy; canonical on the origin
    /img/<stem>-<W>x<H>.<png|jpg|gif|webp> image of W x H pixels
    anything else                          404 page

Run: ``python bench/websim.py --hosts 50 --port 0 --max-seconds 600``; the
first stdout line is JSON with the port and addresses; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import ctypes
import email.utils
import hashlib
import html
import json
import multiprocessing
import multiprocessing.sharedctypes
import multiprocessing.synchronize
import os
import random
import re
import signal
import socket
import struct
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

MAX_HOSTS = 250
IMAGE_EXTS = ("png", "jpg", "gif", "webp")
# Common editorial image sizes (width, height).
IMAGE_SIZES = (
    (1200, 675),
    (1024, 568),
    (1400, 933),
    (800, 450),
    (1920, 1080),
    (640, 360),
    (1280, 720),
    (2048, 1152),
    (600, 400),
    (1600, 900),
)
PAGE_BODY_MIN, PAGE_BODY_MAX = 30_000, 60_000
IMAGE_MIN, IMAGE_MAX = 50_000, 300_000


@dataclass(frozen=True, slots=True)
class Shape:
    """Body sizes: page text after the head, and whole image files (bytes)."""

    page_body: tuple[int, int]
    image: tuple[int, int]


# realistic: ~90 KB a URL on average (a checker reading heads and image
# prefixes skips most of it); small: pages and images of a few KiB, where the
# per-check CPU decides rather than the bytes.
SHAPES = {
    "realistic": Shape((PAGE_BODY_MIN, PAGE_BODY_MAX), (IMAGE_MIN, IMAGE_MAX)),
    "small": Shape((1_000, 3_000), (2_000, 6_000)),
}
_BUCKETS = 48  # distinct body sizes; each has its own precomputed filler (and PNG CRC)

# Counter slots per worker in the shared stats array.
# "held": answers waiting out --latency-ms now (a gauge: the client's requests in flight)
_STATS = ("requests", "head", "range", "not_found", "bytes", "connections", "held")


def host_addresses(count: int) -> list[str]:
    """The loopback addresses 127.0.0.1 … 127.0.0.count."""
    if not 1 <= count <= MAX_HOSTS:
        raise ValueError(f"hosts must be within 1..{MAX_HOSTS}")
    return [f"127.0.0.{i}" for i in range(1, count + 1)]


def page_url(host: str, port: int, slug: str, *, amp: bool = False) -> str:
    prefix = "/amp" if amp else ""
    return f"http://{host}:{port}{prefix}/news/{slug}.html"


def cdn_url(cdn_host: str, origin_host: str, port: int, slug: str) -> str:
    return f"http://{cdn_host}:{port}/c/{origin_host}:{port}/amp/news/{slug}.html"


def image_url(host: str, port: int, stem: str, width: int, height: int, ext: str) -> str:
    return f"http://{host}:{port}/img/{stem}-{width}x{height}.{ext}"


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


# --------------------------------------------------------------------------- content

_WORDS = (
    "the a of to and in that is for on with as was said it by at from his an be has "
    "have are were but not they this which had after their been more its one who would "
    "year government people new first also two over company could than other some "
    "there when into last about million percent state police officials report market "
    "security data researchers source code app users access server cloud storage "
    "according statement spokesperson investigation federal court law enforcement "
    "startup technology facial recognition database exposed customers privacy week "
    "month election city council minister economy growth inflation energy climate "
    "health hospital study university scientists team season match players coach"
).split()


def _paragraphs(rng: random.Random, size: int) -> str:
    out: list[str] = []
    total = 0
    while total < size:
        sentences = []
        for _ in range(rng.randint(3, 7)):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 24))]
            sentences.append(" ".join(words).capitalize() + ".")
        para = "<p>" + " ".join(sentences) + "</p>\n"
        out.append(para)
        total += len(para)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...]
    parts: tuple[bytes | memoryview, ...]

    @property
    def length(self) -> int:
        return sum(len(p) for p in self.parts)


_REASONS = {
    200: "OK",
    206: "Partial Content",
    404: "Not Found",
    405: "Method Not Allowed",
    416: "Range Not Satisfiable",
}
_PAGE_RE = re.compile(r"^/(?:(amp)/|c/([^/]+)/amp/)?news/([A-Za-z0-9._-]+)\.html$")
_IMAGE_RE = re.compile(r"^/img/([A-Za-z0-9._-]+)-(\d{1,5})x(\d{1,5})\.(png|jpg|gif|webp)$")
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _png_chunk(kind: bytes, data: bytes | memoryview) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind)) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + bytes(data) + struct.pack(">I", crc)


def image_header(ext: str, width: int, height: int, progressive: bool = False) -> bytes:
    """The leading bytes of a real image file of that type and size."""
    if ext == "png":
        ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
    if ext == "jpg":
        app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        dqt = b"\x00" + bytes(range(1, 65))
        sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
        sos = b"\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00"

        def seg(marker: int, body: bytes) -> bytes:
            return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

        sof_marker = 0xC2 if progressive else 0xC0
        return (
            b"\xff\xd8" + seg(0xE0, app0) + seg(0xDB, dqt) + seg(sof_marker, sof) + seg(0xDA, sos)
        )
    if ext == "gif":
        return b"GIF89a" + struct.pack("<HHBBB", width, height, 0xF7, 0, 0)
    if ext == "webp":
        # VP8 (lossy) key frame: 3-byte frame tag, start code, 14-bit width and height.
        frame = b"\x9d\x01\x2a" + struct.pack("<HH", width & 0x3FFF, height & 0x3FFF)
        return b"VP8 " + b"\x00\x00\x00\x00" + b"\x50\x2a\x00" + frame  # sizes patched later
    raise ValueError(ext)


_CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}


class Content:
    """Pure: (method, path, host, range) → Response, from precomputed pools."""

    def __init__(self, seed: int = 1, shape: Shape = SHAPES["realistic"]) -> None:
        rng = random.Random(seed)
        self.bodies = [_paragraphs(rng, rng.randint(*shape.page_body)).encode() for _ in range(32)]
        image_min, image_max = shape.image
        blob = rng.randbytes(image_max + 1024)
        self.filler = memoryview(blob)
        # Entropy-coded JPEG data must not contain markers; a JPEG filler without 0xFF.
        self.jpeg_filler = memoryview(blob.replace(b"\xff", b"\x00"))
        step = (image_max - image_min) // (_BUCKETS - 1)
        self.image_sizes = [image_min + i * step for i in range(_BUCKETS)]
        self._png_tail: dict[int, tuple[bytes, bytes]] = {}
        self._date = ""
        self._date_at = 0.0

    def _http_date(self) -> str:
        now = time.time()
        if now - self._date_at >= 1.0:
            self._date = email.utils.formatdate(now, usegmt=True)
            self._date_at = now
        return self._date

    # ---- pages
    def page(self, path: str, host: str) -> Response | None:
        match = _PAGE_RE.match(path)
        if match is None:
            return None
        amp_prefix, cdn_origin, slug = match.groups()
        is_amp = bool(amp_prefix or cdn_origin)
        origin = cdn_origin or host
        canonical = f"http://{origin}/news/{slug}.html"
        h = _digest(slug)
        title = f"{slug.replace('-', ' ').title()} | Loopback News"
        e = html.escape
        head = [
            "<!doctype html>\n",
            '<html \u26a1 lang="en">\n' if is_amp else '<html lang="en">\n',
            "<head>\n",
            '<meta charset="utf-8">\n',
            f"<title>{e(title)}</title>\n",
            '<meta name="viewport" content="width=device-width,minimum-scale=1,initial-scale=1">\n',
            f'<link rel="canonical" href="{e(canonical)}">\n',
        ]
        if not is_amp:
            head.append(f'<link rel="amphtml" href="http://{e(host)}/amp/news/{e(slug)}.html">\n')
        else:
            head.append('<script async src="https://cdn.ampproject.org/v0.js"></script>\n')
            head.append(
                "<style amp-boilerplate>body{-webkit-animation:-amp-start 8s steps(1,end) "
                "0s 1 normal both;animation:-amp-start 8s steps(1,end) 0s 1 normal both}"
                "</style>\n"
            )
        published = f"2024-{1 + h % 12:02d}-{1 + h % 28:02d}T08:00:00Z"
        ld = (
            '{"@context": "https://schema.org", "@type": "NewsArticle", '
            f'"headline": "{e(title)}", "mainEntityOfPage": "{e(canonical)}", '
            f'"datePublished": "{published}"}}'
        )
        head += [
            f'<meta property="og:title" content="{e(title)}">\n',
            f'<meta property="og:url" content="{e(canonical)}">\n',
            '<meta property="og:type" content="article">\n',
            f'<script type="application/ld+json">{ld}</script>\n',
            "</head>\n<body>\n",
            f"<article><h1>{e(title)}</h1>\n",
        ]
        head_bytes = "".join(head).encode()
        tail = b"</article>\n</body>\n</html>\n"
        body = self.bodies[h % len(self.bodies)]
        return Response(
            200,
            (
                ("Content-Type", "text/html; charset=utf-8"),
                ("ETag", f'"{h:016x}"'),
                ("Cache-Control", "max-age=300"),
            ),
            (head_bytes, body, tail),
        )

    # ---- images
    def image(self, path: str) -> Response | None:
        match = _IMAGE_RE.match(path)
        if match is None:
            return None
        w, h, ext = int(match.group(2)), int(match.group(3)), match.group(4)
        if not (1 <= w <= 16383 and 1 <= h <= 16383):
            return None
        d = _digest(path)
        size = self.image_sizes[d % _BUCKETS]
        header = image_header(ext, w, h, progressive=bool(d & 0x100))
        parts: tuple[bytes | memoryview, ...]
        if ext == "png":
            idat_head, idat_tail = self._png_idat(size)
            parts = (header, idat_head, self.filler[:size], idat_tail)
        elif ext == "jpg":
            parts = (header, self.jpeg_filler[:size], b"\xff\xd9")
        elif ext == "gif":
            parts = (header, self.filler[:size], b"\x3b")
        else:
            vp8 = bytearray(header)
            payload = len(vp8) - 8 + size
            vp8[4:8] = struct.pack("<I", payload)
            riff = b"RIFF" + struct.pack("<I", 4 + 8 + payload + (payload & 1)) + b"WEBP"
            parts = (riff, bytes(vp8), self.filler[:size], b"\x00" * (payload & 1))
        return Response(
            200,
            (
                ("Content-Type", _CONTENT_TYPES[ext]),
                ("ETag", f'"{d:016x}"'),
                ("Cache-Control", "max-age=86400"),
                ("Accept-Ranges", "bytes"),
            ),
            parts,
        )

    def _png_idat(self, size: int) -> tuple[bytes, bytes]:
        cached = self._png_tail.get(size)
        if cached is None:
            crc = zlib.crc32(self.filler[:size], zlib.crc32(b"IDAT")) & 0xFFFFFFFF
            iend = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
            cached = (struct.pack(">I", size) + b"IDAT", struct.pack(">I", crc) + iend)
            self._png_tail[size] = cached
        return cached

    def not_found(self, path: str) -> Response:
        body = (
            '<!doctype html>\n<html><head><meta charset="utf-8"><title>Page not found</title>'
            f"</head><body><h1>404</h1><p>{html.escape(path)} was not found.</p></body></html>\n"
        ).encode()
        return Response(404, (("Content-Type", "text/html; charset=utf-8"),), (body,))

    def respond(self, path: str, host: str, range_header: str | None) -> Response:
        """The response to a GET (HEAD sends the same headers without the parts)."""
        resp = self.page(path, host) or self.image(path)
        if resp is None:
            return self.not_found(path)
        if range_header is not None:
            return _apply_range(resp, range_header)
        return resp

    def serialize_head(self, resp: Response, keep_alive: bool) -> bytes:
        lines = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Unknown')}"]
        lines.append("Server: websim")
        lines.append(f"Date: {self._http_date()}")
        lines += [f"{k}: {v}" for k, v in resp.headers]
        lines.append(f"Content-Length: {resp.length}")
        lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def slice_parts(
    parts: Sequence[bytes | memoryview], start: int, stop: int
) -> tuple[bytes | memoryview, ...]:
    """Bytes start..stop (exclusive) of the concatenation of parts, without copying."""
    out: list[bytes | memoryview] = []
    pos = 0
    for part in parts:
        end = pos + len(part)
        lo, hi = max(start, pos), min(stop, end)
        if lo < hi:
            out.append(memoryview(part)[lo - pos : hi - pos])
        pos = end
    return tuple(out)


def _apply_range(resp: Response, header: str) -> Response:
    """One byte range (RFC 9110 14.1.2); several ranges or a malformed one: the whole body."""
    match = _RANGE_RE.match(header.strip())
    if match is None or resp.status != 200:
        return resp
    first, last = match.groups()
    total = resp.length
    if first == "" and last == "":
        return resp
    if first == "":
        start, stop = max(total - int(last), 0), total
    else:
        start = int(first)
        stop = min(int(last) + 1, total) if last else total
        if last and int(last) < start:
            return resp
    if start >= total or start >= stop:
        return Response(416, (("Content-Range", f"bytes */{total}"),), ())
    ranged = (*resp.headers, ("Content-Range", f"bytes {start}-{stop - 1}/{total}"))
    return Response(206, ranged, slice_parts(resp.parts, start, stop))


# --------------------------------------------------------------------------- HTTP server


class Counters:
    """This worker's counters; flushed to shared memory so any worker can report all."""

    __slots__ = (
        "bytes",
        "connections",
        "first_ns",
        "head",
        "held",
        "last_ns",
        "not_found",
        "range",
        "requests",
    )

    def __init__(self) -> None:
        self.requests = self.head = self.range = self.not_found = self.bytes = 0
        self.connections = self.held = 0
        # CLOCK_MONOTONIC ns of this worker's first and last request since the mark
        self.first_ns = self.last_ns = 0

    def values(self) -> list[int]:
        return [int(getattr(self, name)) for name in _STATS]


_MAX_HEAD = 64 * 1024


class HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining; GET and HEAD only."""

    def __init__(self, app: Worker) -> None:
        self.app = app
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.skip = 0  # request-body bytes still to discard
        # answers held back by --latency-ms, sent in request order
        self.pending: collections.deque[tuple[bytes, tuple[bytes | memoryview, ...], bool]] = (
            collections.deque()
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.app.counters.connections += 1
        self.app.open.add(self.transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            # Bytes queued but never delivered do not count as sent.
            self.app.counters.bytes -= self.transport.get_write_buffer_size()
            self.app.open.discard(self.transport)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.transport is not None and not self.transport.is_closing():
            if self.skip:
                taken = min(self.skip, len(self.buf))
                self.buf = self.buf[taken:]
                self.skip -= taken
                if self.skip:
                    return
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > _MAX_HEAD:
                    self.transport.close()
                return
            head = self.buf[:end]
            self.buf = self.buf[end + 4 :]
            self.handle(head)

    def handle(self, head: bytes) -> None:
        transport = self.transport
        assert transport is not None
        app = self.app
        counters = app.counters
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError:
            transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            transport.close()
            return
        host = ""
        range_header: str | None = None
        connection = ""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            lname = name.strip().lower()
            if lname == "host":
                host = value.strip()
            elif lname == "range":
                range_header = value.strip()
            elif lname == "connection":
                connection = value.strip().lower()
            elif lname == "content-length":
                with contextlib.suppress(ValueError):
                    self.skip = int(value)
        keep_alive = (
            "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        )
        counters.requests += 1
        path, _, query = target.partition("?")
        if not host:
            host = transport.get_extra_info("sockname")[0]
        if path == "/__stats":
            if query == "mark=1":
                app.mark()
            body = json.dumps(app.totals()).encode()
            resp = Response(200, (("Content-Type", "application/json"),), (body,))
        elif method not in ("GET", "HEAD"):
            resp = Response(405, (("Allow", "GET, HEAD"),), ())
        else:
            app.arrived()
            resp = app.content.respond(path, host, range_header)
        if method == "HEAD":
            counters.head += 1
        if resp.status in (206, 416):
            counters.range += 1
        elif resp.status == 404:
            counters.not_found += 1
        head_bytes = app.content.serialize_head(resp, keep_alive)
        parts = () if method == "HEAD" else resp.parts
        if app.latency > 0 and path != "/__stats":
            self.pending.append((head_bytes, parts, keep_alive))
            counters.held += 1
            asyncio.get_running_loop().call_later(app.latency, self.send_next)
        else:
            self.send(head_bytes, parts, keep_alive)

    def send_next(self) -> None:
        """One held-back answer, the oldest (timers of equal delay may fire in any order)."""
        if not self.pending:
            return
        self.app.counters.held -= 1
        answer = self.pending.popleft()
        if self.transport is not None and not self.transport.is_closing():
            self.send(*answer)

    def send(self, head: bytes, parts: tuple[bytes | memoryview, ...], keep_alive: bool) -> None:
        transport = self.transport
        assert transport is not None
        if not parts:
            transport.write(head)
        else:
            # One writev with uvloop; asyncio (3.11) joins the parts first.
            transport.writelines((head, *parts))
            self.app.counters.bytes += sum(len(p) for p in parts)
        if not keep_alive:
            transport.close()


class Worker:
    """One process: listeners on every address, counters, a deadline."""

    def __init__(
        self,
        index: int,
        shared: ctypes.Array[ctypes.c_ulonglong],
        workers: int,
        shape: Shape = SHAPES["realistic"],
        latency: float = 0.0,
    ) -> None:
        self.index = index
        self.shared = shared
        self.workers = workers
        self.content = Content(shape=shape)
        self.latency = latency  # seconds each answer waits before it is sent
        self.counters = Counters()
        self.open: set[asyncio.Transport] = set()

    def _times(self, worker: int) -> int:
        """Where a worker's first and last request times lie in `shared` (after
        every worker's counters; the mark is the one slot after them all)."""
        return self.workers * len(_STATS) + 2 * worker

    def mark(self) -> None:
        """From now on, `first_ns` and `last_ns` are of the requests after this."""
        self.shared[self._times(self.workers)] = time.monotonic_ns()

    def arrived(self) -> None:
        """A request (not /__stats) arrived: the first since the mark, or a later one."""
        now = time.monotonic_ns()
        counters = self.counters
        if counters.first_ns <= self.shared[self._times(self.workers)]:
            counters.first_ns = now
        counters.last_ns = now

    def flush(self) -> None:
        base = self.index * len(_STATS)
        for i, value in enumerate(self.counters.values()):
            self.shared[base + i] = max(value, 0)
        times = self._times(self.index)
        self.shared[times] = self.counters.first_ns
        self.shared[times + 1] = self.counters.last_ns

    def totals(self) -> dict[str, int]:
        self.flush()
        out = dict.fromkeys(_STATS, 0)
        for w in range(self.workers):
            for i, name in enumerate(_STATS):
                out[name] += int(self.shared[w * len(_STATS) + i])
        out["workers"] = self.workers
        mark = int(self.shared[self._times(self.workers)])
        firsts = [int(self.shared[self._times(w)]) for w in range(self.workers)]
        lasts = [int(self.shared[self._times(w) + 1]) for w in range(self.workers)]
        after = [t for t in firsts if t > mark]
        out["mark_ns"] = mark
        out["first_ns"] = min(after, default=0)
        out["last_ns"] = max((t for t in lasts if t > mark), default=0)
        return out

    async def serve(self, sockets: list[socket.socket], deadline: float) -> None:
        loop = asyncio.get_running_loop()
        servers = [
            await loop.create_server(lambda: HttpProtocol(self), sock=s, backlog=4096)
            for s in sockets
        ]
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        while not stop.is_set() and time.monotonic() < deadline:
            self.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
        for server in servers:
            server.close()
        for transport in list(self.open):
            transport.abort()
        self.flush()


def listen_socket(address: str, port: int, reuse_port: bool, listen: bool = True) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((address, port))
    if listen:
        sock.listen(4096)
    sock.setblocking(False)
    return sock


def bind_all(
    addresses: Sequence[str], port: int, reuse_port: bool, listen: bool = True
) -> list[socket.socket]:
    """One socket per address on one port; port 0 picks one free on all of them."""
    for _ in range(20):
        sockets: list[socket.socket] = []
        try:
            first = listen_socket(addresses[0], port, reuse_port, listen)
            sockets.append(first)
            chosen = first.getsockname()[1]
            sockets += [listen_socket(a, chosen, reuse_port, listen) for a in addresses[1:]]
            return sockets
        except OSError:
            for s in sockets:
                s.close()
            if port:
                raise
    raise OSError("no port free on every address")


def _use_loop(kind: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if kind == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if kind == "uvloop":
            raise
        return None
    return uvloop.new_event_loop


def _worker_main(
    index: int,
    addresses: list[str],
    port: int,
    shared: ctypes.Array[ctypes.c_ulonglong],
    workers: int,
    deadline: float,
    loop_kind: str,
    ready: multiprocessing.synchronize.Event | None,
    sockets: list[socket.socket] | None = None,
    shape: str = "realistic",
    latency: float = 0.0,
) -> None:
    if sockets is None:
        sockets = bind_all(addresses, port, reuse_port=workers > 1)
    if ready is not None:
        ready.set()
    worker = Worker(index, shared, workers, SHAPES[shape], latency)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with asyncio.Runner(loop_factory=_use_loop(loop_kind)) as runner:
        runner.run(worker.serve(sockets, deadline))
    for s in sockets:
        s.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--hosts", type=int, default=50, help="addresses 127.0.0.1..N [50]")
    parser.add_argument("--port", type=int, default=0, help="one port on every address; 0 = any")
    parser.add_argument("--workers", type=int, default=1, help="processes (SO_REUSEPORT) [1]")
    parser.add_argument("--max-seconds", type=float, default=600, help="stop after this [600]")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument("--shape", choices=tuple(SHAPES), default="realistic", help="body sizes")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay of every answer [0]")
    args = parser.parse_args(argv)
    latency = args.latency_ms / 1000.0

    addresses = host_addresses(args.hosts)
    deadline = time.monotonic() + args.max_seconds
    # each worker's counters, then each worker's first and last request times, then the mark
    slots = args.workers * (len(_STATS) + 2) + 1
    shared = multiprocessing.sharedctypes.RawArray(ctypes.c_ulonglong, slots)
    loop_name = "asyncio" if _use_loop(args.loop) is None else "uvloop"
    if args.workers == 1:
        sockets = bind_all(addresses, args.port, reuse_port=False)
        port = sockets[0].getsockname()[1]
        print(_banner(addresses, port, 1, loop_name), flush=True)
        _worker_main(
            0, addresses, port, shared, 1, deadline, args.loop, None, sockets, args.shape, latency
        )
        return 0
    # Reserve the port on every address first (bound, not listening: a listening
    # REUSEPORT socket would take a share of the connections), so the workers can join it.
    reserve = bind_all(addresses, args.port, reuse_port=True, listen=False)
    port = reserve[0].getsockname()[1]

    ctx = multiprocessing.get_context("fork")
    procs = []
    for i in range(args.workers):
        ready = ctx.Event()
        proc = ctx.Process(
            target=_worker_main,
            args=(i, addresses, port, shared, args.workers, deadline, args.loop, ready),
            kwargs={"shape": args.shape, "latency": latency},
            daemon=True,
        )
        proc.start()
        ready.wait(10)
        procs.append(proc)
    for s in reserve:
        s.close()
    print(_banner(addresses, port, args.workers, loop_name), flush=True)

    def stop(signum: int, frame: object) -> None:
        for proc in procs:
            if proc.pid is not None and proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for proc in procs:
        proc.join(max(deadline - time.monotonic(), 0) + 5)
    stop(0, None)
    return 0


def _banner(addresses: list[str], port: int, workers: int, loop: str) -> str:
    return json.dumps(
        {"port": port, "hosts": addresses, "workers": workers, "loop": loop, "pid": os.getpid()}
    )


if __name__ == "__main__":
    sys.exit(main())
