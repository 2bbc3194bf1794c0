"""The daemon's checker processes tell it their hosts' holds (Retry-After, a
429/503 backoff), so its dispatcher starts none of a held host's checks and
takes back those queued in a process (dispatch.py `held_back`, checkers.py
`_defer`): the holds lived in the processes alone, so each claim of a held
host went to one, waited out the hold there holding one of its slots, and the
other hosts' checks queued behind it (S5)."""

from __future__ import annotations

import asyncio
import io
import marshal
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

import pytest
from support.settings import settings

from monitor.check.channel import Channel
from monitor.check.pipe import (
    CorruptFrame,
    Frames,
    frame,
    holds_frame,
    holds_from_frame,
    is_holds,
    is_requests,
    requests_from_frame,
    result_row,
    results_frame,
)
from monitor.check.worker import _Results
from monitor.daemon.checkers import CheckerDeferred, ProcessChecker, WorkerHolds
from monitor.daemon.dispatch import Dispatcher
from monitor.daemon.state import TargetState
from monitor.http.hostpool import HostPool
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome


def payloads(data: bytes) -> list[bytes]:
    return list(Frames().feed(data))


def test_a_holds_frame_round_trips_and_is_told_from_the_others() -> None:
    [payload] = payloads(holds_frame({"cdn.test": (2.5, 2.0), "img.test": (0.0, 0.0)}))
    assert is_holds(payload) and not is_requests(payload)
    assert holds_from_frame(payload) == ({"cdn.test": (2.5, 2.0), "img.test": (0.0, 0.0)}, {})
    [results] = payloads(results_frame([]))
    assert not is_holds(results)


@pytest.mark.parametrize(
    "data",
    [
        {"cdn.test": (1.0,)},
        {"cdn.test": ("1", 2.0)},
        {1: (1.0, 2.0)},
        {"h": (True, 1.0)},
        # seconds no worker sends (capped by retry_after_max, backoff_max): an
        # infinite hold raised OverflowError in the dispatcher's held_back
        # (R24), a huge one gave claims back due past SQLite's integers
        {"h": (float("inf"), 1.0)},
        {"h": (1.0, float("inf"))},
        {"h": (float("nan"), 1.0)},
        {"h": (1e300, 1.0)},
        {"h": (-1.0, 1.0)},
    ],
)
def test_a_holds_frame_of_anything_else_is_corrupt(data: Any) -> None:
    [payload] = payloads(frame(marshal.dumps(data)))
    with pytest.raises(CorruptFrame):
        holds_from_frame(payload)


def test_the_pool_tells_a_hold_as_it_begins_or_grows_and_the_refusals_end() -> None:
    now = [100.0]
    pool = HostPool(4, clock=lambda: now[0])
    told: list[tuple[str, float, float]] = []
    pool.on_hold = lambda host, left, backoff: told.append((host, left, backoff))
    gate = pool.take_now("CDN.test")
    assert gate is not None
    pool.record("CDN.test", 200)  # no refusal to end: nothing told (the per-request path)
    pool.record("CDN.test", 429, 3.0)
    now[0] += 1.0
    pool.record("CDN.test", 429, 1.0)  # the hold's end stays; the backoff is the last
    pool.record("cdn.test", 200)
    pool.record("cdn.test", 200)  # ended already: nothing more
    pool.leave("cdn.test", gate)
    assert told == [("cdn.test", 3.0, 3.0), ("cdn.test", 2.0, 1.0), ("cdn.test", 2.0, 0.0)]


async def test_a_worker_writes_each_hosts_last_hold_once_before_its_results() -> None:
    out = io.BytesIO()
    results = _Results(out)  # type: ignore[arg-type]
    results.hold("cdn.test", 2.0, 2.0)
    results.hold("cdn.test", 3.0, 2.0)  # the last change of a host is what travels
    results.hold("img.test", 1.0, 1.0)
    result = CheckResult("http://a.test/", Kind.WEB, Outcome.OK, datetime.now(UTC))
    results.add(result_row(7, result))
    results.flush()
    first, second = payloads(out.getvalue())
    holds, deferred = holds_from_frame(first)
    assert deferred == {}
    assert set(holds) == {"cdn.test", "img.test"}
    assert 2.5 < holds["cdn.test"][0] <= 3.0 and holds["cdn.test"][1] == 2.0
    assert not is_holds(second)
    results.flush()  # nothing held since: no holds frame
    assert len(payloads(out.getvalue())) == 2


def test_a_channel_told_an_endless_hold_kills_its_process_and_keeps_none() -> None:
    """A hostile holds frame is garbage, as a corrupt results frame is: nothing
    of it is believed (the dispatcher read inf seconds and raised)."""
    channel = Channel(deque(), asyncio.Event())
    channel.pipe_data_received(1, holds_frame({"cdn.test": (float("inf"), 1.0)}))
    assert channel.error is not None and "holds" in channel.error
    assert channel.holds == {} and channel.held_new == {}


def channel_told(holds: dict[str, tuple[float, float]]) -> Channel:
    channel = Channel(deque(), asyncio.Event())
    channel.pipe_data_received(1, holds_frame(holds))
    assert channel.error is None
    return channel


def test_the_daemon_keeps_each_processs_holds_and_drops_those_answered() -> None:
    a = channel_told({"cdn.test": (5.0, 5.0), "img.test": (0.0, 2.0)})
    b = channel_told({"other.test": (3.0, 3.0)})
    assert a.held_new == {"cdn.test": 5.0}  # a hold to take queued checks back for
    holds = WorkerHolds(4, lambda: [a, b])
    refusing = holds.refusing()
    assert set(refusing) == {"cdn.test", "img.test", "other.test"}
    assert 4.5 < refusing["cdn.test"][0] <= 5.0 and refusing["cdn.test"][1] == 5.0
    assert refusing["img.test"] == (0.0, 2.0)  # over, but its last answer refused
    a.pipe_data_received(1, holds_frame({"img.test": (0.0, 0.0)}))  # it answered
    assert set(holds.refusing()) == {"cdn.test", "other.test"}
    holds._clock = lambda: time.monotonic() + 10.0  # their holds are over
    assert set(holds.refusing()) == {"cdn.test", "other.test"}  # refused last: kept
    holds._clock = lambda: time.monotonic() + 3600.0  # long past: forgotten
    assert holds.refusing() == {} and a.holds == {} and b.holds == {}


class _Sent:
    """What the checker writes to one process, decoded."""

    def __init__(self) -> None:
        self.frames = Frames()
        self.requests: list[int] = []
        self.cancels: list[int] = []
        self.cancelled: list[int] = []
        self.held_new: dict[str, float] = {}
        self.holds: dict[str, tuple[float, float]] = {}
        self.deferred: dict[int, float] = {}

    def send(self, data: bytes, targets: int = 0) -> None:
        for payload in self.frames.feed(data):
            got, cancels = requests_from_frame(payload)
            self.requests += [key for _, _, key in got]
            self.cancels += cancels


class _Pool:
    def __init__(self) -> None:
        self.channels = [_Sent()]
        self.inbox: deque[Any] = deque()


async def test_checks_sent_to_a_process_for_a_host_it_holds_are_never_cancelled() -> None:
    """A hold told: no check sent to the process is cancelled, whichever it runs.
    A check between its tries waits a hold out aside while another loop takes
    the queue (requests.py `park`), so a process runs more than its share, and
    taking back all but its oldest share cancelled checks in flight there (a
    request sent, its connection closed before the answer: R25). The process
    gives back the held ones itself as it takes them (a holds frame's ids),
    and only those fail CheckerDeferred."""
    c = ProcessChecker(settings(concurrency=2), 1)
    pool = _Pool()
    c._pool = pool  # type: ignore[assignment]
    c._live = [True]
    urls = [f"http://cdn.test/{n}.png" for n in range(4)] + ["http://news.test/b/"]
    checks = [c.submit(u, Kind.IMAGE) for u in urls]
    for _ in range(3):
        await asyncio.sleep(0)
    sent = pool.channels[0]
    assert len(sent.requests) == 5
    sent.held_new = {"cdn.test": 5.0}
    c._deliver(pool)  # type: ignore[arg-type]
    for _ in range(3):
        await asyncio.sleep(0)
    assert sent.cancels == []
    assert all(check is not None and not check.done() for check in checks)
    sent.deferred = {sent.requests[3]: 4.5}  # the process gave this one back
    c._deliver(pool)  # type: ignore[arg-type]
    assert sent.cancels == []
    deferred = checks[3]
    assert deferred is not None and isinstance(deferred.exception(), CheckerDeferred)
    assert deferred.exception().left == 4.5  # type: ignore[union-attr]
    assert all(check is not None and not check.done() for check in checks[:3] + checks[4:])


async def test_checks_not_yet_sent_to_a_process_for_a_host_it_holds_are_taken_back() -> None:
    """Those held for a process (here: not live, as while it is replaced) are
    taken back, failed with CheckerDeferred, and never sent; the other host's
    and a short hold's stay."""
    c = ProcessChecker(settings(concurrency=2), 1)
    pool = _Pool()
    c._pool = pool  # type: ignore[assignment]
    c._live = [False]
    urls = [f"http://cdn.test/{n}.png" for n in range(3)]
    urls += ["http://news.test/b/", "http://short.test/c/"]
    checks = [c.submit(u, Kind.IMAGE) for u in urls]
    for _ in range(3):
        await asyncio.sleep(0)
    sent = pool.channels[0]
    assert sent.requests == []
    sent.held_new = {"cdn.test": 5.0, "short.test": 0.5}
    c._deliver(pool)  # type: ignore[arg-type]
    for check in checks[:3]:
        assert check is not None and isinstance(check.exception(), CheckerDeferred)
        assert check.exception().left == 5.0  # type: ignore[union-attr]
    assert all(check is not None and not check.done() for check in checks[3:])
    c._live = [True]
    c._flush()
    assert len(sent.requests) == 2 and sent.cancels == []  # the other two alone


class _Repo:
    """Hands out its batches, each a claim, then nothing; keeps what is given back."""

    def __init__(self, batches: list[list[str]]) -> None:
        self.batches = batches
        self.next_id = 0
        self.released: list[tuple[list[int], int]] = []

    def claim_due(self, now: int, limit: int, *args: Any) -> list[Claimed]:
        urls = self.batches.pop(0) if self.batches else []
        claims = []
        for url in urls[:limit]:
            self.next_id += 1
            claims.append(Claimed(self.next_id, url, Kind.IMAGE, TargetState(), 1, ()))
        return claims

    def release(self, claims: list[tuple[int, int]], due: int) -> None:
        self.released.append(([i for i, _ in claims], due))


class _Writer:
    backlog = 0


async def test_the_dispatcher_gives_back_what_a_process_holds_and_starts_the_rest() -> None:
    """With checker processes: the checks queued for a host whose hold began, given
    back by the process, are given back due at the hold's end (a deferral: no
    result); the next claims of that host are given back, not sent (the parent
    sees the process's hold), and the other host's are sent."""
    now_ms = 1_000_000
    c = ProcessChecker(settings(concurrency=2), 1)
    pool = _Pool()
    c._pool = pool  # type: ignore[assignment]
    c._live = [True]
    cdn = [f"http://cdn.test/{n}.png" for n in range(4)]
    repo = _Repo([cdn, ["http://news.test/b/", "http://cdn.test/4.png"]])
    tasks: list[asyncio.Future[None]] = []
    finished: list[Claimed] = []

    async def db(fn: Any, *args: Any) -> Any:
        await asyncio.sleep(0)
        return fn(*args)

    dispatcher = Dispatcher(
        settings=lambda: settings(concurrency=2),
        repo=repo,  # type: ignore[arg-type]
        db=db,
        writer=_Writer(),  # type: ignore[arg-type]
        finish=lambda claim, result: finished.append(claim),
        db_failed=lambda exc: str(exc),
        spawn=lambda coro, name: tasks.append(asyncio.ensure_future(coro)),
        clock=lambda: now_ms,
    )
    dispatcher.checker = c
    await asyncio.wait_for(dispatcher.dispatch(), 10)  # a bound on a hang
    for _ in range(3):
        await asyncio.sleep(0)
    sent = pool.channels[0]
    assert len(sent.requests) == 4  # 2 running, 2 queued in the process
    # the process tells the hold its first answers began: 5 s
    told = channel_told({"cdn.test": (5.0, 5.0)})
    sent.held_new, sent.holds = told.held_new, told.holds
    # and gives back the two queued as it takes them (none is cancelled from here:
    # which of them it runs, only the process knows)
    sent.deferred = {sent.requests[2]: 5.0, sent.requests[3]: 5.0}
    c._deliver(pool)  # type: ignore[arg-type]
    for _ in range(50):  # the checks' callbacks, their give-backs, the refill's claim
        await asyncio.sleep(0.01)
        if tasks and all(t.done() for t in tasks) and len(repo.released) == 3:
            break
    assert sent.cancels == []
    # (64 ms on: their turn among those given back, `waited_ms`: none waited yet)
    assert repo.released[:2] == [([3], now_ms + 5064), ([4], now_ms + 5064)]
    # the slots they left were claimed again: cdn.test's given back, news.test's sent
    [(given_back, due)] = repo.released[2:]
    assert given_back == [6] and now_ms + 4500 < due <= now_ms + 5000 + 64
    assert set(dispatcher.inflight) == {1, 2, 5} and not finished
    assert sent.requests[4:] == [dispatcher.inflight[5][0].key]  # type: ignore[attr-defined]
    dispatcher.abandon()
