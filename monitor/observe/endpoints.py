"""The daemon's HTTP endpoints: /metrics, /healthz, /readyz (aiohttp), and, given the
repository, the status pages and JSON API (monitor/observe/status), behind the same
authentication and connection limits; every answer carries the security headers.

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

`run` listens before it checks and migrates the database (`starting`, see
starting.py): meanwhile /healthz says whether the start makes progress (503
once it stalled), /readyz is 503 "starting: …", and /metrics and the status
pages are 503: their gauges and pages read a database not yet checked, and
zeros there would read as a monitor that sees no targets. Prometheus sees the
same failed scrape as before, when nothing listened.
Once the daemon's stop has begun, /readyz is 503 "stopping" at once, without
asking the database, and so are the status pages and API; /metrics answers from
the last snapshot; /healthz stays `ok` (the process is alive).

The credentials themselves (reading, digests, comparison) are in credentials.py.

Anyone who can connect can try to wear the server down before any
credential is checked: every connection passes through `ConnectionGuard`
(guard.py: how many, how long each may wait), credentials are compared as
bytes and never raise, and a malformed request is one log line naming the
error's class, never a traceback nor the client's bytes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from monitor.config import ConfigError, Settings
from monitor.daemon.tracked_threads import TrackedThreads
from monitor.http.aiohttp_parts import HttpProcessingError
from monitor.observe.credentials import (
    EndpointAuth,
    is_loopback,
    read_basic_auth,
    read_token,
    unsendable,
)
from monitor.observe.fdlimit import FD_RESERVE, fit_to_fd_limit, raise_fd_limit
from monitor.observe.guard import ConnectionGuard, ConnectionLimits, SingleFlight
from monitor.observe.metrics import DaemonMetrics
from monitor.observe.server_parts import close_within, quiet_handlers
from monitor.observe.starting import StartWatch
from monitor.observe.status.api import StatusApi, busy_answer, is_api, json_response
from monitor.observe.status.headers import security_headers
from monitor.observe.status.health import HealthBook, Trouble, troubles
from monitor.observe.status.pages import NOT_RUNNING, StatusPages
from monitor.observe.status.source import StatusSource
from monitor.small_files import require_regular_file

if TYPE_CHECKING:
    from monitor.storage.repository import Repository

log = logging.getLogger(__name__)

Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
READY_TTL = 1.0  # seconds a readiness answer is reused (probes come every few seconds)
# seconds the requests still open get at `stop` in all, unless told otherwise (the
# daemon's stop gives what is left of its budget)
STOP_WITHIN = 10.0
START_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # answered themselves while starting
STARTING_RETRY = {"Retry-After": "10"}


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
    require_regular_file(settings.tls_cert_file, "tls_cert_file")  # OpenSSL waits on a FIFO
    require_regular_file(settings.tls_key_file, "tls_key_file")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS certificate or key: {exc}") from None
    return ctx


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def _where(exc: BaseException) -> str:
    """Where our code raised `exc`: file, line and function, never its message
    (which may quote what the client sent)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno} ({last.name})"


class _OneLine(logging.Filter):
    """aiohttp's protocol errors as one line: the error's class (and our code's
    location for an internal error), never a traceback nor the client's bytes."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return record.levelno >= logging.WARNING  # aiohttp's debug chatter
        if isinstance(exc, HttpProcessingError | ConnectionError):
            if isinstance(exc, HttpProcessingError):
                record.msg, record.args = "bad request: %s (%d)", (type(exc).__name__, exc.code)
            else:
                record.msg, record.args = "client went away: %s", (type(exc).__name__,)
            # the client's doing, not ours: info at most (logged at error by aiohttp)
            record.levelno = min(record.levelno, logging.INFO)
            record.levelname = logging.getLevelName(record.levelno)
            if not request_log.isEnabledFor(record.levelno):
                return False
        else:
            record.msg, record.args = "error while answering a request: %s", (_where(exc),)
        record.exc_info = record.exc_text = None
        return True


# aiohttp's request handlers log through this logger (see MetricsServer.start)
request_log = logging.getLogger("monitor.observe.endpoints.requests")
request_log.addFilter(_OneLine())


class MetricsServer:
    """The endpoints on one listener, every connection bounded by a `ConnectionGuard`."""

    def __init__(
        self,
        metrics: DaemonMetrics,
        readiness: Readiness,
        *,
        listen: str,
        token: str | None = None,
        auth: EndpointAuth | None = None,
        tls: ssl.SSLContext | None = None,
        limits: ConnectionLimits | None = None,
        repo: Repository | None = None,
        public_url: str | None = None,
        threads: TrackedThreads | None = None,
    ) -> None:
        self.metrics = metrics
        # the daemon's database work that its stop waits for before the dispose: a
        # scrape's fresh snapshot and the status reads (a request cut short too)
        threads = threads if threads is not None else TrackedThreads()
        self.readiness = readiness
        # shared by concurrent requests; readiness reused for a second
        self._ready = SingleFlight(readiness, ttl=READY_TTL)
        self._render = SingleFlight(lambda: threads.run(metrics.render, name="metrics-scrape"))
        # the stop's scrapes: from the last snapshot, not joined to a render begun
        # before the stop (a fresh snapshot held by a database that stopped answering)
        self._render_last = SingleFlight(lambda: threads.run(metrics.render, name="metrics-scrape"))
        self.host, self.port = split_listen(listen)
        self.auth = auth if auth is not None else EndpointAuth.of(token)
        self.tls = tls
        self.guard = ConnectionGuard(limits or ConnectionLimits())
        # descriptors the process needs besides the endpoints' connections
        self.fd_others = FD_RESERVE
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        # the start under way (`run` listens before its database is ready); None: started
        self.starting: StartWatch | None = None
        # the daemon's stop has begun: /readyz is 503 "stopping", the database not asked
        self.stopping = False
        # status reads that fail are a 503 (monitor/observe/status), inside the guard's count
        app = web.Application(middlewares=[self._bounded, StatusApi.unavailable])
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.on_response_prepare.append(security_headers)
        self._status: StatusSource | None = None
        # since when each part /readyz names has failed: the pages' banner
        self._book = HealthBook()
        self._pages: StatusPages | None = None
        if repo is not None:  # the status pages and API (monitor/observe/status)
            self._status = StatusSource(repo, metrics.state.snapshot, tracked=threads)
            StatusApi(self._status, self.auth).add_routes(app)
            self._pages = StatusPages(self._status, self.auth, public_url, self.troubles)
            self._pages.add_routes(app)
        self.app = app

    @classmethod
    def for_settings(
        cls,
        metrics: DaemonMetrics,
        readiness: Readiness,
        settings: Settings,
        limits: ConnectionLimits | None = None,
        repo: Repository | None = None,
        threads: TrackedThreads | None = None,
    ) -> MetricsServer:
        """The server `settings` describe; ConfigError if it would be exposed unprotected."""
        token = read_token(settings.metrics_token_file)
        basic = read_basic_auth(settings.metrics_basic_auth_file)
        limits = limits or ConnectionLimits()
        if (why := unsendable(token, basic, limits.max_field_size)) is not None:
            raise ConfigError(why)
        auth = EndpointAuth.of(token, basic)
        tls = ssl_context(settings)
        check_exposure(settings, auth, tls is not None)
        server = cls(
            metrics,
            readiness,
            listen=settings.listen,
            auth=auth,
            tls=tls,
            limits=limits,
            repo=repo,
            public_url=settings.public_url,
            threads=threads,
        )
        server.fd_others += settings.concurrency  # the checks' own connections
        return server

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    async def start(self) -> None:
        """Listen; first raise the open-files limit, and lower the connection
        limit if even that cannot hold every connection the guard would admit
        (running out of descriptors also stops the checks and the corpus scan)."""
        soft = raise_fd_limit()
        limits = fit_to_fd_limit(self.guard.limits, soft, self.fd_others)
        if limits != self.guard.limits:
            log.warning(
                "the open-files limit (%d) leaves room for %d endpoint connections, not %d, "
                "beside %d for checks and files: raise `ulimit -n` or LimitNOFILE",
                soft,
                limits.max_connections,
                self.guard.limits.max_connections,
                self.fd_others,
            )
            self.guard.limits = limits
        self._runner = web.AppRunner(
            self.app,
            access_log=None,
            logger=request_log,
            keepalive_timeout=limits.idle_timeout,
            max_line_size=limits.max_line_size,
            max_field_size=limits.max_field_size,
            max_headers=limits.max_headers,
            lingering_time=min(10.0, limits.idle_timeout),
            shutdown_timeout=STOP_WITHIN / 2,  # waited twice (server_parts.close_within)
        )
        await self._runner.setup()
        server = self._runner.server
        assert server is not None
        # plain TCP: the guard admits a connection before its TLS handshake starts;
        # aiohttp's own error answers quote none of the request (server_parts)
        self._listener = await asyncio.get_running_loop().create_server(
            self.guard.factory(quiet_handlers(server), self.tls),
            self.host,
            self.port,
            backlog=limits.backlog,
        )
        if self.port == 0 and self._listener.sockets:
            self.port = int(self._listener.sockets[0].getsockname()[1])
        if self._is_starting():  # debug: a start refused at once says only its `Error:`
            log.debug(
                "answering /healthz and /readyz at %s while the database is readied", self.url
            )
        else:
            self.serving()

    def serving(self) -> None:
        """The start is over: every path answers as the running daemon's."""
        if self.starting is not None:
            self.starting.done()
        log.info("serving /metrics, /healthz and /readyz on %s", self.url)

    def _is_starting(self) -> bool:
        return self.starting is not None and self.starting.phase is not None

    async def stop(self, within: float | None = None) -> None:
        """Stop listening; the requests still open get `within` seconds in all
        (STOP_WITHIN if not given, read now: a test may lower it). With the
        runner's own timeout (5 s, waited twice), a status read stuck on a
        database that stopped answering held the daemon's stop 10 s past its
        budget: 31 s at the defaults, past the shipped units' 30 s."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._runner is not None:
            await close_within(self._runner, STOP_WITHIN if within is None else within)
            self._runner = None
        self.guard.close_all()

    @web.middleware
    async def _bounded(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Tell the guard a request is being answered; an error in our code is a
        500 and one log line, never a traceback. Beyond the connections the
        guard keeps for /healthz, a request is a 503 at once instead of waiting."""
        if request.path != "/healthz" and not self.guard.may_wait():
            return busy_answer(request.path)
        if request.path not in START_PATHS and (self._is_starting() or self.stopping):
            # starting: a database not yet checked. Stopping: the one the stop gives up
            # on (found damaged, or replaced: the old file's history), each read a
            # thread the stop waited for; /readyz says "stopping", /metrics the last
            # snapshot
            why = "stopping" if self.stopping else "starting"
            if is_api(request.path):
                return json_response({"error": why}, 503, STARTING_RETRY)
            if self._pages is not None and not request.path.startswith("/static/"):
                if self._authorized(request):  # the banner names paths and database errors
                    troubles = await self.troubles()
                    return self._pages.unavailable(troubles, STARTING_RETRY, NOT_RUNNING[why])
            return web.Response(status=503, text=f"{why}\n", headers=STARTING_RETRY)
        self.guard.request_started(request.transport)
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:
            log.error("error while answering a request: %s", _where(exc))
            if is_api(request.path):  # every answer under /api/v1 is JSON, this one too
                return json_response({"error": "internal error"}, 500)
            return web.Response(status=500, text="internal error\n")
        finally:
            self.guard.request_finished(request.transport)

    def _authorized(self, request: web.Request) -> bool:
        return self.auth.allows(request.headers.get("Authorization", ""))

    async def _metrics(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(
                status=401,
                text="unauthorized\n",
                headers={"WWW-Authenticate": self.auth.challenge()},
            )
        if self.starting is not None and (status := self.starting.status()) is not None:
            return web.Response(status=503, text=f"{status}\n", headers=STARTING_RETRY)
        body = await (self._render_last if self.stopping else self._render).get()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        stalled = self.starting.stalled() if self.starting is not None else None
        if stalled is not None:  # a start that no longer moves: restart it
            return web.Response(status=503, text=f"{stalled}\n")
        return web.Response(text="ok\n")

    async def _judged(self) -> tuple[bool, dict[str, Any], list[Trouble]]:
        """/readyz's verdict and detail; the book notes what fails since when."""
        status = self.starting.status() if self.starting is not None else None
        if self.stopping:
            # not ready, whatever the database says: each request pinged it (a
            # thread of its own, waited for by the stop, up to PING_TIMEOUT), and
            # an answer from before the stop was reused for a second (READY_TTL)
            ready, detail = False, {"status": "stopping"}
        elif status is not None:  # not the daemon's readiness: nothing of it runs yet
            ready, detail = False, {"status": status}
        else:
            ready, detail = await self._ready.get()
        return ready, detail, self._book.note(troubles(detail), time.time())

    async def troubles(self) -> list[Trouble]:
        """What fails in the daemon, as /readyz says it, with since when (the pages' banner)."""
        return (await self._judged())[2]

    async def _readyz(self, request: web.Request) -> web.Response:
        ready, detail, _ = await self._judged()
        if not self._authorized(request):
            detail = {}  # the status code for probes; the detail for those with credentials
        body = json.dumps({"ready": ready, **detail}, indent=1) + "\n"
        return web.Response(
            status=200 if ready else 503, text=body, content_type="application/json"
        )
