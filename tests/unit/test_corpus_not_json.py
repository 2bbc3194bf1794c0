"""The corpus readers on values Python's JSON reader takes but JSON does not, and on
arbitrary bytes: every outcome is a record or an InvalidDocument with a line,
never the "internal error" that ends a file (session 6)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.corpus import SUFFIXES, parse_bytes
from monitor.corpus.article import Document, InvalidDocument
from monitor.secured.canonical import canonical_bytes
from monitor.secured.edit import rewrite_json, rewrite_jsonl

HUGE = "9" * 4301


def _items(data: bytes, suffix: str = ".json") -> list[Document | InvalidDocument]:
    return list(parse_bytes("f", data, suffix))


def _errors(items: list[Document | InvalidDocument]) -> list[tuple[int | None, str]]:
    return [(i.line, i.error) for i in items if isinstance(i, InvalidDocument)]


def test_a_repeated_key_then_a_syntax_error_is_the_syntax_error_with_its_line() -> None:
    text = b'[{"webUrl": "https://e.test/", "o": {"a": 1, "a": 2},\n "b": }]'
    assert _errors(_items(text)) == [(2, "invalid JSON: Expecting value (line 2, column 7)")]


def test_a_top_level_constant_is_named() -> None:
    assert _errors(_items(b"\n-Infinity")) == [
        (2, "-Infinity on line 2 is not JSON: write a number, or null")
    ]


def test_a_huge_integer_in_a_member_of_a_single_object() -> None:
    text = f'{{"webUrl": "https://e.test/",\n"n": {HUGE}}}'.encode()
    [(line, error)] = _errors(_items(text))
    assert line == 2 and error.startswith("an integer of 4,301 digits on line 2")


def test_an_integer_at_the_limit_is_a_number() -> None:
    text = f'{{"webUrl": "https://e.test/", "n": {HUGE[:-1]}}}'.encode()
    [doc] = _items(text)
    assert isinstance(doc, Document) and doc.raw["n"] == int(HUGE[:-1])


def test_a_string_that_spells_nan_is_text() -> None:
    [doc] = _items(b'{"webUrl": "https://e.test/", "n": "NaN", "m": "' + HUGE.encode() + b'"}')
    assert isinstance(doc, Document)


def test_rewrite_leaves_a_refused_record_and_signs_the_next() -> None:
    good = json.dumps({"webUrl": "https://e.test/g"})
    text = f'[{{"webUrl": "https://e.test/b", "n": {HUGE}}}, {good}]'
    out = rewrite_json(text, lambda parsed: "SIG")
    assert out.count('"secured": "SIG"') == 1 and out.index("SIG") > out.index("/g")
    lines = f'{{"n": {HUGE}}}\n{good}\n'
    assert rewrite_jsonl(lines, lambda parsed: "SIG").count("SIG") == 1


_PIECES = (
        "{", "}", "[", "]", ",", ":", '"webUrl"', '"https://e.test/"', '"a"', "NaN",
        "-Infinity", "Infinity", HUGE, "-" + HUGE, "1", "1e999", "null", "\n", " ",
        "---\n", "webUrl: https://e.test/\n", "n: " + HUGE + "\n", "&a [*a]\n", "\ufeff",
        '"\\ud800"', '"\\u0000"', "\r\n", "<<: *a\n", "!!python/object:os.system\n",
        "x: !!timestamp soon\n", "y: !!bool maybe\n", "z: !!int 0x\n", "!!int ", "t: !!float .\n",
)  # fmt: skip
_TOKENS = st.sampled_from(_PIECES)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_TOKENS, max_size=30).map("".join), st.sampled_from(sorted(SUFFIXES)))
def test_any_text_is_records_or_invalid_documents_never_an_internal_error(
    text: str, suffix: str
) -> None:
    for item in _items(text.encode("utf-8", "surrogatepass"), suffix):
        if isinstance(item, InvalidDocument):
            assert "internal error" not in item.error, item


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=200), st.sampled_from(sorted(SUFFIXES)))
def test_any_bytes_are_records_or_invalid_documents(data: bytes, suffix: str) -> None:
    for item in _items(data, suffix):
        if isinstance(item, InvalidDocument):
            assert "internal error" not in item.error, item


def test_a_timestamp_yaml_cannot_build_is_kept_as_text_in_a_field_not_used() -> None:
    text = (
        b"---\nwebUrl: https://e.test/\ntitle: x\nimages:\n - url: https://e.test/i\n"
        b"   seen: [2020-01-01, 2016-12-31T23:59:60Z, 0000-01-01]\n---\n"
    )
    [doc] = _items(text, ".md")
    assert isinstance(doc, Document)
    seen = doc.raw["images"][0]["seen"]
    assert seen[1:] == ["2016-12-31T23:59:60Z", "0000-01-01"]  # as JSON would hold them


def test_in_a_field_used_it_is_named_with_its_line() -> None:
    text = b"---\nwebUrl: https://e.test/\ntitle: x\npublishedDateTime: 2021-02-30\n---\n"
    [(line, error)] = _errors(_items(text, ".md"))
    assert line == 4
    assert error == "field publishedDateTime: expected an RFC 3339 timestamp, got '2021-02-30'"


def test_yaml_and_json_of_such_a_record_have_one_canonical_form() -> None:
    record = {"webUrl": "https://e.test/", "a": "2021-02-30", "b": ["2016-12-31T23:59:60Z"]}
    yaml_text = b"webUrl: https://e.test/\na: &d 2021-02-30\nb: [2016-12-31T23:59:60Z]\n"
    [from_yaml] = _items(yaml_text, ".yaml")
    [from_json] = _items(json.dumps(record).encode())
    assert isinstance(from_yaml, Document) and isinstance(from_json, Document)
    assert canonical_bytes(from_yaml.raw) == canonical_bytes(from_json.raw)


def test_a_yaml_integer_past_the_digit_limit_is_named_with_its_line() -> None:
    [(line, error)] = _errors(_items(f"webUrl: https://e.test/\nn: {HUGE}\n".encode(), ".yaml"))
    assert line == 2 and error.startswith("an integer of 4,301 characters on line 2")


def test_an_object_with_a_web_url_and_a_news_list_is_never_dropped_in_silence() -> None:
    for text in (
        b'{"webUrl": "https://e.test/top", "articles": [{"webUrl": "https://e.test/in"}]}',
        b'{"news": [{"webUrl": "https://e.test/in"}],\n"webUrl": "https://e.test/top"}',
    ):
        items = _items(text)
        assert [i.article.webUrl for i in items if isinstance(i, Document)] == ["https://e.test/in"]
        [(line, error)] = _errors(items)
        assert line == 1 and "has a webUrl and a" in error and "its own fields" in error


CR_RECORDS = b'{"webUrl": "https://e.test/a"}\r{"webUrl": "https://e.test/b"}\r'


def test_a_file_whose_lines_end_in_cr_alone_says_so() -> None:
    for data, suffix in (
        (CR_RECORDS, ".jsonl"),
        (CR_RECORDS, ".json"),
        (b"---\rwebUrl: https://e.test/a\r---\r", ".md"),
    ):
        [(_line, error)] = _errors(_items(data, suffix))
        assert "lines end in CR alone" in error, (suffix, error)


def test_crlf_and_one_trailing_cr_are_not_cr_only() -> None:
    assert _errors(_items(b'{"webUrl": "https://e.test/a"}\r', ".jsonl")) == []
    [(_line, error)] = _errors(_items(b'{"webUrl": 1}\r\n{"webUrl": 2}\r\n', ".jsonl"))[:1]
    assert "CR alone" not in error


def test_an_explicit_tag_on_text_it_cannot_read_is_named_with_its_line() -> None:
    for tagged, what in (("!!timestamp soon", "timestamp"), ("!!bool maybe", "boolean"),
                         ("!!int 0x", "integer"), ("!!float abc", "number"),
                         ("!!int", "integer"), ("!!int ''", "integer")):  # fmt: skip
        text = f"---\nwebUrl: https://e.test/\nx: {tagged}\n---\n".encode()
        [(line, error)] = _errors(_items(text, ".md"))
        assert line == 3 and error.startswith(f"invalid {what} "), error


def test_a_huge_key_is_quoted_short_in_every_error() -> None:
    key = "k" * 200_000
    cases = [
        (f'{{"webUrl": "https://e.test/", "{key}": 1, "{key}": 2}}', ".json"),
        (f'[{{"webUrl": "https://e.test/", "{key}": 1, "{key}": 2}}]', ".json"),
        (f'{{"webUrl": "https://e.test/", "{key}": 1, "{key}": 2}}', ".jsonl"),
        (f'{{"webUrl": "https://e.test/", "{key}" 1}}', ".json"),
        (f"---\nwebUrl: https://e.test/\n? {key}\n: 1\n? {key}\n: 2\n---\n", ".md"),
        (f"---\nwebUrl: https://e.test/\nx: !<{key}> 1\n---\n", ".md"),
    ]
    for text, suffix in cases:
        [(line, error)] = _errors(_items(text.encode(), suffix))
        assert line is not None and len(error) < 300, (suffix, error[:120])


def test_findings_and_errors_quote_a_huge_url_or_path_short() -> None:
    from datetime import UTC, datetime

    from monitor.rules.static import document_problems

    big = "https://e.test/" + "a" * 2_000_000
    record = {"webUrl": "https://e.test/", "images": [{"url": big}], "ampWebUrl": big[:60000],
              "cdnAmpWebUrl": "https://x.cdn.ampproject.org/" + "c" * 60000}  # fmt: skip
    [doc] = _items(json.dumps(record).encode())
    assert isinstance(doc, Document)
    messages = [p.message for p in document_problems(doc, now=datetime.now(UTC))]
    assert {"invalid_url", "cdn_url_mismatch"} <= {
        p.code.value for p in document_problems(doc, now=datetime.now(UTC))
    }
    assert max(len(m) for m in messages) < 600
    nested = {"webUrl": "https://e.test/", "x": {"k" * 100_000: "a\u0000"}}
    [(_line, error)] = _errors(_items(json.dumps(nested).encode()))
    assert "NUL" in error and len(error) < 300
    [(_line, error)] = _errors(_items(json.dumps({"webUrl": big.replace("https", "ftp")}).encode()))
    assert len(error) < 400
