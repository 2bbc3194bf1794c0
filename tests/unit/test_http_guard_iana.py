"""The SSRF guard refuses the IANA special-purpose blocks that are not globally
reachable whatever Python's `ipaddress` says (CONTRACT 3, `blocked`: "a
private, loopback, link-local or otherwise reserved address").

Python before 3.11.10 / 3.12.4 (CVE-2024-4032; the venv's 3.11.7, Debian 12's
3.11.2) takes 192.0.0.8-192.0.0.255 for global, and no version knows the newer
IPv6 blocks (3fff::/20 documentation, 5f00::/16 SRv6) or refuses site-local
fec0::/10: a record's `http://192.0.0.8/` was requested. Pure: no address here
is ever connected to."""

from __future__ import annotations

import ipaddress

import pytest

from monitor.http.guard import AddressPolicy

REFUSED = [
    "192.0.0.8",  # IPv4 dummy address (RFC 7600)
    "192.0.0.11",
    "192.0.0.100",
    "192.0.0.255",
    "::ffff:192.0.0.8",  # its IPv4-mapped form
    "64:ff9b::c000:8",  # its NAT64 form
    "3fff::1",  # documentation (RFC 9637)
    "3fff:fff:ffff::1",
    "5f00::1",  # SRv6 SIDs (RFC 9602)
    "fec0::1",  # site-local, deprecated (RFC 3879)
    "feff:ffff::1",
]
ALLOWED = [
    "192.0.0.9",  # PCP anycast: globally reachable
    "192.0.0.10",  # TURN anycast: globally reachable
    "192.0.1.1",
    "2606:4700::1111",
    "2a00:1450:4001::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_special_purpose_blocks_are_refused(address: str) -> None:
    assert AddressPolicy().refusal(address) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_their_global_neighbours_pass(address: str) -> None:
    assert AddressPolicy().refusal(address) is None


def test_an_allowed_network_still_exempts_them() -> None:
    policy = AddressPolicy.from_networks(
        [ipaddress.ip_network("192.0.0.0/24"), ipaddress.ip_network("3fff::/20")]
    )
    assert policy.refusal("192.0.0.8") is None
    assert policy.refusal("3fff::1") is None
    assert policy.refusal("5f00::1") is not None
