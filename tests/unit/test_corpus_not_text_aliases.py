"""The text check walks a container shared through YAML aliases once, not at each use:
a 300-byte document expanding to the alias limit (a million nodes) cost 0.8 s of CPU
there, and a `.yaml` stream may hold thousands of such documents."""

from __future__ import annotations

import re
from typing import Any

import pytest

import monitor.corpus.records as records
from monitor.corpus import parse_text
from monitor.corpus.article import Document, InvalidDocument


class _Counted:
    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.searches = 0

    def search(self, text: str) -> Any:
        self.searches += 1
        return self.pattern.search(text)


def _laughs(levels: int, leaf: str = "x") -> str:
    lines = ["webUrl: https://news.example.com/a", f"a0: &a0 [{', '.join([leaf] * 10)}]"]
    for k in range(1, levels):
        lines.append(f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def test_a_shared_container_is_walked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    counted = _Counted(records._NOT_TEXT)
    monkeypatch.setattr(records, "_NOT_TEXT", counted)
    (doc,) = parse_text("s.yaml", _laughs(4), ".yaml")  # 10,000 leaves through aliases
    assert isinstance(doc, Document)
    assert counted.searches < 100


def test_a_bad_string_in_a_shared_container_is_named_at_its_first_use() -> None:
    (bad,) = parse_text("s.yaml", _laughs(3, leaf='"a\\0b"'), ".yaml")
    assert isinstance(bad, InvalidDocument)
    assert bad.error.startswith("field a0.0 holds a NUL character")
    assert bad.line == 2
