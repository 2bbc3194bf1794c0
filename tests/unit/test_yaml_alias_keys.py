"""A key repeated through a YAML alias (`&k webUrl: evil` then `*k : good`) is a
duplicate key too. The alias is the same node object as the first key, so a
check by identity let it through and the last copy won (identity is not
equality: issue 10, items 1 and 9)."""

from __future__ import annotations

import pytest

from monitor.corpus import parse_text
from monitor.corpus.article import InvalidDocument

FRONT = '---\n&k webUrl: "https://evil.example/a"\n*k : "https://good.example/a"\ntitle: t\n---\n'
PLAIN = 'title: t\n&k webUrl: "https://evil.example/a"\n*k : "https://good.example/a"\n'
NESTED = (
    'webUrl: "https://news.example/a"\nprovider:\n'
    "  &n name: Evil\n  *n : Good\n  domain: news.example\n"
)


@pytest.mark.parametrize(("text", "suffix"), [(FRONT, ".txt"), (PLAIN, ".yaml"), (NESTED, ".yml")])
def test_a_key_repeated_through_an_alias_is_a_duplicate(text: str, suffix: str) -> None:
    (item,) = parse_text(f"doc{suffix}", text, suffix)
    assert isinstance(item, InvalidDocument), item
    assert "duplicate key" in item.error
