"""The soft-404 probe (Bar-Yossef et al., 2004): ask a host for a path that cannot
exist, and compare its answer with the article's page.

Once per host and directory (per run in `check`; at most once a day in the
daemon, whose checker lives on): the answer is shared by every page of that
directory, and a page that is the same as it (same final URL, or the same
non-empty fingerprint) is a `soft_404`. A probe that got no answer to judge
by (an error, a 5xx, a 403) is asked again after an hour. A host that answers a probe with a
real 404 or 410 is not probed again (for a day in the daemon, which keeps the
answers in its database: `remember` and `restore`, so a restart does not probe
again either). The probe goes through the checker's
own attempt (per-host politeness, the SSRF guard, the timeout) and is counted
in no target's `attempts`. The comparison is pure (content/drift.py).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from yarl import URL

from monitor import urls
from monitor.content.drift import probe_path, same_page
from monitor.http.attempt import Attempt
from monitor.http.target_url import PlainURL, Target
from monitor.url_redact import shown
from monitor.vocabulary import CheckResult, ContentFacts, Kind, Problem, ProblemCode

PROBE_TTL_S = 86400.0  # a directory is probed again after a day (the daemon's checker)
# ... or after an hour when the probe got no answer to judge by (an error, a 5xx,
# a 403): a host down for a moment kept the directory unjudged for a day
UNANSWERED_TTL_S = 3600.0
MAX_DIRECTORIES = 100_000  # answers kept; the oldest go first
_NOT_FOUND = (404, 410)

AttemptFn = Callable[[URL, Kind], Awaitable[Attempt]]
ProbeKey = tuple[str, str, int | None, str]  # scheme, host, port, directory
_Key = ProbeKey


@dataclass(frozen=True, slots=True)
class Answer:
    """What the host said for a path that cannot exist."""

    url: str
    status: int | None
    final_url: str | None
    facts: ContentFacts
    at: float

    @property
    def is_page(self) -> bool:
        return self.status is not None and 200 <= self.status <= 299 and self.final_url is not None


class SoftProbe:
    """Per-checker cache of probe answers, one request per host and directory at a time."""

    def __init__(
        self,
        attempt: AttemptFn,
        rng: random.Random,
        *,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = PROBE_TTL_S,
    ) -> None:
        self._attempt = attempt
        self._rng = rng
        self._clock = clock
        self._ttl = ttl
        self._answers: dict[_Key, asyncio.Future[Answer | None]] = {}
        # host -> when it answered a probe with a real 404 (this probe's clock)
        self.real_404_hosts: dict[tuple[str, int | None], float] = {}
        # called with each new answer and its key (the daemon keeps them)
        self.remember: Callable[[ProbeKey, Answer], None] | None = None
        self._first: dict[tuple[str, int | None], asyncio.Future[Answer | None]] = {}
        self.sent = 0  # probes sent (tests and the bench read it)

    async def judge(self, result: CheckResult, page: Target | None = None) -> None:
        """Add `soft_404` to a web/AMP page's result when its host serves it for any path.

        `page` is the URL the result's page was served from, as the engine
        requested it (it carries it: no second parse); else the result's
        final URL is parsed. Only its scheme, host, port and path are read,
        which redacting the final URL leaves alone.
        """
        if not self.wants(result):
            return
        final = result.final_url or result.url
        try:
            if page is None:
                page = URL(final, encoded=True)
            host, port = urls.host_key(page.raw_host or ""), page.port  # one per spelling
        except (ValueError, TypeError):
            return
        if not host or self._answers_404(host, port):
            return
        path = probe_path(page.raw_path, self._token())
        if path is None:
            return
        key = (page.scheme, host, port, path.rstrip("/").rsplit("/", 1)[0])
        base = page.url if isinstance(page, PlainURL) else page  # yarl's, to build another
        answer = await self._answer(key, base.with_path(path, encoded=True).with_query(None))
        if answer is None or not answer.is_page or answer.final_url is None:
            return
        if same_page(result.facts, final, answer.facts, answer.final_url):
            result.problems.append(
                Problem(
                    ProblemCode.SOFT_404,
                    f"the host answers a path that cannot exist ({shown(answer.url)}) "
                    "with the same page",
                )
            )

    @staticmethod
    def wants(result: CheckResult) -> bool:
        """Whether `judge` has anything to judge in `result`: a web/AMP page that
        answered, parsed as HTML and not judged already. A plain call, so the
        engine skips `judge`'s coroutine for the rest (images, AMP-cache copies)."""
        if not result.kind.is_article_page or not result.outcome.is_up:
            return False
        return result.facts.is_amp is not None and not any(
            p.code in (ProblemCode.SOFT_404, ProblemCode.CONTENT_TYPE_MISMATCH)
            for p in result.problems
        )  # else: not parsed as HTML, or already judged

    def _answers_404(self, host: str, port: int | None) -> bool:
        """Whether the host answered a probe with a real 404 within the period."""
        at = self.real_404_hosts.get((host, port))
        return at is not None and self._clock() - at <= self._ttl

    def _lasts(self, answer: Answer) -> float:
        """How long an answer stands: a page or a real 404 the period, anything
        else (no answer to judge by) an hour at most."""
        if answer.is_page or answer.status in _NOT_FOUND:
            return self._ttl
        return min(self._ttl, UNANSWERED_TTL_S)

    def now(self) -> float:
        """This probe's clock (answers' `at` are on it)."""
        return self._clock()

    def restore(self, key: ProbeKey, answer: Answer) -> None:
        """Take an answer kept from an earlier run (its `at` on this probe's clock)."""
        fut: asyncio.Future[Answer | None] = asyncio.get_running_loop().create_future()
        fut.set_result(answer)
        self._answers[key] = fut
        if answer.status in _NOT_FOUND:
            self._saw_404((key[1], key[2]), answer.at)

    def _saw_404(self, host: tuple[str, int | None], at: float) -> None:
        """Note a host's real 404; past MAX_DIRECTORIES hosts the expired go, then the
        oldest (probed again): kept for good, a daemon meeting new hosts without end
        (a churning corpus) grew this for its whole life."""
        self.real_404_hosts[host] = max(at, self.real_404_hosts.get(host, at))
        if len(self.real_404_hosts) > MAX_DIRECTORIES:
            now = self._clock()
            kept = {h: t for h, t in self.real_404_hosts.items() if now - t <= self._ttl}
            for h in list(kept)[: max(len(kept) - MAX_DIRECTORIES * 3 // 4, 0)]:
                del kept[h]
            self.real_404_hosts = kept

    def _token(self) -> str:
        return f"am-probe-{self._rng.getrandbits(64):016x}"

    async def _answer(self, key: _Key, url: URL) -> Answer | None:
        now = self._clock()
        fut = self._answers.get(key)
        if fut is not None and fut.done():
            old = fut.result()
            if old is None or now - old.at > self._lasts(old):
                del self._answers[key]
                fut = None
        if fut is not None:
            said = await asyncio.shield(fut)
            if said is None:
                # the probe it waited for was cut short, not answered (the daemon's
                # stop let it go unsent: HostHeld; a cancel): this page asks itself,
                # which after the stop gives its check back (`Checker._attempt`),
                # not a page recorded unjudged, a soft-404 stored as `ok`
                return await self._answer(key, url)
            return said
        host = (key[1], key[2])
        first = self._first.get(host)
        if first is not None and not first.done():
            await asyncio.shield(first)  # a host's first probe decides whether there are more
            if self._answers_404(*host):
                return None
            return await self._answer(key, url)
        fut = asyncio.get_running_loop().create_future()
        if first is None:
            self._first[host] = fut
        self._answers[key] = fut
        while len(self._answers) > MAX_DIRECTORIES:
            del self._answers[next(iter(self._answers))]
        while len(self._first) > MAX_DIRECTORIES:
            del self._first[next(iter(self._first))]
        answer: Answer | None = None
        try:
            self.sent += 1
            att = await self._attempt(url, Kind.WEB)
            answer = Answer(urls.redact(str(url)), att.status, att.final_url, _kept(att.facts), now)
            if att.error is None and att.status in _NOT_FOUND:
                self._saw_404((key[1], key[2]), now)
            if att.error is None and self.remember is not None:
                self.remember(key, answer)
        finally:
            # a probe cut short answers None to those waiting, which ask again
            fut.set_result(answer)
        return answer


def _kept(facts: ContentFacts) -> ContentFacts:
    """What `same_page` reads of an answer (kept a day per directory): not the
    rest, whose links may be as long as the page cap."""
    return ContentFacts(title=facts.title, h1=facts.h1, description=facts.description)
