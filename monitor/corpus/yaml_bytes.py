"""The bytes of a `.yaml` file, read in the two passes of monitor.corpus.yaml_stream.

The first (`survey`, shared with `.json` files in monitor.corpus.text_survey)
checks the bytes (UTF-8, no NUL: a file that is not text is refused whole) and
learns what the reading of the whole text asks of it; the second (`texts`)
gives the text in whole lines, and says when the bytes
are not those the first pass read (the file was rewritten in between).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from monitor.corpus import files
from monitor.corpus.frontmatter import _MARKER
from monitor.corpus.text_survey import CHANGED, Survey, survey

__all__ = ["CHANGED", "Survey", "survey", "texts"]


def texts(fh: BinaryIO, chunk: int, survey: Survey) -> Iterator[str]:
    """The file's text in whole lines (the last one maybe not), a BOM dropped as
    parse_text drops it; DecodeError if the file was rewritten since the survey
    (its bytes differ from those the survey read: its findings, the aliases'
    allowance or the CR line ends, were of another text, and a file grown since
    would be read past the whole-file bound). A line far over the cap may come
    cut short (`_Line`)."""
    offset, line = 0, 1
    pending = _Line()
    started = False
    size, crc = 0, 0
    while True:
        data = fh.read(chunk)
        size, crc = size + len(data), zlib.crc32(data, crc)
        if size > survey.size or (not data and (size, crc) != (survey.size, survey.crc)):
            raise files.DecodeError(CHANGED, None)
        if data and b"\n" not in data:  # the line goes on
            pending.add(data, first=offset == 0)
            continue
        block = pending.end(data)
        cut = block.rfind(b"\n") + 1 if data else len(block)
        part = block[:cut]
        pending = _Line()
        if part:
            try:
                text = files.decode(part, base_offset=offset, base_line=line)
            except files.DecodeError:  # the survey decoded these bytes: they changed
                raise files.DecodeError(CHANGED, None) from None
            if not started and text:
                text = text.removeprefix("\ufeff")
                started = True
            offset += len(part)
            line += part.count(b"\n")
            yield text
        if cut < len(block):
            pending.add(block[cut:], first=offset == 0)
        if not data:
            return


@dataclass(slots=True)
class _Line:
    """The bytes of a line not ended yet, kept as read (joining them at every read
    copied the line again each time: quadratic in a line of 100 MB).

    A line longer than the cap of one document whose head says it is content (or
    a `%` line) keeps only a head of more than the cap's characters: its document
    is over the cap whatever the rest holds, and no reading of it (the cut, the
    cap, the line count) looks further; a 100 MB line was held whole, ~4 times
    over. A blank, comment or marker line is held whole: what it is depends on
    all of it. Held to the whole text's reading by the property test.
    """

    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    look: int = 0  # look at the head once past this many bytes (0: the cap's)
    cut: bool = False  # the head is kept, the rest of the line dropped
    whole: bool = False  # held whole

    def add(self, data: bytes, *, first: bool) -> None:
        if self.cut:
            return
        self.parts.append(data)
        self.size += len(data)
        self.look = self.look or files.MAX_YAML_BYTES + 1
        if self.whole or self.size <= self.look:
            return
        self.parts[:] = [b"".join(self.parts)]
        kept = _head(self.parts[0], first=first)
        if kept is None:  # not past the cap in characters yet (multi-byte ones)
            self.look *= 2
        elif kept:
            self.parts[:] = [kept]
            self.cut = True
        else:
            self.whole = True

    def end(self, data: bytes) -> bytes:
        """The line's bytes with `data`, which ends it (or the file)."""
        if self.cut:
            data = data[data.find(b"\n") :] if b"\n" in data else b""
        return b"".join([*self.parts, data])


def _head(head: bytes, *, first: bool) -> bytes | None:
    """What to keep of `head`, a line's first bytes: a head of more than the cap's
    characters; b"" to keep all of the line; None if it is not over the cap yet."""
    text = head.decode("utf-8", "replace")  # bytes changed since the survey: its CRC
    boms = min(len(text) - len(text.lstrip("\ufeff")), 2) if first else 0  # as texts drops them
    body = text[boms:]
    if len(body) <= files.MAX_YAML_BYTES:
        return None
    if _MARKER.match(body) or not body.strip(" \t\r") or body.lstrip(" \t").startswith("#"):
        return b""
    return text[: boms + files.MAX_YAML_BYTES + 1].encode("utf-8")
