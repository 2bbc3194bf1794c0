"""Cutting a long text to a length for display: one rule for every layer.

Pure and dependency-free so that both storage (listing titles) and observe
(the status pages) may import it; a corpus title has no size limit.
"""

from __future__ import annotations

ELLIPSIS = "\u2026"


def clip(text: str, longest: int) -> str:
    """`text`, or its first `longest` characters and `…` (so a cut is visible)."""
    return text if len(text) <= longest else text[:longest] + ELLIPSIS
