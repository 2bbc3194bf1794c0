"""Which way a file is rewritten: a `.json` list and JSON Lines streamed, the rest
(and what the streams hand back) read whole."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from monitor.corpus.article import InvalidDocument
from monitor.corpus.files import LINE_SUFFIXES
from monitor.secured.inplace.lines_stream import rewrite_lines_stream
from monitor.secured.inplace.list_stream import rewrite_json_stream
from monitor.secured.inplace.record import SignOne
from monitor.secured.inplace.result import UNCHANGED, FileResult, Refused
from monitor.secured.inplace.whole import rewrite_whole


def rewrite_file(
    path: Path,
    sign_one: SignOne,
    *,
    force: bool = False,
    report: Callable[[InvalidDocument], object] | None = None,
) -> FileResult:
    """Read one corpus file, sign its valid records and replace it (what is refused: see `files`).

    The records are parsed from the very bytes that are rewritten, so what is
    signed is what was read; the file's invalid documents come back in
    `invalid`, as the corpus reader words them (those of a streamed `.json`
    file go to `report` as they are read, if given).
    """
    result = FileResult(report=report)
    try:
        _rewrite(path, sign_one, force, result)
    except Refused as refused:
        result.signed = 0
        result.folder = None
        result.errors.append(f"{path}: {refused}; {UNCHANGED}")
    return result


def _rewrite(path: Path, sign_one: SignOne, force: bool, result: FileResult) -> None:
    suffix = path.suffix.lower()
    if suffix == ".json" and rewrite_json_stream(path, sign_one, force, result):
        return
    if suffix in LINE_SUFFIXES:
        rewrite_lines_stream(path, sign_one, force, result)
        return
    rewrite_whole(path, sign_one, force, result)
