"""`sign --in-place` of the formats read whole (`.json`, `.yaml` streams, front
matter): the objects it rewrites must be the records the corpus reader reads, and
a record it cannot sign must be named for what it is, not blamed on the layout."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import monitor.corpus as corpus
from monitor.corpus import files, parse_bytes
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.json_stream import parse_json
from monitor.secured.edit import rewrite_json
from monitor.secured.inplace import Signable, rewrite_file

A = '{"webUrl": "https://a.example/1", "title": "One"}'
B = '{"webUrl": "https://a.example/2", "title": "Two"}'
CAP = 400  # characters: a record cap small enough to cross in a test


def _sign(value: str) -> Callable[[Signable], str | None]:
    return lambda _record: value


def _read(path: Path) -> list[Document | InvalidDocument]:
    return list(parse_bytes(str(path), path.read_bytes(), path.suffix))


def _two_signed_one_invalid(path: Path, text: str, invalid_line: int) -> list[Document]:
    """`text` signed in place: its two valid articles signed, the invalid one at
    `invalid_line` named and left as it was, nothing refused. The documents after."""
    path.write_text(text, encoding="utf-8")
    result = rewrite_file(path, _sign("v2.k.new"))
    assert result.errors == []
    assert [i.line for i in result.invalid] == [invalid_line]
    assert result.signed == 2
    return [d for d in _read(path) if isinstance(d, Document)]


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
    after = _two_signed_one_invalid(path, f"[{duplicate},\n{A},\n{B}]\n", 1)
    assert [d.raw.get("secured") for d in after] == ["v2.k.new"] * 2
    assert isinstance(_read(path)[0], InvalidDocument)
    assert path.read_text(encoding="utf-8").startswith(f"[{duplicate},\n")


def _near(n: int, size: int) -> str:
    """An article of `size` characters."""
    text = json.dumps({"webUrl": f"https://a.example/{n}", "title": ""})
    return text.replace('""', json.dumps("t" * (size - len(text))))


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_YAML_BYTES", CAP)
    monkeypatch.setattr(corpus, "parse_json", functools.partial(parse_json, cap=CAP))


def _yaml(n: int, size: int) -> str:
    head = f"webUrl: https://a.example/{n}\ntitle: "
    return head + "t" * (size - len(head) - 1) + "\n"


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("list.json", f"[{A},\n{_near(5, CAP - 20)},\n{B}]\n", 2),
        ("one.json", _near(5, CAP - 20), 1),
        ("wrapped.json", f'{{"news": [{A},\n{_near(5, CAP - 20)}]}}', 2),
        ("stream.yaml", f"---\n{_yaml(1, 60)}---\n{_yaml(5, CAP - 20)}", 5),
        ("page.md", f"---\n{_yaml(5, CAP - 20)}---\nbody\n", 2),
    ],
    ids=["list", "object", "wrapper", "yaml-stream", "front-matter"],
)
def test_a_record_signing_would_take_over_the_cap_is_named(
    tmp_path: Path, small_cap: None, name: str, text: str, line: int
) -> None:
    """Signed, the record would be over the reader's cap of one record: an invalid
    document where a valid one was. The file is left alone, as before, but the
    reason named the layout ("unusual YAML or JSON layout?"), not the record."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert all(isinstance(i, Document) for i in _read(path))
    result = rewrite_file(path, _sign("v2.k." + "s" * 60))
    assert path.read_text(encoding="utf-8") == text
    assert result.signed == 0 and result.invalid == []
    (error,) = result.errors
    assert f"line {line} would be invalid" in error and "limit" in error, error


IMAGE = '{"webUrl": "https://a.example/1", "images": [{"url": "https://a.example/i", "width": %s}]}'


@pytest.mark.parametrize("sep", [",\n", ", "], ids=["lines", "one-line"])
def test_an_invalid_object_equal_to_a_valid_one_in_python_takes_no_signature(
    tmp_path: Path, sep: str
) -> None:
    """`true == 1` in Python: an image width of `true` (invalid to the reader) was
    matched to the valid record of width 1 after it, and took its signature; the
    whole file was then refused, and none of its valid articles signed."""
    path = tmp_path / "width.json"
    invalid = IMAGE % "true"
    text = f'{{"news": [{invalid}{sep}{IMAGE % "1"}{sep}{B}]}}'
    after = _two_signed_one_invalid(path, text, 1)
    assert [d.raw.get("secured") for d in after] == ["v2.k.new"] * 2
    assert path.read_text(encoding="utf-8").startswith(f'{{"news": [{invalid}{sep}')


def test_a_list_under_a_repeated_wrapper_key_is_not_signed(tmp_path: Path) -> None:
    """The reader reads the list of a wrapper key's first copy only (a repeated key
    makes the wrapper invalid, its value no list of records): an article in the
    list of a second `news` took the signature of its equal in `articles`, and the
    whole file was refused."""
    path = tmp_path / "wrapper.json"
    text = f'{{"news": "x",\n"news": [{A}],\n"articles": [{A},\n{B}]}}\n'
    _two_signed_one_invalid(path, text, 2)
    assert path.read_text(encoding="utf-8").startswith(f'{{"news": "x",\n"news": [{A}],\n')


def test_the_edits_of_a_long_list_land_on_every_object_and_nothing_else() -> None:
    """The edits are spliced into the text in one pass (one at a time, each copied the
    whole text: 4,000 articles of 2 KB took 7.6 s; a time no test asserts): this holds
    the splice to its result. Every object gets its value, and every byte outside the
    `secured` members stays where it was."""
    objects = [
        json.dumps(
            {"webUrl": f"https://a.example/{n}", "secured": "old"}
            if n % 3 == 0
            else {"webUrl": f"https://a.example/{n}"},
            indent=n % 2 or None,
        )
        for n in range(300)
    ]
    text = "[" + ",\n".join(objects) + "]"
    new = rewrite_json(text, lambda parsed: f"v2.k.{parsed['webUrl'][-3:]}")
    expected = json.loads(text)
    for item in expected:
        item["secured"] = f"v2.k.{item['webUrl'][-3:]}"
    assert json.loads(new) == expected
    untouched = re.sub(r',?\s*"secured": "[^"]*"', "", new)
    assert untouched == re.sub(r',?\s*"secured": "[^"]*"', "", text)
