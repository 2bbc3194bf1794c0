"""Pure: what a prefix says about an image (`ImageInfo`), and the byte readers
every format's reader shares."""

from __future__ import annotations

from dataclasses import dataclass

# Below this many bytes no format can be told apart reliably: a caller that
# got None from a shorter prefix of a longer body should read more.
MIN_SNIFF_BYTES = 32


# Not frozen: a frozen dataclass's __init__ sets each field by object.__setattr__,
# twice the instructions of a plain one, for one made per image checked.
@dataclass(slots=True)
class ImageInfo:
    """What the prefix says about an image.

    `needed` is a lower bound on the prefix length (bytes from the start of
    the file) at which another call could learn more; None when more bytes
    would not help (dimensions found, or the data is corrupt or of a format
    whose size we do not parse). A JPEG with a 40 KB EXIF block before its
    SOF marker answers `needed` just past that block.

    `invalid` says why the header breaks its format's spec in a way browsers
    refuse to decode ("width 0", "the first chunk is IDAT, not IHDR"); such
    an image has no size. None for a valid header, and for damage that a
    spec allows or that browsers decode anyway (a GIF's 0x0 screen, a JPEG
    whose height comes later in a DNL marker).
    """

    format: str
    width: int | None = None
    height: int | None = None
    complete: bool = False
    needed: int | None = None
    invalid: str | None = None


def done(fmt: str, width: int, height: int) -> ImageInfo:
    if width <= 0 or height <= 0:
        return ImageInfo(fmt)  # a zero or negative size is a corrupt header
    return ImageInfo(fmt, width, height, complete=True)


def more(fmt: str, needed: int) -> ImageInfo:
    return ImageInfo(fmt, needed=needed)


def invalid(fmt: str, why: str) -> ImageInfo:
    return ImageInfo(fmt, invalid=why)


def u16be(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 2], "big")


def u32be(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 4], "big")


def u16le(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 2], "little")


def u24le(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 3], "little")


def u32le(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 4], "little")
