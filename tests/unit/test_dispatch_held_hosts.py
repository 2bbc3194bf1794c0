"""A claim whose host is held back (Retry-After, a 429/503 backoff, learned here
or from another cluster member) beyond HOLD_SLACK is given back due at the
hold's end, not started: started, it waited out the hold at the host's gate
holding one of the `concurrency` slots, and a host refusing thousands of
targets held every slot. The dispatcher claims on for the other hosts.
`run --once` and a target whose check is in flight are as before."""

from __future__ import annotations

import asyncio
from typing import Any

from support.settings import settings

from monitor.daemon.dispatch import HOLD_SLACK, MAX_DEFERRED, WAIT_RANKS, Dispatcher
from monitor.daemon.state import TargetState
from monitor.http.hostpool import HostPool
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind

NOW_MS = 1_000_000
# a claim given back the first time is due this long after the hold's end (waited_ms)
FIRST = WAIT_RANKS


class Clock:
    t = 100.0

    def __call__(self) -> float:
        return self.t


class Waiting:
    """A checker whose checks never end: what a check at a held gate looks like."""

    def __init__(self, hosts: HostPool) -> None:
        self.hosts = hosts
        self.started: list[str] = []

    async def check(self, url: str, kind: Kind) -> CheckResult:
        self.started.append(url)
        await asyncio.Event().wait()
        raise AssertionError("never answered")


class Repo:
    """Hands out its batches, each a claim, in due order, then nothing (or with
    `endless` the held host's targets for ever: a backlog without end)."""

    def __init__(self, batches: list[list[str]], endless: bool = False) -> None:
        self.batches = batches
        self.endless = endless
        self.next_id = 0
        self.released: list[tuple[list[int], int]] = []

    def claim_due(self, now: int, limit: int, *args: Any) -> list[Claimed]:
        urls = self.batches.pop(0) if self.batches else []
        if self.endless:
            urls = [f"http://cdn.test/img/{self.next_id + n}.png" for n in range(limit)]
        claims = []
        for url in urls[:limit]:
            self.next_id += 1
            claims.append(Claimed(self.next_id, url, Kind.IMAGE, TargetState(), 1, ()))
        return claims

    def release(self, claims: list[tuple[int, int]], due: int) -> None:
        self.released.append(([i for i, _ in claims], due))


class Writer:
    backlog = 0


def refused(hold: float, over: float = 0.0) -> HostPool:
    """Gates (per_host 2) where `cdn.test` was held `hold` s by a 429's Retry-After,
    `over` s ago."""
    clock = Clock()
    hosts = HostPool(2, clock=clock)
    gate = hosts.take_now("CDN.test.")  # any spelling: the gates key hosts by host_key
    assert gate is not None
    hosts.record("cdn.test", 429, hold)
    hosts.leave("cdn.test", gate)
    clock.t += over
    return hosts


async def dispatched(
    batches: list[list[str]],
    hold: float,
    *,
    over: float = 0.0,
    endless: bool = False,
    hosts: HostPool | None = None,
    **settings_over: Any,
) -> tuple[Repo, Waiting]:
    """One dispatch of the claims `batches` (`endless`: see Repo) against `hosts`,
    `refused(hold, over)` by default."""
    checker = Waiting(hosts if hosts is not None else refused(hold, over))
    repo = Repo(batches, endless)
    s = settings(concurrency=4, **settings_over)

    async def db(fn: Any, *args: Any) -> Any:
        await asyncio.sleep(0)  # a thread's call: the loop turns (a hang's bound fires)
        return fn(*args)

    dispatcher = Dispatcher(
        settings=lambda: s,
        repo=repo,  # type: ignore[arg-type]
        db=db,
        writer=Writer(),  # type: ignore[arg-type]
        finish=lambda claim, result: None,
        db_failed=lambda exc: str(exc),
        spawn=lambda coro, name: coro.close(),
        clock=lambda: NOW_MS,
    )
    dispatcher.checker = checker
    await asyncio.wait_for(dispatcher.dispatch(), 10)  # a bound on a hang
    await asyncio.sleep(0)
    dispatcher.abandon()
    await asyncio.sleep(0)
    return repo, checker


CDN = [f"http://cdn.test/img/{n}.png" for n in range(4)]
PAGES = ["http://news.test/a", "http://news.test/b"]


async def test_claims_of_a_held_host_are_given_back_at_its_end_and_others_checked() -> None:
    # a full claim of the held host only, then one with the pages behind it
    repo, checker = await dispatched([CDN, [*CDN[:1], *PAGES]], 30.0)
    assert checker.started == PAGES
    # given back due at the hold's end (30 s on), each claim's once
    assert repo.released == [
        ([1, 2, 3, 4], NOW_MS + 30_000 + FIRST),
        ([5], NOW_MS + 30_000 + FIRST),
    ]


async def test_a_short_hold_is_waited_out_at_the_gate() -> None:
    repo, checker = await dispatched([[*CDN[:2], *PAGES]], HOLD_SLACK / 2)
    assert checker.started == [*CDN[:2], *PAGES]
    assert repo.released == []


async def test_run_once_does_not_defer() -> None:
    """Its pass checks what is due at its cutoff: a target given back due beyond it
    was left unchecked by the pass."""
    repo, checker = await dispatched([[*CDN[:2], *PAGES]], 30.0, once=True)
    assert checker.started == [*CDN[:2], *PAGES]
    assert repo.released == []


async def test_a_host_whose_hold_is_over_gets_per_host_checks_till_it_answers() -> None:
    """Its last answer refused: the claims that come back at its hold's end start
    `per_host` (2) at a time, not as many as the slots; the rest are due again
    a backoff later, and the other hosts are checked."""
    # the second claim is of the one slot left: the held host's again
    repo, checker = await dispatched([[*CDN[:3], PAGES[0]], [CDN[3]]], 2.0, over=2.5)
    assert checker.started == [*CDN[:2], PAGES[0]]
    assert repo.released == [([3], NOW_MS + 2_000 + FIRST), ([5], NOW_MS + 2_000 + FIRST)]


async def test_a_held_backlog_is_given_back_a_bounded_number_at_a_time() -> None:
    """A dispatch gives back at most MAX_DEFERRED claims, then waits for the next
    tick: an endless backlog of the held host is not claimed for ever."""
    repo, checker = await dispatched([], 30.0, endless=True)
    assert checker.started == []
    given_back = sum(len(ids) for ids, _ in repo.released)
    assert MAX_DEFERRED <= given_back < MAX_DEFERRED + 4


async def test_a_hold_another_cluster_member_learned_is_honoured() -> None:
    """cluster.py imposes the holds the others share on this member's gates: its
    claims of that host are given back as for a hold of its own."""
    hosts = HostPool(2, clock=Clock())
    hosts.impose("cdn.test", 30.0)  # a 429 another member got: no gate, no request here
    repo, checker = await dispatched([[*CDN[:2], *PAGES]], 0.0, hosts=hosts)
    assert checker.started == PAGES
    assert repo.released == [([1, 2], NOW_MS + 30_000 + FIRST)]
