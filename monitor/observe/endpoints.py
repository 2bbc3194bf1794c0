"""The daemon's HTTP endpoints: /metrics, /healthz, /readyz (aiohttp).

Loopback by default. Beyond loopback, protect the endpoints with a bearer
token (`metrics_token_file`) or basic auth (`metrics_basic_auth_file`, one
`user:password` line) and serve TLS (`tls_cert_file`, `tls_key_file`); a
listen address beyond loopback with neither is refused unless
`metrics_allow_unauthenticated` says so. Credentials come from files, never
from the config file, and are kept only as SHA-256 digests compared in
constant time. /healthz (the process is alive) stays open, for liveness
probes; /readyz answers everyone with its status code, but only an
authorised caller gets the JSON detail of what is wrong (it names paths and
database errors).

Basic auth is checked against a plain `user:password` file rather than an
htpasswd bcrypt hash: no new dependency, the same trust model as the token
file (and Prometheus's own `basic_auth.password_file`), and no bcrypt work
per scrape that an unauthenticated client could make the daemon do.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from monitor.config import ConfigError, Settings
from monitor.observe.metrics import DaemonMetrics

log = logging.getLogger(__name__)

Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


def read_token(path: Path | None) -> str | None:
    """The bearer token, from a file (never from the config file itself)."""
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"metrics_token_file {path}: {exc.strerror or exc}") from None
    if not token:
        raise ConfigError(f"metrics_token_file {path} is empty")
    return token


def read_basic_auth(path: Path | None) -> tuple[str, str] | None:
    """`user:password` from the first non-blank line of a file (the password may hold `:`)."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"metrics_basic_auth_file {path}: {exc.strerror or exc}") from None
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    user, sep, password = line.partition(":")
    if not sep or not user or not password:
        raise ConfigError(
            f"metrics_basic_auth_file {path}: expected one line `user:password` (both non-empty)"
        )
    return user, password


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class EndpointAuth:
    """Who may read /metrics and /readyz's detail: digests only, never the secrets.

    Equal-length digests make `hmac.compare_digest` constant-time whatever the
    length of what the client sent.
    """

    bearer: bytes | None = None
    basic: bytes | None = None

    @classmethod
    def of(cls, token: str | None = None, basic: tuple[str, str] | None = None) -> EndpointAuth:
        return cls(
            bearer=None if token is None else _digest(token),
            basic=None if basic is None else _digest(f"{basic[0]}:{basic[1]}"),
        )

    @property
    def enabled(self) -> bool:
        return self.bearer is not None or self.basic is not None

    def __repr__(self) -> str:
        return f"EndpointAuth(bearer={self.bearer is not None}, basic={self.basic is not None})"

    def challenge(self) -> str:
        return 'Basic realm="article-monitor"' if self.basic is not None else "Bearer"

    def allows(self, header: str) -> bool:
        """Whether an Authorization header value grants access."""
        if not self.enabled:
            return True
        scheme, _, value = header.strip().partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "bearer" and self.bearer is not None:
            return hmac.compare_digest(_digest(value), self.bearer)
        if scheme == "basic" and self.basic is not None:
            try:
                pair = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return hmac.compare_digest(_digest(pair), self.basic)
        return False


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or `localhost`; any other name or address counts as beyond."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings, auth: EndpointAuth, tls: bool) -> None:
    """Refuse to serve beyond loopback with no credentials, unless explicitly allowed."""
    host, _ = split_listen(settings.listen)
    if is_loopback(host):
        return
    if not auth.enabled:
        if not settings.metrics_allow_unauthenticated:
            raise ConfigError(
                f"listen {settings.listen} is beyond loopback and /metrics has no credentials: "
                "set metrics_basic_auth_file (a `user:password` file) or metrics_token_file, "
                "with tls_cert_file and tls_key_file; or listen on 127.0.0.1; or set "
                "metrics_allow_unauthenticated = true if a firewall or proxy guards it"
            )
        log.warning("serving /metrics on %s without credentials, as configured", settings.listen)
    elif not tls:
        log.warning(
            "serving /metrics on %s with credentials but without TLS: they cross the network "
            "in clear; set tls_cert_file and tls_key_file",
            settings.listen,
        )


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if settings.tls_cert_file is None and settings.tls_key_file is None:
        return None
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        raise ConfigError("tls_cert_file and tls_key_file go together")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS certificate or key: {exc}") from None
    return ctx


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class MetricsServer:
    def __init__(
        self,
        metrics: DaemonMetrics,
        readiness: Readiness,
        *,
        listen: str,
        token: str | None = None,
        auth: EndpointAuth | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.metrics = metrics
        self.readiness = readiness
        self.host, self.port = split_listen(listen)
        self.auth = auth if auth is not None else EndpointAuth.of(token)
        self.tls = tls
        self._runner: web.AppRunner | None = None
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self.app = app

    @classmethod
    def for_settings(
        cls, metrics: DaemonMetrics, readiness: Readiness, settings: Settings
    ) -> MetricsServer:
        """The server `settings` describe; ConfigError if it would be exposed unprotected."""
        auth = EndpointAuth.of(
            read_token(settings.metrics_token_file),
            read_basic_auth(settings.metrics_basic_auth_file),
        )
        tls = ssl_context(settings)
        check_exposure(settings, auth, tls is not None)
        return cls(metrics, readiness, listen=settings.listen, auth=auth, tls=tls)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.tls)
        await site.start()
        if self.port == 0 and self._runner.addresses:
            self.port = int(self._runner.addresses[0][1])
        log.info("serving /metrics, /healthz and /readyz on %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _authorized(self, request: web.Request) -> bool:
        return self.auth.allows(request.headers.get("Authorization", ""))

    async def _metrics(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(
                status=401,
                text="unauthorized\n",
                headers={"WWW-Authenticate": self.auth.challenge()},
            )
        body = await asyncio.to_thread(self.metrics.render)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        ready, detail = await self.readiness()
        if not self._authorized(request):
            detail = {}  # the status code for probes; the detail for those with credentials
        body = json.dumps({"ready": ready, **detail}, indent=1) + "\n"
        return web.Response(
            status=200 if ready else 503, text=body, content_type="application/json"
        )
