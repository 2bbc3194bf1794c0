"""Pure: the text of a page prefix, decoded as a browser would pick its charset."""

from __future__ import annotations

import codecs
import re
from functools import cache


@cache
def _meta_charset() -> re.Pattern[bytes]:
    """Compiled at the first prefix without a transport charset, not at import (issue 16)."""
    return re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _web_labels() -> dict[str, str]:
    """The WHATWG Encoding Standard's labels (https://encoding.spec.whatwg.org/)
    mapped to Python codecs. Only these name a page's encoding: any other
    Python codec name (punycode, idna, unicode_escape, undefined…) would let a
    server pick a decoder that is superlinear or raises."""
    labels: dict[str, str] = {}

    def add(codec: str, *names: str) -> None:
        labels.update(dict.fromkeys(names, codec))

    add("utf-8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8")
    add("utf-8", "x-unicode20utf8")
    add("cp866", "866", "cp866", "csibm866", "ibm866")
    latin = {2: 2, 3: 3, 4: 4, 9: 5, 10: 6, 13: 7, 14: 8, 15: 9, 16: 10}  # 8859-N: latinM
    for n in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16):
        add(f"iso8859-{n}", f"iso-8859-{n}", f"iso8859-{n}", f"iso8859{n}", f"iso_8859-{n}")
        if n in latin:
            add(f"iso8859-{n}", f"csisolatin{latin[n]}", f"latin{latin[n]}", f"l{latin[n]}")
    add("iso8859-5", "cyrillic", "csisolatincyrillic")
    add("iso8859-6", "arabic", "asmo-708", "ecma-114", "csisolatinarabic")
    add("iso8859-7", "greek", "greek8", "elot_928", "ecma-118", "csisolatingreek")
    add("iso8859-8", "hebrew", "visual", "iso-8859-8-i", "csiso88598i", "logical")
    add("koi8-r", "cskoi8r", "koi", "koi8", "koi8-r", "koi8_r")
    add("koi8-u", "koi8-ru", "koi8-u")
    add("mac-roman", "csmacintosh", "mac", "macintosh", "x-mac-roman")
    add("cp874", "dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874")
    for n in range(1250, 1259):
        add(f"cp{n}", f"cp{n}", f"windows-{n}", f"x-cp{n}")
    add(
        "cp1252",
        "ansi_x3.4-1968", "ascii", "cp819", "csisolatin1", "ibm819", "iso-8859-1",
        "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1",
        "latin1", "us-ascii",
    )  # fmt: skip
    add("cp1254", "iso-8859-9", "iso8859-9", "iso88599", "iso_8859-9", "latin5", "l5")
    add("mac-cyrillic", "x-mac-cyrillic", "x-mac-ukrainian")
    add("gbk", "chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80")
    add("gbk", "gbk", "iso-ir-58", "x-gbk")
    add("gb18030", "gb18030")
    add("big5hkscs", "big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5")
    add("euc_jp", "cseucpkdfmtjapanese", "euc-jp", "x-euc-jp")
    add("iso2022_jp", "csiso2022jp", "iso-2022-jp")
    add("cp932", "csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis")
    add("cp932", "windows-31j", "x-sjis")
    add("cp949", "cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987")
    add("cp949", "ks_c_5601-1989", "ksc5601", "ksc_5601", "windows-949")
    # HTML: a page declaring UTF-16 in ASCII-compatible bytes is really UTF-8
    add("utf-8", "unicodefffe", "utf-16be", "csunicode", "iso-10646-ucs-2", "ucs-2")
    add("utf-8", "unicode", "unicodefeff", "utf-16", "utf-16le")
    return labels


_WEB_LABELS = _web_labels()


def _codec(name: str | None) -> str | None:
    """The Python codec of a web encoding label, or None (not a web encoding)."""
    if not name:
        return None
    return _WEB_LABELS.get(name.strip().strip("\"'").strip().lower())


def decode(prefix: bytes, charset: str | None = None) -> str:
    """Text of a page prefix: BOM, else the transport charset, else <meta charset>,
    else UTF-8; undecodable bytes (a character cut by the prefix) are replaced."""
    for bom, name in _BOMS:
        if prefix.startswith(bom):
            return prefix[len(bom) :].decode(name, "replace")
    codec = _codec(charset)
    if codec is None:
        found = _meta_charset().search(prefix[:4096])
        codec = _codec(found.group(1).decode("ascii")) if found else None
    try:
        return prefix.decode(codec or "utf-8", "replace")
    except (LookupError, UnicodeError):  # a stateful codec cut mid-sequence
        return prefix.decode("utf-8", "replace")
