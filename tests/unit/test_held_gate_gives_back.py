"""In a daemon's checker process a check never holds one of the process's loops
while its host is held beyond HOLD_SLACK (R24): a check that has sent nothing
leaves the host's gate (HostHeld) and is answered as given back, and one whose
request was sent (between its tries) waits at the gate in a loop of its own
(`Requests.park`), the others going on. Kept in the loops, the first checks of
a host answering `429 Retry-After: 30` took every loop of its process for the
whole hold, and the other hosts' checks queued there waited as long.

The parent's side: a request given back fails its check with CheckerDeferred
and the claim is given back due at the hold's end, no result.
"""

from __future__ import annotations

import asyncio
import io
from collections import deque
from datetime import UTC, datetime
from typing import Any

import pytest
from support.settings import settings

from monitor.check.channel import Channel
from monitor.check.pipe import Frames, Request, Row, holds_frame, holds_from_frame
from monitor.check.requests import Requests
from monitor.check.worker import _Results
from monitor.daemon.checkers import ProcessChecker
from monitor.daemon.dispatch import Dispatcher
from monitor.http.hostpool import HOLD_SLACK, HostHeld, HostPool
from monitor.vocabulary import CheckResult, Kind, Outcome


async def turns(n: int = 10) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def daemon_pool(per_host: int = 1, clock: Any = None) -> HostPool:
    pool = HostPool(per_host, **({"clock": clock} if clock else {}))
    pool.defer_after = HOLD_SLACK
    return pool


# --- the gate -------------------------------------------------------------------


async def test_a_deferrable_take_of_a_held_host_leaves_at_once_and_holds_nothing() -> None:
    pool = daemon_pool()
    gate = pool.take_now("cdn.test")
    assert gate is not None
    pool.record("cdn.test", 429, 30.0)
    pool.leave("cdn.test", gate)
    with pytest.raises(HostHeld) as held:
        await asyncio.wait_for(pool.take("cdn.test", True), 5)  # a bound on a hang
    assert 29.0 < held.value.left <= 30.0
    assert gate.slots.free == 1 and not gate.slots.waiters


async def test_deferrable_takes_waiting_for_a_slot_leave_when_a_hold_begins() -> None:
    """Queued behind the request that is answered 429: they leave with the hold's
    seconds, not after it; the gate's slot is free again, nothing taken."""
    pool = daemon_pool()
    gate = pool.take_now("cdn.test")
    assert gate is not None
    waiting = [asyncio.ensure_future(pool.take("cdn.test", True)) for _ in range(3)]
    await turns()
    assert not any(w.done() for w in waiting) and len(gate.slots.waiters) == 3
    pool.record("cdn.test", 429, 30.0)
    await turns()
    for w in waiting:
        assert isinstance(w.exception(), HostHeld)
    pool.leave("cdn.test", gate)
    assert gate.slots.free == 1 and not gate.slots.waiters


async def test_a_short_hold_is_waited_out_and_a_longer_one_after_it_is_not() -> None:
    """Under HOLD_SLACK the wait is the old one; grown beyond it while a take
    waits the short one out, the take leaves at that wait's end, with the
    hold's seconds; a take that cannot be given back waits on."""
    pool = daemon_pool()
    gate = pool.take_now("cdn.test")
    assert gate is not None
    pool.record("cdn.test", 429, 0.05)
    pool.leave("cdn.test", gate)
    got = await asyncio.wait_for(pool.take("cdn.test", True), 5)  # 0.05 s waited out
    pool.record("cdn.test", 429, HOLD_SLACK / 2)
    pool.leave("cdn.test", got)
    sleeping = asyncio.ensure_future(pool.take("cdn.test", True))
    await turns()
    assert not sleeping.done()
    other = asyncio.ensure_future(pool.take("cdn.test"))  # queued behind: not deferrable
    await turns()
    pool.record("cdn.test", 429, 30.0)  # another answer (a redirect's hop's) holds it
    await asyncio.wait_for(asyncio.wait([sleeping], timeout=5), 10)
    assert isinstance(sleeping.exception(), HostHeld)
    await turns()
    assert not other.done()  # a check between its tries waits the hold out
    other.cancel()
    await turns()
    assert gate.slots.free == 1 and not gate.slots.waiters


async def test_without_defer_after_a_deferrable_take_waits_as_before() -> None:
    """`check`'s checkers and the daemon's own in-process one never set it."""
    pool = HostPool(1)
    gate = pool.take_now("cdn.test")
    assert gate is not None
    pool.record("cdn.test", 429, 30.0)
    pool.leave("cdn.test", gate)
    waiting = asyncio.ensure_future(pool.take("cdn.test", True))
    await turns()
    assert not waiting.done()
    waiting.cancel()
    await turns()
    assert gate.slots.free == 1


async def test_a_take_that_cannot_be_given_back_parks_at_a_held_gate() -> None:
    parked: list[asyncio.Task[Any] | None] = []
    pool = daemon_pool()
    pool.on_park = lambda: parked.append(asyncio.current_task())
    gate = pool.take_now("cdn.test")
    assert gate is not None
    pool.record("cdn.test", 200)
    pool.leave("cdn.test", gate)
    short = asyncio.ensure_future(pool.take("cdn.test"))  # nothing held: no park
    await turns()
    assert short.done() and parked == []
    pool.record("cdn.test", 429, 30.0)
    pool.leave("cdn.test", short.result())
    retry = asyncio.ensure_future(pool.take("cdn.test"))
    await turns()
    assert parked == [retry] and not retry.done()
    retry.cancel()
    await turns()


# --- the loops --------------------------------------------------------------------


class Gated:
    """A checker whose checks of `cdn.test` go through a held gate: the first
    one (`sent`) has sent its request, so it parks and waits; the others have
    sent nothing and are given back (HostHeld). Counts checks in flight per URL."""

    def __init__(self, pool: HostPool) -> None:
        self.pool = pool
        self.release = asyncio.Event()
        self.sent: set[str] = set()
        self.started: list[str] = []
        self.now: dict[str, int] = {}
        self.peak = 0

    async def check(self, url: str, kind: Kind) -> CheckResult:
        self.started.append(url)
        self.now[url] = self.now.get(url, 0) + 1
        self.peak = max(self.peak, self.now[url])
        try:
            if "cdn.test" in url:
                gate = await self.pool.take("cdn.test", url not in self.sent)
                self.pool.leave("cdn.test", gate)
                await self.release.wait()
            return CheckResult(url, kind, Outcome.OK, datetime.now(UTC))
        finally:
            self.now[url] -= 1


def serve(
    checker: Gated, requests: list[Request]
) -> tuple[Requests, asyncio.Queue[Request | None], list[Row], list[int], dict[int, float]]:
    queue: asyncio.Queue[Request | None] = asyncio.Queue()
    rows: list[Row] = []
    cancelled: list[int] = []
    deferred: dict[int, float] = {}
    r = Requests(queue, checker, rows.append, cancelled.append, None, deferred.__setitem__)
    checker.pool.on_park = r.park
    for request in requests:
        queue.put_nowait(request)
    return r, queue, rows, cancelled, deferred


async def test_a_processs_loop_is_never_held_by_a_held_host() -> None:
    """One loop: the check between its tries parks and the loop goes on; the held
    host's other checks are given back with its seconds, the other host's are
    checked; the parked one answers when its wait ends; every request gets one
    answer, no URL two checks at once, and the loops end with the queue. ~1.3 s:
    the parked check waits out a real hold just over HOLD_SLACK."""
    hold = HOLD_SLACK + 0.3
    pool = daemon_pool()
    gate = pool.take_now("cdn.test")
    assert gate is not None
    pool.record("cdn.test", 429, hold)
    pool.leave("cdn.test", gate)
    checker = Gated(pool)
    checker.sent.add("http://cdn.test/0.png")  # its first try was answered 429
    requests: list[Request] = [(Kind.IMAGE, "http://cdn.test/0.png", 0)]
    requests += [(Kind.IMAGE, f"http://cdn.test/{n}.png", n) for n in (1, 2)]
    requests += [(Kind.WEB, "http://news.test/a/", 3), (Kind.WEB, "http://news.test/b/", 4)]
    r, queue, rows, cancelled, deferred = serve(checker, requests)
    task = asyncio.create_task(r.run(1))
    await turns(30)
    assert [row[0] for row in rows] == [3, 4]  # the pages, while 0 waits
    assert set(deferred) == {1, 2} and all(HOLD_SLACK < s <= hold for s in deferred.values())
    assert len(r.parked) == 1 and len(r.loops) == 1 and list(r.running) == [0]
    queue.put_nowait(None)  # the end: the loop in the parked one's place takes it
    await turns()
    assert not task.done()  # the parked check still waits
    checker.release.set()
    await asyncio.wait_for(task, 10)  # the hold's end; a bound on a hang
    assert [row[0] for row in rows] == [3, 4, 0] and not cancelled
    assert checker.peak == 1 and not r.running and not r.parked


async def test_a_cancel_of_a_request_given_back_is_answered_once() -> None:
    """The parent cancelled it as it left the gate: one answer, its id as
    cancelled (the parent waits for it no more)."""
    pool = daemon_pool()
    gate = pool.take_now("cdn.test")
    assert gate is not None
    checker = Gated(pool)
    r, queue, rows, cancelled, deferred = serve(checker, [(Kind.IMAGE, "http://cdn.test/1.png", 0)])
    task = asyncio.create_task(r.run(1))
    await turns()
    assert list(r.running) == [0]  # waiting for the gate's slot
    pool.record("cdn.test", 429, 30.0)  # its wait fails ...
    r.cancel((0,))  # ... and the parent cancels it, in one turn
    await turns()
    assert cancelled == [0] and deferred == {} and not rows
    pool.leave("cdn.test", gate)
    queue.put_nowait(None)
    await asyncio.wait_for(task, 5)
    assert not r.running and not r.stopping


async def test_held_host_is_a_bug_where_nothing_takes_a_deferral() -> None:
    """`check`'s loops have no `on_deferred` (their gates never raise it)."""
    pool = daemon_pool()
    gate = pool.take_now("cdn.test")
    assert gate is not None
    pool.record("cdn.test", 429, 30.0)
    queue: asyncio.Queue[Request | None] = asyncio.Queue()
    queue.put_nowait((Kind.IMAGE, "http://cdn.test/1.png", 0))
    r = Requests(queue, Gated(pool), lambda row: None, lambda key: None)
    with pytest.raises(ExceptionGroup):
        await asyncio.wait_for(r.run(1), 5)


# --- the pipe and the parent -------------------------------------------------------


async def test_a_worker_tells_its_requests_given_back_with_its_holds() -> None:
    out = io.BytesIO()
    results = _Results(out)  # type: ignore[arg-type]
    results.hold("cdn.test", 30.0, 30.0)
    results.defer(7, 30.0)
    results.defer(9, 29.0)
    results.flush()
    [payload] = list(Frames().feed(out.getvalue()))
    holds, deferred = holds_from_frame(payload)
    assert set(holds) == {"cdn.test"} and set(deferred) == {7, 9}
    assert 29.5 < deferred[7] <= 30.0 and 28.5 < deferred[9] <= 29.0
    channel = Channel(deque(), asyncio.Event())
    channel.pipe_data_received(1, out.getvalue())
    assert channel.error is None and channel.received == 2
    assert set(channel.deferred) == {7, 9} and "cdn.test" in channel.holds


@pytest.mark.parametrize("data", [{-1: 1.0}, {1: float("inf")}, {1: float("nan")}, {1: "1"}])
def test_a_request_given_back_with_odd_seconds_is_corrupt(data: dict[int, Any]) -> None:
    channel = Channel(deque(), asyncio.Event())
    channel.pipe_data_received(1, holds_frame({}, data))
    assert channel.error is not None and channel.deferred == {}


class _Sent:
    def __init__(self) -> None:
        self.frames = Frames()
        self.requests: list[int] = []
        self.held_new: dict[str, float] = {}
        self.holds: dict[str, tuple[float, float]] = {}
        self.deferred: dict[int, float] = {}
        self.cancelled: list[int] = []

    def send(self, data: bytes, targets: int = 0) -> None:
        from monitor.check.pipe import requests_from_frame

        for payload in self.frames.feed(data):
            got, _ = requests_from_frame(payload)
            self.requests += [key for _, _, key in got]


class _Pool:
    def __init__(self) -> None:
        self.channels = [_Sent()]
        self.inbox: deque[Any] = deque()


async def test_the_daemon_gives_back_the_claim_of_a_request_its_process_gave_back() -> None:
    """A running check (its process's share: `_defer` leaves it) given back by the
    process: the claim is given back due at the hold's end plus its turn, no
    result; a late answer for it finds nothing waiting."""
    now_ms = 1_000_000
    c = ProcessChecker(settings(concurrency=2), 1)
    pool = _Pool()
    c._pool = pool  # type: ignore[assignment]
    c._live = [True]
    released: list[tuple[list[int], int]] = []
    finished: list[Any] = []
    tasks: list[asyncio.Future[None]] = []

    class Repo:
        def __init__(self) -> None:
            self.batches = [["http://cdn.test/0.png", "http://news.test/a/"]]

        def claim_due(self, now: int, limit: int, *args: Any) -> list[Any]:
            from monitor.daemon.state import TargetState
            from monitor.storage.values import Claimed

            urls = self.batches.pop(0) if self.batches else []
            return [Claimed(n + 1, u, Kind.IMAGE, TargetState(), 1, ()) for n, u in enumerate(urls)]

        def release(self, claims: list[tuple[int, int]], due: int) -> None:
            released.append(([i for i, _ in claims], due))

    class Writer:
        backlog = 0

    async def db(fn: Any, *args: Any) -> Any:
        await asyncio.sleep(0)
        return fn(*args)

    dispatcher = Dispatcher(
        settings=lambda: settings(concurrency=2),
        repo=Repo(),  # type: ignore[arg-type]
        db=db,
        writer=Writer(),  # type: ignore[arg-type]
        finish=lambda claim, result: finished.append(claim),
        db_failed=lambda exc: str(exc),
        spawn=lambda coro, name: tasks.append(asyncio.ensure_future(coro)),
        clock=lambda: now_ms,
    )
    dispatcher.checker = c
    await asyncio.wait_for(dispatcher.dispatch(), 10)  # a bound on a hang
    await turns()
    sent = pool.channels[0]
    assert len(sent.requests) == 2
    cdn_key = sent.requests[0]
    sent.deferred = {cdn_key: 30.0}
    c._deliver(pool)  # type: ignore[arg-type]
    for _ in range(50):
        await asyncio.sleep(0.01)
        if released and all(t.done() for t in tasks):
            break
    assert released == [([1], now_ms + 30_064)] and not finished
    assert set(dispatcher.inflight) == {2}
    assert sent.deferred == {} and cdn_key not in c._waiting[0]
    dispatcher.abandon()
