"""`sign --in-place` signs the records of a `.yaml` stream and of a front matter by
their place: they are in hand, each with its line; so are the elements of a `.json`
list, signed as the reader's walk yields them (`json_tap`). Only the rewrite of a
`.json` file read whole (one article object), which meets article objects rather
than records, finds them again by equality (`_Pending`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.corpus import iter_documents
from monitor.corpus.article import Document
from monitor.secured.inplace import rewrite_file, whole


@pytest.fixture
def takes(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    seen: list[object] = []
    real = whole._Pending.take

    def take(self: whole._Pending, parsed: object) -> int | None:
        seen.append(parsed)
        return real(self, parsed)

    monkeypatch.setattr(whole._Pending, "take", take)
    return seen


@pytest.mark.parametrize(
    ("name", "text", "count"),
    [
        # two equal documents: each is signed once, by its own place
        ("s.yaml", "webUrl: https://a.test/\n---\nwebUrl: https://a.test/\n---\nx: [\n", 2),
        ("f.md", "---\nwebUrl: https://a.test/\n---\nbody\n", 1),
    ],
)
def test_yaml_records_are_signed_without_being_found_again(
    tmp_path: Path, takes: list[object], name: str, text: str, count: int
) -> None:
    path = tmp_path / name
    path.write_text(text)
    signed: list[int] = []

    def sign_one(doc: Document) -> str:
        signed.append(doc.line)
        return f"S{doc.line}"

    result = rewrite_file(path, sign_one)
    assert takes == []
    assert result.signed == count and len(signed) == len(set(signed)) == count
    docs = [i for i in iter_documents([path]) if isinstance(i, Document)]
    assert [d.raw["secured"] for d in docs] == [f"S{line}" for line in signed]


def test_json_list_elements_are_signed_by_place(tmp_path: Path, takes: list[object]) -> None:
    path = tmp_path / "s.json"
    path.write_text('[{"webUrl": "https://a.test/"}, {"webUrl": "https://a.test/"}]')
    signed: list[int] = []

    def sign_one(doc: Document) -> str:
        signed.append(doc.line)
        return "S"

    assert rewrite_file(path, sign_one).signed == 2
    assert takes == [] and signed == [1, 1]
    one = tmp_path / "o.json"
    one.write_text('{"webUrl": "https://a.test/"}')
    assert rewrite_file(one, lambda doc: "S").signed == 1
    assert len(takes) == 1  # one article object: read whole, found again by equality
