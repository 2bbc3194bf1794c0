"""A `.yaml` stream read as YAML reads it, in the corners: repeated `...` document end
markers (YAML's l-document-suffix+, which PyYAML reads too) end the document, they
are no document of their own."""

from __future__ import annotations

import pytest
import yaml

from monitor.corpus import parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.secured.edit import rewrite_yaml_documents

A = "https://news.example.com/a"
B = "https://news.example.com/b"


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        (f"webUrl: {A}\n...\n...\n", [1]),
        (f"webUrl: {A}\n...\n# c\n...  # end\n", [1]),
        (f"---\nwebUrl: {A}\n...\n...\n\n...\n---\nwebUrl: {B}\n", [2, 8]),
        (f"---\nwebUrl: {A}\n---\n...\n...\n---\nwebUrl: {B}\n...\n...", [2, 7]),
        (f"---\r\nwebUrl: {A}\r\n...\r\n...\r\n", [2]),
    ],
)
def test_repeated_document_end_markers_are_no_document(text: str, lines: list[int]) -> None:
    expected = [d for d in yaml.safe_load_all(text) if d is not None]  # PyYAML reads them so
    items = list(parse_text("s.yaml", text, ".yaml"))
    assert all(isinstance(i, Document) for i in items), items
    assert [i.raw for i in items if isinstance(i, Document)] == expected
    assert [i.line for i in items] == lines


@pytest.mark.parametrize("text", ["...\n", "...\n...\n# c\n", "# c\n...\n"])
def test_a_stream_of_end_markers_only_is_empty(text: str) -> None:
    (only,) = parse_text("s.yaml", text, ".yaml")
    assert isinstance(only, InvalidDocument)
    assert only.error.startswith("YAML document is empty")


def test_sign_in_place_leaves_the_extra_end_markers_alone() -> None:
    text = f"---\nwebUrl: {A}\n...\n...\n---\nwebUrl: {B}\n...\n"
    assert rewrite_yaml_documents(text, {2: "X", 6: "Y"}) == (
        f'---\nwebUrl: {A}\nsecured: "X"\n...\n...\n---\nwebUrl: {B}\nsecured: "Y"\n...\n'
    )
