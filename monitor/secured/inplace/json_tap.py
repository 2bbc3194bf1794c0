"""`sign --in-place` of a `.json` list, streamed: the reader's own walk, tapped.

The file is read as `check` reads it (json_stream.read_json_stream: a window
over chunks, the same `_array`/`_object` walk), so which elements are records,
invalid or skipped cannot differ from `check`. The cursor is tapped twice:
each element's text is still in the window when the walk yields its record, so
its edit is made then (`element_edit`); and each time the window takes more
text, the text the cursor has passed goes on to the new file with the edits
made in it (`Splice`). Read whole, a 19.6 MB list of 20,000 articles peaked at
228 MB (a 194 MB one at 1.9 GB); only the window and one element are held now.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from monitor.corpus.json_window import Cursor, Stop
from monitor.corpus.text_survey import Survey
from monitor.secured.edit import expected, list_failure
from monitor.secured.inplace.result import BUG, Refused

_OFFSET = re.compile(r"at offset (\d+)")


class TapCursor(Cursor):
    """The reader's cursor, telling what its walk met: where the last value ended
    (a record yielded there is a list element, not the top-level object), where a
    syntax error stopped it, and which list it is in (for a record's label)."""

    __slots__ = (
        "_key",
        "_last",
        "ended",
        "failed_at",
        "failure",
        "in_list",
        "label",
        "list_start",
        "lists",
    )

    def __init__(self, text: str, more: Iterator[str] | None, cap: int) -> None:
        super().__init__(text, more, cap)
        self.ended = -1  # where the last value read ended, in the whole text
        self.failed_at: int | None = None  # where the value or token a Stop met starts
        self.failure = ""  # what the whole-file rewrite said there (`edit.list_failure`)
        self.lists = 0  # lists opened so far
        self.in_list = False
        self.list_start = 0
        self.label = "list"
        self._key: str | None = None  # the last string read: a wrapper list's name
        self._last = ""  # what the last `expect` asked for

    def value(self) -> Any:
        self.skip_ws()
        start = self.base + self.pos
        try:
            value = super().value()
        except Stop:
            self._stopped(start, element=True)
            raise
        self.ended = self.base + self.pos
        self._key = value if isinstance(value, str) else None
        return value

    def expect(self, chars: str, after: str) -> str:
        if chars != ",]":  # only a list's elements are followed by ',' or ']'
            self.in_list = chars == "["
        if chars == "[":  # only `_array` opens a list
            self.lists += 1
            self.label = "list" if self._key is None else f"{self._key!r} list"
            self.skip_ws()
            self.list_start = self.base + self.pos
        # the rewrite's scan of an object asks for a name or its end first
        wanted = '"}' if chars == '"' and self._last == "{" else chars
        self._last = chars
        try:
            found = super().expect(chars, after)
        except Stop:
            self._stopped(self.base + self.pos, element=False, wanted=wanted)
            raise
        if found == "]":
            self.in_list = False
        return found

    def _stopped(self, at: int, *, element: bool, wanted: str = "") -> None:
        """A syntax error at `at` (`element`: in the value that starts there;
        `wanted`: the characters one of which was not there)."""
        self.failed_at = at
        said = None
        if self.in_list and self.label != "list":  # a wrapper's list was read whole
            at = self.list_start
        elif wanted:
            said = expected(at - self.base, wanted)
        elif self.in_list and element and at >= self.base:  # from its start, in the window
            said = list_failure(self.text, at - self.base, element=True)
        if said is None:
            self.failure = f"invalid JSON at offset {at}"
        else:  # its offsets are the window's
            self.failure = _OFFSET.sub(lambda m: f"at offset {int(m[1]) + self.base}", said, 1)

    def element(self) -> tuple[int, str] | None:
        """(where it starts, its text) of the list element just yielded as a record;
        None if the record is not one (the top-level object, read member by member)."""
        if self.ended != self.base + self.pos:
            return None
        return self.base + self.began, self.text[self.began : self.pos]


class Splice:
    """The text the cursor has passed, with the edits made in it, handed to `write`
    each time the window takes more (the cursor drops that text then), and the rest
    at the end (`finish`). Edits are (start, end, replacement) in the whole text,
    in order, each within an element already passed: Refused if one is not (written
    out of place, the file would be wrong)."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.cursor: TapCursor | None = None
        self.write = write
        self.done = 0  # the whole text's offset written up to
        self.edits: deque[tuple[int, int, str]] = deque()
        self._chunks: Iterator[str] = iter(())
        self._seen = Survey()  # of the chunks read so far: whether lines end in CR alone

    def cursor_for(self, text: str, more: Iterator[str] | None, cap: int) -> Cursor:
        """The reader's cursor (`read_json_stream`'s `cursor`), its chunks tapped."""
        if more is not None:
            self._chunks = more
        self.cursor = TapCursor(text, None if more is None else self._tapped(more), cap)
        return self.cursor

    def _tapped(self, chunks: Iterator[str]) -> Iterator[str]:
        for chunk in chunks:
            self.flush()  # asked for more: the window is about to drop what it passed
            self._seen.learn(chunk)
            yield chunk
        self.flush()

    def flush(self, everything: bool = False) -> None:
        """Write what the cursor has passed (`everything`: all of its window)."""
        cur = self.cursor
        if cur is None:
            return
        base, text = cur.base, cur.text
        upto = base + (len(text) if everything else cur.pos)
        if upto <= self.done:
            return
        at = self.done
        pieces: list[str] = []
        while self.edits and self.edits[0][0] < upto:
            start, end, replacement = self.edits.popleft()
            if not (at <= start and end <= upto):  # the window passed an element unedited
                raise Refused(f"cannot rewrite: an edit fell outside the text read ({BUG})")
            pieces += (text[at - base : start - base], replacement)
            at = end
        pieces.append(text[at - base : upto - base])
        self.done = upto
        self.write("".join(pieces))

    def cr_only(self) -> bool:
        """Whether the file's lines end in CR alone (the reader's errors say so): the
        chunks the walk did not read are read for it."""
        for chunk in self._chunks:
            self._seen.learn(chunk)
        return self._seen.cr_only

    def finish(self) -> None:
        """The window's text, then the chunks the walk did not read (after its end).
        An edit left over lies past all of the text: never applied, so refused."""
        self.flush(everything=True)
        if self.edits:
            raise Refused(f"cannot rewrite: an edit fell outside the text read ({BUG})")
        for chunk in self._chunks:
            self.write(chunk)
