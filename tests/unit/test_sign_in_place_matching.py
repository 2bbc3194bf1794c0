"""`sign --in-place` finds the record of each object the rewrite meets without
searching every record: an object that is no valid record (an invalid one) was
compared with every record still unsigned, so a file with many of them took
quadratic time (10,000 valid and 10,000 invalid JSON records: 2.8 s of the 4.9 s)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.corpus.article import Document, InvalidDocument
from monitor.secured.inplace import rewrite_file, whole


class _Counted(dict[str, Any]):
    compared = 0

    def __eq__(self, other: object) -> bool:
        _Counted.compared += 1
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> None:
    real = whole.parse_text

    def parse_text(source: str, text: str, suffix: str) -> Iterator[Document | InvalidDocument]:
        for item in real(source, text, suffix):
            if isinstance(item, Document):
                item = dataclasses.replace(item, raw=_Counted(item.raw))
            yield item

    monkeypatch.setattr(whole, "parse_text", parse_text)
    _Counted.compared = 0


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".yaml"])
def test_records_are_matched_in_linear_comparisons(
    tmp_path: Path, counted: None, suffix: str
) -> None:
    count = 300
    records: list[dict[str, Any]] = []
    for n in range(count):
        records.append({"webUrl": f"https://e.example/{n}", "title": "t"})
        records.append({"title": f"no webUrl {n}"})
    path = tmp_path / f"many{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(records))
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        path.write_text("".join("---\n" + yaml.safe_dump(r) for r in records))
    result = rewrite_file(path, lambda doc: f"S{doc.raw['webUrl']}")
    assert result.signed == count, result.errors
    assert len(result.invalid) == count
    # one comparison per record to find it, one to check the rewrite read back the same
    assert _Counted.compared <= 3 * count


def test_identical_records_are_each_signed_once(tmp_path: Path) -> None:
    path = tmp_path / "twins.json"
    same = {"webUrl": "https://e.example/a"}
    path.write_text(json.dumps([same, {"webUrl": 5}, same, {"webUrl": "https://e.example/b"}]))
    seen: list[int] = []

    def sign_one(doc: Document) -> str:
        seen.append(doc.line or 0)
        return f"S{len(seen)}"

    result = rewrite_file(path, sign_one)
    assert result.signed == 3
    assert [r.get("secured") for r in json.loads(path.read_text())] == ["S1", None, "S2", "S3"]
