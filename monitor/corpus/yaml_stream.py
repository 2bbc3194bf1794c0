"""A `.yaml`/`.yml` file read as a stream of documents, a window at a time.

Each document is parsed alone and capped alone (`files.MAX_YAML_BYTES`), so the
file as a whole has only the limit of every whole-file format: a 40 MiB file of
100,000 small articles was refused whole under the one-document cap. Memory
holds a window of text and the document being read, not the file; a document
known to be over the cap is reported at its line and skipped without being held.

The result is the reading of the whole text (`frontmatter.parse_yaml_stream`)
exactly: a first pass checks the bytes (UTF-8, no NUL: a file that is not text
is refused whole, as before) and learns what that reading asks of the whole
text (its length for the aliases' allowance, whether it is blank, whether its
lines end in CR alone); the second pass cuts the documents where
`iter_yaml_documents` cuts them, which depends only on the text before a cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from monitor.corpus import files
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.frontmatter import (
    _BLANK,
    _DIRECTIVE_LINE,
    _MARKER,
    EMPTY_FILE,
    YamlStream,
    _directives_before,
    iter_yaml_documents,
)
from monitor.corpus.yaml_bytes import CHANGED, Survey, texts
from monitor.corpus.yaml_bytes import survey as _survey

Item = Document | InvalidDocument

CHUNK = 1 << 20  # bytes read at a time
WINDOW = 1 << 20  # characters of new text before the documents in hand are cut
# A line that may be a document's content: not blank, a comment, a `%` line or a
# bare marker (lines that a document with nothing in it, or the next one's
# directives, may hold; blank and comment as `_directives_before` tells them, so
# that its walk back from a `---` stops at such a line). A document whose last
# such line ends past the cap is over it, wherever the document ends.
# a `%` line that is no directive: a walk back from a `---` to its directives stops there
_NOT_DIRECTIVE = re.compile(r"^%(?!(?:YAML|TAG)[ \t])[^\n]*\n?", re.MULTILINE)
_CONTENT = re.compile(
    r"^(?![ \t\r]*$|[ \t]*#|%|(?:---|\.\.\.)[ \t]*(?:#[^\n]*)?\r?$)[^\n]*\n?",
    re.MULTILINE,
)
# A line that is not blank or a comment as `_directives_before` tells them (content,
# a `%` line, a marker): a run of the other lines is folded (`_Window.fold`).
_NOT_PLAIN = re.compile(r"^(?![ \t\r]*$|[ \t]*#)[^\n]*\n?", re.MULTILINE)
# plain lines outside the stretches `_suffix_only` and `_empty` of frontmatter allow
_NOT_SUFFIX_LINE = re.compile(r"^(?![ \t]*(?:#[^\n]*)?\r?\n)[^\n]*\n", re.MULTILINE)
_NOT_EMPTY_LINE = re.compile(rf"^(?!{_BLANK}\r?\n)[^\n]*\n", re.MULTILINE)


def read_yaml_stream(
    source: str,
    fh: BinaryIO,
    *,
    suffix: str = ".yaml",
    chunk: int = CHUNK,
    window: int = WINDOW,
) -> Iterator[Item]:
    """Every record of a `.yaml` file, as `parse_text` gives them for its whole text;
    `suffix` (`.yaml` or `.yml`) names the file's kind in a refusal."""
    from monitor.corpus import CR_ONLY  # the wording of parse_text

    try:
        survey = _survey(fh, chunk, suffix)
    except files.DecodeError as exc:
        yield InvalidDocument(source, exc.line, exc.message)
        return
    if survey.blank:
        items: Iterator[Item] = iter([InvalidDocument(source, 1, EMPTY_FILE)])
    else:
        fh.seek(0)
        items = _documents(source, fh, YamlStream.of(source, survey.chars), survey, chunk, window)
    for item in items:
        if survey.cr_only and isinstance(item, InvalidDocument) and item.error != CHANGED:
            item = InvalidDocument(item.source, item.line, item.error + CR_ONLY)
        yield item


def _last_content(text: str, pos: int, endpos: int) -> int:
    """Where the last content line of `text[pos:endpos]` (whole lines) ends; 0 if none."""
    end = 0
    for found in _CONTENT.finditer(text, pos, endpos):
        end = found.end()
    return end


def _ends_with_suffix(text: str, end: int) -> bool:
    """Whether the line ending at `end` is a `...` line, which ends its document."""
    begin = text.rfind("\n", 0, end - 1) + 1
    return text.startswith("...", begin) and _MARKER.match(text, begin) is not None


@dataclass(slots=True)
class _Window:
    """The text not yet cut: it starts at a document's start, on file line `line`.

    Held as the pieces read (joined only to be cut): appending to one string
    copied all of it at every piece. `marked`: a marker came since the last cut,
    or that cut stopped at a `...` line ending the text; otherwise the text is
    one open document and cutting it again finds nothing (it cut the whole text
    held at every window: quadratic in a long document).
    """

    parts: list[str]
    line: int = 1
    size: int = 0
    scanned: int = 0  # looked at for content lines up to here
    content_end: int = 0  # where the last content line seen ends (0: none)
    directive: int | None = None  # where the first %YAML/%TAG line after it starts
    marked: bool = False
    plain: int = 0  # where its last run of blank and comment lines starts
    folded: list[tuple[int, int]] = field(default_factory=list)  # (offset, lines): `fold`

    @classmethod
    def of(cls, text: str, line: int) -> _Window:
        held = cls([], line)
        held.add(text)
        return held

    @property
    def text(self) -> str:
        if len(self.parts) > 1:
            self.parts[:] = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""

    def add(self, text: str) -> None:
        self.marked = self.marked or _MARKER.search(text) is not None
        self.parts.append(text)
        self.size += len(text)

    def hidden(self, pos: int) -> int:
        """The lines folded away before `pos` (a document's start or end, or a line's)."""
        return sum(lines for at, lines in self.folded if pos > at)

    def drop(self, upto: int) -> None:
        text = self.text
        self.line += text.count("\n", 0, upto) + self.hidden(upto)
        self.folded = [(at - upto, lines) for at, lines in self.folded if at >= upto]
        rest = text[upto:]
        self.parts[:] = [rest] if rest else []
        self.size = len(rest)
        self.scanned = max(0, self.scanned - upto)
        self.content_end = max(0, self.content_end - upto)
        self.plain = max(0, self.plain - upto)
        if self.directive is not None:
            self.directive = self.directive - upto if self.directive >= upto else None
        self.marked = _ends_with_suffix(rest, len(rest)) if rest else False

    def scan(self) -> tuple[int, int | None]:
        """Where its last content line ends, and where the first directive line after
        that starts (None: none), looking only at what was added since."""
        start = 0
        for part in self.parts:
            end = start + len(part)
            if end > self.scanned:
                pos = max(0, self.scanned - start)
                for kept in _NOT_PLAIN.finditer(part, pos):
                    self.plain = start + kept.end()
                found = _last_content(part, pos, len(part))
                if found:
                    self.content_end, self.directive, pos = start + found, None, found
                if self.directive is None and (line := _DIRECTIVE_LINE.search(part, pos)):
                    self.directive = start + line.start()
            start = end
        self.scanned = self.size
        return self.content_end, self.directive

    def fold(self, cap: int) -> None:
        """Fold its last run of blank and comment lines, once far over `cap`, into a
        few lines that every reading of the run tells apart as it does the run.

        A document with no content (a `---`, a directive) followed by a long run
        of them was held whole, up to the whole-file bound: what it is depends on
        all of its lines. Each rule that reads such a run asks only whether every
        line is of a kind (`_empty`'s blank or comment, `_suffix_only`'s, the walk
        back's, no content, no marker) and whether it is longer than the cap (a
        document holding it is never parsed): one line of each kind it has, the
        first of each, and a comment line over the cap answer all of them alike.
        The lines folded away are counted (`folded`) for the lines said after it.
        """
        text = self.text  # scanned: `plain` is up to date
        stop = text.rfind("\n") + 1
        if stop - self.plain <= 4 * (cap + 2):
            return
        lines = [
            found.group()
            for found in (
                _NOT_EMPTY_LINE.search(text, self.plain, stop),
                _NOT_SUFFIX_LINE.search(text, self.plain, stop),
            )
            if found is not None
        ]
        run = "".join(dict.fromkeys(lines)) + "#" * (cap + 1) + "\n"
        if len(run) * 2 >= stop - self.plain:
            return
        hidden = text.count("\n", self.plain, stop) - run.count("\n")
        at = self.plain
        inside = sum(n for where, n in self.folded if where >= at)
        self.folded = [(where, n) for where, n in self.folded if where < at]
        self.folded.append((at, hidden + inside))
        rest = text[:at] + run + text[stop:]
        self.parts[:] = [rest]
        self.size = self.scanned = len(rest)


def _documents(
    source: str, fh: BinaryIO, stream: YamlStream, survey: Survey, chunk: int, window: int
) -> Iterator[Item]:
    held = _Window([])
    skipping: _Skip | None = None
    due = window
    try:
        for text in texts(fh, chunk, survey):
            if skipping is not None:
                rest = skipping.feed(text)
                if rest is None:
                    continue
                held, skipping, due = _Window.of(rest, skipping.line), None, window
            else:
                held.add(text)
            if held.size < due:
                continue
            if held.marked:
                yield from _cut(stream, held, final=False)
            due = held.size + window
            if held.size > files.MAX_YAML_BYTES:
                end, directive = held.scan()
                if not _over(end, directive, held.size):
                    held.fold(files.MAX_YAML_BYTES)
                    due = held.size + window
                else:  # the document being read
                    whole = held.text
                    if end <= files.MAX_YAML_BYTES and _ends_with_suffix(whole, end):
                        continue  # it ended at a `...` line, under the cap (cut already)
                    yield stream.too_big(held.line)
                    line = held.line + whole.count("\n", 0, end) + held.hidden(end)
                    if _ends_with_suffix(whole, end):  # `... text`: it ended there
                        held, due = _Window.of(whole[end:], line), window
                        continue
                    skipping = _Skip([], line)
                    rest = skipping.feed(whole[end:])  # it may end there (a `...`)
                    held = _Window([]) if rest is None else _Window.of(rest, skipping.line)
                    skipping = skipping if rest is None else None
                    due = window
    except files.DecodeError as exc:
        yield InvalidDocument(source, exc.line, exc.message)
        return
    if skipping is None and held.size:  # a skipped document runs to the end
        yield from _cut(stream, held, final=True)
    yield from stream.end()


def _over(end: int, directive: int | None, size: int) -> bool:
    """Whether the document of a window of `size` characters, whose last content line
    ends at `end` (0: none) and whose first directive line after it starts at
    `directive`, is over the cap, however it goes on: its last content line ends
    past it, or it runs past it before any line that the next `---` may take as its
    directives (a long run of comments after a record was held whole)."""
    cap = files.MAX_YAML_BYTES
    return end > cap or (end > 0 and (size if directive is None else directive) > cap)


def _cut(stream: YamlStream, held: _Window, *, final: bool) -> Iterator[Item]:
    """The whole documents of `held`, read and dropped from it; at the file's end, all.

    A cut before the window's end is where the whole text is cut: it depends
    only on the text before it, and the window starts where a document does.
    """
    done = 0
    text = held.text
    for start, end, line in iter_yaml_documents(text):
        if end == len(text) and not final:
            break
        item = stream.document(text, start, end, held.line + line - 1 + held.hidden(start))
        if item is not None:
            yield item
        done = end
    held.drop(done)


@dataclass(slots=True)
class _Skip:
    """A document over the cap, already reported, read to its end without being held.

    `tail`: its lines since its last content line that the next `---` may take as
    its directives (as read, joined only at the end): from the first `%YAML`/`%TAG`
    line after the last line that stops that walk back; the lines before it are
    only counted (a long run of comments after a record was held whole);
    `line`: the file line where `tail` starts.
    """

    tail: list[str]
    line: int

    def _lines(self) -> int:
        return sum(part.count("\n") for part in self.tail)

    def feed(self, text: str) -> str | None:
        """The text from the next document's start, once that is in `text`; else None."""
        marker = _MARKER.search(text)
        stop = len(text) if marker is None else marker.start()
        end = _last_content(text, 0, stop)
        if end:  # all it held so far is this document's
            self.line += self._lines() + text.count("\n", 0, end)
            self.tail, text, stop = [], text[end:], stop - end
        if marker is None:
            self._keep(text)
            return None
        if text.startswith("...", stop):  # the document ends with that line
            eol = text.find("\n", stop)
            after = len(text) if eol < 0 else eol + 1
            self.line += self._lines() + text.count("\n", 0, after)
            self.tail = []
            return text[after:]
        joined = "".join([*self.tail, text[:stop]])  # a `---`: its directives are the next one's
        cut = _directives_before(joined, len(joined), 0)
        self.line += joined.count("\n", 0, cut)
        return joined[cut:] + text[stop:]

    def _keep(self, text: str) -> None:
        """Add `text` (lines with no content and no marker) to the tail, keeping only
        what the walk back from a `---` may reach."""
        stop = max((m.end() for m in _NOT_DIRECTIVE.finditer(text)), default=0)
        if stop:  # the walk stops there: nothing before it is taken
            self.line += self._lines() + text.count("\n", 0, stop)
            self.tail, text = [], text[stop:]
        if not self.tail:
            first = _DIRECTIVE_LINE.search(text)
            at = len(text) if first is None else first.start()
            self.line += text.count("\n", 0, at)
            text = text[at:]
        if text:
            self.tail.append(text)
