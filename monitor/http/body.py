"""Reading only what is needed from a response body, never more than a cap.

The client never decompresses (a library's decompression would inflate a
gzip bomb into memory before we could count). Here the raw
bytes are counted against the cap as they come off the stream, and the
decoded bytes are produced with `max_length`, so neither side can exceed
the cap whatever Content-Length or the compression ratio says.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from monitor.http.client import Response
from monitor.http.headers import shown

# What we advertise is what we can decode with the standard library.
ACCEPT_ENCODING = "gzip, deflate"
# After we have what we need, finish reading a body this small so the
# connection can go back to the pool (cheaper than a new TCP/TLS handshake);
# anything larger is cut off by closing the connection.
DRAIN_MAX = 64 * 1024
_READ = 16 * 1024

_HEAD_END = re.compile(rb"</head\s*>|<body[\s>]", re.IGNORECASE)
_SPACES = b" \t\n\r\x0b\x0c"  # what `\s` matches in a bytes pattern


class Decoder:
    """Content-Encoding decoder with an output limit per call."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_fallback = encoding == "deflate"
        wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)

    def feed(self, data: bytes, limit: int) -> bytes:
        """Decode `data`, returning at most `limit` bytes (the rest is dropped)."""
        if limit <= 0:
            return b""
        try:
            return self._z.decompress(data, limit)
        except zlib.error:
            if not self._raw_fallback:
                raise
            # "deflate" is often sent raw, without the zlib wrapper
            self._raw_fallback = False
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._z.decompress(data, limit)


class UnsupportedEncodingError(ValueError):
    """A Content-Encoding we did not advertise and cannot decode."""


def decoder_for(content_encoding: str | None) -> Decoder | None:
    """A Decoder, or None for identity; raises for an encoding we cannot decode."""
    enc = (content_encoding or "").strip().lower()
    if enc in ("", "identity"):
        return None
    if enc in ("gzip", "x-gzip", "deflate"):
        return Decoder(enc)
    raise UnsupportedEncodingError(enc)


def head_complete(buf: bytes | bytearray, start: int = 0) -> bool:
    """Whether the HTML prefix holds the whole `<head>` (closed or a body began).

    `start` is how much of `buf` an earlier call already answered False for
    (read_prefix passes the length before the last read), so only a match
    that ends past it is new. Such a match starts at most 6 bytes before the
    run of spaces that ends at `start` ("</head" and spaces, cut before its
    ">"); the search begins there and rescans nothing else.
    """
    if start > 0:
        back = start - 8
        if buf[start - 1] in _SPACES:
            back = min(back, _space_run_start(buf, start) - 6)
        start = max(0, back)
    return _HEAD_END.search(buf, start) is not None


def _space_run_start(buf: bytes | bytearray, end: int) -> int:
    """Where the run of whitespace (bytes that `\\s` matches) ending at `end` begins."""
    size = 16
    while True:
        low = max(0, end - size)
        kept = len(buf[low:end].rstrip())  # strips the same six bytes
        if kept or low == 0:
            return low + kept
        size *= 8  # a long run: look further back, each step 8 times as far


@dataclass(slots=True)
class Prefix:
    data: bytes
    wire_bytes: int  # bytes taken off the connection (before decoding)
    eof: bool  # the whole body was read
    # why the body could not be decoded (then `data` is not to be judged)
    error: str | None = None


async def read_prefix(
    resp: Response,
    cap: int,
    enough: Callable[[bytes | bytearray, int], bool],
) -> Prefix:
    """Read the body until `enough(buf, previous_len)` or `cap` bytes, raw or decoded."""
    try:
        decoder = decoder_for(resp.headers.get("Content-Encoding"))
    except UnsupportedEncodingError as exc:
        return Prefix(b"", 0, False, f"unsupported Content-Encoding {shown(str(exc))[:40]}")
    content = resp.content
    buf = bytearray()
    wire = 0
    eof = False
    while wire < cap and len(buf) < cap:
        size = min(_READ, cap - wire)
        # once the whole body has arrived (the usual case for a page or an
        # image's first range), it is taken without awaiting a read
        chunk = content.read_nowait(size) if content.is_eof() else await content.read(size)
        if not chunk:
            eof = True
            break
        wire += len(chunk)
        before = len(buf)
        if decoder is None:
            buf += chunk
        else:
            try:
                buf += decoder.feed(chunk, cap - len(buf))
            except zlib.error:
                return Prefix(bytes(buf), wire, False, f"corrupt {decoder.encoding} data")
        if enough(buf, before):
            break
    if not eof and content.at_eof():
        eof = True
    return Prefix(bytes(buf), wire, eof)


def released(resp: Response) -> bool:
    """Release the connection if the body was read whole: `finish`'s usual case,
    answered without a coroutine. False: `finish` decides."""
    if resp.content.at_eof():
        resp.release()
        return True
    return False


async def finish(resp: Response, cap: int, wire_so_far: int) -> int:
    """Release the connection for reuse if the rest is small, else close it.

    Returns the extra bytes read. Never reads past `cap` in total.
    """
    if released(resp):
        return 0
    content = resp.content
    length = resp.content_length
    remaining = None if length is None else length - wire_so_far
    if remaining is not None and 0 <= remaining <= DRAIN_MAX and wire_so_far + remaining <= cap:
        extra = 0
        while extra <= remaining:  # one read when the rest is already buffered
            size = remaining - extra + 1
            chunk = content.read_nowait(size) if content.is_eof() else await content.read(size)
            if not chunk:
                break
            extra += len(chunk)
        if content.at_eof():
            resp.release()
        else:
            resp.close()
        return extra
    resp.close()
    return 0
