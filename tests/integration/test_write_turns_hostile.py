"""Write turns (monitor/storage/turns.py) under an unlucky operator: a waiter
interrupted by a signal, and a wait for the turn that must come out of the
busy timeout rather than add to it."""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from support.turns import holding, until

from monitor.storage import turns as turns_module
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository
from monitor.storage.turns import WriteTurns


class Interrupted(Exception):
    """What a signal handler raised in the waiting thread (KeyboardInterrupt, say)."""


def test_a_waiter_interrupted_by_a_signal_leaves_the_turn_sound() -> None:
    """The main thread's wait is ended by a signal handler that raises: its place
    in the queue goes with it (it was left there, the holder handed the turn
    to it on release, and every later writer waited its timeout out)."""
    turns = WriteTurns(timeout=30)
    release = threading.Event()
    holder = holding(turns, release)

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted

    def poke() -> None:
        until(lambda: turns.waiting == 1)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR1)

    previous = signal.signal(signal.SIGUSR1, interrupt)
    poker = threading.Thread(target=poke)
    poker.start()
    try:
        with pytest.raises(Interrupted), turns.turn():
            pass
    finally:
        poker.join()
        signal.signal(signal.SIGUSR1, previous)
    release.set()
    holder.join()
    assert turns.waiting == 0
    assert turns._owner is None  # free: the next writer takes it at once


def test_a_body_that_raises_gives_the_turn_back() -> None:
    turns = WriteTurns(timeout=30)
    with pytest.raises(Interrupted), turns.turn() as got:
        assert got
        raise Interrupted
    assert turns._owner is None and turns._depth == 0


def _busy_timeout(repo: Repository) -> list[int]:
    seen: list[int] = []
    with repo._write() as conn:
        seen.append(int(conn.execute(text("PRAGMA busy_timeout")).scalar_one()))
    return seen


def test_a_writer_handed_the_turn_late_keeps_only_the_rest_of_the_busy_timeout(
    tmp_path: Path,
) -> None:
    """Queued 3 s of a 4 s busy timeout, a writer gives SQLite's busy handler the
    last second, not 4 more: a writer queued behind one that waits on another
    process's lock failed after twice the busy timeout, not once as before."""
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}", busy_timeout_ms=4000)
    upgrade(engine)
    repo = Repository(engine)
    turns = turns_module._TURNS[engine]
    now = [100.0]
    turns.clock = lambda: now[0]  # the wait, as the turns measure it
    release = threading.Event()
    holder = holding(turns, release)
    seen: list[list[int]] = []
    writer = threading.Thread(target=lambda: seen.append(_busy_timeout(repo)))
    writer.start()
    until(lambda: turns.waiting == 1)
    now[0] += 3.0
    release.set()
    holder.join()
    writer.join()
    assert seen == [[1000]]
    assert _busy_timeout(repo) == [4000]  # the connection goes back to the pool as it was
    engine.dispose()


def test_a_writer_whose_wait_ran_out_leaves_sqlite_no_more_wait(tmp_path: Path) -> None:
    """The wait for the turn ran out (the holder is stuck): the writer goes on
    without it, and the busy timeout is spent, so a lock still held fails now."""
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}", busy_timeout_ms=50)
    upgrade(engine)
    repo = Repository(engine)
    turns = turns_module._TURNS[engine]
    release = threading.Event()
    holder = holding(turns, release)  # holds the turn, not SQLite's lock
    try:
        assert _busy_timeout(repo) == [0]
    finally:
        release.set()
        holder.join()
    assert _busy_timeout(repo) == [50]
    engine.dispose()


def test_writers_take_turns_on_sqlite_only(engine: Engine) -> None:
    """PostgreSQL's writers queue on the rows they lock: no turns, and a write
    connection keeps its own settings (no SQLite pragma sent to it)."""
    upgrade(engine)
    repo = Repository(engine)
    with turns_module.write_turn(engine) as left:
        assert left is None
    repo.purge_probe_answers(0)  # a write goes through either way
    assert (engine in turns_module._TURNS) == (engine.dialect.name == "sqlite")


def test_a_turn_handed_over_as_the_wait_runs_out_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The holder hands the turn over just as the waiter's timeout ends: the
    waiter holds it (and gives it back), rather than going on without it and
    leaving the turn owned by nobody who will give it back."""
    turns = WriteTurns(timeout=30)
    release = threading.Event()
    holder = holding(turns, release)
    gives: list[bool] = []
    real_lock = threading.Lock

    class Gate:
        """The waiter's gate: its timed wait ends without the turn, after the
        holder has handed it over (the race, made to happen every time)."""

        def __init__(self) -> None:
            self.real = real_lock()

        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
            if timeout == -1:
                return self.real.acquire()
            release.set()
            holder.join()  # the holder's `_give` handed the turn to this waiter
            gives.append(turns._owner == threading.get_ident())
            return False

        def release(self) -> None:
            self.real.release()

    monkeypatch.setattr(turns_module.threading, "Lock", Gate)
    with turns.turn() as got:
        assert got and gives == [True]
        assert turns._owner == threading.get_ident()
    assert turns._owner is None and turns.waiting == 0


async def test_a_cancelled_write_in_a_thread_leaks_no_turn(tmp_path: Path) -> None:
    """asyncio.to_thread cannot stop its thread: cancelled while the write waits
    for its turn, the write still runs when its turn comes, and gives it back."""
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    turns = turns_module._TURNS[engine]
    release = threading.Event()
    holder = holding(turns, release)
    task = asyncio.ensure_future(asyncio.to_thread(repo.purge_probe_answers, 0))
    await asyncio.to_thread(until, lambda: turns.waiting == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    await asyncio.to_thread(holder.join)
    await asyncio.to_thread(until, lambda: turns._owner is None and turns.waiting == 0)
    with turns.turn() as got:
        assert got
    engine.dispose()
