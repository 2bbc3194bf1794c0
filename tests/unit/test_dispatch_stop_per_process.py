"""At a stop, each checker process says which of its checks it did not start.

Each process runs its own share of `concurrency`, oldest first, but not
always: a check waiting out a hold aside lets it run more. The dispatcher took
all but its own `concurrency` oldest as queued, then all but each process's
oldest share: either way a guess, which cancelled checks under way and left
queued ones to start after the stop. Now each process answers the checks it
did not start (requests.py `stop`), and the parent follows the answers.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from support.dispatching import answer, cancels_sent, dispatcher, not_started, unanswered
from support.settings import settings

from monitor.check.pipe import Frames, requests_from_frame
from monitor.check.processes import host_owner
from monitor.daemon.checkers import CheckerStopped, ProcessChecker
from monitor.daemon.pace import Pace
from monitor.daemon.state import TargetState
from monitor.storage.values import Claimed
from monitor.vocabulary import CheckResult, Kind, Outcome

# two processes: the first host's checks go to process 0, the second's to 1
FIRST, SECOND = "http://a.example/", "http://b.example/"


def sent_ids(checker: ProcessChecker, process: int = 0) -> list[int]:
    """The request ids `unanswered(checker)` has written to a process."""
    pool = checker._pool
    assert pool is not None
    out: list[int] = []
    for data in pool.channels[process].frames:  # type: ignore[attr-defined]
        for payload in Frames().feed(data):
            out += [key for _, _, key in requests_from_frame(payload)[0]]  # type: ignore[misc]
    return out


class Unpaced(Pace):
    def rate(self) -> float | None:
        return None  # capacity 2 x concurrency


class Due:
    """Claims 0-1 and 6-7 on the second process's host, 2-5 on the first's."""

    def __init__(self) -> None:
        self.released: list[list[int]] = []
        self.claimed = False

    def claim_due(self, *args: Any) -> list[Claimed]:
        if self.claimed:
            return []
        self.claimed = True
        hosts = [SECOND, SECOND, FIRST, FIRST, FIRST, FIRST, SECOND, SECOND]
        lease = 2**62  # never runs out: a lost claim is kept to give back
        return [
            Claimed(i, f"{h}{i}", Kind.WEB, TargetState(), lease, ()) for i, h in enumerate(hosts)
        ]

    def release(self, leases: list[tuple[int, Any]], now: int) -> None:
        self.released.append(sorted(i for i, _ in leases))


async def test_a_stop_follows_each_processs_answer_not_a_guess() -> None:
    assert [host_owner(u, 2, parent_weight=0.0) for u in (FIRST, SECOND)] == [0, 1]
    s = settings(concurrency=4)  # each process runs 2, or more
    due = Due()
    d = dispatcher(s, due, pace=Unpaced())
    checker = unanswered(ProcessChecker(s, 2))
    d.checker = checker
    assert await d.dispatch() == 8
    futures = {claim.id: future for future, claim in d.inflight.values()}
    for i in (0, 1):  # the second process answered its two oldest
        url = f"{SECOND}{i}"
        answer(checker, futures[i], CheckResult(url, Kind.WEB, Outcome.OK, datetime.now(UTC)))
    await asyncio.sleep(0)
    d.stopping = True
    # the first runs 2, 3 and 4 (one waits out a hold aside) and had 5 queued;
    # the second runs 6 and 7
    not_started(checker, futures[5])
    await d.settle(0)
    # the guess: [[4, 5], [2, 3, 6, 7]], 4 cut under way
    assert due.released == [[5], [2, 3, 4, 6, 7]]
    assert not d.inflight


async def test_checks_not_sent_to_a_process_being_replaced_fail_at_the_stop() -> None:
    """Held for the process started in a dead one's place, they are never sent:
    they fail at once (CheckerStopped); the one sent waits for its process."""
    s = settings(concurrency=4)
    checker = unanswered(ProcessChecker(s, 1))
    sent = checker.submit(f"{FIRST}0", Kind.WEB)
    await asyncio.sleep(0)  # written to the process
    checker._live = [False]  # it died: the next wait for its replacement
    held = [checker.submit(f"{FIRST}{i}", Kind.WEB) for i in (1, 2)]
    checker.stop()
    assert all(isinstance(f.exception(), CheckerStopped) for f in held)  # type: ignore[union-attr]
    assert sent is not None and not sent.done()
    sent.cancel()


async def test_a_replacement_gets_the_checks_still_waiting_not_the_cancelled_ones() -> None:
    s = settings(concurrency=4)
    checker = unanswered(ProcessChecker(s, 1))
    checker._live = [False]  # its process died: the next wait for its replacement
    held = [checker.submit(f"{FIRST}{i}", Kind.WEB) for i in (1, 2)]
    for future in held:
        future.cancel()  # type: ignore[union-attr]
    later = checker.submit(f"{FIRST}3", Kind.WEB)
    checker._live = [True]
    checker.send_now()
    assert cancels_sent(checker) == []
    assert sent_ids(checker) == [later.key]  # type: ignore[union-attr]


async def test_a_stop_while_a_process_is_replaced_gives_every_claim_back() -> None:
    """End to end through the dispatcher: claims held for a process being replaced
    are cancelled at the stop and given back by settle (which looks again)."""
    s = settings(concurrency=4)
    due = Due()
    d = dispatcher(s, due, pace=Unpaced())
    checker = unanswered(ProcessChecker(s, 2))
    checker._live = [False, True]  # the first process died and waits for its replacement
    d.checker = checker
    assert await d.dispatch() == 8
    d.stopping = True  # the signal
    await d.settle(0)  # before: ValueError
    assert sorted(i for batch in due.released for i in batch) == list(range(8))
    assert not d.inflight


async def test_retries_held_for_a_replacement_are_not_sent_after_a_stop() -> None:
    """A dead process's checks are tried again by tasks, held (unsent) for the
    process started in its place. They were not among the queued ones the stop
    cancels (tasks, not futures), and went to the replacement after the stop:
    52 requests after SIGTERM at concurrency 16. Now nothing is sent after the
    stop but cancels, and every claim is given back."""
    s = settings(concurrency=4)
    due = Due()
    d = dispatcher(s, due, pace=Unpaced())
    checker = unanswered(ProcessChecker(s, 1))
    d.checker = checker
    assert await d.dispatch() == 8
    await asyncio.sleep(0)  # written to the process
    assert len(sent_ids(checker)) == 8
    checker._live = [False]  # it died: its checks fail and are tried again
    checker._fail(0, "its checker process ended before answering", keep_pending=True)
    for _ in range(3):
        await asyncio.sleep(0)  # the retries' tasks submit again, held for the replacement
    assert len(checker._pending[0]) == 8
    d.stopping = True
    checker._live = [True]  # the replacement started
    checker.send_now()
    await d.settle(0)
    assert len(sent_ids(checker)) == 8  # before: 16, the retries sent after the stop
    assert sorted(i for batch in due.released for i in batch) == list(range(8))
    assert not d.inflight
    assert checker.submit(f"{FIRST}9", Kind.WEB) is None  # nothing after the stop
