"""A checker process that dies fails the checks it held (CheckerGone): each is
checked again by the new process, once, instead of waiting for its lease (and
never, in `run --once`, whose cutoff the lease outlasts); and it is one log
line for the death, not a traceback per check."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from support.settings import settings

from monitor.daemon.checkers import CheckerGone
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.state import TargetState
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome


class Dying:
    """Fails the first `deaths` checks of each URL as a dead checker process does."""

    def __init__(self, deaths: int) -> None:
        self.deaths = deaths
        self.calls: dict[str, int] = {}

    async def check(self, url: str, kind: Kind) -> CheckResult:
        n = self.calls[url] = self.calls.get(url, 0) + 1
        if n <= self.deaths:
            raise CheckerGone("a checker process ended before answering")
        now = datetime.now(UTC)
        return CheckResult(url=url, kind=kind, outcome=Outcome.OK, attempts=1, checked_at=now)


def dispatcher(finished: list[tuple[Claimed, CheckResult]]) -> Dispatcher:
    s = settings()
    return Dispatcher(
        settings=lambda: s,
        repo=None,  # type: ignore[arg-type]  # not used by _check
        db=None,  # type: ignore[arg-type]
        writer=None,  # type: ignore[arg-type]
        finish=lambda claim, result: finished.append((claim, result)),
        db_failed=str,  # type: ignore[arg-type]
        spawn=lambda coro, name: coro.close(),
    )


def claim(n: int) -> Claimed:
    return Claimed(n, f"http://a.example/{n}", Kind.WEB, TargetState(), 1, ())


@pytest.mark.parametrize("deaths", [1, 2])
async def test_a_check_whose_checker_died_is_checked_again_once(
    deaths: int, caplog: pytest.LogCaptureFixture
) -> None:
    finished: list[tuple[Claimed, CheckResult]] = []
    d = dispatcher(finished)
    d.checker = Dying(deaths)
    with caplog.at_level(logging.DEBUG, logger="monitor.daemon"):
        await asyncio.gather(*(d._check(claim(n)) for n in range(20)))
    assert not [r for r in caplog.records if r.exc_info]  # no traceback per check
    if deaths == 1:  # checked again by the next process: every result recorded
        assert sorted(c.id for c, _ in finished) == list(range(20))
        assert d.lost == 0
    else:  # a target that kills its checker every time: given up, counted, said once
        assert finished == [] and d.lost == 20
        assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 1


def _bare_dispatcher(clock: list[int]) -> Dispatcher:
    """A dispatcher with no database or writer (not used by `_check` and
    `_keep_lost` once the checker fails), on the clock `clock[0]`."""
    s = settings()
    return Dispatcher(
        settings=lambda: s,
        repo=None,  # type: ignore[arg-type]
        db=None,  # type: ignore[arg-type]
        writer=None,  # type: ignore[arg-type]
        finish=lambda claim, result: None,
        db_failed=str,  # type: ignore[arg-type]
        spawn=lambda coro, name: coro.close(),
        clock=lambda: clock[0],
    )


async def test_lost_claims_whose_leases_ran_out_are_not_kept_for_good() -> None:
    """A target retired after its claim was lost is never answered: its entry went
    only at a stop, and a long run with a churning corpus kept adding them."""
    clock = [0]
    d = _bare_dispatcher(clock)
    d.checker = Dying(deaths=10)
    for rescan in range(50):  # each round's targets are retired: never claimed again
        clock[0] = rescan * 1000
        lease = clock[0] + 500
        await asyncio.gather(
            *(
                d._check(Claimed(n, f"http://a.example/{n}", Kind.WEB, TargetState(), lease, ()))
                for n in range(rescan * 10, rescan * 10 + 10)
            )
        )
    assert d.lost == 500
    assert sorted(d._lost) == list(range(490, 500))  # the leases still held


class Counted:
    """A lost claim that counts how often its lease is looked at."""

    reads = 0

    def __init__(self, n: int, lease: int) -> None:
        self.id = n
        self._lease = lease

    @property
    def lease(self) -> int:
        Counted.reads += 1
        return self._lease


def test_many_lost_claims_are_kept_in_linear_time() -> None:
    """A checker process that dies twice with thousands of claims queued in it
    loses them all at once (7x concurrency: 14,336 at 2048): each loss walked
    every lost claim kept so far, n^2/2 lease reads (~5 s of CPU in the event
    loop for 16,384)."""
    clock = [0]
    d = _bare_dispatcher(clock)
    n = 2000
    Counted.reads = 0
    for i in range(n):  # all leases held: every one is given back at a stop
        d._keep_lost(Counted(i, 10_000))  # type: ignore[arg-type]
    assert sorted(d._lost) == list(range(n))
    assert Counted.reads <= 2 * n, Counted.reads  # before: ~n^2/2 (2,000,000)
    clock[0] = 10_000  # they all ran out: the next loss drops them
    d._keep_lost(Counted(n, 20_000))  # type: ignore[arg-type]
    assert list(d._lost) == [n]
    d._keep_lost(Counted(5, 20_000))  # type: ignore[arg-type]
    d._keep_lost(Counted(n, 30_000))  # lost again, a new lease: to the end
    assert list(d._lost) == [5, n]
