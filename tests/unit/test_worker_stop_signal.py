"""A stop signal that reaches a checker process (a service manager's SIGTERM to the
group, a terminal's Ctrl-C) starts no more of its queued requests: they are
answered by their ids, and the daemon, which did not cancel them, gives their
targets back rather than trying them again. Before, the process went on
starting queued requests until the daemon's cancels reached it, hundreds of
them at concurrency 1024 on a loaded machine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from support.dispatching import unanswered
from support.settings import settings
from test_dispatch_futures import Processes, Repo, dispatcher, turns

from monitor.check.pipe import Request
from monitor.check.requests import Requests
from monitor.check.worker import _StopSeen
from monitor.daemon.checkers import CheckerGone, CheckerStopped, ProcessChecker
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome


class _Counting:
    def __init__(self) -> None:
        self.started: list[str] = []

    async def check(self, url: str, kind: Kind) -> CheckResult:
        self.started.append(url)
        return CheckResult(url, kind, Outcome.OK, datetime.now(UTC))


async def _serve(requests: list[Request], *, stopped: bool) -> tuple[_Counting, list[int], list]:
    queue: asyncio.Queue[Request | None] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    queue.put_nowait(None)
    checker = _Counting()
    skipped: list[int] = []
    rows: list[object] = []
    serving = Requests(queue, checker, rows.append, skipped.append)
    seen = _StopSeen()
    if stopped:
        seen.stop()  # before the requests exist: they learn it when served
    seen.serving(serving)
    await serving.run(1)
    return checker, skipped, rows


async def test_after_a_stop_signal_no_queued_request_of_the_daemon_starts() -> None:
    requests: list[Request] = [(Kind.WEB, f"http://127.0.0.1:1/{n}", n) for n in range(5)]
    checker, skipped, rows = await _serve(requests, stopped=True)
    assert checker.started == [] and rows == []
    assert skipped == [0, 1, 2, 3, 4]  # each answered by its id


async def test_without_a_stop_signal_the_requests_run() -> None:
    requests: list[Request] = [(Kind.WEB, f"http://127.0.0.1:1/{n}", n) for n in range(3)]
    checker, skipped, rows = await _serve(requests, stopped=False)
    assert len(checker.started) == 3 and skipped == [] and len(rows) == 3


async def test_checks_own_targets_are_still_checked_after_a_signal() -> None:
    """`check`'s targets (keyed by URL, never answered by an id) are not skipped:
    its parent stops the processes itself and reports what was checked."""
    requests: list[Request] = [(Kind.WEB, "http://127.0.0.1:1/a", "http://127.0.0.1:1/a")]
    checker, skipped, rows = await _serve(requests, stopped=True)
    assert checker.started == ["http://127.0.0.1:1/a"] and skipped == [] and len(rows) == 1


def test_a_signal_after_serving_began_reaches_the_requests() -> None:
    serving = Requests(asyncio.Queue(), _Counting(), lambda row: None, lambda key: None)
    seen = _StopSeen()
    seen.serving(serving)
    assert serving.stopped is False
    seen.stop()
    assert serving.stopped is True


async def test_a_request_its_process_skipped_fails_with_checker_stopped_and_no_other() -> None:
    checker = unanswered(ProcessChecker(settings(concurrency=4), 1))
    skipped = checker.submit("http://127.0.0.1:1/a", Kind.WEB)
    waiting = checker.submit("http://127.0.0.1:1/b", Kind.WEB)
    ours = checker.submit("http://127.0.0.1:1/c", Kind.WEB)
    assert skipped is not None and waiting is not None and ours is not None
    checker.send_now()
    checker.stop()  # the daemon stops: the process skipped the request at its stop
    ours.cancel()  # cancelled by the daemon: its id comes back too, and means nothing more
    channel = checker._pool.channels[0]  # type: ignore[union-attr]
    channel.cancelled.extend([skipped.key, ours.key])  # type: ignore[attr-defined]
    checker._deliver(checker._pool)  # type: ignore[arg-type]
    assert isinstance(skipped.exception(), CheckerStopped)
    assert not waiting.done() and ours.cancelled()
    assert channel.cancelled == []  # type: ignore[union-attr]


async def test_a_request_skipped_while_the_daemon_runs_on_is_tried_again_elsewhere() -> None:
    """A stray SIGUSR2 to the process alone: the daemon does not stop, so the
    skipped check is one to try again (CheckerGone), never given back as at a
    stop (the target went unchecked, `run --once` exited 0), and nothing more is
    sent to the process that skips: held for the one put in its place."""
    checker = unanswered(ProcessChecker(settings(concurrency=4), 1))
    skipped = checker.submit("http://127.0.0.1:1/a", Kind.WEB)
    assert skipped is not None
    checker.send_now()
    channel = checker._pool.channels[0]  # type: ignore[union-attr]
    sent = len(channel.frames)  # type: ignore[attr-defined]
    channel.cancelled.append(skipped.key)  # type: ignore[attr-defined]
    checker._deliver(checker._pool)  # type: ignore[arg-type]
    error = skipped.exception()
    assert isinstance(error, CheckerGone) and not isinstance(error, CheckerStopped)
    again = checker.submit("http://127.0.0.1:1/a", Kind.WEB)
    assert again is not None
    checker.send_now()
    assert len(channel.frames) == sent  # type: ignore[attr-defined]
    assert not again.done()
    checker.stop()  # a stop meanwhile: what was held is given back, never sent
    assert isinstance(again.exception(), CheckerStopped)
    assert len(channel.frames) == sent  # type: ignore[attr-defined]


async def test_the_daemon_gives_a_skipped_check_back_and_never_sends_it_again() -> None:
    """Even before the daemon has seen the stop itself (the process's signal came
    first): tried again, it went to the same stopping process, and after a few
    tries it was counted a failed check."""
    finished: list[tuple[Claimed, CheckResult]] = []
    checker = Processes()
    repo = Repo(1)
    d = dispatcher(repo, finished, checker)
    await d.dispatch()
    assert not d.stopping
    checker.futures[0][1].set_exception(CheckerStopped("its checker process was stopping"))
    await turns()
    assert len(checker.futures) == 1 and not d.inflight and d.lost == 0 and d.failed == 0
    async with asyncio.timeout(10):  # a bound on a hang, never a timing
        await d.settle(grace=60)
    assert [i for i, _ in repo.released] == [0] and not finished


class _SlowToLetGo:
    """Every check runs until cancelled, and lets go of its connection only when
    `let_go` is set."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.let_go = asyncio.Event()

    async def check(self, url: str, kind: Kind) -> CheckResult:
        self.started.append(url)
        try:
            await asyncio.Event().wait()
        finally:
            await self.let_go.wait()
        raise AssertionError("never answered")


async def test_a_request_waiting_for_its_url_to_be_let_go_does_not_start_after_a_signal() -> None:
    """Taken before the signal, it waited for a cancelled request of its URL to let
    go (never two at once), then started after the stop: the parent counts it
    among the running ones and does not cancel it."""
    queue: asyncio.Queue[Request | None] = asyncio.Queue()
    checker = _SlowToLetGo()
    skipped: list[int] = []
    rows: list[object] = []
    serving = Requests(queue, checker, rows.append, skipped.append)
    queue.put_nowait((Kind.WEB, "http://127.0.0.1:1/u", 0))
    task = asyncio.create_task(serving.run(2))
    await turns()
    serving.cancel((0,))
    queue.put_nowait((Kind.WEB, "http://127.0.0.1:1/u", 1))  # claimed again
    await turns()
    assert 1 in serving.running  # waiting for 0 to let go
    serving.stopped = True  # the stop signal (worker._StopSeen)
    checker.let_go.set()
    try:
        await turns()
        assert checker.started == ["http://127.0.0.1:1/u"]  # before: twice
        assert skipped == [0, 1] and rows == []
        queue.put_nowait(None)
        queue.put_nowait(None)
        await turns()
        assert task.done()
    finally:
        task.cancel()  # bounded whatever went wrong
        await asyncio.gather(task, return_exceptions=True)
