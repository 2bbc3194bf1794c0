"""SSRF guard, pure: is this address one we may connect to?

The checker fetches URLs written by other people, so a record must not be
able to make it talk to the monitor's own machine or network (metadata
services, admin ports, databases). Every address is vetted right before a
connection is made to it (see `resolver.py`), so a name that resolves to a
public address at one moment and a private one the next (DNS rebinding)
cannot slip through: the checker connects only to the address it vetted.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# IPv6 prefixes that embed an IPv4 address which the packet will end up at.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")

# IANA special-purpose blocks that are not globally reachable and that Python's
# `ipaddress` may call global: before 3.11.10 / 3.12.4 (CVE-2024-4032) all of
# 192.0.0.0/24 but its /29; in every version the documentation block 3fff::/20
# (RFC 9637) and the deprecated site-local fec0::/10 (RFC 3879). The two
# anycast addresses of 192.0.0.0/24 are globally reachable.
_NOT_GLOBAL: tuple[IPNetwork, ...] = (
    ipaddress.IPv4Network("192.0.0.0/24"),
    ipaddress.IPv6Network("3fff::/20"),
    ipaddress.IPv6Network("fec0::/10"),
)
_GLOBAL_ANYCAST = frozenset(
    {ipaddress.IPv4Address("192.0.0.9"), ipaddress.IPv4Address("192.0.0.10")}
)


class BlockedAddressError(OSError):
    """Raised instead of connecting to an address the guard refused.

    An OSError, like every resolver failure: the client chains it under the
    DNSFailedError it raises, and `classify_exception` finds it there.
    """

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(f"{host} resolves to {address} ({reason}), not allowed")
        self.host = host
        self.address = address
        self.reason = reason


def _embedded_nat64(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address really reaches, if it embeds one."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return _embedded_nat64(ip)
    # IPv4-compatible (deprecated) ::a.b.c.d, excluding :: and ::1
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip))
    return None


def refusal_reason(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address, or None if it is one."""
    if isinstance(ip, ipaddress.IPv6Address):
        # These reach the embedded IPv4 address and nothing else: judge that.
        inner = ip.ipv4_mapped or (_embedded_nat64(ip) if ip in _NAT64 else None)
        if inner is not None:
            why = refusal_reason(inner)
            return None if why is None else f"maps to {inner}: {why}"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64_LOCAL:
        return "private"
    if ip not in _GLOBAL_ANYCAST and any(
        ip.version == net.version and ip in net for net in _NOT_GLOBAL
    ):
        return "reserved"
    if not ip.is_global:
        return "not globally routable"
    inner = embedded_ipv4(ip)
    if inner is not None:
        why = refusal_reason(inner)
        if why is not None:
            return f"embeds {inner}: {why}"
    return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Refuse non-public addresses unless an allowed network covers them."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_networks(cls, networks: Iterable[IPNetwork]) -> AddressPolicy:
        return cls(tuple(networks))

    def _covered(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allowed)

    def refusal(self, address: str | IPAddress) -> str | None:
        """None when the checker may connect to `address`; else the reason."""
        ip = ip_strip(ipaddress.ip_address(address) if isinstance(address, str) else address)
        return _refusal(self, ip)

    def _judge(self, ip: IPAddress) -> str | None:
        if self._covered(ip):
            return None
        inner = embedded_ipv4(ip)
        if inner is not None and self._covered(inner):
            return None
        return refusal_reason(ip)

    def check(self, host: str, address: str) -> None:
        """Raise BlockedAddressError unless `address` may be connected to."""
        why = self.refusal(address)
        if why is not None:
            raise BlockedAddressError(host, address, why)


# The checker asks about the same few addresses for every request: remember
# the answers (a policy and an address are immutable, so the answer is too).
_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _refusal(policy: AddressPolicy, ip: IPAddress) -> str | None:
    return policy._judge(ip)


def ip_strip(ip: IPAddress) -> IPAddress:
    """Drop an IPv6 zone id (fe80::1%eth0): it does not change the policy."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        return ipaddress.IPv6Address(str(ip).split("%", 1)[0])
    return ip


@functools.lru_cache(maxsize=_CACHE_SIZE)
def literal_ip(host: str) -> IPAddress | None:
    """The address when `host` is an IP literal (brackets allowed), else None.

    Cached: it runs for every request, and hosts repeat.
    """
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
