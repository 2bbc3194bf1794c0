"""Pure: the size an SVG image declares on its root element."""

from __future__ import annotations

import re
from functools import cache

from monitor.content.image_info import ImageInfo, done, more

# --- SVG -----------------------------------------------------------------

# Compiled at the first SVG seen, not at import (issue 16: 2 M instructions).


@cache
def _px() -> re.Pattern[str]:
    return re.compile(r"^\s*(\d+(?:\.0*)?)\s*(?:px)?\s*$")


@cache
def _attr() -> re.Pattern[str]:
    return re.compile(r"""([^\s=/>]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")


@cache
def _svg_root_tag() -> re.Pattern[bytes]:
    return re.compile(rb"<svg[\s>/]", re.IGNORECASE)


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
            return pos if _svg_root_tag().match(b, pos) else None
        if end < 0:
            return None
        pos = end + skip


def svg_info(b: bytes) -> ImageInfo | None:
    start = _svg_root(b)
    if start is None:
        return None
    close = b.find(b">", start)
    if close < 0:
        return more("svg", len(b) + 1)
    tag = b[start + 4 : close].decode("utf-8", "replace")
    attrs: dict[str, str] = {}
    for m in _attr().finditer(tag):
        attrs.setdefault(m.group(1).lower(), m.group(2) or m.group(3) or m.group(4) or "")
    width, height = _svg_length(attrs.get("width")), _svg_length(attrs.get("height"))
    if width is None or height is None:
        return ImageInfo("svg", width, height)
    return done("svg", width, height)


def _svg_length(value: str | None) -> int | None:
    """A user-unit length ("120", "120px", "120.0"); units and % give None."""
    if value is None:
        return None
    m = _px().match(value)
    if m is None:
        return None
    number = int(float(m.group(1)))
    return number if number > 0 else None
