"""Runs of lines of one kind (blank, comment, directive), found with no memory a line.

A pattern that repeats a line (`(?:[ \\t]*#[^\\n]*\\n)*`) keeps ~250-550 bytes of the
regex engine's state a line, in case it has to give lines back: a 4 MB stretch of
`#` lines after a `---` took 925 MB, and 32 MB took 7 GB. Repeated possessively
(`*+`) it keeps none, but Python 3.11.0-3.11.4 (Debian 12 has 3.11.2) match a
possessive repeat of a group wrongly (CPython gh-106052). So a run is found by
searching for the first line break not followed by a line of its kind: a lookahead
keeps nothing once it has answered, on every Python, and the search runs at the
possessive pattern's speed (~35 ns a `#` line, ~75 ns a 40-character comment; a loop
of one match a line in Python: ~185 ns).
"""

from __future__ import annotations

import re
from typing import Final


class LineRun:
    """Lines that each match `line`, a pattern that matches a whole line, its `\\n`
    included, and no more: its only `\\n` is its last character.

    `end` is where `(?:line)*+` stops; the patterns built on it give no line back
    (a line of the kind never starts what follows the run), so possessive or not
    reads them the same.
    """

    __slots__ = ("_break", "_line")

    def __init__(self, line: str) -> None:
        self._line: Final = re.compile(line)
        self._break: Final = re.compile(rf"\n(?!{line})")

    def end(self, text: str, pos: int, endpos: int) -> int:
        """Where the run of such lines at `pos` in `text[:endpos]` ends (`pos` if none)."""
        if self._line.match(text, pos, endpos) is None:
            return pos
        # a line matched, so a `\n` is in range; the text after the last one holds no
        # `\n`, so no line: the search always finds one
        found = self._break.search(text, pos, endpos)
        return endpos if found is None else found.end()

    def walk(self, text: str, pos: int, endpos: int) -> int:
        """`end` a line at a time: its reading, for the property test."""
        while (found := self._line.match(text, pos, endpos)) is not None:
            pos = found.end()
        return pos


# blank and comment lines, as the stretches of a YAML stream and `sign` read them
# (written `(?:#[^\n]*)?\r?\n`, a CR could go to the comment or to the line end:
# a failed match of a run of CRLF comment lines tried both for each, 2**n steps)
PLAIN_LINE: Final = r"[ \t]*(?:#[^\n]*\n|\r?\n)"
PLAIN_LINES: Final = LineRun(PLAIN_LINE)
