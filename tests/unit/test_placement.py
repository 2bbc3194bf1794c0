"""Pure placement of hosts on members when some are placed out (stuck, issue 14)."""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from monitor.daemon.placement import (
    BUCKETS,
    buckets_of,
    claimable,
    host_bucket,
    owners_of,
    share,
    url_bucket,
    view_of,
)

THREE = ["a", "b", "c"]


def test_a_member_placed_out_owns_nothing_and_its_buckets_go_to_the_others() -> None:
    owners = owners_of(THREE, {"b"})
    assert owners == {"a", "c"}
    assert share("b", owners) == frozenset()
    assert share("a", owners) | share("c", owners) == frozenset(range(BUCKETS))
    assert share("a", owners) == buckets_of("a", ["a", "c"])


def test_everyone_placed_out_is_everyone_owning() -> None:
    assert owners_of(THREE, THREE) == set(THREE)


def test_the_others_take_a_stuck_members_buckets_only_once_it_has_drained() -> None:
    owners = owners_of(THREE, {"b"})
    old = frozenset(THREE)
    # b has not yet published the view without it: a keeps what it had and still has
    views = {"b": view_of(THREE), "c": view_of(owners)}
    mine, settled = claimable("a", THREE, views, old, out={"b"})
    assert not settled
    assert mine == buckets_of("a", THREE) & buckets_of("a", ["a", "c"])
    # b drained (its checks dropped): a and c split every bucket between them
    views["b"] = view_of(owners)
    mine, settled = claimable("a", THREE, views, old, out={"b"})
    assert settled and mine == buckets_of("a", ["a", "c"])
    # b itself claims nothing while out, settled or not
    views_b = {"a": view_of(owners), "c": view_of(owners)}
    assert claimable("b", THREE, views_b, old, out={"b"}) == (frozenset(), True)


def test_a_member_back_from_out_waits_for_the_handover_like_a_newcomer() -> None:
    before = owners_of(THREE, {"b"})  # the last settled view, without b
    views = {"a": view_of(before), "c": view_of(before)}
    mine, settled = claimable("b", THREE, views, frozenset(before))
    assert mine == frozenset() and not settled


def test_the_view_with_nobody_out_is_the_view_of_everyone() -> None:
    """Members of the previous version publish view_of(live): unchanged when none is out."""
    assert view_of(owners_of(THREE, ())) == view_of(THREE)


def _bucket_by_urlsplit(url: str) -> int:
    """The general reading `url_bucket` keeps to (its form before issue 16)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return host_bucket(host)


URL_CHARS = st.sampled_from(list("aZ09-._~:/?#[]@%!$&'()*+,;= \t\n\x00\x7fé\u3000"))


@given(
    scheme=st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "", " http://", "http:/"]),
    rest=st.text(URL_CHARS, max_size=40),
)
def test_url_bucket_reads_the_host_as_urlsplit_does(scheme: str, rest: str) -> None:
    url = scheme + rest
    assert url_bucket(url) == _bucket_by_urlsplit(url)


@given(
    host=st.from_regex(r"[A-Za-z0-9-]{1,12}(\.[A-Za-z0-9-]{1,12}){0,3}", fullmatch=True),
    port=st.none() | st.integers(0, 99999),
    tail=st.sampled_from(["", "/", "/a/b?c=d#e", "?q", "#f", "/x:y@z"]),
)
def test_url_bucket_of_ordinary_urls(host: str, port: int | None, tail: str) -> None:
    url = f"https://{host}{'' if port is None else f':{port}'}{tail}"
    assert url_bucket(url) == _bucket_by_urlsplit(url) == host_bucket(host.lower())
