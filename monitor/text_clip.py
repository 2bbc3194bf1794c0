"""Cutting a long text to a length for display: one rule for every layer,
in two measures (`clip`: N characters kept, then `…`; `fit`: N in all).

Pure and dependency-free so that both storage (listing titles) and observe
(the status pages) may import it; a corpus title has no size limit.
"""

from __future__ import annotations

ELLIPSIS = "\u2026"


def clip(text: str, longest: int) -> str:
    """`text`, or its first `longest` characters and `…` (so a cut is visible)."""
    return text if len(text) <= longest else text[:longest] + ELLIPSIS


def fit(text: str, limit: int) -> str:
    """`text` in at most `limit` characters (`limit` >= 1), the last one `…` when cut:
    for a one-line message with a width."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS
