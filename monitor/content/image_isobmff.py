"""Pure: the size of an AVIF or HEIF image (ISO base media file format boxes)
from a prefix of its bytes."""

from __future__ import annotations

from collections.abc import Iterator

from monitor.content.image_info import ImageInfo, done, more, u16be, u32be

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
        size = u32be(b, pos)
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
                primary = u16be(b, kb + 4) if b[kb] == 0 else u32be(b, kb + 4)
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
        width, height = u32be(b, kb + 4), u32be(b, kb + 8)
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
    version, flags = b[start], u32be(b, start) & 0xFFFFFF
    pos = start + 4
    count = u32be(b, pos)
    pos += 4
    for _ in range(count):
        if pos + (3 if version < 1 else 5) > end:
            raise _Bad
        if version < 1:
            item, pos = u16be(b, pos), pos + 2
        else:
            item, pos = u32be(b, pos), pos + 4
        n = b[pos]
        pos += 1
        indexes = []
        for _ in range(n):
            if flags & 1:
                indexes.append(u16be(b, pos) & 0x7FFF)
                pos += 2
            else:
                indexes.append(b[pos] & 0x7F)
                pos += 1
        if pos > end:
            raise _Bad
        yield item, indexes


def isobmff_info(b: bytes) -> ImageInfo | None:
    ftyp_size = u32be(b, 0)
    if ftyp_size < 16 or ftyp_size > 4096:
        return None
    if len(b) < ftyp_size:
        head = b[8:12]
        if head in _AVIF_BRANDS or head in _HEIC_BRANDS or head in _HEIF_BRANDS:
            return more(_isobmff_format({head}), ftyp_size)
        return None
    brands = {b[8:12]} | {b[i : i + 4] for i in range(16, ftyp_size - 3, 4)}
    if not brands & (_AVIF_BRANDS | _HEIC_BRANDS | _HEIF_BRANDS):
        return None  # an MP4 video or another ISO BMFF file
    fmt = _isobmff_format(brands)
    try:
        size = _isobmff_size(b, 1 << 62)
    except _Short as short:
        return more(fmt, short.needed)
    except (_Bad, IndexError):
        return ImageInfo(fmt)
    if size is None:
        return ImageInfo(fmt)
    return done(fmt, *size)


def _isobmff_format(brands: set[bytes]) -> str:
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & _HEIC_BRANDS:
        return "heic"
    return "heif"
