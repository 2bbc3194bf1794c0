"""Front-matter records: YAML between two `---` lines, then an ignored body.

A `.yaml`/`.yml` file may also be plain YAML without the fences: when it does
not start with a `---` line followed later by a closing `---` line, the whole
file is read as one YAML document. For every other suffix the fences are
required.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from monitor.corpus import files, yaml_safe
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.records import to_document

_OPEN = re.compile(r"---[ \t]*\r?(?:\n|$)")
_CLOSE = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)


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
    if len(yaml_text) > files.MAX_YAML_BYTES:
        return _too_big(source, first_line, what)
    try:
        loaded = yaml_safe.load(yaml_text)
    except yaml_safe.YamlError as exc:
        line = first_line + exc.line if exc.line is not None else first_line
        first = first_line + exc.first if exc.first is not None else None
        return InvalidDocument(source, line, _fill(exc.message, line, first))
    root = loaded.root
    if root is None:
        return InvalidDocument(
            source, first_line, f"{what} is empty: expected article fields such as webUrl"
        )
    record_line = first_line + root.start_mark.line

    def line_of(loc: Sequence[str | int]) -> int | None:
        found = yaml_safe.node_line(root, loc)
        return None if found is None else first_line + found

    return to_document(source, record_line, loaded.data, what=what, line_of=line_of)


def parse_front_matter(
    source: str, text: str, *, plain_yaml: bool
) -> Iterator[Document | InvalidDocument]:
    """The record of one front-matter file (or plain YAML file when `plain_yaml`)."""
    if not text.strip():
        yield InvalidDocument(source, 1, "empty file: expected a '---' line, article fields, '---'")
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
    if plain_yaml:
        yield parse_yaml_record(source, text, 1, what="YAML document")
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
