"""Parsing of article documents: formats, line numbers, error messages, safety.

Pure: text and bytes in hand, no files (see tests/integration/test_corpus_files.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.corpus import parse_bytes, parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.records import web_url_problem
from monitor.corpus.yaml_safe import YamlError, check_graph

Item = Document | InvalidDocument

SEED_LIKE = """---
category: news
title: "A title"
publishedDateTime: 2020-04-16T19:08:00Z
webUrl: "https://techcrunch.com/2020/04/16/clearview-source-code-lapse/"
ampWebUrl: null
provider:
  name: TechCrunch
  domain: techcrunch.com
images:
  - url: "https://techcrunch.com/hero.jpg"
    width: 1024
    height: 568
---

Body text that is ignored.
"""


def parse(text: str, suffix: str = ".txt") -> list[Item]:
    return list(parse_text(f"doc{suffix}", text, suffix))


def one(text: str, suffix: str = ".txt") -> Item:
    items = parse(text, suffix)
    assert len(items) == 1, items
    return items[0]


def invalid(text: str, suffix: str = ".txt") -> InvalidDocument:
    item = one(text, suffix)
    assert isinstance(item, InvalidDocument), item
    return item


def valid(text: str, suffix: str = ".txt") -> Document:
    item = one(text, suffix)
    assert isinstance(item, Document), item
    return item


# --- front matter -------------------------------------------------------------------


def test_front_matter_record_keeps_raw_mapping_and_yaml_datetimes() -> None:
    doc = valid(SEED_LIKE)
    assert doc.source == "doc.txt"
    assert doc.line == 2  # the first key
    assert doc.raw["publishedDateTime"] == datetime(2020, 4, 16, 19, 8, tzinfo=UTC)
    assert doc.raw["ampWebUrl"] is None
    assert doc.article.provider is not None and doc.article.provider.domain == "techcrunch.com"
    assert doc.article.images[0].width == 1024
    assert "Body" not in json.dumps(doc.raw, default=str)


def test_front_matter_line_is_the_first_key_after_comments() -> None:
    doc = valid("---\n# a comment\n\nwebUrl: https://a.example.com/x\n---\n")
    assert doc.line == 4


def test_crlf_and_bom_are_accepted() -> None:
    text = "\ufeff" + SEED_LIKE.replace("\n", "\r\n")
    assert valid(text).article.webUrl.startswith("https://techcrunch.com/")
    data = b"\xef\xbb\xbf" + SEED_LIKE.encode()
    (item,) = parse_bytes("doc.txt", data, ".txt")
    assert isinstance(item, Document)


def test_unknown_fields_are_kept() -> None:
    doc = valid("---\nwebUrl: https://a.example.com/\nheat: 97\nextra: {nested: [1, 2]}\n---\n")
    assert doc.raw["heat"] == 97
    assert doc.raw["extra"] == {"nested": [1, 2]}


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_plain_yaml_without_fences(suffix: str) -> None:
    doc = valid("# comment\nwebUrl: https://a.example.com/x\ntitle: t\n", suffix)
    assert doc.line == 2
    assert doc.raw["title"] == "t"


def test_yaml_file_with_fences_reads_the_front_matter_and_reports_a_body() -> None:
    # a .yaml file is a YAML stream: what follows the second `---` is another document
    doc, body = parse("---\nwebUrl: https://a.example.com/x\n---\nnot: [yaml\n", ".yaml")
    assert isinstance(doc, Document) and doc.line == 2
    assert isinstance(body, InvalidDocument) and body.error.startswith("invalid YAML:")


def test_yaml_file_with_only_an_opening_marker_is_plain_yaml() -> None:
    assert valid("---\nwebUrl: https://a.example.com/x\n", ".yml").line == 2


def test_txt_without_front_matter_says_how_to_fix() -> None:
    bad = invalid("\n\nwebUrl: https://a.example.com/\n")
    assert bad.line == 3
    assert "must start with a '---' line" in bad.error


def test_unclosed_front_matter() -> None:
    bad = invalid("---\nwebUrl: https://a.example.com/\ntitle: x\n", ".md")
    assert bad.line == 1
    assert "never closed" in bad.error and "add a '---' line" in bad.error


@pytest.mark.parametrize("text", ["", "   \n\n", "\ufeff"])
def test_empty_file(text: str) -> None:
    bad = invalid(text)
    assert bad.line == 1
    assert "empty file" in bad.error


def test_empty_front_matter() -> None:
    bad = invalid("---\n---\nbody\n")
    assert bad.line == 2 and "front matter is empty" in bad.error


def test_bad_yaml_gives_the_line_of_the_mark() -> None:
    text = "---\ntitle: x\nimages:\n  - url: u\n    width: 1\n   height: 2\nwebUrl: y\n---\n"
    bad = invalid(text)
    assert bad.line == 6
    assert bad.error.startswith("invalid YAML:")
    assert "(line 6, column" in bad.error


def test_unquoted_colon_hint() -> None:
    bad = invalid("---\nwebUrl: https://a.example.com/\ntitle: Breaking: news: today\n---\n")
    assert bad.line == 3
    assert "quote values" in bad.error


@pytest.mark.parametrize(
    ("body", "kind"),
    [("- a\n- b\n", "a list"), ("just a string\n", "a string"), ("42\n", "an integer")],
)
def test_yaml_that_is_not_a_mapping(body: str, kind: str) -> None:
    bad = invalid(f"---\n{body}---\n")
    assert bad.line == 2
    assert bad.error == f"front matter is {kind}: expected a mapping of article fields"


def test_multiple_yaml_documents_in_plain_yaml() -> None:
    items = parse("webUrl: https://a.example.com/\n---\nwebUrl: https://b.example.com/\n", ".yaml")
    assert [(type(i).__name__, i.line) for i in items] == [("Document", 1), ("Document", 3)]


# --- field validation ----------------------------------------------------------------


def test_wrong_type_names_the_field_and_its_line() -> None:
    text = (
        "---\nwebUrl: https://a.example.com/\nimages:\n"
        "  - url: https://a.example.com/1.jpg\n    width: 10\n"
        "  - url: https://a.example.com/2.jpg\n    width: abc\n---\n"
    )
    bad = invalid(text)
    assert bad.error == "field images.1.width: expected an integer, got 'abc'"
    assert bad.line == 7


def test_several_wrong_fields_are_all_named() -> None:
    bad = invalid(
        "---\nwebUrl: https://a.example.com/\npublishedDateTime: yesterday\nimages: 5\n---\n"
    )
    assert "field publishedDateTime: expected an RFC 3339 timestamp, got 'yesterday'" in bad.error
    assert "field images: expected a list, got 5" in bad.error
    assert bad.line == 3


def test_missing_web_url() -> None:
    bad = invalid("---\ntitle: no url\nampWebUrl: https://a.example.com/amp\n---\n")
    assert bad.error == "missing required field webUrl"
    assert bad.line == 2


def test_web_url_of_wrong_type() -> None:
    bad = invalid("---\ntitle: t\nwebUrl: [https://a.example.com/]\n---\n")
    assert bad.error == "field webUrl: expected a string, got a list"
    assert bad.line == 3


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://a.example.com/x", "scheme 'ftp'"),
        ("/2021/01/relative", "no scheme"),
        ("https:///path-only", "no host"),
        ("https://a.example.com:99999/", "cannot be parsed"),
        ("https://a.example.com/with space", "whitespace"),
        ("", "empty"),
        ("mailto:news@example.com", "scheme 'mailto'"),
    ],
)
def test_bad_web_url(url: str, fragment: str) -> None:
    bad = invalid(f"---\ntitle: t\nwebUrl: {json.dumps(url)}\n---\n")
    assert fragment in bad.error
    assert bad.line == 3
    assert web_url_problem(url) is not None


@pytest.mark.parametrize(
    "url",
    ["https://a.example.com", "http://127.0.0.1:8080/x?y=1#f", "https://[::1]/", "HTTPS://A.COM/"],
)
def test_good_web_url(url: str) -> None:
    assert web_url_problem(url) is None


def test_non_string_keys_are_refused_with_a_hint() -> None:
    bad = invalid("---\nwebUrl: https://a.example.com/\nyes: 1\n---\n")
    assert bad.line == 3
    assert "'yes'" in bad.error and "quote it" in bad.error


@pytest.mark.parametrize(
    "value", ["!!binary aGVsbG8=", "!!python/object/apply:os.system ['true']", "!!set {a, b}"]
)
def test_non_json_tags_are_refused(value: str) -> None:
    bad = invalid(f"---\nwebUrl: https://a.example.com/\nx: {value}\n---\n")
    assert bad.line == 3
    assert "unsupported tag" in bad.error


def test_impossible_timestamp() -> None:
    bad = invalid("---\nwebUrl: https://a.example.com/\npublishedDateTime: 2021-02-30\n---\n")
    assert bad.line == 3  # the timestamp's own line, not the front matter's first
    assert "publishedDateTime: expected an RFC 3339 timestamp, got '2021-02-30'" in bad.error


@pytest.mark.parametrize("suffix", [".txt", ".json"])
def test_deep_nesting_is_refused_not_crashing(suffix: str) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    if suffix == ".json":
        text = '{"webUrl": "https://a.example.com/", "x": ' + deep + "}"
    else:
        text = "---\nwebUrl: https://a.example.com/\nx: " + deep + "\n---\n"
    bad = invalid(text, suffix)
    assert "nest" in bad.error


# --- YAML aliases ----------------------------------------------------------------------


def billion_laughs(levels: int = 9) -> str:
    lines = ["---", "webUrl: https://a.example.com/", 'a0: &a0 ["lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join([*lines, "---", ""])


def test_billion_laughs_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast by construction, not by the clock: the check visits each distinct
    node a bounded number of times, never the ~2e9 nodes of the expansion."""
    from monitor.corpus import yaml_safe

    visits = 0
    children = yaml_safe.children

    def counted(node: Any) -> Any:
        nonlocal visits
        visits += 1
        return children(node)

    monkeypatch.setattr(yaml_safe, "children", counted)
    bad = invalid(billion_laughs())
    assert "billion laughs" in bad.error
    assert 0 < visits < 1_000  # 5 * 9**9 leaves once expanded; ~100 distinct nodes
    assert bad.line is not None and 3 <= bad.line <= 12


def test_many_aliases_fail() -> None:
    text = (
        "---\nwebUrl: https://a.example.com/\na: &a x\nb: [" + ",".join(["*a"] * 1001) + "]\n---\n"
    )
    assert "alias references" in invalid(text).error


def test_recursive_alias_fails() -> None:
    bad = invalid("---\nwebUrl: https://a.example.com/\na: &a [1, *a]\n---\n")
    assert "recursive alias" in bad.error and bad.line == 3


def test_a_few_aliases_are_fine_and_expand() -> None:
    doc = valid("---\nwebUrl: https://a.example.com/\nlogo: &l {url: u}\nimages: [*l, *l]\n---\n")
    assert doc.raw["images"] == [{"url": "u"}, {"url": "u"}]


def test_merge_keys_are_allowed() -> None:
    doc = valid(
        "---\nbase: &b {domain: a.example.com}\nprovider: {<<: *b, name: A}\nwebUrl: https://a.example.com/\n---\n"
    )
    assert doc.raw["provider"] == {"domain": "a.example.com", "name": "A"}


def test_check_graph_counts_expanded_nodes() -> None:
    node = yaml.compose("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n")
    assert node is not None
    check_graph(node, max_nodes=100)
    with pytest.raises(YamlError):
        check_graph(node, max_nodes=15)


# --- JSON --------------------------------------------------------------------------------

ART = {"webUrl": "https://a.example.com/1", "title": "one"}


def test_json_object() -> None:
    doc = valid(json.dumps(ART), ".json")
    assert doc.raw == ART and doc.line == 1


def test_json_list_lines_point_at_each_opening_brace() -> None:
    arts = [{**ART, "webUrl": f"https://a.example.com/{i}"} for i in range(3)]
    items = parse(json.dumps(arts, indent=2), ".json")
    assert [type(i) for i in items] == [Document] * 3
    text = json.dumps(arts, indent=2)
    lines = text.splitlines()
    assert [lines[i.line - 1].strip() for i in items] == ["{"] * 3
    assert [i.line for i in items] == [2, 6, 10]


@pytest.mark.parametrize("key", ["news", "articles"])
def test_json_wrapper_object(key: str) -> None:
    text = json.dumps(
        {"status": "ok", key: [ART, {**ART, "webUrl": "https://b.example.com/"}], "n": 2}, indent=1
    )
    items = parse(text, ".json")
    assert all(isinstance(i, Document) for i in items) and len(items) == 2
    assert items[0].line == 4


def test_json_wrapper_whose_list_is_not_a_list() -> None:
    bad = invalid('{"status": "ok",\n "news": {"webUrl": "https://a.example.com/"}}', ".json")
    assert bad.line == 1
    assert bad.error == "'news' is a mapping: expected a list of article objects"


def test_article_with_a_news_field_is_an_article() -> None:
    doc = valid('{"webUrl": "https://a.example.com/", "news": "yes"}', ".json")
    assert doc.raw["news"] == "yes"


def test_json_wrapper_with_empty_list_gives_nothing() -> None:
    assert parse('{"news": []}', ".json") == []


def test_empty_json_list_gives_nothing() -> None:
    assert parse(" [ ] ", ".json") == []


def test_json_bad_element_does_not_stop_the_others() -> None:
    text = "\n".join(
        [
            "[",
            '{"webUrl": "https://a.example.com/"},',
            '"oops",',
            '{"title": "t"},',
            '{"webUrl": "https://b.example.com/", "images": [{"url": "u", "width": "abc"}]},',
            '{"webUrl": "https://c.example.com/"}',
            "]",
        ]
    )
    items = parse(text, ".json")
    assert [type(i).__name__ for i in items] == [
        "Document",
        "InvalidDocument",
        "InvalidDocument",
        "InvalidDocument",
        "Document",
    ]
    assert [i.line for i in items] == [2, 3, 4, 5, 6]
    assert isinstance(items[1], InvalidDocument)
    assert items[1].error == "list element 1 is a string: expected a mapping of article fields"
    assert isinstance(items[3], InvalidDocument)
    assert items[3].error == "field images.0.width: expected an integer, got 'abc'"


def test_json_syntax_error_gives_its_line_and_stops_the_file() -> None:
    text = "\n".join(
        [
            '[ {"webUrl": "https://a.example.com/"},',
            ' {"webUrl": "https://a.example.com/"},',
            ' {"webUrl": "https://b.example.com/",}',
            ', {"webUrl": "https://c.example.com/"}]',
        ]
    )
    items = parse(text, ".json")
    assert [i.line for i in items[:2] if isinstance(i, Document)] == [1, 2]
    (bad,) = items[2:]
    assert isinstance(bad, InvalidDocument)
    assert bad.line == 3
    assert "trailing comma" in bad.error


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('"just a string"', 1, "the JSON document is a string"),
        ("\n\n42", 3, "the JSON document is an integer"),
        ('{"webUrl": "https://a.example.com/"}\n{}', 2, "extra data"),
        ('[{"webUrl": "https://a.example.com/"}', 1, "expected ',' or ']'"),
        ('{"webUrl" "x"}', 1, "expected ':'"),
        ("{'webUrl': 1}", 1, "expected '\"'"),
        ("[1, 2", 1, "expected ',' or ']'"),
        ("", 1, "empty file"),
        ("[" * 100_000, 1, "invalid JSON"),
    ],
)
def test_json_errors(text: str, line: int, fragment: str) -> None:
    bad = parse(text, ".json")[-1]
    assert isinstance(bad, InvalidDocument)
    assert bad.line == line
    assert fragment in bad.error


# --- JSON Lines ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson"])
def test_jsonl_lines_and_blank_lines(suffix: str) -> None:
    text = "\n".join(
        [
            json.dumps(ART),
            "",
            "   ",
            "[1, 2]",
            '{"webUrl": "https://b.example.com/"',
            json.dumps({**ART, "webUrl": "https://c.example.com/"}),
        ]
    )
    items = parse(text + "\r\n", suffix)
    assert [(type(i).__name__, i.line) for i in items] == [
        ("Document", 1),
        ("InvalidDocument", 4),
        ("InvalidDocument", 5),
        ("Document", 6),
    ]
    assert isinstance(items[1], InvalidDocument)
    assert items[1].error == "the JSONL line is a list: expected a mapping of article fields"
    assert isinstance(items[2], InvalidDocument)
    assert items[2].error.startswith("invalid JSON on this line:")


# --- bytes -------------------------------------------------------------------------------


def test_binary_garbage_says_binary_with_offset() -> None:
    (bad,) = parse_bytes("x.txt", b"---\nwebUrl: \x00\x01\x02\n", ".txt")
    assert isinstance(bad, InvalidDocument)
    assert bad.line == 2
    assert "NUL byte at byte offset 12" in bad.error


def test_non_utf8_says_where() -> None:
    (bad,) = parse_bytes("x.txt", "---\ntitle: café\n---\n".encode("latin-1"), ".txt")
    assert isinstance(bad, InvalidDocument)
    assert bad.line == 2
    assert "not valid UTF-8: byte 0xe9 at byte offset 14" in bad.error


def test_utf16_is_named() -> None:
    (bad,) = parse_bytes("x.json", json.dumps(ART).encode("utf-16"), ".json")
    assert isinstance(bad, InvalidDocument) and "UTF-16" in bad.error


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(
            lambda s: ("---\n" + s + "\n---\n").encode("utf-8", "surrogatepass")
        ),
        st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")),
    ),
    suffix=st.sampled_from([".txt", ".md", ".yaml", ".json", ".jsonl", ".bin"]),
)
def test_arbitrary_bytes_never_raise(data: bytes, suffix: str) -> None:
    for item in parse_bytes("fuzz" + suffix, data, suffix):
        assert isinstance(item, Document | InvalidDocument)
        if isinstance(item, InvalidDocument):
            assert item.error
            assert item.line is None or item.line >= 1


# --- round trips ---------------------------------------------------------------------------

# PyYAML's dumper writes C0/C1 controls and U+2028/9 raw, and its loader then
# reads them as line breaks: the writer's limitation, not the loader's, so
# they stay out of generated text.
_chars = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"))
_keys = st.text(_chars, min_size=1, max_size=12)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(_chars, max_size=40),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=12,
)
_urls = st.builds(
    lambda host, path: f"https://{host}.example.com/{path}",
    st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
    st.from_regex(r"[a-zA-Z0-9/_.-]{0,30}", fullmatch=True),
)
_images = st.lists(
    st.fixed_dictionaries(
        {"url": _urls, "width": st.integers(1, 5000), "height": st.integers(1, 5000)},
        optional={"title": st.text(_chars, max_size=20)},
    ),
    max_size=3,
)
_articles = st.builds(
    lambda web, images, extra: {**extra, "webUrl": web, "images": images},
    _urls,
    _images,
    st.dictionaries(
        _keys.filter(
            lambda k: (
                k
                not in {
                    "webUrl",
                    "images",
                    "ampWebUrl",
                    "cdnAmpWebUrl",
                    "related",
                    "provider",
                    "title",
                    "secured",
                    "publishedDateTime",
                    "updatedDateTime",
                }
            )
        ),
        _values,
        max_size=5,
    ),
)


def _front_matter(article: dict[str, Any]) -> str:
    return "---\n" + yaml.safe_dump(article, allow_unicode=True, sort_keys=False) + "---\nbody\n"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(articles=st.lists(_articles, min_size=1, max_size=4))
def test_round_trip_json_jsonl_and_front_matter(articles: list[dict[str, Any]]) -> None:
    as_list = parse(json.dumps(articles, indent=1, ensure_ascii=False), ".json")
    as_wrapped = parse(json.dumps({"news": articles}), ".json")
    as_lines = parse("\n".join(json.dumps(a) for a in articles) + "\n", ".jsonl")
    for items in (as_list, as_wrapped, as_lines):
        assert [i.raw for i in items if isinstance(i, Document)] == articles
    for article in articles:
        doc = valid(_front_matter(article))
        assert doc.raw == article
        assert valid(yaml.safe_dump(article, allow_unicode=True), ".yaml").raw == article
