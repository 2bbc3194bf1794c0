"""The guarded resolver and socket factory, with a scripted inner resolver (no DNS)."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from monitor.config import ConnectTo
from monitor.http.guard import AddressPolicy, BlockedAddressError
from monitor.http.resolver import GuardedResolver, NameNotResolvedError, guarded_socket_factory


class Scripted(AbstractResolver):
    """Answers every name with fixed addresses, as a hostile DNS server could."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            {"hostname": host, "host": a, "port": port, "family": 0, "proto": 0, "flags": 0}
            for a in self.addresses
        ]

    async def close(self) -> None:
        pass


async def test_only_vetted_addresses_are_returned() -> None:
    inner = Scripted("93.184.216.34", "127.0.0.1", "10.0.0.1")
    found = await GuardedResolver(AddressPolicy(), inner=inner).resolve("news.example", 443)
    assert [r["host"] for r in found] == ["93.184.216.34"]
    assert found[0]["hostname"] == "news.example"


async def test_a_name_with_only_private_addresses_is_blocked() -> None:
    resolver = GuardedResolver(AddressPolicy(), inner=Scripted("169.254.169.254"))
    with pytest.raises(BlockedAddressError, match="link-local"):
        await resolver.resolve("metadata.example", 80)


async def test_invalid_names_never_reach_the_inner_resolver() -> None:
    inner = Scripted("93.184.216.34")
    with pytest.raises(NameNotResolvedError):
        await GuardedResolver(AddressPolicy(), inner=inner).resolve("x.invalid", 80)
    assert inner.asked == []


async def test_connect_to_replaces_address_and_port() -> None:
    rules = [ConnectTo.parse("news.example:443:127.0.0.1:8443")]
    policy = AddressPolicy.from_networks([ipaddress.ip_network("127.0.0.0/8")])
    inner = Scripted()
    found = await GuardedResolver(policy, rules, inner=inner).resolve("news.example", 443)
    assert [(r["host"], r["port"], r["hostname"]) for r in found] == [
        ("127.0.0.1", 8443, "news.example")
    ]
    assert inner.asked == []


def test_socket_factory_refuses_blocked_addresses() -> None:
    factory = guarded_socket_factory(AddressPolicy())
    with pytest.raises(BlockedAddressError):
        factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80)))
    sock = factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)))
    sock.close()  # created, never connected
