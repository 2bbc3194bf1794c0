"""The one aiohttp ClientSession of a run, configured for checking, not browsing.

- limit = `concurrency`, no per-host limit here: the HostPool enforces
  `per_host` (with its interval and backoff), one place for that rule;
- our resolver (connect-to, RFC 6761, SSRF vetting) and a socket factory
  that re-vets every address dialled;
- `auto_decompress=False`: bodies are decoded by `body.py` under a cap;
- no cookies, no proxies from the environment, no automatic redirects;
- timeouts: connect is `connect_timeout`; everything else is the engine's
  one budget per attempt (`timeout`, redirects and body reads included), so
  aiohttp arms no timer per request or per chunk.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp.connector import Connection

from monitor import __version__
from monitor.config import Settings
from monitor.http.guard import AddressPolicy
from monitor.http.resolver import GuardedResolver, guarded_socket_factory
from monitor.http.tls import make_ssl_context, transport_not_after

PROJECT_URL = "https://pypi.org/project/article-monitor/"


def user_agent(contact: str | None) -> str:
    """`article-monitor/<version> (+<contact>)`: who we are and how to reach us."""
    return f"article-monitor/{__version__} (+{contact or PROJECT_URL})"


# The certificate of a TLS connection does not change while it lives, so its
# expiry is read (getpeercert and a date parse) once per connection, not once
# per request; the entry goes when the connection's protocol object does.
_NOT_AFTER: weakref.WeakKeyDictionary[object, datetime | None] = weakref.WeakKeyDictionary()


def connection_not_after(connection: Connection) -> datetime | None:
    """The peer certificate's expiry on `connection`, read once per connection."""
    proto = connection.protocol
    if proto is None:
        return transport_not_after(connection.transport)
    try:
        return _NOT_AFTER[proto]
    except KeyError:
        pass
    value = transport_not_after(connection.transport)
    _NOT_AFTER[proto] = value
    return value


class RequestProbe:
    """What the connector learns about a request's connection: whether it was
    pooled (kept alive), the one case where a close before the response says
    nothing about the target (RFC 9112 section 9.3.1); and the peer
    certificate's expiry, read while the connection is the request's (an
    empty body hands it back to the pool at once). Set it with `probing()`."""

    __slots__ = ("cert_not_after", "reused")

    def __init__(self) -> None:
        self.reused = False
        self.cert_not_after: datetime | None = None


# The probe of the request being sent in this task. A context variable rather
# than an aiohttp TraceConfig: tracing costs every request a Trace object and
# a dozen awaited signals (~5% of a check's CPU) to learn one bit.
_PROBE: ContextVar[RequestProbe | None] = ContextVar("article_monitor_reuse_probe", default=None)


@contextmanager
def probing(probe: RequestProbe) -> Iterator[RequestProbe]:
    token = _PROBE.set(probe)
    try:
        yield probe
    finally:
        _PROBE.reset(token)


class _Connector(aiohttp.TCPConnector):
    """A TCPConnector that fills in the current request's probe: whether the
    connection it hands out has served a request before (a protocol object
    lives as long as its connection, so "seen before" is "kept alive"), and
    the certificate's expiry of a TLS connection."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._seen: weakref.WeakSet[object] = weakref.WeakSet()

    async def connect(
        self,
        req: Any,
        traces: Any,
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 - aiohttp's signature
    ) -> Connection:
        conn = await super().connect(req, traces, timeout)
        probe = _PROBE.get()
        proto = conn.protocol
        if proto is not None:
            if proto not in self._seen:
                self._seen.add(proto)
            elif probe is not None:
                probe.reused = True
        if probe is not None and req.url.scheme == "https":
            probe.cert_not_after = connection_not_after(conn)
        return conn


def make_session(settings: Settings, policy: AddressPolicy) -> aiohttp.ClientSession:
    connector = _Connector(
        limit=settings.concurrency,
        limit_per_host=0,
        resolver=GuardedResolver(policy, settings.connect_to),
        ssl=make_ssl_context(settings.ca_bundle),
        socket_factory=guarded_socket_factory(policy),
        ttl_dns_cache=60,
        enable_cleanup_closed=False,
    )
    timeout = aiohttp.ClientTimeout(
        total=None,
        connect=None,
        sock_connect=settings.connect_timeout,
        sock_read=None,  # the engine's budget bounds each hop, body included
    )
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": user_agent(settings.user_agent_contact)},
        raise_for_status=False,
    )
    # aiohttp resends an idempotent request once after *any* disconnect, unseen
    # by us, so `attempts` undercounted and a server closing fresh connections
    # got twice the requests --retries allows. The engine resends itself, only
    # on a reused connection, and counts it (private attribute: aiohttp < 4).
    session._retry_connection = False
    return session
