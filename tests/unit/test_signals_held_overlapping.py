"""The daemon's keepers hold SIGHUP, SIGINT and SIGTERM blocked across the
`await` of a checker process's spawn (a child inherits the mask). Two processes
that died together are replaced together, and their holds overlapped without
nesting: each put back the mask it had found, so the last to leave put back the
other's blocked one, and the daemon's main thread kept the three blocked for the
rest of its life (seen in /proc: SigBlk 0x4003 after both processes were killed)."""

from __future__ import annotations

import asyncio
import signal

from monitor.check.prestart import stop_signals_held
from monitor.daemon.prestart import spawn_signals_held

HELD = {signal.SIGHUP, signal.SIGINT, signal.SIGTERM}


def _blocked() -> set[int]:
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, []))


async def _keeper(entered: asyncio.Event, other: asyncio.Event, leave: asyncio.Event) -> None:
    with spawn_signals_held(), stop_signals_held():  # as checkers.py's keeper around its spawn
        assert HELD <= _blocked()
        entered.set()
        await other.wait()
        await leave.wait()


async def test_overlapping_holds_leave_the_mask_as_they_found_it() -> None:
    before = _blocked()
    assert not HELD & before
    a_in, b_in, a_out, b_out = (asyncio.Event() for _ in range(4))
    a = asyncio.create_task(_keeper(a_in, b_in, a_out))
    b = asyncio.create_task(_keeper(b_in, a_in, b_out))
    await asyncio.wait_for(asyncio.gather(a_in.wait(), b_in.wait()), 10)
    a_out.set()  # the first in leaves first: not nested
    await a
    assert HELD <= _blocked()  # the other still holds them
    b_out.set()
    await b
    assert _blocked() == before  # before: SIGHUP, SIGINT and SIGTERM left blocked


def test_a_hold_inside_one_already_blocked_unblocks_nothing() -> None:
    """`run` holds SIGHUP from its start (reloads_held): a spawn inside leaves it held."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        with spawn_signals_held():
            pass
        assert signal.SIGHUP in _blocked()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
