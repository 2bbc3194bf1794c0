"""`sign --in-place`: sign the records of one file and replace it safely.

The text surgery is `edit`'s; this module owns the file I/O around it: read
the file, check that the rewrite changes nothing but `secured`, and replace
the file in one step.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.corpus import parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.files import LINE_SUFFIXES
from monitor.secured.edit import EditError, rewrite_front_matter, rewrite_json, rewrite_jsonl

# Gets one record; returns its new `secured` value, or None when it cannot be signed.
SignOne = Callable[[Document], str | None]


def _atomic_write(path: Path, data: bytes) -> None:
    """Replace the file's content in one step, keeping its mode."""
    target = path.resolve()
    mode = stat.S_IMODE(target.stat().st_mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _same_records(
    before: list[Document | InvalidDocument],
    after: list[Document | InvalidDocument],
    signed: dict[int, str],
) -> bool:
    """The rewritten file parses to the same records, with only `secured` changed."""
    if len(before) != len(after):
        return False
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        if isinstance(old, InvalidDocument) or isinstance(new, InvalidDocument):
            if type(old) is not type(new):
                return False
            continue
        expected = dict(old.raw)
        if index in signed:
            expected["secured"] = signed[index]
        if new.raw != expected:
            return False
    return True


def rewrite_file(
    path: Path,
    items: list[Document | InvalidDocument],
    sign_one: SignOne,
) -> tuple[int, list[str]]:
    """Sign the valid records of one file in place; (count signed, errors)."""
    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return 0, [f"{source}: cannot read: {exc}"]
    errors: list[str] = []
    signed: dict[int, str] = {}
    pending = [i for i, item in enumerate(items) if isinstance(item, Document)]

    def signer(parsed: Any) -> str | None:
        for index in pending:
            doc = items[index]
            assert isinstance(doc, Document)
            if doc.raw == parsed:
                pending.remove(index)
                value: str | None = sign_one(doc)
                if value is None:
                    return None
                signed[index] = value
                return value
        return None

    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            new_text = rewrite_json(text, signer)
        elif suffix in LINE_SUFFIXES:
            new_text = rewrite_jsonl(text, signer)
        else:
            doc = next((d for d in items if isinstance(d, Document)), None)
            value = signer(doc.raw) if doc is not None else None
            if value is None:
                return 0, errors
            new_text = rewrite_front_matter(text, value, plain_yaml=suffix in (".yaml", ".yml"))
    except EditError as exc:
        return 0, [f"{source}: cannot rewrite: {exc}; file left unchanged"]
    if not signed:
        return 0, errors
    after = list(parse_text(source, new_text, suffix))
    if not _same_records(items, after, signed):
        return 0, [
            f"{source}: the rewrite would change more than `secured` "
            "(unusual YAML or JSON layout?); file left unchanged"
        ]
    if new_text != text:
        _atomic_write(path, new_text.encode("utf-8"))
    return len(signed), errors
