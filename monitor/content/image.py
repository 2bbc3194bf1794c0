"""Pure: the format and pixel size of an image from a prefix of its bytes.

The engine never downloads whole images: it reads a capped prefix in chunks
and calls `sniff_image` after each one, stopping as soon as `complete` is
true or `needed` is None. Every parser here therefore works on truncated
input, and answers with dimensions only when every byte they depend on was
present, so a truncated image is never reported with a wrong size.

Nothing here raises on garbage: unknown bytes give None, a recognised but
truncated or corrupt image gives an incomplete `ImageInfo`.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

# Below this many bytes no format can be told apart reliably: a caller that
# got None from a shorter prefix of a longer body should read more.
MIN_SNIFF_BYTES = 32


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the prefix says about an image.

    `needed` is a lower bound on the prefix length (bytes from the start of
    the file) at which another call could learn more; None when more bytes
    would not help (dimensions found, or the data is corrupt or of a format
    whose size we do not parse). A JPEG with a 40 KB EXIF block before its
    SOF marker answers `needed` just past that block.
    """

    format: str
    width: int | None = None
    height: int | None = None
    complete: bool = False
    needed: int | None = None


def _done(fmt: str, width: int, height: int) -> ImageInfo:
    if width <= 0 or height <= 0:
        return ImageInfo(fmt)  # a zero or negative size is a corrupt header
    return ImageInfo(fmt, width, height, complete=True)


def _more(fmt: str, needed: int) -> ImageInfo:
    return ImageInfo(fmt, needed=needed)


def _u16be(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 2], "big")


def _u32be(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 4], "big")


def _u16le(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 2], "little")


def _u24le(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 3], "little")


def _u32le(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 4], "little")


# --- PNG -----------------------------------------------------------------

_PNG_SIG = b"\x89PNG\r\n\x1a\n"


def _png(b: bytes) -> ImageInfo:
    # signature, then the IHDR chunk: length (13), type, width, height
    if len(b) < 24:
        return _more("png", 24)
    if b[12:16] != b"IHDR":
        return ImageInfo("png")
    return _done("png", _u32be(b, 16), _u32be(b, 20))


# --- GIF -----------------------------------------------------------------


def _gif(b: bytes) -> ImageInfo:
    # logical screen descriptor right after the 6-byte header
    if len(b) < 10:
        return _more("gif", 10)
    return _done("gif", _u16le(b, 6), _u16le(b, 8))


# --- BMP -----------------------------------------------------------------

_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


def _bmp(b: bytes) -> ImageInfo | None:
    if len(b) < 18:
        return _more("bmp", 26)
    dib = _u32le(b, 14)
    if dib not in _BMP_DIB_SIZES:
        return None  # "BM" alone is too weak a magic to claim the format
    if dib == 12:  # BITMAPCOREHEADER: 16-bit unsigned sizes
        if len(b) < 22:
            return _more("bmp", 22)
        return _done("bmp", _u16le(b, 18), _u16le(b, 20))
    if len(b) < 26:
        return _more("bmp", 26)
    width, height = struct.unpack_from("<ii", b, 18)
    return _done("bmp", width, abs(height))  # negative height: top-down rows


# --- ICO -----------------------------------------------------------------


def _ico(b: bytes) -> ImageInfo | None:
    count = _u16le(b, 4)
    if count == 0:
        return None
    end = 6 + 16 * count
    if len(b) < end:
        return _more("ico", end)
    best = (0, 0)
    for i in range(count):
        e = 6 + 16 * i
        if b[e + 3] != 0:  # reserved byte
            return ImageInfo("ico")
        w, h = b[e] or 256, b[e + 1] or 256
        best = max(best, (w, h), key=lambda s: s[0] * s[1])
    return _done("ico", *best)


# --- JPEG ----------------------------------------------------------------

# SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share
# the range but are not frames.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RSTn: no length


def _jpeg(b: bytes) -> ImageInfo:
    pos = 2
    n = len(b)
    while True:
        if pos >= n:
            return _more("jpeg", pos + 4)
        if b[pos] != 0xFF:
            return ImageInfo("jpeg")  # not at a marker: corrupt stream
        while pos < n and b[pos] == 0xFF:  # fill bytes may pad any marker
            pos += 1
        if pos >= n:
            return _more("jpeg", pos + 3)
        marker = b[pos]
        pos += 1
        if marker in _STANDALONE:
            continue
        if marker in (0x00, 0xD8, 0xD9, 0xDA):
            # stuffed zero, a second SOI, EOI or scan data before any frame
            return ImageInfo("jpeg")
        if pos + 2 > n:
            return _more("jpeg", pos + 2)
        length = _u16be(b, pos)
        if length < 2:
            return ImageInfo("jpeg")
        if marker in _SOF:
            # length, precision (1), height (2), width (2)
            if length < 7:
                return ImageInfo("jpeg")
            if pos + 7 > n:
                return _more("jpeg", pos + 7)
            height, width = _u16be(b, pos + 3), _u16be(b, pos + 5)
            if height == 0:
                # height defined later by a DNL marker: width only
                return ImageInfo("jpeg", width or None, None)
            return _done("jpeg", width, height)
        pos += length  # skip APPn (EXIF, ICC, XMP), DQT, DHT, COM, ...


# --- WebP ----------------------------------------------------------------


def _webp(b: bytes) -> ImageInfo:
    if len(b) < 30:
        need = 30
        if len(b) >= 16:
            chunk = b[12:16]
            if chunk == b"VP8L":
                need = 25
            elif chunk not in (b"VP8 ", b"VP8X"):
                return ImageInfo("webp")
        if len(b) < need:
            return _more("webp", need)
    chunk = b[12:16]
    if chunk == b"VP8 ":
        # frame tag (3 bytes), start code, then 14-bit sizes (2 bits of scale)
        if b[23:26] != b"\x9d\x01\x2a":
            return ImageInfo("webp")
        return _done("webp", _u16le(b, 26) & 0x3FFF, _u16le(b, 28) & 0x3FFF)
    if chunk == b"VP8L":
        if b[20] != 0x2F:
            return ImageInfo("webp")
        bits = _u32le(b, 21)
        return _done("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        # flags (4 bytes), then canvas width-1 and height-1 as 24-bit values
        return _done("webp", _u24le(b, 24) + 1, _u24le(b, 27) + 1)
    return ImageInfo("webp")


# --- AVIF / HEIF (ISO base media file format) ------------------------------

_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})


class _Short(Exception):
    """The box tree runs past the prefix: read up to `needed` and retry."""

    def __init__(self, needed: int) -> None:
        self.needed = needed


class _Bad(Exception):
    """The box tree is malformed."""


def _boxes(b: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) for each box in b[start:end].

    `end` may lie past the prefix; a box is yielded as soon as its header
    is present, so callers decide whether they need its payload.
    """
    pos = start
    while pos < end:
        if pos + 8 > len(b):
            raise _Short(pos + 16)
        size = _u32be(b, pos)
        kind = b[pos + 4 : pos + 8]
        header = 8
        if size == 1:
            if pos + 16 > len(b):
                raise _Short(pos + 16)
            size = int.from_bytes(b[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:
            size = end - pos  # extends to the end of its parent
        if size < header or pos + size > end:
            raise _Bad
        yield kind, pos + header, pos + size
        pos += size


def _need(b: bytes, end: int) -> None:
    if end > len(b):
        raise _Short(end)


def _isobmff_size(b: bytes, end: int) -> tuple[int, int] | None:
    """Size of the primary item from meta/pitm, iprp/ipco/ispe and ipma."""
    for kind, body, box_end in _boxes(b, 0, end):
        if kind != b"meta":
            continue
        _need(b, box_end)  # parse only a complete meta box: no half answers
        primary: int | None = None
        props: list[tuple[bytes, int, int]] = []
        assoc: dict[int, list[int]] = {}
        for k, kb, ke in _boxes(b, body + 4, box_end):  # meta is a full box
            if k == b"pitm":
                primary = _u16be(b, kb + 4) if b[kb] == 0 else _u32be(b, kb + 4)
            elif k == b"iprp":
                for k2, kb2, ke2 in _boxes(b, kb, ke):
                    if k2 == b"ipco":
                        props = list(_boxes(b, kb2, ke2))
                    elif k2 == b"ipma":
                        assoc.update(_ipma(b, kb2, ke2))
        sizes = [(i, kb) for i, (k, kb, _) in enumerate(props, 1) if k == b"ispe"]
        if not sizes:
            return None
        chosen = assoc.get(primary, []) if primary is not None else []
        indexes = {i for i, _ in sizes} & set(chosen)
        if indexes:
            idx = next(i for i in chosen if i in indexes)
            kb = dict(sizes)[idx]
        elif assoc and primary is not None:
            return None  # the primary item has no size: don't guess a thumbnail's
        else:
            kb = sizes[0][1]
        if kb + 12 > len(b):
            raise _Bad
        width, height = _u32be(b, kb + 4), _u32be(b, kb + 8)
        rotations = [
            b[props[i - 1][1]] & 3
            for i in chosen
            if 0 < i <= len(props) and props[i - 1][0] == b"irot"
        ]
        if rotations and rotations[0] in (1, 3):
            width, height = height, width  # displayed size after a quarter turn
        return width, height
    return None


def _ipma(b: bytes, start: int, end: int) -> Iterator[tuple[int, list[int]]]:
    """item id → property indexes (1-based), in association order."""
    version, flags = b[start], _u32be(b, start) & 0xFFFFFF
    pos = start + 4
    count = _u32be(b, pos)
    pos += 4
    for _ in range(count):
        if pos + (3 if version < 1 else 5) > end:
            raise _Bad
        if version < 1:
            item, pos = _u16be(b, pos), pos + 2
        else:
            item, pos = _u32be(b, pos), pos + 4
        n = b[pos]
        pos += 1
        indexes = []
        for _ in range(n):
            if flags & 1:
                indexes.append(_u16be(b, pos) & 0x7FFF)
                pos += 2
            else:
                indexes.append(b[pos] & 0x7F)
                pos += 1
        if pos > end:
            raise _Bad
        yield item, indexes


def _isobmff(b: bytes) -> ImageInfo | None:
    ftyp_size = _u32be(b, 0)
    if ftyp_size < 16 or ftyp_size > 4096:
        return None
    if len(b) < ftyp_size:
        head = b[8:12]
        if head in _AVIF_BRANDS or head in _HEIC_BRANDS or head in _HEIF_BRANDS:
            return _more(_isobmff_format({head}), ftyp_size)
        return None
    brands = {b[8:12]} | {b[i : i + 4] for i in range(16, ftyp_size - 3, 4)}
    if not brands & (_AVIF_BRANDS | _HEIC_BRANDS | _HEIF_BRANDS):
        return None  # an MP4 video or another ISO BMFF file
    fmt = _isobmff_format(brands)
    try:
        size = _isobmff_size(b, 1 << 62)
    except _Short as short:
        return _more(fmt, short.needed)
    except (_Bad, IndexError):
        return ImageInfo(fmt)
    if size is None:
        return ImageInfo(fmt)
    return _done(fmt, *size)


def _isobmff_format(brands: set[bytes]) -> str:
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & _HEIC_BRANDS:
        return "heic"
    return "heif"


# --- SVG -----------------------------------------------------------------

_PX = re.compile(r"^\s*(\d+(?:\.0*)?)\s*(?:px)?\s*$")
_ATTR = re.compile(r"""([^\s=/>]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_SVG_ROOT = re.compile(rb"<svg[\s>/]", re.IGNORECASE)


def _svg_root(b: bytes) -> int | None:
    """Offset of the root `<svg`, after the XML declaration, comments, doctype."""
    pos = 3 if b.startswith(b"\xef\xbb\xbf") else 0
    while True:
        while pos < len(b) and b[pos] in b" \t\r\n":
            pos += 1
        if b.startswith(b"<?", pos):
            end = b.find(b"?>", pos)
            skip = 2
        elif b.startswith(b"<!--", pos):
            end = b.find(b"-->", pos + 4)
            skip = 3
        elif b[pos : pos + 9].lower() == b"<!doctype":
            close = b.find(b">", pos)
            bracket = b.find(b"[", pos, close if close >= 0 else len(b))
            end, skip = (b.find(b"]>", bracket), 2) if bracket >= 0 else (close, 1)
        else:
            return pos if _SVG_ROOT.match(b, pos) else None
        if end < 0:
            return None
        pos = end + skip


def _svg(b: bytes) -> ImageInfo | None:
    start = _svg_root(b)
    if start is None:
        return None
    close = b.find(b">", start)
    if close < 0:
        return _more("svg", len(b) + 1)
    tag = b[start + 4 : close].decode("utf-8", "replace")
    attrs: dict[str, str] = {}
    for m in _ATTR.finditer(tag):
        attrs.setdefault(m.group(1).lower(), m.group(2) or m.group(3) or m.group(4) or "")
    width, height = _svg_length(attrs.get("width")), _svg_length(attrs.get("height"))
    if width is None or height is None:
        return ImageInfo("svg", width, height)
    return _done("svg", width, height)


def _svg_length(value: str | None) -> int | None:
    """A user-unit length ("120", "120px", "120.0"); units and % give None."""
    if value is None:
        return None
    m = _PX.match(value)
    if m is None:
        return None
    number = int(float(m.group(1)))
    return number if number > 0 else None


# --- other formats, recognised without a size -------------------------------

_NAMED = (
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\xff\x0a", "jxl"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "jxl"),
)


def sniff_image(prefix: bytes) -> ImageInfo | None:
    """Format and size of the image whose first bytes are `prefix`, or None.

    None means the bytes are not a recognised image (HTML served as an
    image, an empty body). An `ImageInfo` with `complete=False` names the
    format; its `needed` says whether reading further could give the size.
    """
    b = bytes(prefix)
    try:
        if b.startswith(_PNG_SIG):
            return _png(b)
        if b.startswith(b"\xff\xd8\xff"):
            return _jpeg(b)
        if b[:6] in (b"GIF87a", b"GIF89a"):
            return _gif(b)
        if b.startswith(b"RIFF") and b[8:12] == b"WEBP":
            return _webp(b)
        if b[4:8] == b"ftyp":
            return _isobmff(b)
        if b.startswith(b"BM"):
            return _bmp(b)
        if b.startswith(b"\x00\x00\x01\x00") and len(b) >= 6:
            return _ico(b)
        for magic, fmt in _NAMED:
            if b.startswith(magic):
                return ImageInfo(fmt)
        return _svg(b[:65536])
    except (IndexError, struct.error, ValueError):  # pragma: no cover - defensive
        return None
