"""The daemon's own writers of one SQLite file take turns (monitor/storage/turns.py).

SQLite's busy handler sleeps between tries and never queues: a writer that
commits and begins again at once (the first scan's next batch) won the lock
again and again while the database thread slept, and the checker ran dry.
"""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path

from sqlalchemy import text
from support.turns import holding, until

from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository
from monitor.storage.turns import WriteTurns

HOLD_S = 0.005  # each of the busy writer's transactions holds the lock this long
BUSY_WRITES = 300
TRIES = 5


def _hold(repo: Repository) -> None:
    with repo._write() as conn:
        conn.execute(text("DELETE FROM probe_answers WHERE expires < 0"))
        threading.Event().wait(HOLD_S)  # the lock held, the GIL let go (a scan's batch)


def test_a_writer_that_writes_again_at_once_does_not_starve_another(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'am.db'}")
    upgrade(engine)
    repo = Repository(engine)
    asked = threading.Event()
    done = threading.Event()
    done_at: list[int] = []
    written = [0]

    def busy() -> None:
        for n in range(BUSY_WRITES):
            _hold(repo)
            written[0] = n + 1
            if n == 10:
                asked.set()

    def other() -> None:
        asked.wait()
        for _ in range(TRIES):  # one lucky wake in a gap between two transactions is not enough
            before = written[0]
            repo.purge_probe_answers(0)
            done_at.append(written[0] - before)
        done.set()

    threads = [threading.Thread(target=busy), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert done.is_set()
    # each write's turn comes after the transaction under way (a few more while
    # it queues, on a loaded machine); with SQLite's sleeping busy handler one
    # came after 200-290 of them in every run of five
    assert max(done_at) < 100, f"the other writer waited for {done_at} transactions"


def _queued(turns: WriteTurns, count: int) -> bool:
    return turns.waiting == count


def test_turns_are_first_come_first_served() -> None:
    turns = WriteTurns(timeout=10)
    order: list[int] = []
    release = threading.Event()

    def waiter(n: int) -> None:
        with turns.turn() as got:
            assert got
            order.append(n)

    first = holding(turns, release)
    waiters = []
    for n in range(5):
        t = threading.Thread(target=waiter, args=(n,))
        t.start()
        until(partial(_queued, turns, n + 1))  # queued in this order
        waiters.append(t)
    release.set()
    for t in [first, *waiters]:
        t.join()
    assert order == [0, 1, 2, 3, 4]
    assert turns._owner is None and turns.waiting == 0


def test_a_thread_holding_the_turn_takes_it_again() -> None:
    turns = WriteTurns(timeout=0.05)
    with turns.turn() as outer:
        with turns.turn() as inner:
            assert outer and inner
        # still held after the inner one ends: another thread waits its timeout out
        got: list[bool] = []
        t = threading.Thread(target=lambda: got.append(turns._take()))
        t.start()
        t.join()
        assert got == [False]
    assert turns._owner is None


def test_a_wait_past_the_timeout_goes_on_without_the_turn_and_leaves_it_sound() -> None:
    turns = WriteTurns(timeout=0.02)
    release = threading.Event()
    results: list[bool] = []
    t = holding(turns, release)
    with turns.turn() as got:  # gives up after its timeout: SQLite's busy timeout decides
        results.append(got)
    assert results == [False]
    assert turns.waiting == 0  # its place in the queue is gone
    release.set()
    t.join()
    with turns.turn() as got:  # and the next writer takes it at once
        assert got
