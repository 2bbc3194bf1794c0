"""`--connect-to HOST1:PORT1:HOST2:PORT2`, curl's semantics, pure.

The request keeps its URL, so the Host header, SNI and the certificate check
stay those of the original name; only the address dialled changes. The
first matching rule wins, as in curl. An empty HOST2 or PORT2 keeps the
original one.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.config import ConnectTo


def route(rules: Sequence[ConnectTo], host: str, port: int) -> tuple[str, int]:
    """Where to connect for `host:port` (unchanged when no rule matches)."""
    name = host.rstrip(".").lower()
    for rule in rules:
        if rule.matches(name, port):
            return (rule.host2 or host), (rule.port2 if rule.port2 is not None else port)
    return host, port
