"""A checker process told the daemon stops answers at once every request it has
not started (requests.py `stop`), so the daemon waits only for those under way:
those queued, those held undecoded and those still to arrive (worker_input.py
`Targets.stop`), and those waiting at their host's gate with nothing sent
(hostpool.py `HostPool.stop`). Before, the daemon guessed which were under way
(each process's oldest share), cut some of them and let others start after the
stop (R25); and a loop answered a queued request only once its check ended."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from test_worker_reads_ahead import _reader, _requests

from monitor.check.pipe import Request
from monitor.check.requests import Requests
from monitor.check.worker import _StopSeen
from monitor.http.hostpool import HostHeld, HostPool
from monitor.vocabulary import CheckResult, Kind, Outcome


class _Blocked:
    """Every check runs until `done` is set."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.done = asyncio.Event()

    async def check(self, url: str, kind: Kind) -> CheckResult:
        self.started.append(url)
        await self.done.wait()
        return CheckResult(url, kind, Outcome.OK, datetime.now(UTC))


async def _turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_a_stop_answers_the_queued_requests_at_once_and_runs_those_under_way() -> None:
    queue: asyncio.Queue[Request | None] = asyncio.Queue()
    for n in range(5):
        queue.put_nowait((Kind.WEB, f"http://127.0.0.1:1/{n}", n))
    checker = _Blocked()
    skipped: list[int] = []
    rows: list[object] = []
    serving = Requests(queue, checker, rows.append, skipped.append)
    task = asyncio.create_task(serving.run(2))
    try:
        await _turns()
        assert len(checker.started) == 2
        serving.stop()
        assert skipped == [2, 3, 4]  # before: answered only as a loop came free
        queue.put_nowait((Kind.WEB, "http://127.0.0.1:1/5", 5))  # arrived after the stop
        serving.drain()
        assert skipped == [2, 3, 4, 5]
        serving.cancel((4,))  # the parent's cancel of one answered already: nothing
        assert 4 not in serving.early
        checker.done.set()
        await _turns()
        assert len(rows) == 2 and len(checker.started) == 2
        queue.put_nowait(None)
        queue.put_nowait(None)
        await asyncio.wait_for(task, 10)  # a bound on a hang
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_held_frames_and_those_that_arrive_are_queued_for_the_stop() -> None:
    reader, _ = _reader(checkers=1)
    reader.data_received(_requests(0, 10))  # QUEUED_ROUNDS a checker: the rest held
    reader.data_received(_requests(10, 20))
    assert reader.held
    told: list[int] = []
    reader.stop(lambda: told.append(reader.queue.qsize()))
    assert not reader.held and told[-1] == 20
    reader.data_received(_requests(20, 25))  # not held: queued and told
    assert not reader.held and told[-1] == 25


async def test_a_stop_lets_every_take_waiting_at_a_gate_go() -> None:
    """A check's first request (nothing sent) and a check's retry (a request of it
    sent) waiting at the gate both leave at the stop: no request starts after
    it (the retry waited its turn and was sent after the stop before S8)."""
    pool = HostPool(per_host=1)
    pool.defer_after = 1.0  # a daemon's checker process
    first = pool.take_now("a.test")  # on the wire
    assert first is not None
    waiting = asyncio.ensure_future(pool.take("a.test", deferrable=True))  # nothing sent
    retry = asyncio.ensure_future(pool.take("a.test", deferrable=False))  # a request sent
    await _turns()
    pool.stop()
    await _turns()
    with pytest.raises(HostHeld):
        waiting.result()
    with pytest.raises(HostHeld):  # one taken after the stop leaves at once
        await pool.take("a.test", deferrable=True)
    with pytest.raises(HostHeld):  # under way, but its next request is not sent
        retry.result()
    with pytest.raises(HostHeld):
        await pool.take("a.test", deferrable=False)
    pool.leave("a.test", first)


def test_without_defer_after_a_stop_changes_nothing() -> None:
    """`check`'s processes and the in-process checker: nothing is deferrable."""
    pool = HostPool(per_host=1)
    pool.stop()
    assert pool.stopped is False


async def test_a_check_waiting_at_its_gate_at_a_stop_is_answered_not_started() -> None:
    """Through the loops: HostHeld at a stop is an answer by id, not a hold."""
    pool = HostPool(per_host=1)
    pool.defer_after = 1.0

    class _Gated:
        def __init__(self) -> None:
            self.sent: list[str] = []
            self.done = asyncio.Event()

        async def check(self, url: str, kind: Kind) -> CheckResult:
            gate = await pool.take("a.test", deferrable=True)
            try:
                self.sent.append(url)
                await self.done.wait()
            finally:
                pool.leave("a.test", gate)
            return CheckResult(url, kind, Outcome.OK, datetime.now(UTC))

    queue: asyncio.Queue[Request | None] = asyncio.Queue()
    for n in range(2):
        queue.put_nowait((Kind.WEB, f"http://a.test/{n}", n))
    checker = _Gated()
    skipped: list[int] = []
    deferred: list[int] = []
    rows: list[object] = []
    serving = Requests(
        queue, checker, rows.append, skipped.append, None, lambda k, s: deferred.append(k)
    )
    task = asyncio.create_task(serving.run(2))
    try:
        await _turns()
        assert checker.sent == ["http://a.test/0"]  # 1 waits at the gate
        serving.stop()
        pool.stop()
        await _turns()
        assert skipped == [1] and deferred == []
        checker.done.set()
        await _turns()
        assert checker.sent == ["http://a.test/0"] and len(rows) == 1
        queue.put_nowait(None)
        queue.put_nowait(None)
        await asyncio.wait_for(task, 10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_signal_answers_on_the_loops_next_turn_once() -> None:
    """The handler sets the flag at once and leaves the answers to the loop (it may
    run inside the loop's own code); a second signal does not answer again."""
    serving = Requests(asyncio.Queue(), _Blocked(), lambda row: None, lambda key: None)
    calls: list[bool] = []
    seen = _StopSeen()
    seen.serving(serving, lambda: calls.append(serving.stopped))
    seen.stop()
    seen.stop()  # SIGTERM to the group, then the daemon's SIGUSR2
    assert serving.stopped and calls == []
    await _turns()
    assert calls == [True]


async def test_a_signal_before_serving_answers_once_serving_begins() -> None:
    serving = Requests(asyncio.Queue(), _Blocked(), lambda row: None, lambda key: None)
    calls: list[int] = []
    seen = _StopSeen()
    seen.stop()
    seen.serving(serving, lambda: calls.append(1))
    assert serving.stopped
    await _turns()
    assert calls == [1]
