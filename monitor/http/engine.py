"""The checker: one URL in, one CheckResult out, politely, safely, cheaply.

Per check: up to `retries + 1` attempts; each attempt follows redirects hop
by hop (each hop's address vetted by the SSRF guard when the client
resolves it, IP literals too; recorded, counted, loop-checked)
and reads only the bytes the kind needs. Retry *decisions* are pure
(`monitor.retry`), outcomes and problems too (`monitor.classify`); this
module is the loop and the I/O.

Timing decisions:
- `settings.timeout` bounds one attempt on the wire: every hop's request,
  headers and capped body read. Time spent queueing for a host slot (per-host
  limit, minimum interval, 429/503 backoff) does not count, so a busy host
  does not turn politeness into timeouts. Each retry gets a fresh budget.
- `latency_ms` is the wire time of the last attempt, all hops included;
  queueing and retry sleeps are excluded (they measure us, not the server).

Why no HEAD: every kind needs body bytes (pages: `<head>` for canonical,
amphtml, the AMP marker and soft-404 title; images: the header bytes that
hold the dimensions), so a HEAD would only add a round trip. Images use a
ranged GET instead, which is as cheap as HEAD plus a few KiB.
"""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Final, Self

import aiohttp
from yarl import URL

from monitor import urls
from monitor.classify import ErrorKind, outcome_for, result_problems
from monitor.config import Settings
from monitor.http.aiohttp_parts import HttpProcessingError
from monitor.http.attempt import Attempt, Then, request_key
from monitor.http.body import ACCEPT_ENCODING, DRAIN_MAX, finish
from monitor.http.client import Client, Response, StaleConnectionError, user_agent
from monitor.http.deadlines import Deadlines
from monitor.http.errors import classify_exception
from monitor.http.giving_up import GivingUp, Refusal
from monitor.http.guard import AddressPolicy
from monitor.http.headers import ascii_token, is_utf8, shown
from monitor.http.hostpool import HostGate, HostHeld, HostPool
from monitor.http.probe import SoftProbe
from monitor.http.proxy_tunnel import ProxyRoute
from monitor.http.reading import read_image, read_page
from monitor.http.resolver import GuardedResolver, guarded_socket_factory
from monitor.http.target_url import Target, parse_target, public_url
from monitor.http.tls import make_ssl_context
from monitor.request_headers import HeaderTable
from monitor.retry import backoff_delay, parse_retry_after, should_retry
from monitor.vocabulary import (
    CheckResult,
    Kind,
    Redirect,
    invalid_url_result,
)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
BACKOFF_STATUSES = frozenset({429, 503})

PAGE_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Encoding": ACCEPT_ENCODING,
}
IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
# An image's first request asks for this much: enough for the header of
# almost every image, so the whole (small) answer is read and the connection
# is reused; only when the sniffer needs more is the rest, up to the cap, asked for.
IMAGE_FIRST_RANGE = 16 * 1024

# Exceptions a request can end with that are the network's fault, not ours.
_NETWORK_ERRORS = (aiohttp.ClientError, HttpProcessingError, OSError, TimeoutError, ValueError)

# Members read on every check, as module constants: on Python 3.11 a member
# read through its class (`Then.DONE`) goes through EnumType's `__getattr__`
# hook, ~960 instructions each (issue 16).
_DONE: Final = Then.DONE
_UNRANGED: Final = Then.UNRANGED
_BLOCKED: Final = ErrorKind.BLOCKED


class Checker:
    """Checks URLs over one shared client. Use as `async with Checker(s) as c`."""

    def __init__(
        self,
        settings: Settings,
        *,
        rng: random.Random | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        # the verifying context, when the caller built it already (`check` loads
        # --ca-bundle before the run to refuse a bad one: loaded once, not twice)
        self._tls = tls
        self.policy = AddressPolicy.from_networks(settings.networks)
        self.hosts = HostPool(
            settings.per_host,
            settings.host_min_interval,
            backoff_base=settings.backoff_base,
            backoff_max=settings.backoff_max,
        )
        self._rng = rng or random.Random()
        self._client: Client | None = None
        self._deadlines = Deadlines()
        self._image_whole = {"Accept": IMAGE_ACCEPT, "Accept-Encoding": "identity"}
        self._first_range = min(IMAGE_FIRST_RANGE, settings.image_cap_bytes)
        self._image_ranged = {**self._image_whole, "Range": f"bytes=0-{self._first_range - 1}"}
        # `request_headers`, per host; None without rules (no lookup per request)
        self._extra = HeaderTable.of(settings.request_headers)
        # the soft-404 probe: a path that cannot exist, once per host and directory
        self.probe = SoftProbe(self._attempt, self._rng) if settings.soft_404_probe else None
        # the simhash of a web or AMP page's text (content/simhash.py): the daemon sets it
        self.text_hash = False
        # every URL given to `check` was found requestable by the caller (`parse_target`)
        self.vetted = False
        # `check` gives up on a host that refuses everything (`give_up_refusing_hosts`);
        # the daemon never does: it honours the host's Retry-After over time
        self.giving_up: GivingUp | None = None

    async def __aenter__(self) -> Self:
        settings = self.settings
        make_tls: Callable[[], ssl.SSLContext] = make_ssl_context
        tls = self._tls
        if tls is None and settings.ca_bundle is not None:  # read now: a bad one fails at once
            tls = make_ssl_context(settings.ca_bundle)
        if tls is not None:
            make_tls = lambda: tls  # noqa: E731
        self._client = Client(
            GuardedResolver(self.policy, settings.connect_to),
            make_tls,
            guarded_socket_factory(self.policy),
            connect_timeout=settings.connect_timeout,
            user_agent=user_agent(settings.user_agent_contact),
            limit=settings.concurrency,
            max_idle=max(256, 4 * settings.concurrency),
            proxy=ProxyRoute.of(settings.proxy, settings.no_proxy),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._deadlines.close()
        if self._client is not None:
            await self._client.close()
            self._client = None

    def give_up_refusing_hosts(self) -> None:
        """`check`'s: a host that refused the first tries of its targets for
        `retries + 1` rounds, over one target's tries, is asked nothing more in
        this run (giving_up.py)."""
        self.giving_up = GivingUp.of(self.settings)
        self.hosts.wakeable = True

    def stop_unsent(self) -> None:
        """The daemon stops (its checker process was told, or in-process): no
        request starts from now on. The checks that have sent nothing leave
        (HostHeld), those waiting at their host's gate (HostPool.stop) and those
        past it waiting for a request slot (Client.stop), and those begun from
        now on (`_attempt`); and so does a check under way where it would send
        another request: a retry (woken from its backoff, or from its wait at
        the gate for a 429/503 hold), a redirect's next hop, a resend, an
        image's rest, the soft-404 probe. Only the requests on the wire go on
        (the daemon's `shutdown_grace`); a check that leaves records nothing
        and its claim is given back as one not started (due now, or at its
        host's hold's end: dispatch.py `give_back`): a transient
        failure is not stored as down because the daemon stopped, and a host
        that asked us to wait is not asked again after the stop. Not `check`'s
        (no `defer_after`): a no-op, its Ctrl-C cancels every check at once."""
        if self.hosts.defer_after is None:
            return
        self.hosts.stop()
        if self._client is not None:  # not after the end (a late signal)
            self._client.stop()

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("Checker used outside `async with`")
        return self._client

    async def check(self, url: str, kind: Kind) -> CheckResult:
        """Check one URL. Network failures become outcomes; never raises for them."""
        checked_at = datetime.now(UTC)
        target = parse_target(url, vetted=self.vetted)
        if target is None:
            return invalid_url_result(url, kind, checked_at)
        attempts = 0
        att: Attempt | None = None
        while True:
            attempts += 1
            tried = await self._attempt(target, kind, first=attempts == 1)
            if tried.held_back is not None:  # `check` gave up on the host: not sent
                if att is None or tried.redirects:
                    return _held_back(url, kind, checked_at, tried, attempts - 1)
                # the last answer stands, and why it was the last
                said = tried.held_back.not_retried
                att.error_text = f"{att.error_text}; {said}" if att.error_text else said
                attempts -= 1
                break
            att = tried
            if not should_retry(
                attempt=attempts, retries=self.settings.retries, status=att.status, error=att.error
            ):
                break
            if att.error is None and att.status in BACKOFF_STATUSES:
                continue  # the host's gate holds the (Retry-After) backoff
            # a daemon's stop ends the sleep, and the retry leaves unsent (`_attempt`)
            await self.hosts.pause(
                backoff_delay(
                    attempts,
                    base=self.settings.backoff_base,
                    cap=self.settings.backoff_max,
                    retry_after=None,
                    retry_after_cap=self.settings.retry_after_max,
                    rng=self._rng,
                )
            )
        assert att is not None  # set before every break
        outcome = outcome_for(
            status=att.status, error=att.error, permanent_redirect_seen=att.permanent
        )
        attempts += att.resends
        latency_ms: float | None = round(att.wire_s * 1000.0, 1)
        if att.error is _BLOCKED and not att.redirects:
            attempts, latency_ms = 0, None  # refused before anything was sent
        result = CheckResult(
            url=url,
            kind=kind,
            outcome=outcome,
            checked_at=checked_at,
            http_status=att.status,
            final_url=att.final_url,
            redirects=att.redirects,
            latency_ms=latency_ms,
            attempts=attempts,
            error=att.error_text or att.body_error,
            facts=att.facts,
            cert_not_after=att.cert_not_after,
            problems=result_problems(
                kind=kind,
                facts=att.facts,
                # only an answer can be slow: a timeout is its own outcome
                latency_ms=latency_ms if att.error is None else None,
                cert_not_after=att.cert_not_after,
                # the time is read only by the certificate's check
                now=datetime.now(UTC) if att.cert_not_after is not None else checked_at,
                cert_warning_days=self.settings.cert_warning_days,
                latency_budget_ms=self.settings.latency_budget_ms,
                outcome=outcome,
                body_decoded=att.body_error is None,
            ),
        )
        probe = self.probe
        if probe is not None and att.body_error is None and probe.wants(result):
            # a chain that went down from HTTPS to a host with `request_headers`: its
            # probe would send them in clear (the chain's own hop did not), or without
            # them get another answer than the page did; not probed
            downgraded = (
                self._extra is not None
                and att.tls_seen
                and att.final is not None
                and att.final.scheme == "http"
                and self._extra.for_host(att.final.raw_host or "") is not None
            )
            if not downgraded:
                await probe.judge(result, att.final)
        return result

    def _answered(
        self,
        giving_up: GivingUp,
        gate: HostGate,
        sent: float,
        status: int | None,
        error: ErrorKind | None,
        first: bool,
    ) -> None:
        """Tell `giving_up` how the host answered. Once the host is given up, each
        answer (those in flight when it was) lifts the backoff it set: those queued
        for the host, handed its slots, leave without a request and without a wait."""
        now = time.monotonic()
        if giving_up.answered(
            gate.host, sent, status, error, first=first, now=now, wait_end=gate.backoff_until
        ):
            self.hosts.lift(gate)

    def _headers(self, kind: Kind, ranged: bool) -> dict[str, str]:
        """The request headers (shared, never modified: copy before changing)."""
        if kind.is_page:
            return PAGE_HEADERS
        return self._image_ranged if ranged else self._image_whole

    async def _attempt(self, target: Target, kind: Kind, *, first: bool = False) -> Attempt:
        """One redirect chain, each hop vetted, within one timeout budget. `first`:
        the target's first try (not a retry, not the soft-404 probe's request)."""
        att = Attempt()
        current = target
        visited: set[tuple[str, str | None, int | None, str]] | None = None  # at the first redirect
        budget = self.settings.timeout
        ranged = True
        while True:
            if current.scheme not in ("http", "https") or not current.raw_host:
                return att.fail(ErrorKind.INVALID_URL, "redirect to a URL that is not http(s)")
            host = current.raw_host
            giving_up = self.giving_up
            if (
                giving_up is not None
                and giving_up.given_up
                and (refusal := giving_up.refusal(host))
            ):
                att.held_back = refusal
                return att
            # after the daemon's stop no request starts: not a check's first, nor a
            # retry, a redirect's next hop or the probe's (`stop_unsent`)
            if self.hosts.stopped:
                raise HostHeld(0.0)
            # a target's first request, nothing sent yet: a daemon's checker process
            # gives it back rather than wait out a long hold (HostHeld)
            unsent = first and att.status is None
            # the host's slot (hosts.slot's steps, a free one taken without a coroutine)
            gate = self.hosts.take_now(host)
            if gate is None:
                gate = await self.hosts.take(host, unsent)
                if giving_up is not None and (refusal := giving_up.refusal(gate.host)):
                    self.hosts.leave(host, gate)  # given up while this one waited
                    att.held_back = refusal
                    return att
            try:
                started = time.monotonic()
                try:
                    with self._deadlines.within(budget):  # enters and leaves awaiting nothing
                        nxt = await self._hop(att, current, kind, ranged)
                except _NETWORK_ERRORS as exc:
                    err, text = classify_exception(exc)
                    if giving_up is not None:
                        self._answered(giving_up, gate, started, None, err, first)
                    return att.fail(err, text)
                finally:
                    spent = time.monotonic() - started
                    att.wire_s += spent
                    budget = max(0.0, budget - spent)
            finally:
                self.hosts.leave(host, gate)
            if giving_up is not None and (giving_up.runs or att.status in BACKOFF_STATUSES):
                self._answered(giving_up, gate, started, att.status, att.error, first)
            if nxt is _DONE:
                return att
            if nxt is _UNRANGED:
                ranged = False
                continue
            att.redirects.append(Redirect(att.status or 0, public_url(nxt)))
            if len(att.redirects) > self.settings.max_redirects:
                return att.fail(
                    ErrorKind.TOO_MANY_REDIRECTS,
                    f"more than {self.settings.max_redirects} redirects",
                )
            if visited is None:
                visited = {request_key(target)}
            key = request_key(nxt)
            if key in visited:
                return att.fail(ErrorKind.TOO_MANY_REDIRECTS, "redirect loop")
            visited.add(key)
            current = nxt

    async def _get(
        self,
        url: Target,
        headers: dict[str, str],
        range_: str | None = None,
        att: Attempt | None = None,
    ) -> Response:
        """One GET of `url`.

        Sent once more, on a fresh connection, and counted in `att.resends`,
        when a kept-alive connection closed before the response: that says
        nothing about the target. A fresh connection closing is the target's
        answer.
        """
        if range_ is not None:
            headers = {**headers, "Range": range_}
        try:
            resp = await self.client.get(url, headers)
        except StaleConnectionError:
            if self.hosts.stopped:  # the resend would be a request after the stop
                raise HostHeld(0.0) from None
            if att is not None:
                att.resends += 1
            resp = await self.client.get(url, headers, fresh=True)
        if att is not None and att.cert_not_after is None and url.scheme == "https":
            att.cert_not_after = resp.not_after
        return resp

    @staticmethod
    def _extra_allowed(att: Attempt, url: Target) -> bool:
        """Whether a request to `url` in `att`'s chain may carry `request_headers`:
        not over plain HTTP once a hop went over HTTPS (a redirect from
        https://staging.example/ to http://staging.example/ would send its
        Authorization in clear; browsers and curl drop it on a scheme change)."""
        if url.scheme == "https":
            att.tls_seen = True
            return True
        return not att.tls_seen

    async def _hop(self, att: Attempt, url: Target, kind: Kind, ranged: bool) -> URL | Then:
        """One request. Returns the redirect's URL to follow, or what to do instead."""
        headers = self._headers(kind, ranged)
        if self._extra is not None and self._extra_allowed(att, url):
            # each hop's own host: none for another's redirect
            headers = self._extra.merged(url.raw_host or "", headers)
        resp = await self._get(url, headers, att=att)
        try:
            att.status = resp.status
            location = resp.headers.get("Location")
            if resp.status in REDIRECT_STATUSES and location:
                await finish(resp, DRAIN_MAX, 0)
                if resp.status in PERMANENT_REDIRECTS:
                    att.permanent = True
                if not is_utf8(location):  # yarl would drop the bytes: another URL
                    att.fail(ErrorKind.INVALID_URL, "redirect Location is not UTF-8 text")
                    return Then.DONE
                try:
                    nxt = url.join(URL(location))
                except ValueError:
                    att.fail(ErrorKind.INVALID_URL, "redirect Location is not a valid URL")
                    return Then.DONE
                if nxt.scheme in ("http", "https") and not urls.requestable(str(nxt)):
                    att.fail(ErrorKind.INVALID_URL, "redirect to a URL that cannot be requested")
                    return Then.DONE
                return nxt
            if resp.status == 416 and ranged and kind is Kind.IMAGE:
                await finish(resp, DRAIN_MAX, 0)
                return Then.UNRANGED
            # the URL's text once: the report's final URL and a page's base URL
            # (yarl builds it anew on each `str`: ~5 thousand instructions)
            text = str(url)
            att.final_url = urls.redact(text)
            att.final = url
            self._record_host(url, resp)
            if 200 <= resp.status < 300:
                await self._read_content(att, resp, kind, url, text, ranged)
            else:
                att.facts.bytes_read = await finish(resp, DRAIN_MAX, 0)
            return _DONE
        except BaseException:
            resp.close()
            raise

    def _record_host(self, url: Target, resp: Response) -> None:
        retry_after = None
        if resp.status in BACKOFF_STATUSES:
            value = ascii_token(resp.headers.get("Retry-After"))
            retry_after = parse_retry_after(value, now=datetime.now(UTC))
            if retry_after is not None:
                retry_after = min(retry_after, self.settings.retry_after_max)
        self.hosts.record(url.raw_host or "", resp.status, retry_after)

    async def _read_content(
        self, att: Attempt, resp: Response, kind: Kind, url: Target, text: str, ranged: bool
    ) -> None:
        """Read the answer's body into `att.facts` (`text`: `str(url)`, a page's base URL)."""
        facts = att.facts
        ctype = resp.headers.get("Content-Type")
        facts.content_type = shown(ctype.strip()) if ctype else None
        if kind.is_page:
            marked = self.text_hash and kind.is_article_page  # not the AMP cache's copies
            error = await read_page(
                resp, facts, text, self.settings.page_cap_bytes, text_hash=marked
            )
        else:
            cap = self.settings.image_cap_bytes

            whole = self._image_whole
            if self._extra is not None and self._extra_allowed(att, url):
                whole = self._extra.merged(url.raw_host or "", whole)

            def rest(start: int) -> Awaitable[Response]:
                if self.hosts.stopped:  # a request after the daemon's stop
                    raise HostHeld(0.0)
                return self._get(url, whole, f"bytes={start}-{cap - 1}")

            error = await read_image(
                resp, facts, cap, first_range=self._first_range if ranged else None, rest=rest
            )
        if error is not None:
            att.body_error = f"body could not be decoded: {error}"


def _held_back(
    url: str, kind: Kind, checked_at: datetime, tried: Attempt, attempts: int
) -> CheckResult:
    """A target `check` did not request (or whose redirect led to a host it gave
    up on): the outcome the host's refusals give, and why in its error."""
    refusal: Refusal | None = tried.held_back
    assert refusal is not None
    return CheckResult(
        url=url,
        kind=kind,
        outcome=refusal.outcome,
        checked_at=checked_at,
        redirects=tried.redirects,
        attempts=attempts + (1 if tried.redirects else 0),
        # its own host answered (a redirect): only the redirect's host was not asked
        error=refusal.not_followed if tried.redirects else refusal.not_requested,
    )
