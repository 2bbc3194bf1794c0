"""One `--connect-to HOST1:PORT1:HOST2:PORT2` rule (curl's semantics): the value
type, its parser and its match; a setting's value (config holds a list of them,
`--connect-to` and `connect_to = [...]`), applied at dial time by monitor.http.

Its own module so that the settings model stays a list of settings; imported
as `monitor.config.ConnectTo` too.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ConnectTo(BaseModel):
    """One `--connect-to HOST1:PORT1:HOST2:PORT2` rule (curl's semantics)."""

    model_config = ConfigDict(frozen=True)

    host1: str = ""
    port1: int | None = Field(None, ge=1, le=65535)
    host2: str = ""
    port2: int | None = Field(None, ge=1, le=65535)

    @classmethod
    def parse(cls, spec: str) -> ConnectTo:
        parts = _split_connect_to(spec)
        if len(parts) != 4:
            raise ValueError(
                f"--connect-to {spec!r}: expected HOST1:PORT1:HOST2:PORT2 "
                "(IPv6 addresses in brackets)"
            )
        h1, p1, h2, p2 = parts
        try:
            return cls(
                host1=h1.strip("[]").lower(),
                port1=_port(p1),
                host2=h2.strip("[]"),
                port2=_port(p2),
            )
        except ValueError:  # not digits, or out of range (a ValidationError)
            raise ValueError(
                f"--connect-to {spec!r}: ports must be numbers from 1 to 65535"
            ) from None

    def matches(self, host: str, port: int) -> bool:
        return (not self.host1 or self.host1 == host.lower()) and (
            self.port1 is None or self.port1 == port
        )


def _port(text: str) -> int | None:
    """An empty port matches any; otherwise ASCII digits only (`int` takes `+2` and `２`)."""
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise ValueError(text)
    return int(text)


def _split_connect_to(spec: str) -> list[str]:
    parts: list[str] = []
    cur = ""
    depth = 0
    for ch in spec:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == ":" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts
