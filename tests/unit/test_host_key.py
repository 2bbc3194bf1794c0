"""One host, one key (urls.host_key): per-host politeness and cluster placement
treat every spelling of a host as that host."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from yarl import URL

from monitor import urls
from monitor.daemon.placement import BUCKETS, _h64, host_bucket, url_bucket
from monitor.http.hostpool import HostPool
from monitor.urls import host_key

ascii_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
unicode_label = st.text(
    st.characters(whitelist_categories=("Ll", "Lo"), max_codepoint=0x9FFF), min_size=1, max_size=8
)
label = st.one_of(ascii_label, unicode_label)
hosts = st.lists(label, min_size=1, max_size=4).map(".".join)
ipv6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)


def test_the_spellings_of_one_host_share_a_key() -> None:
    one = {"example.com", "example.com.", "EXAMPLE.com", "Example.COM."}
    assert {host_key(h) for h in one} == {"example.com"}
    idn = {"bücher.example", "BÜCHER.example.", "xn--bcher-kva.example", "XN--BCHER-KVA.example."}
    assert {host_key(h) for h in idn} == {"xn--bcher-kva.example"}
    v6 = {"::1", "[::1]", "0:0::1", "[0:0:0:0:0:0:0:1]", "[::1]."}
    assert {host_key(h) for h in v6} == {"::1"}
    assert host_key("1.2.3.4.") == "1.2.3.4"


@given(st.text(max_size=40))
@example("a[.")
@example("[::1].")
@example("xn--zz.")
@example("İ.com")
def test_the_key_is_idempotent_and_never_raises(host: str) -> None:
    key = host_key(host)
    assert host_key(key) == key


@given(hosts)
def test_a_name_in_any_case_with_a_trailing_dot_or_in_punycode_is_one_key(host: str) -> None:
    key = host_key(host)
    assert host_key(host + ".") == key
    assert host_key(key.upper()) == key
    try:
        assert host_key(urls.ascii_host(host)) == key
    except ValueError:  # not encodable: its own key, still stable
        pass
    if host.isascii():
        assert host_key(host.upper() + ".") == key


@given(ipv6)
def test_an_ipv6_literal_in_any_spelling_is_one_key(address: ipaddress.IPv6Address) -> None:
    key = host_key(str(address))
    for spelling in (address.exploded, address.exploded.upper(), f"[{address.compressed}]"):
        assert host_key(spelling) == key


@given(hosts)
def test_the_engines_spelling_and_the_documents_spelling_share_a_key(host: str) -> None:
    """The engine keys its gates by yarl's raw_host, placement by urlsplit's hostname."""
    url = f"http://{host}/p"
    if not urls.requestable(url):
        return
    assert host_key(URL(url).raw_host or "") == host_key(host)
    assert host_key(URL(f"http://{host}./p").raw_host or "") == host_key(host)


def test_a_plain_host_keeps_the_bucket_it_had() -> None:
    """Stored buckets of plain hosts stay valid (migration 0009 rewrites only the others)."""
    for host in ("news.example", "a.test", "1.2.3.4", "xn--bcher-kva.example"):
        assert host_bucket(host) == _h64("host:" + host) % BUCKETS


@pytest.mark.parametrize(
    "spellings",
    [
        ["http://a.test./x", "http://A.test/y", "https://A.TEST.:8443/z", "http://a.test"],
        ["http://bücher.example/", "http://xn--bcher-kva.example/", "http://BÜCHER.example./a"],
        ["http://[::1]/", "http://[0:0::1]:8080/", "http://[0:0:0:0:0:0:0:1]/"],
    ],
)
def test_the_spellings_of_one_host_are_placed_in_one_bucket(spellings: list[str]) -> None:
    assert len({url_bucket(u) for u in spellings}) == 1
    engine_key = host_key(URL(spellings[0]).raw_host or "")
    assert {url_bucket(u) for u in spellings} == {host_bucket(engine_key)}


async def test_the_spellings_of_one_host_share_one_gate() -> None:
    pool = HostPool(per_host=1)
    gate = pool.take_now("a.test.")
    assert gate is not None
    assert pool.take_now("A.test") is None  # the one slot is taken
    assert pool.take_now("b.test") is not None
    pool.record("A.TEST", 429, 30.0)
    assert pool.backoff_remaining("a.test.") > 0
    assert set(pool.backoffs()) == {"a.test"}
    pool.leave("whatever spelling", gate)
    assert pool.take_now("a.test") is None  # backing off, for every spelling


async def test_a_host_queued_in_another_spelling_gets_the_slot_on_leave() -> None:
    pool = HostPool(per_host=1)
    first = pool.take_now("Bücher.example.")
    assert first is not None
    task = asyncio.ensure_future(pool.take("xn--bcher-kva.example"))
    await asyncio.sleep(0)
    assert not task.done()
    pool.leave("bücher.example", first)
    second = await task
    assert second is first
    pool.leave("xn--bcher-kva.example", second)
    assert len(pool) == 0  # forgotten once idle, under its one key


def test_a_probe_answer_kept_under_another_spelling_is_read_under_the_key() -> None:
    """Answers the daemon kept before hosts had one spelling are restored under the key."""
    from monitor.daemon.probes import key_of

    assert key_of("http A.Test. 8080", "/s") == ("http", "a.test", 8080, "/s")
    assert key_of("https bücher.example ", "/") == ("https", "xn--bcher-kva.example", None, "/")


def test_the_spellings_of_one_host_go_to_one_checker_process() -> None:
    from monitor.check.processes import host_owner

    spellings = ["http://a.test./x", "http://A.test/y", "http://a.test:8080/z"]
    for children in (1, 2, 3, 5):
        assert len({host_owner(u, children) for u in spellings}) == 1
