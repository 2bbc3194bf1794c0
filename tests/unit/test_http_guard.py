"""SSRF guard and connect-to routing: pure, exhaustive over the address classes."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import ConnectTo
from monitor.http.connect_to import route
from monitor.http.guard import AddressPolicy, BlockedAddressError, embedded_ipv4, literal_ip
from monitor.http.resolver import special_use

REFUSED = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "::127.0.0.1",  # IPv4-compatible (deprecated)
]
ALLOWED = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    policy = AddressPolicy()
    assert policy.refusal(address) is not None
    with pytest.raises(BlockedAddressError) as info:
        policy.check("h.example", address)
    assert address.split("%")[0] in str(info.value) or info.value.address == address


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass(address: str) -> None:
    assert AddressPolicy().refusal(address) is None


def test_allowed_networks_exempt_exactly_what_they_cover() -> None:
    policy = AddressPolicy.from_networks(
        [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("10.1.0.0/16")]
    )
    assert policy.refusal("127.0.0.2") is None
    assert policy.refusal("::ffff:127.0.0.1") is None  # the mapped form reaches 127.0.0.1
    assert policy.refusal("10.1.2.3") is None
    assert policy.refusal("10.2.0.1") == "private"
    assert policy.refusal("::1") == "loopback"  # an IPv4 network does not cover IPv6


@given(st.ip_addresses(v=4))
def test_mapped_form_is_judged_like_the_ipv4_address(ip: ipaddress.IPv4Address) -> None:
    policy = AddressPolicy()
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    assert (policy.refusal(mapped) is None) == (policy.refusal(ip) is None)


@given(st.ip_addresses())
def test_any_address_gets_a_decision_without_raising(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    why = AddressPolicy().refusal(ip)
    assert why is None or isinstance(why, str)
    if why is None:  # public, or an IPv6 form of a public IPv4 address
        inner = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
        assert ip.is_global or (inner is not None and inner.is_global)


def test_embedded_ipv4() -> None:
    assert embedded_ipv4(ipaddress.ip_address("::ffff:1.2.3.4")) == ipaddress.IPv4Address("1.2.3.4")
    assert embedded_ipv4(ipaddress.ip_address("2002:0102:0304::")) == ipaddress.IPv4Address(
        "1.2.3.4"
    )
    assert embedded_ipv4(ipaddress.ip_address("2606:4700::1111")) is None
    assert embedded_ipv4(ipaddress.ip_address("1.2.3.4")) is None


def test_literal_ip() -> None:
    assert literal_ip("[::1]") == ipaddress.ip_address("::1")
    assert literal_ip("127.0.0.1") == ipaddress.ip_address("127.0.0.1")
    assert literal_ip("news.example") is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.invalid", "invalid"),
        ("A.INVALID.", "invalid"),
        ("invalid", "invalid"),
        ("localhost", "localhost"),
        ("x.localhost", "localhost"),
        ("news.example", None),
        ("invalid.example", None),
        ("test", None),  # RFC 6761: .test is not special to applications
    ],
)
def test_special_use_names(name: str, kind: str | None) -> None:
    assert special_use(name) == kind


RULES = [
    ConnectTo.parse("news.example:443:127.0.0.1:8443"),
    ConnectTo.parse("news.example::127.0.0.2:"),
    ConnectTo.parse(":80:[::1]:8080"),
]


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("news.example", 443, ("127.0.0.1", 8443)),  # first match wins
        ("NEWS.example.", 443, ("127.0.0.1", 8443)),  # case and trailing dot ignored
        ("news.example", 80, ("127.0.0.2", 80)),  # empty PORT2 keeps the port
        ("other.example", 80, ("::1", 8080)),  # empty HOST1 matches any host
        ("other.example", 443, ("other.example", 443)),  # no rule: unchanged
    ],
)
def test_connect_to_routes_like_curl(host: str, port: int, expected: tuple[str, int]) -> None:
    assert route(RULES, host, port) == expected
