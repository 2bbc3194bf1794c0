"""Header values as the parser decodes them (UTF-8, `surrogateescape`)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.http.headers import ascii_token, is_utf8, shown


def parsed(raw: bytes) -> str:
    """What aiohttp's parsers make of a header value's bytes."""
    return raw.decode("utf-8", "surrogateescape")


@given(st.binary(max_size=64))
def test_is_utf8_says_whether_the_bytes_were_utf8(raw: bytes) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        assert not is_utf8(parsed(raw))
    else:
        assert is_utf8(parsed(raw))


@given(st.binary(max_size=64))
def test_shown_is_always_encodable_and_keeps_utf8_as_is(raw: bytes) -> None:
    text = shown(parsed(raw))
    text.encode("utf-8")  # never a lone surrogate left
    if is_utf8(parsed(raw)):
        assert text == parsed(raw)


def test_shown_marks_each_bad_byte() -> None:
    assert shown(parsed(b"text/\xe9\xe8")) == "text/\ufffd\ufffd"


def test_ascii_token() -> None:
    assert ascii_token("120") == "120"
    assert ascii_token("٢") is None
    assert ascii_token(None) is None
