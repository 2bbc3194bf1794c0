"""Pure: what a page's head says so far (`Head`), filled by either reader.

The fast scanner (head_scan.py) reads the usual well-formed head; html.parser
(head_parser.py), which copes with anything and is the reference the scanner
is held to, reads the rest. The parser's module, and html.parser with it, is
imported at the first head the scanner gives up on, not by every process
(issue 16: ~9 M instructions of each start).
"""

from __future__ import annotations

from dataclasses import dataclass

HEAD_ELEMENTS = frozenset(
    {"html", "head", "title", "base", "link", "meta", "style", "script", "noscript", "template"}
)
SKIP_CONTENT = frozenset({"noscript", "template"})
# the attributes of <base> and <link> that `Head.head_values` reads
HEAD_TAG_NAMES = frozenset({"href", "rel"})


@dataclass(slots=True)
class Head:
    """What the head says so far; filled by the fast scanner or by the parser."""

    is_amp: bool = False
    base: str | None = None
    canonical: str | None = None
    amphtml: str | None = None
    title: str | None = None
    title_closed: bool = False  # closed within the prefix, so fit to judge
    head_end: int | None = None  # index in the text where the body starts

    def head_tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """<base> and <link>: the first of each kind with a non-empty href wins."""
        # first occurrence of a duplicate attribute wins
        self.head_values(tag, dict(reversed(attrs)))

    def head_values(self, tag: str, values: dict[str, str | None]) -> None:
        """`head_tag` given each attribute's first value (those of HEAD_TAG_NAMES
        at least)."""
        if tag == "base" and self.base is None and values.get("href"):
            self.base = (values["href"] or "").strip()
        elif tag == "link":
            href = (values.get("href") or "").strip()
            rels = (values.get("rel") or "").lower().split()
            if href and "canonical" in rels and self.canonical is None:
                self.canonical = href
            if href and "amphtml" in rels and self.amphtml is None:
                self.amphtml = href


def collapse(parts: list[str]) -> str:
    return " ".join("".join(parts).split())
