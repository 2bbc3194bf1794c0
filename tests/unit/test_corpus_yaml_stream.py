"""A `.yaml`/`.yml` file is a YAML stream: every document in it is an article.

Before, a fenced `.yaml` file was read as front matter and every document after
the first was dropped without a word (a fence-less one was refused whole). A
front-matter `.txt`/`.md` file stays one record and an ignored body.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.corpus import parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.frontmatter import iter_yaml_documents

Item = Document | InvalidDocument


def parse(text: str, suffix: str = ".yaml") -> list[Item]:
    return list(parse_text(f"doc{suffix}", text, suffix))


def url(n: int) -> str:
    return f"https://news.example.com/{n}"


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".YAML"])
@pytest.mark.parametrize(
    ("text", "lines"),
    [
        # fenced, each document opened by `---` (the stream as yaml.safe_dump_all writes it)
        (f"---\nwebUrl: {url(1)}\n---\nwebUrl: {url(2)}\n---\nwebUrl: {url(3)}\n", [2, 4, 6]),
        # the same with a closing fence after the last
        (f"---\nwebUrl: {url(1)}\n---\nwebUrl: {url(2)}\n---\n", [2, 4]),
        # bare first document
        (f"webUrl: {url(1)}\n---\nwebUrl: {url(2)}\n", [1, 3]),
        # comments, blank lines, a directive and `...` end markers
        (
            f"# corpus\n%YAML 1.2\n---\nwebUrl: {url(1)}\n...\n\n# next\n---\n"
            f"title: t\nwebUrl: {url(2)}\n...\n",
            [4, 9],
        ),
        # content on the marker line
        (f'--- {{webUrl: "{url(1)}"}}\n--- {{webUrl: "{url(2)}"}}\n', [1, 2]),
        # empty documents hold nothing and are no error
        (
            f"---\n---\nwebUrl: {url(1)}\n---\n\n---\n# only a comment\n---\nwebUrl: {url(2)}\n",
            [3, 9],
        ),
    ],
)
def test_every_document_of_a_yaml_file_is_an_article(
    suffix: str, text: str, lines: list[int]
) -> None:
    items = parse(text, suffix)
    assert all(isinstance(i, Document) for i in items), items
    assert [i.line for i in items] == lines
    assert [i.raw["webUrl"] for i in items if isinstance(i, Document)] == [
        url(n + 1) for n in range(len(lines))
    ]


def test_a_broken_document_costs_itself_only_and_names_its_line() -> None:
    text = (
        f"---\nwebUrl: {url(1)}\n"
        f"---\nwebUrl: {url(2)}\ntitle: Breaking: news\n"
        "---\ntitle: no url\n"
        f"---\nwebUrl: {url(4)}\nimages: 5\n"
        f"---\nwebUrl: {url(5)}\n"
    )
    items = parse(text)
    assert [type(i).__name__ for i in items] == [
        "Document",
        "InvalidDocument",
        "InvalidDocument",
        "InvalidDocument",
        "Document",
    ]
    assert [i.line for i in items] == [2, 5, 7, 10, 12]
    assert isinstance(items[1], InvalidDocument) and "quote values" in items[1].error
    assert isinstance(items[2], InvalidDocument)
    assert items[2].error == "missing required field webUrl"
    assert isinstance(items[4], Document) and items[4].raw["webUrl"] == url(5)


@pytest.mark.parametrize(
    ("body", "line", "start"),
    [
        ("not: [yaml\n", 5, "invalid YAML:"),
        ("Some prose that is a body.\n", 4, "YAML document is a string"),
        ("- a\n- b\n", 4, "YAML document is a list"),
    ],
)
def test_a_body_after_front_matter_in_a_yaml_file_is_reported_not_dropped(
    body: str, line: int, start: str
) -> None:
    first, second = parse(f"---\nwebUrl: {url(1)}\n---\n{body}")
    assert isinstance(first, Document) and first.line == 2
    assert isinstance(second, InvalidDocument)
    assert second.line == line
    assert second.error.startswith(start)
    assert "every '---' line starts another article" in second.error
    assert ".md or .txt" in second.error


@pytest.mark.parametrize("suffix", [".txt", ".md"])
def test_front_matter_files_stay_one_record_and_an_ignored_body(suffix: str) -> None:
    text = f"---\nwebUrl: {url(1)}\n---\nwebUrl: {url(2)}\n---\nnot: [yaml\n"
    (only,) = parse(text, suffix)
    assert isinstance(only, Document) and only.raw["webUrl"] == url(1)


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing\n", "---\n", "---\n---\n...\n"])
def test_a_yaml_file_with_no_document_is_one_error(text: str) -> None:
    (bad,) = parse(text)
    assert isinstance(bad, InvalidDocument)
    assert "empty" in bad.error


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
)
_articles = st.builds(
    lambda n, extra: {"webUrl": url(n), **extra},
    st.integers(0, 10**6),
    st.dictionaries(
        st.sampled_from(["note", "category", "body", "---", "...", "- x"]),
        st.one_of(_scalars, st.lists(_scalars, max_size=3)),
        max_size=4,
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    articles=st.lists(_articles, min_size=1, max_size=5),
    explicit_start=st.booleans(),
    explicit_end=st.booleans(),
    style=st.sampled_from([None, '"', "|"]),
)
def test_any_dumped_stream_reads_back_whole_with_its_lines(
    articles: list[dict[str, Any]], explicit_start: bool, explicit_end: bool, style: str | None
) -> None:
    """What PyYAML writes (block scalars, quoted `---` text included) reads back,
    each article once, at the line of its first key, as PyYAML itself reads it."""
    text = yaml.safe_dump_all(
        articles,
        explicit_start=explicit_start or len(articles) == 1,
        explicit_end=explicit_end,
        default_style=style,
        sort_keys=False,
        allow_unicode=True,
    )
    items = parse(text)
    assert all(isinstance(i, Document) for i in items), items
    assert [i.raw for i in items if isinstance(i, Document)] == articles
    expected = [node.start_mark.line + 1 for node in yaml.compose_all(text)]
    assert [i.line for i in items] == expected


_PIECES = ["---", "...", "\n", " ", "#", "a: 1", "%Y", "\r\n"]


@given(parts=st.lists(st.sampled_from(_PIECES), min_size=1))
def test_documents_cover_the_text_in_order(parts: list[str]) -> None:
    text = "".join(parts)
    spans = list(iter_yaml_documents(text))
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for (_s, end, _l), (start, _e, _n) in itertools.pairwise(spans):
        assert end == start
    for start, _end, line in spans:
        assert line == text.count("\n", 0, start) + 1
