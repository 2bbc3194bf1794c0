"""Tiny real images for tests that serve them."""

from __future__ import annotations

import struct
import zlib


def png(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk (valid CRC) with a little padding."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + b"\x00" * 64
    )
