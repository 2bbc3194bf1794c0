"""Pure: html.parser's reading of a page's head (`slow_head`).

`Head` (head.py) is filled by either reader: the fast scanner (head_scan.py)
for the usual well-formed head, or `slow_head` here, html.parser, which copes
with anything and is the reference the scanner is held to. Imported at the
first head the scanner gives up on (content/html.py), not at every start.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from itertools import islice

from monitor.content.head import HEAD_ELEMENTS, SKIP_CONTENT, Head, collapse


class _Stop(Exception):
    """The head ended: nothing more to learn from the parser."""


class _HeadParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.got = Head()
        self.head_end: tuple[int, int] | None = None  # (line, column) where the body starts
        self._title_parts: list[str] | None = None
        self._skip_depth = 0

    # HTMLParser calls these; the names are fixed by the stdlib.
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._title_parts is not None:  # title is raw text: no tags inside
            self._title_parts.append(self.get_starttag_text() or "")
            return
        if self._skip_depth:
            if tag in SKIP_CONTENT:
                self._skip_depth += 1
            return
        if tag == "html":
            names = {name for name, _ in attrs}
            self.got.is_amp = self.got.is_amp or "amp" in names or "⚡" in names
        elif tag in SKIP_CONTENT:
            self._skip_depth = 1
        elif tag == "title":
            if self.got.title is None:
                self._title_parts = []
        elif tag in HEAD_ELEMENTS:
            self.got.head_tag(tag, attrs)
        else:
            self._end_head()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in SKIP_CONTENT and self._skip_depth:
            self._skip_depth -= 1

    def handle_endtag(self, tag: str) -> None:
        if self._title_parts is not None and tag != "title":
            self._title_parts.append(f"</{tag}>")
            return
        if self._skip_depth:
            if tag in SKIP_CONTENT:
                self._skip_depth -= 1
            return
        if tag == "title" and self._title_parts is not None:
            self.got.title = collapse(self._title_parts)
            self.got.title_closed = True
            self._title_parts = None
        elif tag in ("head", "html"):
            self._end_head()

    def handle_data(self, data: str) -> None:
        if self._title_parts is not None and not self._skip_depth:
            self._title_parts.append(data)

    def _end_head(self) -> None:
        self.head_end = self.getpos()
        raise _Stop

    def finish(self) -> None:
        """The prefix ended inside the head: keep what an unclosed <title> held."""
        if self._title_parts is not None and self.got.title is None:
            self.got.title = collapse(self._title_parts) or None


def _offset(text: str, line: int, column: int) -> int:
    """Index in `text` of html.parser's (line, column) position; 0 if out of range."""
    pos = 0
    for _ in range(line - 1):
        pos = text.find("\n", pos) + 1
        if pos == 0:
            return 0
    return min(pos + column, len(text))


# A `<` with another `<` before any `>`: a tag that never closes. html.parser
# rescans from each such `<` to the end of the input when it gives up on it at
# close(), so `<meta ` repeated 4,000 times cost 1.6 s and a 512 KiB page of it
# minutes of event-loop time (second hostile review). A real head has a few at
# most (a `<` inside an attribute value, a comment holding tags), which the
# parser must see as they are; past `_UNCLOSED_MAX` of them the page is made
# of such junk, and each becomes text, costing one scan.
_UNCLOSED = re.compile(r"<(?!!--)(?=[^<>]*<)")
_UNCLOSED_MAX = 64


def _more_than(found: Iterator[object], limit: int) -> bool:
    """Whether `found` yields more than `limit` items (the rest is never looked for)."""
    return next(islice(found, limit, None), None) is not None


def slow_head(text: str) -> Head:
    """The head facts by html.parser, which copes with anything."""
    page = text
    stand_in = None
    if _more_than(_UNCLOSED.finditer(text), _UNCLOSED_MAX):
        # a NUL is text to html.parser, one character as `<` is, and read back as
        # `<` below; `&lt;` (only when the page holds a NUL) costs an unescape each
        stand_in = "\x00" if "\x00" not in text else "&lt;"
        text = _UNCLOSED.sub(stand_in, text)
    # the same for comments: every `<!--` after the last `-->` is open to the end
    closed = text.rfind("-->") + 1 or 0
    if text.count("<!--", closed) > _UNCLOSED_MAX:
        text = text[: text.find("<!--", closed)]  # the rest is comment, as browsers read it
    parser = _HeadParser()
    try:
        parser.feed(text)
        parser.close()
    except _Stop:
        pass
    except (AssertionError, ValueError, IndexError):  # pragma: no cover - stdlib parser edge
        pass
    parser.finish()
    got = parser.got
    if parser.head_end is not None:
        if stand_in == "&lt;":
            got.head_end = _in_page(page, text, *parser.head_end)
        else:  # the same characters, where each is in the page
            got.head_end = _offset(text, *parser.head_end)
    if stand_in == "\x00":
        _read_back(got)
    return got


def _read_back(got: Head) -> None:
    """Each NUL that stood in for an unclosed `<` is a `<` again."""
    got.title = got.title and got.title.replace("\x00", "<")
    got.base = got.base and got.base.replace("\x00", "<")
    got.canonical = got.canonical and got.canonical.replace("\x00", "<")
    got.amphtml = got.amphtml and got.amphtml.replace("\x00", "<")


def _in_page(page: str, text: str, line: int, column: int) -> int:
    """The index in `page` of html.parser's (line, column) in `text`, the page where
    each unclosed `<` became `&lt;`: 3 characters longer each, on the same lines."""
    start = _offset(page, line, 0)
    if page.find("&lt;", start, start + column) < 0:
        # no `&lt;` of the page's own before it on its line: each there is an escape
        at = _offset(text, line, 0)
        escaped = text.count("&lt;", at, at + column)
    else:
        escaped = 0
        for found in _UNCLOSED.finditer(page, start):
            if found.start() - start + 3 * escaped >= column:
                break
            escaped += 1
    return min(start + column - 3 * escaped, len(page))
