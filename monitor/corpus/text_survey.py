"""A corpus file's bytes read twice, a chunk at a time: by `.yaml` and `.json` streams.

The first pass (`survey`) checks the bytes (UTF-8, no NUL: a file that is not
text is refused whole, before any record, as when it was decoded whole) and
learns what the reading of the whole text asks of it; the second pass reads
the text again, and says when the bytes are not those the first pass read
(the file was rewritten in between). Neither holds more than a chunk.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from monitor.corpus import files

_CR_INSIDE = re.compile(r"\r[^\r]")

CHANGED = (
    "the file changed while it was read (saved again meanwhile?): what was read of it "
    "may mix two versions; read it again"
)


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


def char_cut(block: bytes) -> int:
    """Where to cut `block` so that no UTF-8 character is split (its last ones may wait)."""
    for i in range(len(block) - 1, max(len(block) - 5, -1), -1):
        if block[i] < 0x80:
            return i + 1
        if block[i] >= 0xC0:
            return i
    return len(block)


def survey(fh: BinaryIO, chunk: int, suffix: str = ".yaml", *, capped: bool = True) -> Survey:
    """The first pass; DecodeError as `files.decode` of the whole file would raise it
    (a NUL anywhere wins over a UTF-8 error before it), or past MAX_FILE_BYTES when
    `capped` (JSON Lines, read a line at a time by every reader, are not)."""
    found = Survey()
    offset, line, total = 0, 1, 0
    carry = b""
    first_error: files.DecodeError | None = None
    started = False
    while True:
        data = fh.read(chunk)
        total += len(data)
        if capped and total > files.MAX_FILE_BYTES:
            raise files.over_limit(suffix)
        found.size, found.crc = total, zlib.crc32(data, found.crc)
        block = carry + data
        if offset == 0 and (len(block) >= 2 or not data) and block.startswith(files.UTF16_BOMS):
            files.decode(block[:2])  # raises: "the file is UTF-16"
        cut = char_cut(block) if data else len(block)
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


def texts(fh: BinaryIO, chunk: int, survey: Survey) -> Iterator[str]:
    """The second pass: the file's text a chunk at a time (cut between characters,
    anywhere in a line), a BOM dropped as parse_text drops it; DecodeError(CHANGED)
    if its bytes are not those the survey read."""
    carry = b""
    size, crc, offset = 0, 0, 0
    started = False
    while True:
        data = fh.read(chunk)
        size, crc = size + len(data), zlib.crc32(data, crc)
        if size > survey.size or (not data and (size, crc) != (survey.size, survey.crc)):
            raise files.DecodeError(CHANGED, None)
        block = carry + data
        cut = char_cut(block) if data else len(block)
        part, carry = block[:cut], block[cut:]
        if part:
            first, offset = offset == 0, offset + len(part)
            if first:
                part = part.removeprefix(files.BOM)
            try:
                text = part.decode("utf-8")
            except UnicodeDecodeError:  # the survey decoded these bytes: they changed
                raise files.DecodeError(CHANGED, None) from None
            if not started and text:
                text = text.removeprefix("\ufeff")
                started = True
            if text:
                yield text
        if not data:
            return
