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


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        (f"webUrl: {A}\n%YAML 1.1\n---\nwebUrl: {B}\n", [1, 4]),
        (
            f"---\nwebUrl: {A}\n# next\n%TAG !e! tag:e.example,2000:\n\n%YAML 1.1\n---\n"
            f"webUrl: {B}\n",
            [2, 8],
        ),
        (f"webUrl: {A}\nbody: |\n  text\n%YAML 1.1\n--- # b\nwebUrl: {B}\n", [1, 6]),
        # a `%` line that is no directive stays where it is: here, text of a quoted scalar
        (f'webUrl: {A}\ntitle: "50\n%off"\n---\nwebUrl: {B}\n', [1, 5]),
    ],
)
def test_a_directive_opens_the_next_document(text: str, lines: list[int]) -> None:
    """`%YAML`/`%TAG` lines before a `---` belong to the document it opens, as PyYAML
    reads them (YAML 1.2 asks for a `...` first): the document before them was
    refused ("did not find expected <document start>") and its article lost."""
    items = list(parse_text("s.yaml", text, ".yaml"))
    assert all(isinstance(i, Document) for i in items), items
    assert [i.raw for i in items if isinstance(i, Document)] == list(yaml.safe_load_all(text))
    assert [i.line for i in items] == lines


def test_sign_in_place_keeps_a_directive_with_its_document() -> None:
    text = f"webUrl: {A}\n%YAML 1.1\n---\nwebUrl: {B}\n"
    assert rewrite_yaml_documents(text, {1: "X", 4: "Y"}) == (
        f'webUrl: {A}\nsecured: "X"\n%YAML 1.1\n---\nwebUrl: {B}\nsecured: "Y"\n'
    )
