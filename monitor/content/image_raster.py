"""Pure: the size of the classic binary image formats (PNG, GIF, BMP, ICO, JPEG,
WebP) from a prefix of their bytes."""

from __future__ import annotations

import struct

from monitor.content.image_info import ImageInfo, done, more, u16be, u16le, u24le, u32be, u32le

# --- PNG -----------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_info(b: bytes) -> ImageInfo:
    # signature, then the IHDR chunk: length (13), type, width, height
    if len(b) < 24:
        return more("png", 24)
    if b[12:16] != b"IHDR":
        return ImageInfo("png")
    return done("png", u32be(b, 16), u32be(b, 20))


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
            if height == 0:
                # height defined later by a DNL marker: width only
                return ImageInfo("jpeg", width or None, None)
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
    chunk = b[12:16]
    if chunk == b"VP8 ":
        # frame tag (3 bytes), start code, then 14-bit sizes (2 bits of scale)
        if b[23:26] != b"\x9d\x01\x2a":
            return ImageInfo("webp")
        return done("webp", u16le(b, 26) & 0x3FFF, u16le(b, 28) & 0x3FFF)
    if chunk == b"VP8L":
        if b[20] != 0x2F:
            return ImageInfo("webp")
        bits = u32le(b, 21)
        return done("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        # flags (4 bytes), then canvas width-1 and height-1 as 24-bit values
        return done("webp", u24le(b, 24) + 1, u24le(b, 27) + 1)
    return ImageInfo("webp")
