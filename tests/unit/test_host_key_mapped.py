"""An IPv4-mapped IPv6 literal (`[::ffff:1.2.3.4]`) is the IPv4 host it maps to: a
connection to it reaches that host (and the SSRF guard judges it as that
address), so it shares the host's --per-host limit, Retry-After and cluster
member. Keyed as its compressed IPv6 form, a record that spelled one host both
ways had two gates and two members on it (issue 16 hostile review)."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from monitor.check.processes import host_owner
from monitor.daemon.placement import url_bucket
from monitor.http.hostpool import HostPool
from monitor.urls import host_key, requestable

v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)


@given(v4)
def test_a_mapped_address_is_its_ipv4_hosts_key(address: ipaddress.IPv4Address) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    for spelling in (f"[::ffff:{address}]", mapped.compressed, mapped.exploded.upper()):
        assert host_key(spelling) == str(address)
    assert host_key(str(address)) == str(address)


def test_one_host_spelled_both_ways_has_one_gate_one_bucket_one_process() -> None:
    both = [
        "http://93.184.216.34/a",
        "http://[::ffff:93.184.216.34]/b",
        "http://[::ffff:5db8:d822]/c",
    ]
    assert all(requestable(u) for u in both)
    assert len({url_bucket(u) for u in both}) == 1
    assert len({host_owner(u, 3, parent_weight=0.0) for u in both}) == 1
    pool = HostPool(per_host=1)
    assert pool.take_now("93.184.216.34") is not None
    assert pool.take_now("::ffff:5db8:d822") is None  # the one slot is held
