"""The start timeout is kept while the start's database work makes progress
(daemon/notify.py's `start_extended`, storage/progress.py): the systemd unit
had no start timeout at all, because the check reads the whole SQLite file."""

from __future__ import annotations

import asyncio
import gc
import socket
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.daemon import notify
from monitor.daemon.notify import EXTEND_MOST, bytes_read, start_extended
from monitor.storage.engine import make_engine
from monitor.storage.opening import check

ASK = f"EXTEND_TIMEOUT_USEC={notify.EXTEND_BY_USEC}\nSTATUS=checking the database"


class Beats:
    """The extender driven beat by beat: each of its sleeps waits for the test's
    next step; what it sent is kept."""

    def __init__(self, counts: list[int]) -> None:
        self.counts = counts  # progress() at each beat
        self.beat = 0
        self.sent: list[str] = []
        self.now = 0.0
        self.asleep = asyncio.Event()
        self.wake = asyncio.Event()

    def progress(self) -> int:
        return self.counts[self.beat]

    def send(self, message: str) -> bool:
        self.sent.append(message)
        return True

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.asleep.set()
        await self.wake.wait()
        self.wake.clear()
        self.beat += 1

    async def run(self) -> list[str]:
        """Every beat of `counts`, then the body ends."""
        async with start_extended(
            self.progress, sleep=self.sleep, clock=lambda: self.now, send=self.send
        ):
            for _ in self.counts:
                await self.asleep.wait()  # the beat has asked (or not) and sleeps
                self.asleep.clear()
                self.wake.set()
        return self.sent


def test_the_first_beat_asks_at_once() -> None:
    assert asyncio.run(Beats([0]).run()) == [ASK]


def test_a_beat_asks_again_only_when_the_work_moved() -> None:
    # 0 (first: asks), 5 (moved: asks), 5, 5 (stalled: silent), 9 (moved: asks)
    beats = Beats([0, 5, 5, 5, 9, 9])
    assert asyncio.run(beats.run()) == [ASK, ASK, ASK]
    assert beats.beat >= 5  # every beat ran


def test_without_a_count_it_asks_for_at_most_an_hour() -> None:
    async def scenario() -> tuple[list[str], bool]:
        beats = Beats([])

        async def sleep(seconds: float) -> None:
            beats.now += seconds
            await asyncio.sleep(0)

        async with start_extended(
            lambda: None, every=600.0, sleep=sleep, clock=lambda: beats.now, send=beats.send
        ):
            for _ in range(1000):  # bounded: the extender gives up after EXTEND_MOST
                await asyncio.sleep(0)
        return beats.sent, beats.now > EXTEND_MOST

    sent, past = asyncio.run(scenario())
    assert past and len(sent) == int(EXTEND_MOST // 600) + 1


def test_reading_the_count_does_not_move_it() -> None:
    """Each beat reads /proc/self/io: counted, the count moved at every beat by
    ~100 bytes, and a start hung on a stuck disk was extended for ever."""
    first = bytes_read()
    assert first is not None
    assert [bytes_read() for _ in range(5)] == [first] * 5


def test_a_count_that_keeps_moving_is_asked_for_an_hour_at_most() -> None:
    async def scenario() -> tuple[int, bool]:
        now = [0.0]
        sent: list[str] = []
        count = [0]

        def progress() -> int:
            count[0] += 1
            return count[0]

        async def sleep(seconds: float) -> None:
            now[0] += seconds
            await asyncio.sleep(0)

        async with start_extended(
            progress, every=600.0, sleep=sleep, clock=lambda: now[0], send=sent.append
        ):
            for _ in range(1000):  # bounded: the extender gives up after EXTEND_MOST
                await asyncio.sleep(0)
        return len(sent), now[0] > EXTEND_MOST

    asked, past = asyncio.run(scenario())
    assert past and asked == int(EXTEND_MOST // 600) + 1


def test_the_bytes_read_move_while_the_check_reads_the_file(tmp_path: Path) -> None:
    """The check is SQLite's quick_check: one step of its VM (a progress handler
    never runs), but every page it reads is counted in the process's reads."""
    db = tmp_path / "am.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)"))
        conn.execute(text("INSERT INTO t (b) VALUES (:b)"), [{"b": "x" * 200}] * 20_000)
    engine.dispose()
    engine = make_engine(f"sqlite:///{db}")  # a new connection: no page cached in it
    before = bytes_read()
    check(engine, f"sqlite:///{db}")
    after = bytes_read()
    engine.dispose()
    assert before is not None and after is not None
    assert after - before >= db.stat().st_size // 2  # the file's pages went through read()


def test_notify_sends_the_ask_to_the_manager(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind(str(address))
        manager.settimeout(10)
        monkeypatch.setenv("NOTIFY_SOCKET", str(address))

        async def scenario() -> None:
            async with start_extended(lambda: 1):
                await asyncio.sleep(0)  # the first beat runs

        asyncio.run(scenario())
        assert manager.recv(4096).decode() == ASK


def test_a_stop_signal_in_a_beat_is_not_raised_again_at_the_body_exit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SIGTERM before the daemon takes the signals over (interrupt.stop_early)
    raises SystemExit in whatever Python runs: in a beat (its send), it left
    the loop, and the body's exit awaited the beat's task and raised it again
    inside the run, which ended with "Task exception was never retrieved" and
    a traceback after "interrupted (SIGTERM)"."""

    def send(message: str) -> bool:
        raise SystemExit(130)

    async def scenario() -> None:
        async with start_extended(lambda: 1, send=send):
            await asyncio.sleep(3600)  # ended by asyncio.run's cancel at the exit

    with pytest.raises(SystemExit):
        asyncio.run(scenario())
    gc.collect()  # a task whose exception nobody retrieved says so when collected
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
