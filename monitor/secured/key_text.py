"""What key settings and key text look like: kids, `KID=PATH`, the text forms of an
AES-256 key, and key material where a file name was expected (never to be echoed).

Pure: no file is read here beyond asking whether a named path exists; the key
files themselves are `keys`'s.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path
from typing import Final

from monitor.config import ConfigError

ENV_KEY: Final = "ARTICLE_MONITOR_KEY"
KEY_BYTES: Final = 32
KID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
KID_RULE: Final = "a kid is 1-64 ASCII letters, digits, '-' or '_'"
# `KID=PATH`, possibly behind a directory the config loader prefixed
# (`/etc/monitor/new=keys/a.key` from `key_file = ["new=keys/a.key"]`). The kid
# part is matched loosely so a bad kid is reported as one, not as a missing file.
_KID_SPEC_RE: Final = re.compile(r"(?P<dir>[^=]*/)?(?P<kid>[^/=]*)=(?P<rest>.*)", re.S)
KEY_TEXT_FORMS: Final = (
    f"64 hex digits or the base64 of {KEY_BYTES} bytes (make one with `article-monitor keygen`)"
)
_UTF8_BOM: Final = b"\xef\xbb\xbf"
_HEX_RE: Final = re.compile(r"[0-9A-Fa-f]{64}")
_B64_RE: Final = re.compile(r"[A-Za-z0-9+/_-]{43}=?")


def kid_for_path(path: Path) -> str:
    """The default kid: the file name up to its first dot."""
    return path.name.split(".", 1)[0]


_NEAR_HEX: Final = re.compile(r"[0-9A-Fa-f]{48,}")
_NEAR_B64: Final = re.compile(r"[A-Za-z0-9+/_-]{38,}={0,2}")


def _near_key(text: str) -> bool:
    """Most of a key, cut short or run on (a paste missing a character): echoed in "not
    found", it gave away all but a few bits. A long name with no dot or space, in mixed
    case with digits (or 26 different characters), is not a file name anyone types."""
    if _NEAR_HEX.fullmatch(text):
        return True
    if _NEAR_B64.fullmatch(text) is None:
        return False
    classes = sum(any(test(c) for c in text) for test in (str.isdigit, str.isupper, str.islower))
    return classes == 3 or (classes == 2 and len(set(text)) >= 26)


def looks_like_key(text: str) -> bool:
    """Key material where a file name was expected (it must then never be echoed):
    the whole text, what follows `KID=`, or what follows a directory the config
    loader put before it."""
    after = text.partition("=")[2]  # KID=KEY
    return "-----BEGIN" in text or any(
        parse_symmetric_text(part.encode("utf-8", "replace")) is not None or _near_key(part)
        for part in (*_past_folders(text), after)
    )


def _past_folders(text: str) -> list[str]:
    """The parts of `text` a key may be: what follows each `/` from the deepest
    folder that exists on (the config loader's, or none: then the whole text too).
    The folders that exist are a path's own names, not key material: a file
    missing from `/tmp/pytest-of-root/pytest-134/popen-gw0/test_x0/` looked like
    most of a base64 key (a run of its alphabet, 26 different characters) and its
    name was hidden from "not found"."""
    cuts = [i for i, ch in enumerate(text) if ch == "/"]
    start = next((i for i in reversed(cuts) if os.path.isdir(text[:i] or "/")), None)
    if start is None:
        return [text, *(text[i + 1 :] for i in cuts)]
    return [text[i + 1 :] for i in cuts if i >= start]


def parse_key_spec(spec: Path | str) -> tuple[str, Path]:
    """`PATH` or `KID=PATH` -> (kid, path). A file that exists by the literal name wins."""
    text = str(spec)
    if not text.strip():
        raise ConfigError("an empty key file name: give a key file's path, or KID=PATH")
    path = Path(text)
    if path.exists():
        match = None
    else:
        if looks_like_key(text):
            raise ConfigError(
                "a key file setting holds what looks like a key itself, not a file name "
                f"(not shown): put the key in a file (mode 0600) and name that, or set {ENV_KEY}"
            )
        match = _KID_SPEC_RE.fullmatch(text)
    if match is not None:
        kid, rest = match["kid"], match["rest"]
        if not KID_RE.fullmatch(kid):
            raise ConfigError(
                f"{text}: invalid kid {kid!r} before '=' ({KID_RULE}); name a key with "
                "KID=PATH (and if this is meant as a file name: no such file)"
            )
        if not rest:
            raise ConfigError(f"{text}: no file name after '{kid}=': give KID=PATH")
        path = Path(rest) if os.path.isabs(rest) or not match["dir"] else Path(match["dir"]) / rest
        return kid, path
    kid = kid_for_path(path)
    if not KID_RE.fullmatch(kid):
        if text in ("", "."):  # click turns an empty --key-file into "."
            raise ConfigError("an empty key file name: give a key file's path, or KID=PATH")
        if not os.path.lexists(path):
            raise ConfigError(f"key file not found: {path}")
        raise ConfigError(
            f"{path}: cannot take a kid from the file name ({kid!r}: {KID_RULE}); "
            "name it with --key-file KID=PATH"
        )
    return kid, path


def parse_symmetric_text(data: bytes) -> bytes | None:
    """64 hex digits, or base64/base64url of 32 bytes, whitespace around ignored."""
    text = data.strip().removeprefix(_UTF8_BOM).strip()
    try:
        ascii_text = text.decode("ascii")
    except UnicodeDecodeError:
        return None
    if _HEX_RE.fullmatch(ascii_text):
        return bytes.fromhex(ascii_text)
    if _B64_RE.fullmatch(ascii_text):
        body = ascii_text.rstrip("=").replace("-", "+").replace("_", "/")
        try:
            decoded = base64.b64decode(body + "=", validate=True)
        except (binascii.Error, ValueError):
            return None
        return decoded if len(decoded) == KEY_BYTES else None
    return None
