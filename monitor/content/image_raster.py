"""Pure: the size of the classic binary image formats (PNG, GIF, BMP, ICO, JPEG,
WebP) from a prefix of their bytes."""

from __future__ import annotations

import struct
from zlib import crc32

from monitor.content.image_info import (
    ImageInfo,
    done,
    invalid,
    more,
    u16be,
    u16le,
    u24le,
    u32le,
)

# --- PNG -----------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_MAX = 2**31 - 1  # W3C PNG 11.2.2: a width or height is 1 to 2^31-1
# from the chunk's length on: length, type, width, height, bit depth, colour
# type, compression, filter and interlace methods, CRC
_IHDR = struct.Struct(">I4sIIBBBBBI")
# colour type → the bit depths PNG 11.2.2 (table 11.1) allows for it
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


def png_info(b: bytes) -> ImageInfo:
    """The IHDR chunk, which must come first: length (13), type, width,
    height, bit depth, colour type, compression, filter, interlace, CRC.

    A header that breaks PNG 11.2.2 is `invalid` (libpng, and so every
    browser, refuses it), checked in libpng's order: the first chunk's type,
    its length, its CRC, then the values.
    """
    if len(b) < 33:
        if len(b) >= 16 and b[12:16] != b"IHDR":
            return invalid("png", f"the first chunk is {_chunk_name(b[12:16])}, not IHDR")
        return more("png", 16 if len(b) < 16 else 33)
    length, kind, width, height, depth, colour, compression, filtering, interlace, crc = (
        _IHDR.unpack_from(b, 8)
    )
    if kind != b"IHDR":
        return invalid("png", f"the first chunk is {_chunk_name(kind)}, not IHDR")
    if length != 13:
        return invalid("png", f"IHDR length {length}, not 13")
    if crc32(b[12:29]) != crc:
        return invalid("png", "IHDR CRC does not match its bytes")
    if not (0 < width <= _PNG_MAX and 0 < height <= _PNG_MAX):
        bad = [_png_size(n, v) for n, v in (("width", width), ("height", height))]
        return invalid("png", " and ".join(x for x in bad if x))
    if depth not in _PNG_DEPTHS.get(colour, ()):
        return invalid("png", f"colour type {colour} with bit depth {depth}")
    if compression:
        return invalid("png", f"compression method {compression} (only 0 is defined)")
    if filtering:
        return invalid("png", f"filter method {filtering} (only 0 is defined)")
    if interlace > 1:
        return invalid("png", f"interlace method {interlace} (only 0 and 1 are defined)")
    return done("png", width, height)


def _png_size(name: str, value: int) -> str:
    if value == 0:
        return f"{name} 0"
    return f"{name} {value} (over 2^31-1)" if value > _PNG_MAX else ""


def _chunk_name(kind: bytes) -> str:
    """A chunk type as written when it is four ASCII letters, else in hex."""
    if kind.isalpha() and kind.isascii():
        return kind.decode("ascii")
    return "0x" + kind.hex()


# --- GIF -----------------------------------------------------------------


def gif_info(b: bytes) -> ImageInfo:
    # logical screen descriptor right after the 6-byte header
    if len(b) < 10:
        return more("gif", 10)
    return done("gif", u16le(b, 6), u16le(b, 8))


# --- BMP -----------------------------------------------------------------

_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


def bmp_info(b: bytes) -> ImageInfo | None:
    if len(b) < 18:
        return more("bmp", 26)
    dib = u32le(b, 14)
    if dib not in _BMP_DIB_SIZES:
        return None  # "BM" alone is too weak a magic to claim the format
    if dib == 12:  # BITMAPCOREHEADER: 16-bit unsigned sizes
        if len(b) < 22:
            return more("bmp", 22)
        return done("bmp", u16le(b, 18), u16le(b, 20))
    if len(b) < 26:
        return more("bmp", 26)
    width, height = struct.unpack_from("<ii", b, 18)
    return done("bmp", width, abs(height))  # negative height: top-down rows


# --- ICO -----------------------------------------------------------------


def ico_info(b: bytes) -> ImageInfo | None:
    count = u16le(b, 4)
    if count == 0:
        return None
    end = 6 + 16 * count
    if len(b) < end:
        return more("ico", end)
    best = (0, 0)
    for i in range(count):
        e = 6 + 16 * i
        if b[e + 3] != 0:  # reserved byte
            return ImageInfo("ico")
        w, h = b[e] or 256, b[e + 1] or 256
        best = max(best, (w, h), key=lambda s: s[0] * s[1])
    return done("ico", *best)


# --- JPEG ----------------------------------------------------------------

# SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share
# the range but are not frames.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RSTn: no length


def jpeg_info(b: bytes) -> ImageInfo:
    pos = 2
    n = len(b)
    while True:
        if pos >= n:
            return more("jpeg", pos + 4)
        if b[pos] != 0xFF:
            return ImageInfo("jpeg")  # not at a marker: corrupt stream
        while pos < n and b[pos] == 0xFF:  # fill bytes may pad any marker
            pos += 1
        if pos >= n:
            return more("jpeg", pos + 3)
        marker = b[pos]
        pos += 1
        if marker in _STANDALONE:
            continue
        if marker in (0x00, 0xD8, 0xD9, 0xDA):
            # stuffed zero, a second SOI, EOI or scan data before any frame
            return ImageInfo("jpeg")
        if pos + 2 > n:
            return more("jpeg", pos + 2)
        length = u16be(b, pos)
        if length < 2:
            return ImageInfo("jpeg")
        if marker in _SOF:
            # length, precision (1), height (2), width (2)
            if length < 7:
                return ImageInfo("jpeg")
            if pos + 7 > n:
                return more("jpeg", pos + 7)
            height, width = u16be(b, pos + 3), u16be(b, pos + 5)
            if width == 0:  # T.81 B.2.2: X is 1-65535 (Y may be 0: a DNL gives it)
                return invalid("jpeg", "width 0")
            if height == 0:
                # height defined later by a DNL marker: width only
                return ImageInfo("jpeg", width, None)
            return done("jpeg", width, height)
        pos += length  # skip APPn (EXIF, ICC, XMP), DQT, DHT, COM, ...


# --- WebP ----------------------------------------------------------------


def webp_info(b: bytes) -> ImageInfo:
    if len(b) < 30:
        need = 30
        if len(b) >= 16:
            chunk = b[12:16]
            if chunk == b"VP8L":
                need = 25
            elif chunk not in (b"VP8 ", b"VP8X"):
                return ImageInfo("webp")
        if len(b) < need:
            return more("webp", need)
    # what RFC 9649 (and RFC 6386 for VP8) says MUST be, and libwebp refuses
    chunk = b[12:16]
    if chunk == b"VP8 ":
        # frame tag (3 bytes), start code, then 14-bit sizes (2 bits of scale)
        if b[23:26] != b"\x9d\x01\x2a":
            return invalid("webp", "VP8 frame without its start code 9d 01 2a")
        return done("webp", u16le(b, 26) & 0x3FFF, u16le(b, 28) & 0x3FFF)
    if chunk == b"VP8L":
        if b[20] != 0x2F:
            return invalid("webp", f"VP8L signature 0x{b[20]:02x}, not 0x2f")
        bits = u32le(b, 21)
        if bits >> 29:
            return invalid("webp", f"VP8L version {bits >> 29} (only 0 is defined)")
        return done("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        # flags (4 bytes), then canvas width-1 and height-1 as 24-bit values
        width, height = u24le(b, 24) + 1, u24le(b, 27) + 1
        if width * height > 0xFFFFFFFF:
            return invalid("webp", f"canvas {width}x{height} is over 2^32-1 pixels")
        return done("webp", width, height)
    return ImageInfo("webp")
