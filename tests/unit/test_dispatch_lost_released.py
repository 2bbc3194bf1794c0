"""A check given up because its checker process died under it each time is left
to its lease while the daemon runs (a target that kills its checker is not
tried again at once), but a stop gives its claim back like any unfinished
check's. Kept, `run --once` exited 1 naming them, and the next `run --once`
found them leased, checked nothing and exited 0 (issue 16 hostile review)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from support.settings import settings

from monitor.daemon.checkers import CheckerGone
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.state import TargetState
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome


class Dying:
    async def check(self, url: str, kind: Kind) -> CheckResult:
        raise CheckerGone("a checker process ended before answering")


class Repo:
    def __init__(self) -> None:
        self.released: list[tuple[int, int]] = []

    def release(self, claims: list[tuple[int, int]], now: int) -> None:
        self.released += claims


def dispatcher(repo: Repo) -> Dispatcher:
    s = settings()

    async def db(fn: Any, *args: Any) -> Any:
        return fn(*args)

    return Dispatcher(
        settings=lambda: s,
        repo=repo,  # type: ignore[arg-type]
        db=db,
        writer=None,  # type: ignore[arg-type]
        finish=lambda claim, result: None,
        db_failed=str,  # type: ignore[arg-type]
        spawn=lambda coro, name: coro.close(),
        clock=lambda: 0,  # the leases below (7, 9) are still held
    )


def claim(n: int, lease: int = 7) -> Claimed:
    return Claimed(n, f"http://a.example/{n}", Kind.WEB, TargetState(), lease, ())


async def test_a_stop_gives_back_the_claims_of_checks_lost_with_their_checker() -> None:
    repo = Repo()
    d = dispatcher(repo)
    d.checker = Dying()
    await asyncio.gather(*(d._check(claim(n)) for n in range(5)))
    assert d.lost == 5
    assert repo.released == []  # while the daemon runs: left to their leases
    await d.settle(1.0)
    assert sorted(repo.released) == [(n, 7) for n in range(5)]
    repo.released.clear()
    await d.settle(1.0)  # given back once
    assert repo.released == []


async def test_a_lost_check_claimed_again_is_given_back_by_its_newest_lease() -> None:
    repo = Repo()
    d = dispatcher(repo)
    d.checker = Dying()
    await d._check(claim(1, lease=7))
    await d._check(claim(1, lease=9))  # its lease ran out, claimed again, lost again
    await d.settle(1.0)
    assert repo.released == [(1, 9)]


class DyingOnce:
    """Its first check's process dies (every try); the next answers."""

    def __init__(self) -> None:
        self.answer = False

    async def check(self, url: str, kind: Kind) -> CheckResult:
        if not self.answer:
            raise CheckerGone("a checker process ended before answering")
        return CheckResult(url=url, kind=kind, outcome=Outcome.OK, checked_at=datetime.now(UTC))


async def test_a_lost_check_answered_on_a_later_claim_is_not_kept() -> None:
    """Kept, a long-running daemon held every target ever lost and gave back their
    stale leases at its stop."""
    repo = Repo()
    d = dispatcher(repo)
    checker = DyingOnce()
    d.checker = checker
    await d._check(claim(1, lease=7))
    assert d.lost == 1
    checker.answer = True
    await d._check(claim(1, lease=9))  # its lease ran out: claimed again, answered
    await d.settle(1.0)
    assert repo.released == []
