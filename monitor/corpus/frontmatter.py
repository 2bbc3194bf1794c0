"""Front-matter records: YAML between two `---` lines, then an ignored body.

A `.yaml`/`.yml` file is a YAML stream instead: every document in it (fenced
or not, `---` separated) is an article, each read alone so that a broken one
costs only itself, and each error names its own file line. Dropping the
documents after the first (the old front-matter reading) lost articles
silently. For every other suffix the fences are required and what follows
the closing one is an ignored body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from monitor.corpus import files, yaml_safe
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.line_runs import PLAIN_LINE, PLAIN_LINES, LineRun
from monitor.corpus.records import describe, to_document

Item = Document | InvalidDocument

_OPEN = re.compile(r"---[ \t]*\r?(?:\n|$)")
_CLOSE = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)
# YAML's document markers: a `---` (start) or `...` (end) at column 0, then a
# blank or the line's end; at column 0 they end any scalar, so cutting there
# is what a YAML reader does.
_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t\r\n]|$)", re.MULTILINE)
_NULL = "tag:yaml.org,2002:null"
# A stretch with no document of its own: blank lines, comments, directives, then
# the last line's blank or comment (the stretches are runs of lines: `line_runs`).
_PRELUDE_LINES = LineRun(rf"(?:{PLAIN_LINE}|%[^\n]*\n)")
_PRELUDE_END = re.compile(r"[ \t]*(?:#[^\n]*)?")
_DIRECTIVE = re.compile(r"%(?:YAML|TAG)[ \t]")
_DIRECTIVE_LINE = re.compile(r"^%(?:YAML|TAG)[ \t]", re.MULTILINE)
# lines that do not stop a walk back from a `---` to its directives: blank, comment, directive
# (a line that does stop it is searched for: a match of every line took ~250 bytes of the
# regex engine's memory a line, 2 GB for a 16 MB run of `#` lines before a `---`)
_NOT_SKIPPABLE = re.compile(r"^(?![ \t\r]*$|[ \t]*#|%(?:YAML|TAG)[ \t])", re.MULTILINE)
# A stretch that only ends a document: blank or comment lines, then a `...` line. YAML
# allows several `...` in a row (l-document-suffix+) and PyYAML reads them so; alone,
# PyYAML refused such a stretch as a document with no content.
_SUFFIX_END = re.compile(r"\.\.\.[ \t]*(?:#[^\n]*)?\r?\n?")
# A document with nothing in it: its `---` line, then blank or comment lines (spaces
# only: PyYAML refuses some tabs; no character it counts as a line break either).
# Skipped without a YAML reader (~9 us each: 34 s of CPU for a 16 MB file of `---`).
_COMMENT = r"#[^\n\r\x85\u2028\u2029]*"
_BLANK = rf" *(?:{_COMMENT})?"
_BLANK_LINES = LineRun(rf"{_BLANK}\r?\n")
_EMPTY_MARKER = re.compile(rf"---(?: +(?:{_COMMENT})?)?\r?(?:\n|\Z)")
_EMPTY_END = re.compile(rf"{_BLANK}\r?")
EMPTY_FILE = "empty file: expected a '---' line, article fields, '---'"
_LATER_HINT = (
    "; in a .yaml file every '---' line starts another article "
    "(a text body after front matter belongs in a .md or .txt file)"
)


def _prelude(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` holds blank, comment and `%` lines only (its last line
    unended or not): no document of its own, joined to the one that follows."""
    at = _PRELUDE_LINES.end(text, start, end)
    return _PRELUDE_END.fullmatch(text, at, end) is not None


def _suffix_only(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` is blank or comment lines, then a `...` line."""
    at = PLAIN_LINES.end(text, start, end)
    return _SUFFIX_END.fullmatch(text, at, end) is not None


def _empty(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` is a document with nothing in it: blank or comment
    lines, its `---` line, blank or comment lines (the last one unended or not)."""
    marker = _EMPTY_MARKER.match(text, _BLANK_LINES.end(text, start, end), end)
    if marker is None:
        return False
    at = _BLANK_LINES.end(text, marker.end(), end)
    return _EMPTY_END.fullmatch(text, at, end) is not None


def _fill(message: str, line: int | None, first: int | None = None) -> str:
    message = message.replace("{first}", str(first) if first is not None else "?")
    return message.replace("{line}", str(line) if line is not None else "?")


def _too_big(source: str, line: int, what: str) -> InvalidDocument:
    """YAML costs ~5x its text to parse: refused before parsing (and before copying)."""
    return InvalidDocument(
        source,
        line,
        f"{what} is over the {files.MAX_YAML_BYTES:,}-byte limit for YAML: "
        "split it, or use JSON or JSON Lines for large records",
    )


def parse_yaml_record(
    source: str, yaml_text: str, first_line: int, *, what: str
) -> Document | InvalidDocument:
    """One YAML mapping → a record; `first_line` is the file line of the YAML's line 1."""
    item = _yaml_record(source, yaml_text, first_line, what=what)
    if item is None:
        return InvalidDocument(
            source, first_line, f"{what} is empty: expected article fields such as webUrl"
        )
    return item


@dataclass(slots=True)
class _Allowance:
    """The nodes YAML aliases may still add to the documents of one `.yaml` stream.

    The alias limit holds per document; a stream of thousands of documents each
    just under it expanded the file as a whole ~3,000-fold (50 ms of CPU a
    300-byte document for the daemon's content hash alone). A whole file may add
    the limit once plus a node per byte, which documents that each merge a base
    of their own come nowhere near.
    """

    left: int


def _yaml_record(
    source: str,
    yaml_text: str,
    first_line: int,
    *,
    what: str,
    hint: str = "",
    allowance: _Allowance | None = None,
) -> Document | InvalidDocument | None:
    """As parse_yaml_record, but None for a document with no content; `hint` is added to
    the errors of a document that is not YAML or not a mapping; `allowance` is spent by
    what its aliases add."""
    if len(yaml_text) > files.MAX_YAML_BYTES:
        return _too_big(source, first_line, what)
    try:
        loaded = yaml_safe.load(yaml_text)
    except yaml_safe.YamlError as exc:
        line = first_line + exc.line if exc.line is not None else first_line
        first = first_line + exc.first if exc.first is not None else None
        return InvalidDocument(source, line, _fill(exc.message, line, first) + hint)
    root = loaded.root
    if root is None or (root.tag == _NULL and root.value == ""):  # `---` and nothing more
        return None
    record_line = first_line + root.start_mark.line
    if allowance is not None:
        if loaded.added > allowance.left:
            return InvalidDocument(
                source,
                record_line,
                f"{what} expands by {loaded.added:,} nodes through aliases, past what is "
                "left for the whole file (the alias limit once, plus a node per byte): "
                "refusing it (a 'billion laughs' document?)",
            )
        allowance.left -= loaded.added
    if hint and not isinstance(loaded.data, dict):
        return InvalidDocument(
            source,
            record_line,
            f"{what} is {describe(loaded.data)}: expected a mapping of article fields{hint}",
        )

    def line_of(loc: Sequence[str | int]) -> int | None:
        found = yaml_safe.node_line(root, loc)
        return None if found is None else first_line + found

    return to_document(source, record_line, loaded.data, what=what, line_of=line_of)


def _directives_before(text: str, at: int, floor: int) -> int:
    """Where the `%YAML`/`%TAG` lines just before the `---` at `at` start, or `at`.

    They open the document of that `---` even with no `...` line before them, as
    PyYAML reads them (a `%` line at column 0 is a directive to it); cut at the
    `---`, they ended the document before instead, which was then refused. Only
    these two names: any other `%` line may be the text of a quoted scalar.
    Blank and comment lines between them (and before the `---`) do not stop them.

    The directive lines are found by a regular expression and the lines between
    them checked by another: walked back a line at a time in Python, a `---`
    after a long run of comments cost ~0.7 us a line (a 512 MB file: 90 s).
    `_walk_back` is that walk, which the property test holds this to.
    """
    cut = end = at
    for begin in reversed([m.start() for m in _DIRECTIVE_LINE.finditer(text, floor, at)]):
        after = text.find("\n", begin, end) + 1
        if not after or _NOT_SKIPPABLE.search(text, after, end) is not None:
            break
        cut = end = begin
    return cut


def _walk_back(text: str, at: int, floor: int) -> int:
    """`_directives_before` a line at a time: its reading, for the property test."""
    cut = end = at
    while end > floor:
        begin = max(text.rfind("\n", floor, end - 1) + 1, floor)
        line = text[begin:end]
        if _DIRECTIVE.match(line):
            cut = begin
        elif line.strip(" \t\r\n") and not line.lstrip(" \t").startswith("#"):
            break
        end = begin
    return cut


def _cuts(text: str) -> Iterator[int]:
    """The offsets where the documents of a YAML stream may end, in order (0 excluded)."""
    last = 0
    for marker in _MARKER.finditer(text):
        if marker.group() == "---":
            cut = _directives_before(text, marker.start(), last)
        else:
            eol = text.find("\n", marker.end())
            cut = len(text) if eol < 0 else eol + 1
        if cut > last:
            last = cut
            yield cut
    if last < len(text):
        yield len(text)


def iter_yaml_documents(text: str) -> Iterator[tuple[int, int, int]]:
    """(start, end, first line) of each document of a YAML stream, cut at its markers.

    A document runs from its `---` line (or the file's start, or the line after
    a `...`) to the next `---` line, or through its `...` line. Blank lines,
    comments and directives before a `---` belong to the document it opens.
    Streamed: a list of every span held ~57 bytes of memory per byte of a file
    of `---` lines (918 MB for 16 MB).
    """
    start = at = 0
    line = 1
    for end in _cuts(text):
        prelude = not text.startswith("---", start) and _prelude(text, start, end)
        if prelude and end < len(text):
            continue  # joined to the document that follows
        line += text.count("\n", at, start)
        at = start
        yield start, end, line
        start = end


@dataclass(slots=True)
class YamlStream:
    """What one `.yaml` stream carries from document to document: whether one was
    found (later ones get the hint, none at all is an error) and the aliases' allowance.

    Shared by the reader of text in hand (parse_yaml_stream) and the reader of a
    file a window at a time (monitor.corpus.yaml_stream), so both say the same.
    """

    source: str
    allowance: _Allowance
    found: bool = False

    @classmethod
    def of(cls, source: str, chars: int) -> YamlStream:
        """The state at the start of a stream of `chars` characters."""
        return cls(source, _Allowance(yaml_safe.MAX_NODES + chars))

    def document(self, text: str, start: int, end: int, line: int) -> Item | None:
        """The record of `text[start:end]`, the document of file line `line`; None if empty."""
        if _suffix_only(text, start, end) or _empty(text, start, end):
            return None
        hint = _LATER_HINT if self.found else ""
        item = _yaml_record(
            self.source,
            text[start:end],
            line,
            what="YAML document",
            hint=hint,
            allowance=self.allowance,
        )
        if item is not None:
            self.found = True
        return item

    def too_big(self, line: int) -> InvalidDocument:
        """A document of file line `line` known to be over the cap before it is all read."""
        self.found = True
        return _too_big(self.source, line, "YAML document")

    def end(self) -> Iterator[InvalidDocument]:
        if not self.found:
            yield InvalidDocument(
                self.source, 1, "YAML document is empty: expected article fields such as webUrl"
            )


def parse_yaml_stream(source: str, text: str) -> Iterator[Item]:
    """Every document of a `.yaml`/`.yml` file as a record; empty documents hold nothing."""
    stream = YamlStream.of(source, len(text))
    for start, end, line in iter_yaml_documents(text):
        item = stream.document(text, start, end, line)
        if item is not None:
            yield item
    yield from stream.end()


def parse_front_matter(
    source: str, text: str, *, plain_yaml: bool
) -> Iterator[Document | InvalidDocument]:
    """The record of one front-matter file (or every document of a YAML file when `plain_yaml`)."""
    if not text.strip():
        yield InvalidDocument(source, 1, EMPTY_FILE)
        return
    if plain_yaml:
        yield from parse_yaml_stream(source, text)
        return
    opening = _OPEN.match(text)
    closing = _CLOSE.search(text, opening.end()) if opening else None
    if opening and closing:
        if closing.start() - opening.end() > files.MAX_YAML_BYTES:
            yield _too_big(source, 2, "front matter")
            return
        yield parse_yaml_record(
            source, text[opening.end() : closing.start()], 2, what="front matter"
        )
        return
    if opening:
        yield InvalidDocument(
            source,
            1,
            "front matter opened with '---' on line 1 is never closed: "
            "add a '---' line after the last field",
        )
        return
    first = text.lstrip("\r\n")
    skipped = text.count("\n", 0, len(text) - len(first))
    yield InvalidDocument(
        source,
        skipped + 1,
        "no front matter: the file must start with a '---' line, then the article "
        "fields in YAML, then a closing '---' line",
    )
