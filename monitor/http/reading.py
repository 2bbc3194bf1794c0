"""What a 2xx answer's body teaches, read within the caps: a page's `<head>`, an image's header.

The engine owns the request loop (retries, redirects, the timeout budget);
this module owns the body of the final answer: how much of it to read, when
to stop, and the facts learnt from it. A body that cannot be decoded (an
unknown or corrupt Content-Encoding) teaches nothing: the reader returns why,
and no fact is set from such bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from monitor.content.html import head_facts, media_type
from monitor.content.image import MIN_SNIFF_BYTES, ImageInfo, sniff_image
from monitor.content.mediatype import HTML_MEDIA_TYPES
from monitor.content.simhash import title_key, window_end
from monitor.http.body import DRAIN_MAX, Prefix, finish, head_complete, read_prefix, released
from monitor.http.client import Response
from monitor.vocabulary import ContentFacts

# Asks for the bytes of the image from `start` up to the cap (a ranged GET).
RestOfImage = Callable[[int], Awaitable[Response]]


class ImageSniffer:
    """Decides when an image prefix is long enough, sniffing only when useful."""

    def __init__(self) -> None:
        self.info: ImageInfo | None = None
        self._wait_for = MIN_SNIFF_BYTES
        self._sniffed = -1  # the length of the buffer `info` was read from

    def info_for(self, data: bytes) -> ImageInfo | None:
        """`sniff_image(data)`, without sniffing again when `data` is what was
        sniffed last: the buffers come from one stream, each a prefix of the
        next, so one of the same length holds the same bytes."""
        if len(data) == self._sniffed:
            return self.info
        return sniff_image(data) if data else None

    def enough(self, buf: bytes | bytearray, before: int) -> bool:
        if len(buf) < self._wait_for:
            return False
        self.info = info = sniff_image(buf)  # it takes its own copy
        self._sniffed = len(buf)
        if info is None:
            # only a text (SVG/XML) prefix may still become recognisable
            head = bytes(buf[:4]).lstrip()
            textual = head[:1] in (b"<", b"\xef") or not head
            self._wait_for = len(buf) + 1
            return not textual or len(buf) >= 4096
        if info.complete or info.needed is None:
            return True
        self._wait_for = max(info.needed, len(buf) + 1)
        return False

    def wants_more(self) -> bool:
        """Whether the image was recognised but its size lies past what was read."""
        info = self.info
        return info is not None and not info.complete and info.needed is not None


async def read_page(
    resp: Response, facts: ContentFacts, base_url: str, cap: int, *, text_hash: bool = False
) -> str | None:
    """Read an HTML page up to the end of its `<head>` (or the cap) into `facts`;
    with `text_hash`, also the text window after it and its simhash. `base_url`:
    the page's URL as text, against which its links are read.

    Returns why the body could not be decoded, or None.
    """
    mtype = media_type(resp.headers.get("Content-Type"))
    if mtype is not None and mtype not in HTML_MEDIA_TYPES:
        facts.bytes_read = await finish(resp, DRAIN_MAX, 0)
        return None
    enough = _TextWindow().enough if text_hash else head_complete
    prefix = await read_prefix(resp, cap, enough)
    rest = 0 if released(resp) else await finish(resp, cap, prefix.wire_bytes)
    facts.bytes_read = prefix.wire_bytes + rest
    if prefix.error is not None:
        return prefix.error
    page = head_facts(prefix.data, base_url=base_url, charset=resp.charset, text_hash=text_hash)
    facts.canonical = page.canonical
    facts.amphtml = page.amphtml
    facts.is_amp = page.is_amp
    facts.soft_404 = page.soft_404
    facts.title = page.closed_title
    facts.og_title = page.og_title
    facts.h1 = page.h1
    facts.description = page.description
    facts.text_hash = page.text_hash
    if page.text_hash is not None:  # the mark's title half, here beside its text half
        facts.title_key = title_key(page.closed_title, page.og_title, page.h1)
    facts.published_time = page.published_time
    return None


class _TextWindow:
    """Whether the head and the text window after it (content/simhash.py) are in
    the buffer. The window's end is found once, when the head ends: head_complete
    looks only at the latest read, so a head that ended in an earlier read was
    never seen again and every page was read to the cap."""

    def __init__(self) -> None:
        self.end: int | None = None

    def enough(self, buf: bytes | bytearray, before: int) -> bool:
        if self.end is None:
            if not head_complete(buf, before):
                return False
            self.end = window_end(buf)
            if self.end is None:  # pragma: no cover - both look for the same head end
                return False
        return len(buf) >= self.end


async def read_image(
    resp: Response,
    facts: ContentFacts,
    cap: int,
    *,
    first_range: int | None,
    rest: RestOfImage,
) -> str | None:
    """Read an image's header (never more than the cap) into `facts`.

    `first_range` is the length asked for by a ranged first request (None
    when the request was not ranged); when that range held only part of the
    header, `rest` asks for the remainder. Returns why the body could not be
    decoded, or None.
    """
    sniffer = ImageSniffer()
    prefix = await read_prefix(resp, cap, sniffer.enough)
    let_go(resp, prefix)
    data, wire = prefix.data, prefix.wire_bytes
    if prefix.error is not None:
        facts.bytes_read = wire
        return prefix.error
    if (
        first_range is not None
        and resp.status == 206
        and prefix.eof
        and len(data) == first_range < cap
        and sniffer.wants_more()
    ):
        data, wire = await _rest_of_image(rest, data, wire, cap, sniffer)
    facts.bytes_read = wire
    info = sniffer.info_for(data)
    if info is not None:
        facts.image_format = info.format
        facts.width = info.width
        facts.height = info.height
        facts.image_invalid = info.invalid
    return None


async def _rest_of_image(
    rest: RestOfImage, data: bytes, wire: int, cap: int, sniffer: ImageSniffer
) -> tuple[bytes, int]:
    """The first range held only part of the header: ask for the rest, up to the cap.

    Only a 206 that continues where the first range ended is used; the
    bytes read over both requests never exceed the cap.
    """
    start = len(data)
    resp = await rest(start)
    try:
        follows = resp.status == 206 and (resp.headers.get("Content-Range") or "").startswith(
            f"bytes {start}-"
        )
        if not follows:
            resp.close()
            return data, wire
        more = await read_prefix(
            resp, cap - wire, lambda buf, before: sniffer.enough(data + buf, before + start)
        )
        let_go(resp, more)
        if more.error is not None:  # the part already read stands on its own
            return data, wire + more.wire_bytes
    except BaseException:
        resp.close()
        raise
    return data + more.data, wire + more.wire_bytes


def let_go(resp: Response, prefix: Prefix) -> None:
    """Back to the pool when the body was read whole; else close the connection,
    never letting the rest of a 60 MB image be read."""
    if prefix.eof:
        resp.release()
    else:
        resp.close()
