"""`sign --in-place` of a multi-document `.yaml` file rewrites the `secured` of each
document it is asked to, cut as the corpus reader cuts them, and nothing else."""

from __future__ import annotations

import pytest

from monitor.secured.edit import EditError, rewrite_yaml_documents


def test_each_named_document_gets_its_own_value() -> None:
    text = "---\nwebUrl: a\n---\nwebUrl: b\nsecured: old\n---\nwebUrl: c\n"
    out = rewrite_yaml_documents(text, {2: "A", 4: "B"})
    assert out == ('---\nwebUrl: a\nsecured: "A"\n---\nwebUrl: b\nsecured: "B"\n---\nwebUrl: c\n')


def test_comments_directives_end_markers_bom_and_crlf_are_kept() -> None:
    text = "\ufeff# c\r\n%YAML 1.2\r\n--- # first\r\nwebUrl: a\r\n...\r\nwebUrl: b\r\n"
    out = rewrite_yaml_documents(text, {4: "A", 6: "B"})
    assert out == (
        "\ufeff# c\r\n%YAML 1.2\r\n--- # first\r\nwebUrl: a\r\n"
        'secured: "A"\r\n...\r\nwebUrl: b\r\nsecured: "B"\r\n'
    )


def test_a_document_on_its_marker_line_is_refused() -> None:
    with pytest.raises(EditError, match="line 1"):
        rewrite_yaml_documents('--- {webUrl: "a"}\n', {1: "A"})
