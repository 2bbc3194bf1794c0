"""The resolver the client dials through: connect-to, RFC 6761 names, SSRF vetting.

The client (`client.py`) connects to exactly the addresses this resolver
returns, IP-literal hosts included, and keeps the URL's host for SNI and the
Host header. So one resolver is enough to (1) apply `--connect-to` rules,
(2) answer the special-use names of RFC 6761 without asking the network, and
(3) hand back only addresses the guard vetted, which makes DNS rebinding
harmless: what was vetted is what is dialled. The socket factory below vets
every address once more right before `connect()`.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from aiohappyeyeballs import AddrInfoType, SocketFactoryType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from monitor.config import ConnectTo
from monitor.http.connect_to import route
from monitor.http.guard import AddressPolicy, BlockedAddressError, literal_ip

_LOOPBACK: tuple[tuple[str, int], ...] = (("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6))


class NameNotResolvedError(OSError):
    """A name that cannot resolve, answered without a network query."""

    def __init__(self, host: str) -> None:
        super().__init__(socket.EAI_NONAME, f"{host}: name does not resolve (RFC 6761)")


def special_use(name: str) -> str | None:
    """RFC 6761 handling: 'invalid' never resolves, 'localhost' is loopback."""
    labels = name.rstrip(".").lower().rsplit(".", 1)
    tld = labels[-1]
    if tld == "invalid":
        return "invalid"
    if tld == "localhost":
        return "localhost"
    return None


def _result(hostname: str, host: str, port: int, family: int) -> ResolveResult:
    return {
        "hostname": hostname,
        "host": host,
        "port": port,
        "family": family,
        "proto": 0,
        "flags": socket.AI_NUMERICHOST,
    }


class GuardedResolver(AbstractResolver):
    """Resolve through connect-to rules and return only vetted addresses."""

    def __init__(
        self,
        policy: AddressPolicy,
        rules: Sequence[ConnectTo] = (),
        inner: AbstractResolver | None = None,
    ) -> None:
        self._policy = policy
        self._rules = tuple(rules)
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        dial_host, dial_port = route(self._rules, host, port)
        special = special_use(dial_host)
        ip = literal_ip(dial_host)
        if special == "invalid":
            raise NameNotResolvedError(dial_host)
        if ip is not None:
            fam = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            found = [_result(host, str(ip), dial_port, fam)]
        elif special == "localhost":
            found = [_result(host, a, dial_port, f) for a, f in _LOOPBACK]
        else:
            found = [
                {**r, "hostname": host, "port": dial_port}
                for r in await self._inner.resolve(dial_host, dial_port, family)
            ]
        vetted = [r for r in found if self._policy.refusal(r["host"]) is None]
        if not vetted:
            if not found:
                raise NameNotResolvedError(dial_host)
            first = found[0]["host"]
            raise BlockedAddressError(host, first, self._policy.refusal(first) or "refused")
        return vetted

    def vet_for_proxy(self, host: str, port: int) -> tuple[str, int]:
        """Where to ask a proxy to connect for `host:port`: the connect-to rules'
        address, vetted as far as it can be here (the proxy resolves names): an IP
        literal by the policy, an RFC 6761 name as `resolve` answers it; another
        name is the proxy's to resolve (its own ACLs must refuse internal ones).
        An address with a trailing dot (`127.0.0.1.`) is judged as the address:
        a proxy may strip the dot (Squid does) and connect to it."""
        dial_host, dial_port = route(self._rules, host, port)
        special = special_use(dial_host)
        if special == "invalid":
            raise NameNotResolvedError(dial_host)
        ip = literal_ip(dial_host.rstrip(".") if dial_host.endswith(".") else dial_host)
        if ip is not None:
            self._policy.check(host, str(ip))
            return ip.compressed, dial_port
        if special == "localhost":
            refusals = [self._policy.refusal(a) for a, _ in _LOOPBACK]
            if all(refusals):
                raise BlockedAddressError(host, _LOOPBACK[0][0], refusals[0] or "refused")
        return dial_host, dial_port

    async def close(self) -> None:
        await self._inner.close()


def guarded_socket_factory(policy: AddressPolicy) -> SocketFactoryType:
    """A socket factory for the client's dialler that re-vets the address dialled.

    Defence in depth: whatever path produced the address, no socket is
    opened towards a refused address.
    """

    def factory(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        address = str(sockaddr[0])
        policy.check(address, address)
        return socket.socket(family, type_, proto)

    return factory
