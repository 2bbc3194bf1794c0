"""Pure: the text of a page prefix, decoded as a browser would pick its charset."""

from __future__ import annotations

import codecs
import functools
import re

_META_CHARSET = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@functools.lru_cache(maxsize=64)  # pure, and pages name a handful of charsets
def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None
    # HTML: a page declaring UTF-16 in ASCII-compatible bytes is really UTF-8
    if codec.startswith("utf-16") or codec.startswith("utf-32"):
        return "utf-8"
    return codec


def decode(prefix: bytes, charset: str | None = None) -> str:
    """Text of a page prefix: BOM, else the transport charset, else <meta charset>,
    else UTF-8; undecodable bytes (a character cut by the prefix) are replaced."""
    for bom, name in _BOMS:
        if prefix.startswith(bom):
            return prefix[len(bom) :].decode(name, "replace")
    codec = _codec(charset)
    if codec is None:
        found = _META_CHARSET.search(prefix[:4096])
        codec = _codec(found.group(1).decode("ascii")) if found else None
    try:
        return prefix.decode(codec or "utf-8", "replace")
    except LookupError:  # pragma: no cover - _codec validated it
        return prefix.decode("utf-8", "replace")
