"""The bytes of a `.yaml` file, read in the two passes of monitor.corpus.yaml_stream.

The first (`survey`) checks the bytes (UTF-8, no NUL: a file that is not text
is refused whole) and learns what the reading of the whole text asks of it;
the second (`texts`) gives the text in whole lines, and says when the bytes
are not those the first pass read (the file was rewritten in between).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from monitor.corpus import files
from monitor.corpus.frontmatter import _MARKER

_CR_INSIDE = re.compile(r"\r[^\r]")


@dataclass(slots=True)
class Survey:
    """What the reading of the whole text asks of it, learned in the first pass."""

    chars: int = 0  # after a BOM (and a second one, which parse_text drops)
    blank: bool = True  # `not text.strip()`
    newline: bool = False
    cr_inside: bool = False  # `"\r" in text.rstrip("\r")`
    ends_cr: bool = False
    size: int = 0  # the bytes read, and their CRC: the second pass reads the same
    crc: int = 0

    @property
    def cr_only(self) -> bool:
        return self.cr_inside and not self.newline

    def learn(self, text: str) -> None:
        if not text:
            return
        self.chars += len(text)
        self.blank = self.blank and not text.strip()
        self.newline = self.newline or "\n" in text
        self.cr_inside = (
            self.cr_inside or (self.ends_cr and text[0] != "\r") or bool(_CR_INSIDE.search(text))
        )
        self.ends_cr = text.endswith("\r")


def _char_cut(block: bytes) -> int:
    """Where to cut `block` so that no UTF-8 character is split (its last ones may wait)."""
    for i in range(len(block) - 1, max(len(block) - 5, -1), -1):
        if block[i] < 0x80:
            return i + 1
        if block[i] >= 0xC0:
            return i
    return len(block)


def survey(fh: BinaryIO, chunk: int) -> Survey:
    """The first pass; DecodeError as `files.decode` of the whole file would raise it
    (a NUL anywhere wins over a UTF-8 error before it), or past MAX_FILE_BYTES."""
    found = Survey()
    offset, line, total = 0, 1, 0
    carry = b""
    first_error: files.DecodeError | None = None
    started = False
    while True:
        data = fh.read(chunk)
        total += len(data)
        if total > files.MAX_FILE_BYTES:
            raise files.over_limit(".yaml")
        found.size, found.crc = total, zlib.crc32(data, found.crc)
        block = carry + data
        if offset == 0 and (len(block) >= 2 or not data) and block.startswith(files.UTF16_BOMS):
            files.decode(block[:2])  # raises: "the file is UTF-16"
        cut = _char_cut(block) if data else len(block)
        part, carry = block[:cut], block[cut:]
        if part:
            try:
                text = files.decode(part, base_offset=offset, base_line=line)
            except files.DecodeError as exc:
                if b"\0" in part:
                    raise
                first_error = first_error or exc
                text = ""
            if not started and text:
                text = text.removeprefix("\ufeff")
                started = True
            found.learn(text)
            offset += len(part)
            line += part.count(b"\n")
        if not data:
            break
    if first_error is not None:
        raise first_error
    return found


CHANGED = (
    "the file changed while it was read (saved again meanwhile?): what was read of it "
    "may mix two versions; read it again"
)


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
