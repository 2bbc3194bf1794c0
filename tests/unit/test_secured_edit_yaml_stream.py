"""`sign --in-place` of a multi-document `.yaml` file rewrites the `secured` of each
document it is asked to, cut as the corpus reader cuts them, and nothing else."""

from __future__ import annotations

import pytest

from monitor.secured.edit import EditError, rewrite_front_matter, rewrite_yaml_documents


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


class _CountedValues(dict[int, str]):
    """Counts the entries handed out by items(): the matching's work."""

    handed = 0

    def items(self):  # type: ignore[override]
        for entry in super().items():
            _CountedValues.handed += 1
            yield entry


def test_matching_values_to_documents_is_linear() -> None:
    """Each document searched every value (sign --in-place of 20,000 documents spent
    16 s of CPU in this matching alone, 100,000 would take minutes): now one pass."""
    count = 2_000
    text = "".join(f"---\nwebUrl: u{n}\n" for n in range(count))
    values = _CountedValues({2 + 2 * n: f"V{n}" for n in range(count)})
    _CountedValues.handed = 0
    out = rewrite_yaml_documents(text, values)
    assert out == "".join(f'---\nwebUrl: u{n}\nsecured: "V{n}"\n' for n in range(count))
    assert _CountedValues.handed <= 2 * count


def test_a_value_goes_to_the_document_holding_its_line() -> None:
    text = "# c\n---\nwebUrl: a\n...\n# x\n---\n\nwebUrl: b\n---\nwebUrl: c\n"
    assert rewrite_yaml_documents(text, {10: "C", 8: "B"}) == (
        '# c\n---\nwebUrl: a\n...\n# x\n---\n\nwebUrl: b\nsecured: "B"\n'
        '---\nwebUrl: c\nsecured: "C"\n'
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('{webUrl: "a"}\n---\nwebUrl: b\n', 1),
        ('---\nwebUrl: a\n---\n# c\n{webUrl: "b",\n title: t}\n', 3),
    ],
)
def test_a_flow_mapping_document_is_refused_saying_why(text: str, line: int) -> None:
    """Appending a `secured:` line after `{…}` broke the document; the check that
    follows refused the file as an "unusual YAML or JSON layout?"."""
    with pytest.raises(EditError, match=f"the document of line {line} is a flow mapping"):
        rewrite_yaml_documents(text, {line: "A", 3 if line == 1 else 2: "B"})


def test_a_flow_mapping_front_matter_is_refused_saying_why() -> None:
    with pytest.raises(EditError, match="the front matter is a flow mapping"):
        rewrite_front_matter('---\n# c\n{webUrl: "a"}\n---\nbody\n', "A")
