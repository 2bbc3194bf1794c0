"""A checker process that dies as it starts (a broken install: the package upgraded
under a running daemon, an import that fails, no memory) is started again less
and less often, up to RESTART_MAX apart (issue 16 hostile review). It was started
again every RESTART_DELAY for ever: an interpreter and its imports (~0.5 CPU-s)
and an ERROR line per process every second, idle or not. A process that ran (it
answered, or lived STEADY_S) is replaced after RESTART_DELAY again. Delays are
read from the sleeps asked for, never timed."""

from __future__ import annotations

import asyncio
import logging
import types
from typing import Any

import pytest
from support.settings import settings

from monitor.daemon import checkers, prestart
from monitor.daemon.checkers import ProcessChecker

BOUND = 60.0


class Sleeps:
    """`checkers.asyncio`, with a sleep that records its delay and yields at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.delays: list[float] = []
        self.grew = asyncio.Event()
        real = asyncio.sleep
        proxy = types.ModuleType("asyncio")
        proxy.__dict__.update(vars(asyncio))

        async def sleep(delay: float, result: Any = None) -> Any:
            self.delays.append(delay)
            if len(self.delays) >= 8:
                self.grew.set()
            return await real(0, result)

        proxy.sleep = sleep  # type: ignore[attr-defined]
        monkeypatch.setattr(checkers, "asyncio", proxy)


async def test_a_process_that_dies_as_it_starts_is_restarted_less_and_less_often(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sleeps = Sleeps(monkeypatch)
    monkeypatch.setattr(prestart, "WORKER_ARGS", ("-c", "import sys; sys.exit(3)"))
    with caplog.at_level(logging.ERROR, logger="monitor.daemon"):
        async with ProcessChecker(settings({}), 1):
            await asyncio.wait_for(sleeps.grew.wait(), BOUND)
    delays = sleeps.delays[:8]
    first = checkers.RESTART_DELAY
    assert delays == [min(first * 2**n, checkers.RESTART_MAX) for n in range(8)]
    deaths = [r for r in caplog.records if "ended (exit status 3)" in r.getMessage()]
    assert deaths and "in 1 s" in deaths[0].getMessage()
