"""The status API's query parameters and cursors (pure)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.observe.status.filters import (
    MAX_ID,
    BadParameter,
    Filters,
    article_id,
    decode_cursor,
    encode_cursor,
    list_query,
    target_id,
    target_query,
)

filters_st = st.builds(
    Filters,
    state=st.sampled_from([None, "up", "down", "unknown"]),
    kind=st.sampled_from([None, "web", "image"]),
    provider=st.none() | st.text(max_size=20),
    q=st.none() | st.text(max_size=20),
)


def _bad(pairs: list[tuple[str, str]]) -> BadParameter:
    with pytest.raises(BadParameter) as info:
        target_query(pairs)
    return info.value


def test_defaults_and_values() -> None:
    q = target_query([])
    assert (q.state, q.limit, q.after) == (None, 100, 0)
    q = target_query(
        [
            ("state", "down"),
            ("kind", "cdn"),
            ("provider", "A B"),
            ("outcome", "timeout"),
            ("problem", "soft_404"),
            ("q", "%_'\""),
            ("limit", "1000"),
        ]
    )
    assert (q.state, q.kind, q.provider, q.outcome) == ("down", "cdn", "A B", "timeout")
    assert (q.problem, q.q, q.limit) == ("soft_404", "%_'\"", 1000)


def test_empty_values_count_as_absent() -> None:
    """An HTML form sends `kind=` for "any"."""
    assert target_query([("kind", ""), ("state", "")]) == target_query([])


def test_the_api_list_asks_for_availability_over_24_h_only_by_name() -> None:
    """`availability=24h` is the API's opt-in (each item's availability_24h); any other
    window is refused by name, and the HTML list, which always shows it, takes none."""
    assert list_query([("state", "down")]) == (target_query([("state", "down")]), False)
    assert list_query([("availability", "24h"), ("limit", "5")]) == (
        target_query([("limit", "5")]),
        True,
    )
    assert list_query([("availability", "")]) == (target_query([]), False)  # a form's "any"
    for pairs in ([("availability", "7d")], [("availability", "24h")] * 2):
        with pytest.raises(BadParameter) as info:
            list_query(pairs)
        assert info.value.parameter == "availability"
    assert _bad([("availability", "24h")]).message == "unknown parameter"


@pytest.mark.parametrize(
    ("pairs", "parameter"),
    [
        ([("state", "sideways")], "state"),
        ([("state", "DOWN")], "state"),
        ([("kind", "video")], "kind"),
        ([("outcome", "fine")], "outcome"),
        ([("problem", "x' OR 1=1 --")], "problem"),
        ([("limit", "0")], "limit"),
        ([("limit", "1001")], "limit"),
        ([("limit", "-1")], "limit"),
        ([("limit", "1e3")], "limit"),
        ([("limit", " 5")], "limit"),
        ([("limit", "99999999999999999999999")], "limit"),
        ([("limit", "١٠")], "limit"),  # Unicode digits are not digits here
        ([("cursor", "garbage")], "cursor"),
        ([("cursor", "A" * 10_000)], "cursor"),
        ([("provider", "p" * 256)], "provider"),
        ([("q", "q" * 2049)], "q"),
        ([("q", "a\x00b")], "q"),
        ([("q", "a\tb")], "q"),
        ([("provider", "a\x00b")], "provider"),
        ([("stat", "down")], "stat"),
        ([("state", "down"), ("state", "up")], "state"),
    ],
)
def test_bad_parameters_are_named(pairs: list[tuple[str, str]], parameter: str) -> None:
    err = _bad(pairs)
    assert err.parameter == parameter
    assert err.body() == {"error": err.message, "parameter": parameter}


def test_a_huge_unknown_parameter_name_is_cut_short() -> None:
    assert len(_bad([("x" * 5000, "1")]).parameter) <= 41


@pytest.mark.parametrize(
    "name",
    [
        "Call 555-0100 now, your account is locked",
        "<b>x</b>",
        '"quoted"',
        "x\x00y",
        "naïve",
        "a" * 41,
    ],
)
def test_an_unknown_name_that_is_no_parameter_name_is_not_echoed(name: str) -> None:
    """The answer (JSON, and the HTML error page) names the parameter; a name
    that could not be one (spaces, markup, controls) is text chosen by whoever
    made the link, and is not reflected back."""
    err = _bad([(name, "1")])
    assert err.parameter == "(not a parameter name)"
    assert name not in err.message


@pytest.mark.parametrize("name", ["bogus", "stat", "page_size", "filter.kind", "x-1"])
def test_an_unknown_name_that_looks_like_one_is_named(name: str) -> None:
    assert _bad([(name, "1")]).parameter == name


@given(st.integers(1, MAX_ID), filters_st)
def test_cursor_round_trip(after: int, filters: Filters) -> None:
    token = encode_cursor(after, filters)
    assert len(token) <= 64 and token.isascii()
    assert decode_cursor(token, filters) == after


@given(st.integers(1, MAX_ID), filters_st, st.data())
def test_a_tampered_cursor_is_refused(after: int, filters: Filters, data: st.DataObject) -> None:
    token = encode_cursor(after, filters)
    i = data.draw(st.integers(0, len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    c = data.draw(st.sampled_from(alphabet).filter(lambda ch: ch != token[i]))
    tampered = token[:i] + c + token[i + 1 :]
    with pytest.raises(BadParameter) as info:
        decode_cursor(tampered, filters)
    assert info.value.parameter == "cursor"


@given(st.integers(1, MAX_ID), filters_st, st.integers(1, 30))
def test_a_truncated_or_extended_cursor_is_refused(after: int, filters: Filters, n: int) -> None:
    token = encode_cursor(after, filters)
    for bad in (token[:-n], token + "A" * n, token + "=" * n):
        with pytest.raises(BadParameter):
            decode_cursor(bad, filters)


def test_a_re_signed_cursor_with_another_position_needs_the_same_filters() -> None:
    """The cursor is bound to its filters: one made for `state=down` does not page `up`."""
    token = encode_cursor(42, Filters(state="down"))
    with pytest.raises(BadParameter, match="other filters"):
        decode_cursor(token, Filters(state="up"))


def test_a_cursor_with_zero_or_huge_position_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_cursor(0, Filters())
    raw = base64.urlsafe_b64decode(encode_cursor(1, Filters()) + "=")
    assert len(raw) == 23


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("9223372036854775807", MAX_ID),
        ("9223372036854775808", None),
        ("0", None),
        ("-1", None),
        ("1.0", None),
        ("..%2f..%2fetc", None),
        ("１", None),
        ("", None),
    ],
)
def test_target_ids(text: str, expected: int | None) -> None:
    assert target_id(text) == expected


def test_article_ids() -> None:
    assert article_id("6c3b12078d9965ad") == "6c3b12078d9965ad"
    for bad in ("6C3B12078D9965AD", "6c3b12078d9965a", "../../etc/passwd", "6c3b12078d9965ad0"):
        assert article_id(bad) is None


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["state", "kind", "provider", "outcome", "problem", "q", "limit"])
            | st.text(max_size=8),
            st.text(max_size=40),
        ),
        max_size=6,
    )
)
def test_any_query_string_is_a_query_or_a_named_bad_parameter(
    pairs: list[tuple[str, str]],
) -> None:
    try:
        q = target_query(pairs)
    except BadParameter as exc:
        assert exc.message
        assert exc.parameter or any(name == "" for name, _ in pairs)
        return
    assert 1 <= q.limit <= 1000 and q.after == 0


def test_a_provider_may_hold_what_a_corpus_domain_holds_but_nul() -> None:
    """The overview links to every provider it lists, tabs and newlines included."""
    odd = "tab\there\nnew\x7fline"
    assert target_query([("provider", odd)]).provider == odd
