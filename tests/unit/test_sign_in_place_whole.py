"""`sign --in-place` of the formats read whole (`.json`, `.yaml` streams, front
matter): the objects it rewrites must be the records the corpus reader reads, and
a record it cannot sign must be named for what it is, not blamed on the layout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.corpus import parse_bytes
from monitor.corpus.article import Document, InvalidDocument
from monitor.secured.inplace import Signable, rewrite_file

A = '{"webUrl": "https://a.example/1", "title": "One"}'
B = '{"webUrl": "https://a.example/2", "title": "Two"}'


def _sign(value: str) -> Callable[[Signable], str | None]:
    return lambda _record: value


def _read(path: Path) -> list[Document | InvalidDocument]:
    return list(parse_bytes(str(path), path.read_bytes(), path.suffix))


@pytest.mark.parametrize(
    "duplicate",
    [
        '{"webUrl": "https://a.example/1", "title": "Old", "title": "One"}',
        '{"webUrl": "https://a.example/0", "webUrl": "https://a.example/1", "title": "One"}',
    ],
    ids=["title", "webUrl"],
)
def test_an_object_the_reader_refuses_does_not_take_a_valid_records_signature(
    tmp_path: Path, duplicate: str
) -> None:
    """Read with the last copy of a repeated key winning, an invalid element equal to
    a later valid one took that one's signature: the check of the rewrite refused the
    whole file ("unusual layout"), and no article of it was signed."""
    path = tmp_path / "dup.json"
    text = f"[{duplicate},\n{A},\n{B}]\n"
    path.write_text(text, encoding="utf-8")
    result = rewrite_file(path, _sign("v2.k.new"))
    assert result.errors == []
    assert [i.line for i in result.invalid] == [1]
    assert result.signed == 2
    after = _read(path)
    assert isinstance(after[0], InvalidDocument)
    assert [d.raw.get("secured") for d in after[1:] if isinstance(d, Document)] == [
        "v2.k.new",
        "v2.k.new",
    ]
    assert path.read_text(encoding="utf-8").startswith(f"[{duplicate},\n")
