"""A target claimed again while its old check still runs (its lease ran out
mid-check) is checked again only once the old check has stopped: both at once
were two requests to one host beyond what its limit allowed for a moment, and
two checks of one target."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from support.settings import settings

from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.state import TargetState
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind

URL = "http://news.example/a"


class SlowToLetGo:
    """A checker whose cancelled check takes a few loop turns to let go of its
    connection, as a real one closing its socket does."""

    def __init__(self) -> None:
        self.active: Counter[str] = Counter()
        self.peak = 0
        self.started = 0

    async def check(self, url: str, kind: Kind) -> CheckResult:
        self.active[url] += 1
        self.started += 1
        self.peak = max(self.peak, self.active[url])
        try:
            await asyncio.Event().wait()
            raise AssertionError("never answered")
        finally:
            for _ in range(5):
                await asyncio.sleep(0)
            self.active[url] -= 1


class Repo:
    def __init__(self) -> None:
        self.lease = 0

    def claim_due(self, *args: Any) -> list[Claimed]:
        self.lease += 1
        return [Claimed(7, URL, Kind.WEB, TargetState(), self.lease, ())]


class Writer:
    backlog = 0


async def test_a_reclaimed_target_is_checked_again_only_after_its_old_check_stopped() -> None:
    async def db(fn: Any, *args: Any) -> Any:
        return fn(*args)

    spawned: list[asyncio.Task[None]] = []
    checker = SlowToLetGo()
    s = settings(concurrency=4)
    dispatcher = Dispatcher(
        settings=lambda: s,
        repo=Repo(),  # type: ignore[arg-type]
        db=db,
        writer=Writer(),  # type: ignore[arg-type]
        finish=lambda claim, result: None,
        db_failed=lambda exc: str(exc),
        spawn=lambda coro, name: spawned.append(asyncio.create_task(coro)),
    )
    dispatcher.checker = checker
    await dispatcher.dispatch()
    for _ in range(3):
        await asyncio.sleep(0)
    assert checker.started == 1
    await dispatcher.dispatch()  # the same target again, with a new lease
    for _ in range(20):
        await asyncio.sleep(0)
    assert checker.started == 2  # the new check did start
    assert checker.peak == 1  # never two checks of one target at once
    assert len(dispatcher.inflight) == 1
    for task, _ in list(dispatcher.inflight.values()):
        task.cancel()
    await asyncio.gather(*(t for t, _ in dispatcher.inflight.values()), return_exceptions=True)
