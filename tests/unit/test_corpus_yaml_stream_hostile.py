"""A `.yaml` stream read as YAML reads it, in the corners: repeated `...` document end
markers (YAML's l-document-suffix+, which PyYAML reads too) end the document, they
are no document of their own; `%YAML`/`%TAG` lines open the next document; empty
documents cost neither a YAML reader nor memory per document."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from support.traced import traced

import monitor.corpus.frontmatter as frontmatter
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


def _summary(text: str) -> list[tuple[str, int | None, str]]:
    out = []
    for item in parse_text("s.yaml", text, ".yaml"):
        what = item.error if isinstance(item, InvalidDocument) else repr(item.raw)
        out.append((type(item).__name__, item.line, what))
    return out


_BITS = ["---", "--- ", "--- # c", "---\t", "# c", "  # c", " ", "\t", "\r", "\x85", "\u2028"]
_BITS += ["...", "%YAML 1.1", f"webUrl: {A}", "x: 1", "\n", "\r\n", "#", "--- ~", "''"]


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.sampled_from(_BITS), min_size=1, max_size=14))
def test_empty_documents_skipped_unread_read_as_yaml_reads_them(parts: list[str]) -> None:
    """The fast path for a document with nothing in it answers as the YAML reader."""
    text = "".join(parts)
    fast = _summary(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(frontmatter, "_empty", lambda text, start, end: False)
        assert _summary(text) == fast


def test_empty_documents_cost_no_yaml_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = 0
    real = frontmatter.yaml_safe.load

    def counted(text: str) -> Any:
        nonlocal loads
        loads += 1
        return real(text)

    monkeypatch.setattr(frontmatter.yaml_safe, "load", counted)
    text = "---\n--- # c\n\n# x\n" * 1_000 + f"---\nwebUrl: {A}\n" + "---\n" * 1_000
    (doc,) = parse_text("s.yaml", text, ".yaml")
    assert isinstance(doc, Document) and doc.line == 4_002
    assert loads == 1


def test_the_documents_are_streamed_not_listed() -> None:
    """A list of every span held ~57 bytes per byte of a file of `---` lines (918 MB
    of memory for 16 MB); the spans now come one at a time."""
    text = "---\n" * 100_000
    with traced() as mem:
        (only,) = parse_text("s.yaml", text, ".yaml")
    assert isinstance(only, InvalidDocument) and "empty" in only.error
    assert mem.peak < 1_000_000, mem  # the list of 100,000 spans alone took ~15 MB
