"""A check's error as the daemon stores it (`targets.last_error`, `transitions.error`).

The error is one line a server may have influenced (a reason phrase, a redirect's
host, a TLS alert): stored redacted as the report redacts URLs (user-info and
secret-looking parameters of any URL in it hidden: monitor/url_redact.py) and
clipped, so a hostile answer can neither put a credential into the database nor
grow a row without bound. The status pages escape it when shown.
"""

from __future__ import annotations

import re

from monitor.text_clip import clip
from monitor.url_redact import redact

# characters kept of an error (then `…`): the longest error the checks write is
# ~220 (a 160-character reason with its prefix); a cut is visible
STORED_ERROR = 300
_WORD = re.compile(r"\S+")


def _redacted(word: re.Match[str]) -> str:
    text = word.group()
    # only a word with an `@` (user-info) or an `=` (a parameter) can hide a secret
    return redact(text) if "@" in text or "=" in text else text


def stored_error(error: str | None) -> str | None:
    """`error` on one line, its URLs' secrets hidden, at most STORED_ERROR characters
    and `…`; None for no error (or an empty one)."""
    if not error:
        return None
    text = _WORD.sub(_redacted, " ".join(error.split()))
    return clip(text, STORED_ERROR) or None
