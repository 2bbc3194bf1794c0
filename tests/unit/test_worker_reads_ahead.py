"""A checker process reads every frame as it arrives (monitor.check.worker_input.Targets):
the daemon's cancels apply at once, even to requests still held as undecoded bytes
behind a full queue; `check`'s stream is still paused (its whole corpus comes at
once); held frames are all checked before the end, and a broken one still fails."""

from __future__ import annotations

import asyncio
import marshal
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.settings import settings

from monitor.check import worker_input
from monitor.check.pipe import frame, ids_frame, is_requests, requests_frame, targets_frame
from monitor.check.requests import Requests
from monitor.check.worker_input import QUEUED_ROUNDS, Targets
from monitor.vocabulary import CheckResult, Kind, Outcome


class _Reading(asyncio.ReadTransport):
    """Records pause/resume, as the worker's stdin transport would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.closed = False

    def pause_reading(self) -> None:
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.calls.append("resume")

    def close(self) -> None:
        self.closed = True


class _Counting:
    """Answers at once; records what it was asked to check."""

    def __init__(self) -> None:
        self.started: list[str] = []

    async def check(self, url: str, kind: Kind) -> CheckResult:
        self.started.append(url)
        await asyncio.sleep(0)
        return CheckResult(url, kind, Outcome.OK, datetime.now(UTC))


def _reader(checkers: int = 2) -> tuple[Targets, _Reading]:
    reader = Targets()
    transport = _Reading()
    reader.connection_made(transport)
    reader.data_received(frame(settings(concurrency=checkers).model_dump_json().encode()))
    return reader, transport


def _requests(first: int, last: int) -> bytes:
    return requests_frame([(Kind.WEB, f"http://127.0.0.1:1/{n}", n) for n in range(first, last)])


async def test_a_cancel_behind_held_requests_applies_at_once_and_none_of_them_starts() -> None:
    reader, transport = _reader()
    full = QUEUED_ROUNDS * 2
    cancelled_ids: list[tuple[int, ...]] = []
    reader.on_cancel = cancelled_ids.append
    # a full queue, then as many again in frames behind it, then the stop's cancel
    reader.data_received(_requests(0, full) + _requests(full, 2 * full) + _requests(2 * full, 40))
    reader.data_received(ids_frame(range(2, 40)))
    assert cancelled_ids == [tuple(range(2, 40))]  # read, not left in the pipe
    assert transport.calls == []  # the daemon's stream is read whole
    assert reader.queue.qsize() == full and reader.held  # the rest held as bytes


async def test_held_requests_that_were_cancelled_are_never_checked() -> None:
    reader, _ = _reader()
    checker = _Counting()
    answered: list[int] = []
    requests = Requests(reader.queue, checker, lambda row: None, answered.append, reader.taken)
    reader.on_cancel = requests.cancel
    reader.data_received(_requests(0, 10) + _requests(10, 30) + ids_frame(range(5, 30)))
    reader.eof_received()
    async with asyncio.timeout(10):  # a bound on a hang, never a timing
        await requests.run(reader.checkers)
    assert sorted(checker.started) == sorted(f"http://127.0.0.1:1/{n}" for n in range(5))
    assert sorted(answered) == list(range(5, 30))  # each answered by its id
    assert not reader.held and not requests.early


async def test_checks_stream_is_paused_once_a_frame_is_held_and_checked_whole() -> None:
    reader, transport = _reader()
    checker = _Counting()
    rows: list[object] = []
    requests = Requests(reader.queue, checker, rows.append, lambda key: None, reader.taken)
    urls = [f"http://127.0.0.1:1/{n}" for n in range(50)]
    reader.data_received(b"".join(targets_frame([(Kind.WEB, u)]) for u in urls))
    assert transport.calls == ["pause"]  # `check` holds its whole corpus: back-pressure
    reader.eof_received()  # the end waits behind the held frames
    async with asyncio.timeout(10):
        await requests.run(reader.checkers)
    assert sorted(checker.started) == sorted(urls) and len(rows) == 50
    assert transport.calls == ["pause"]  # ended: nothing more to read


async def test_a_broken_held_frame_fails_after_the_targets_before_it() -> None:
    reader, transport = _reader()
    checker = _Counting()
    requests = Requests(reader.queue, checker, lambda row: None, lambda key: None, reader.taken)
    urls = [f"http://127.0.0.1:1/{n}" for n in range(QUEUED_ROUNDS * 2 + 1)]
    broken = frame(b"[" + b"\xff" * 8)  # a list's type code, then garbage
    reader.data_received(b"".join(targets_frame([(Kind.WEB, u)]) for u in urls) + broken)
    reader.data_received(targets_frame([(Kind.WEB, "http://127.0.0.1:1/after")]))
    async with asyncio.timeout(10):
        await requests.run(reader.checkers)
    assert sorted(checker.started) == sorted(urls)
    assert reader.error is not None and "unreadable input" in reader.error
    assert transport.closed


_items = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.binary(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.lists(inner, max_size=3).map(tuple),
    max_leaves=8,
)


@given(st.lists(_items, max_size=5) | st.lists(_items, max_size=5).map(tuple) | _items)
def test_a_frame_is_told_a_batch_by_its_first_byte_as_decoding_would(value: object) -> None:
    assert is_requests(marshal.dumps(value)) == isinstance(value, list)


async def test_a_daemon_that_floods_is_paused_past_the_held_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read whole, the daemon's stream is still bounded: past HELD_BYTES (far
    above what its queue ahead can send) reading pauses until the held frames
    are checked."""
    monkeypatch.setattr(worker_input, "HELD_BYTES", 1000)
    reader, transport = _reader()
    reader.data_received(_requests(0, QUEUED_ROUNDS * 2) + _requests(100, 110))
    assert transport.calls == [] and 0 < reader.held_bytes <= 1000
    reader.data_received(_requests(200, 240))
    assert transport.calls == ["pause"]
    while reader.queue.qsize():  # checkers take them all
        reader.queue.get_nowait()
        reader.taken()
    assert transport.calls == ["pause", "resume"] and not reader.held


async def test_garbage_on_the_pipe_behind_held_frames_fails_after_checking_them() -> None:
    """Input that is not a frame at all (a length past MAX_FRAME) ends the worker
    once the targets it could read are checked: read ahead, the garbage was met
    while good frames before it were still held, and those were dropped unchecked."""
    reader, transport = _reader()
    checker = _Counting()
    requests = Requests(reader.queue, checker, lambda row: None, lambda key: None, reader.taken)
    urls = [f"http://127.0.0.1:1/{n}" for n in range(QUEUED_ROUNDS * 2 + 3)]
    garbage = b"Traceback (most recent call last):\n"  # its first 4 bytes: a length > MAX_FRAME
    reader.data_received(b"".join(targets_frame([(Kind.WEB, u)]) for u in urls) + garbage)
    reader.data_received(targets_frame([(Kind.WEB, "http://127.0.0.1:1/after")]))
    async with asyncio.timeout(10):  # a bound on a hang, never a timing
        await requests.run(reader.checkers)
    assert sorted(checker.started) == sorted(urls)  # before: the held three dropped
    assert reader.error is not None and "unreadable input" in reader.error
    assert transport.closed
