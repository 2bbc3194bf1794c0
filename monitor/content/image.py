"""Pure: the format and pixel size of an image from a prefix of its bytes.

The engine never downloads whole images: it reads a capped prefix in chunks
and calls `sniff_image` after each one, stopping as soon as `complete` is
true or `needed` is None. Every format's reader (image_raster.py,
image_isobmff.py, image_svg.py) works on truncated input, and answers with
dimensions only when every byte it depends on was present, so a truncated
image is never reported with a wrong size.

Nothing here raises on garbage: unknown bytes give None, a recognised but
truncated or corrupt image gives an incomplete `ImageInfo`.
"""

from __future__ import annotations

import struct

from monitor.content.image_info import MIN_SNIFF_BYTES, ImageInfo
from monitor.content.image_isobmff import isobmff_info
from monitor.content.image_raster import (
    PNG_SIGNATURE,
    bmp_info,
    gif_info,
    ico_info,
    jpeg_info,
    png_info,
    webp_info,
)
from monitor.content.image_svg import svg_info

__all__ = ["MIN_SNIFF_BYTES", "ImageInfo", "sniff_image"]


# --- other formats, recognised without a size -------------------------------

_NAMED = (
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\xff\x0a", "jxl"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "jxl"),
)


def sniff_image(prefix: bytes | bytearray) -> ImageInfo | None:
    """Format and size of the image whose first bytes are `prefix`, or None.

    None means the bytes are not a recognised image (HTML served as an
    image, an empty body). An `ImageInfo` with `complete=False` names the
    format; its `needed` says whether reading further could give the size.
    """
    b = bytes(prefix)
    try:
        if b.startswith(PNG_SIGNATURE):
            return png_info(b)
        if b.startswith(b"\xff\xd8\xff"):
            return jpeg_info(b)
        if b[:6] in (b"GIF87a", b"GIF89a"):
            return gif_info(b)
        if b.startswith(b"RIFF") and b[8:12] == b"WEBP":
            return webp_info(b)
        if b[4:8] == b"ftyp":
            return isobmff_info(b)
        if b.startswith(b"BM"):
            return bmp_info(b)
        if b.startswith(b"\x00\x00\x01\x00") and len(b) >= 6:
            return ico_info(b)
        for magic, fmt in _NAMED:
            if b.startswith(magic):
                return ImageInfo(fmt)
        return svg_info(b[:65536])
    except (IndexError, struct.error, ValueError):  # pragma: no cover - defensive
        return None
