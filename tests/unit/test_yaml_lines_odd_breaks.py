"""A YAML error names the file's line even when a value holds a character that YAML
1.1 (PyYAML) counts as a line break but a file's lines do not: NEL, LINE SEPARATOR,
PARAGRAPH SEPARATOR, a CR alone. Each moved every later line of its document one
down (front matter and each document of a `.yaml` stream alike)."""

from __future__ import annotations

import pytest

from monitor.corpus import parse_text
from monitor.corpus.article import InvalidDocument

ODD = ["\x85", "\u2028", "\u2029", "\r"]


@pytest.mark.parametrize("odd", ODD)
@pytest.mark.parametrize("suffix", [".md", ".yaml"])
def test_a_field_error_names_the_file_line(odd: str, suffix: str) -> None:
    text = f'---\nwebUrl: https://a.example/1\ntitle: "a{odd}b{odd}c"\n\nimages: 5\n---\n'
    (bad,) = parse_text(f"x{suffix}", text, suffix)
    assert isinstance(bad, InvalidDocument)
    assert bad.line == 5, bad


@pytest.mark.parametrize("odd", ODD)
def test_a_syntax_error_in_a_later_document_names_the_file_line(odd: str) -> None:
    text = (
        f'---\nwebUrl: https://a.example/1\n---\nwebUrl: https://a.example/2\ntitle: "{odd}"\n'
        "x: [1,\ny: 2\n"
    )
    _good, bad = parse_text("s.yaml", text, ".yaml")
    assert isinstance(bad, InvalidDocument)
    assert bad.line == 8, bad  # `y: 2`, where the flow sequence was found unclosed
    assert "(line 8," in bad.error


@pytest.mark.parametrize("odd", ODD)
def test_a_duplicate_key_names_both_file_lines(odd: str) -> None:
    text = f'---\nwebUrl: https://a.example/1\ntitle: "{odd}{odd}"\ntitle: again\n---\n'
    (bad,) = parse_text("x.md", text, ".md")
    assert isinstance(bad, InvalidDocument)
    assert bad.line == 4
    assert "on line 4 (first on line 3)" in bad.error


@pytest.mark.parametrize("odd", ODD)
def test_the_column_is_the_file_line_column(odd: str) -> None:
    text = f'---\nwebUrl: https://a.example/1\ntitle: "a{odd}b" x: y\n---\n'
    plain = text.replace(odd, "z")
    (bad,) = parse_text("x.md", text, ".md")
    (same,) = parse_text("x.md", plain, ".md")
    assert isinstance(bad, InvalidDocument) and isinstance(same, InvalidDocument)
    assert "(line 3, column " in same.error
    assert (bad.line, bad.error) == (same.line, same.error)
