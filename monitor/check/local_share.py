"""The parent's own share of a `check --workers` run, checked on its event loop."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from monitor.check.channel import Batch
from monitor.check.pool import TargetQueue, check_queue
from monitor.config import Settings
from monitor.vocabulary import CheckResult

if TYPE_CHECKING:
    import ssl


class LocalShare:
    """The parent's own share, checked on its event loop: no pipe, no copy.

    It starts once every target is submitted (`close_input`): checking while
    the corpus is read would slow the reading down, and no article can be
    written, nor its results freed, until the corpus is read to the end.
    """

    def __init__(
        self,
        settings: Settings,
        inbox: deque[Batch | None],
        wake: asyncio.Event,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.tls = tls  # built by the caller (check's --ca-bundle): not loaded again
        self.inbox = inbox
        self.wake = wake
        self.queue: TargetQueue = asyncio.Queue()
        self.out: Batch = []
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    def close_input(self) -> None:
        for _ in range(self.settings.concurrency):
            self.queue.put_nowait(None)

    def _deliver(self) -> None:
        self.inbox.append(self.out)
        self.out = []
        self.wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()

        def on_result(url: str, result: CheckResult) -> None:
            if not self.out:  # the first of a batch: deliver once this turn of the loop ends
                loop.call_soon(self._deliver)
            self.out.append((url, result))

        try:
            # only a run that checks here needs the engine; imported within the
            # `finally` that ends the share: a broken aiohttp raised before it, the
            # pool waited for the share's end forever and `check` hung
            from monitor.http import Checker

            async with Checker(self.settings, tls=self.tls) as checker:
                # `check`'s reader asked `static_result` of each (only it has a local share)
                checker.vetted = True
                checker.give_up_refusing_hosts()  # one-shot: it must end
                await check_queue(
                    self.queue, checker, concurrency=self.settings.concurrency, on_result=on_result
                )
        finally:
            if self.out:
                self._deliver()
            self.inbox.append(None)
            self.wake.set()
