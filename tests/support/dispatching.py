"""A Dispatcher over test doubles (the due queue, the settings and the clock a
test gives; results go to `finish`, the writer never holds a claim back), and
a daemon over an empty corpus for the tests of its stops."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.check.pipe import Frames, requests_from_frame
from monitor.config import Settings, load_settings
from monitor.daemon.checkers import ProcessChecker
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.pace import Pace
from monitor.daemon.service import Daemon
from monitor.secured.keys import KeyRing
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult


class Writer:
    backlog = 0
    healthy = True


async def db(call: Any, *args: Any) -> Any:
    """The database thread's turn: one loop turn, then the call."""
    await asyncio.sleep(0)
    return call(*args)


def dispatcher(
    s: Settings | Callable[[], Settings],
    repo: Any,
    *,
    finish: Callable[[Claimed, CheckResult], None] = lambda claim, result: None,
    pace: Pace | None = None,
    clock: Callable[[], int] | None = None,
) -> Dispatcher:
    extra: dict[str, Any] = {} if clock is None else {"clock": clock}
    return Dispatcher(
        settings=s if callable(s) else lambda: s,
        repo=repo,
        db=db,
        writer=Writer(),  # type: ignore[arg-type]
        finish=finish,
        db_failed=str,  # type: ignore[arg-type]
        spawn=lambda coro, name: coro.close(),
        pace=pace,
        **extra,
    )


def daemon_for(tmp_path: Path) -> Daemon:
    """A daemon over `tmp_path/corpus` (made empty) and `tmp_path/data`, not started."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    (tmp_path / "data").mkdir(exist_ok=True)
    settings = load_settings(None, {"paths": [corpus], "data_dir": tmp_path / "data"}, environ={})
    return Daemon(settings, KeyRing.load([]))


class _Unanswered:
    """A checker-process pool that takes every frame and answers none."""

    class _Channel:
        def __init__(self) -> None:
            self.frames: list[bytes] = []  # what was written to the process, in order
            self.cancelled: list[int] = []  # ids the process answered as cancelled
            self.held_new: dict[str, float] = {}  # hosts it began holding back
            self.deferred: dict[int, float] = {}  # requests it gave back (holds frames)
            self.holds: dict[str, tuple[float, float]] = {}

        def send(self, data: bytes, targets: int = 0) -> None:
            self.frames.append(data)

    def __init__(self, processes: int) -> None:
        self.channels = [self._Channel() for _ in range(processes)]
        self.inbox: deque[list[tuple[int, CheckResult]] | None] = deque()
        self.told_to_stop = 0  # times the daemon's stop signalled the processes

    def signal_stop(self) -> None:
        self.told_to_stop += 1


def unanswered(checker: ProcessChecker) -> ProcessChecker:
    """`checker` over processes that never answer: its checks are submitted, kept
    and cancelled as in the real one (by process, in order), and the test ends
    them by hand (or answer them through `answer`)."""
    checker._pool = _Unanswered(checker.processes)  # type: ignore[assignment]
    checker._live = [True] * checker.processes
    return checker


def cancels_sent(checker: ProcessChecker, process: int = 0) -> list[int]:
    """The request ids `unanswered(checker)` has written to a process as cancels."""
    pool = checker._pool
    assert isinstance(pool, _Unanswered)
    out: list[int] = []
    for data in pool.channels[process].frames:
        for payload in Frames().feed(data):
            out += requests_from_frame(payload)[1]
    return out


def answer(
    checker: ProcessChecker, future: asyncio.Future[CheckResult], result: CheckResult
) -> None:
    """A process of `unanswered(checker)` answers the check of `future`, as a real
    one would (its result delivered by the request's id)."""
    pool = checker._pool
    assert isinstance(pool, _Unanswered)
    pool.inbox.append([(future.key, result)])  # type: ignore[attr-defined]
    checker._deliver(pool)  # type: ignore[arg-type]


def not_started(checker: ProcessChecker, *futures: asyncio.Future[CheckResult]) -> None:
    """A process of `unanswered(checker)` answers these checks by their ids, not
    started, as a real one does at a stop (requests.py `stop`)."""
    pool = checker._pool
    assert isinstance(pool, _Unanswered)
    for future in futures:
        pool.channels[future.key % checker.processes].cancelled.append(future.key)  # type: ignore[attr-defined]
    checker._deliver(pool)  # type: ignore[arg-type]
